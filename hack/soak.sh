#!/usr/bin/env bash
# make soak: the soak run of issue 16 (bench/soak.ts), never part of make test. SOAK_MINUTES (default
# 60, at most 100) of five sessions a minute against a Deployment the real kubelet of the node-tier
# local cluster runs (brought up, and down again afterwards, when it was not running; no KWOK).
# The operator runs from source (node src/main.ts with its ServiceAccount token); its log goes to
# bench/out/operator-soak.log, the report to bench/out/soak.json and soak_* in bench/out/results.json.
# Exits non-zero on error-level operator log lines or sessions that missed their expected end.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"
export PATH="$REPO_DIR/node_modules/.bin:$PATH"
# Checked before the cluster comes up; bench/soak.ts checks the range.
[[ ${SOAK_MINUTES:-60} =~ ^[0-9]+$ ]] || die "SOAK_MINUTES must be a whole number of minutes, not '$SOAK_MINUTES'"
bench_cluster_up
log "soak: ${SOAK_MINUTES:-60} minutes"
node bench/soak.ts
