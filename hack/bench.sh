#!/usr/bin/env bash
# make bench: the benchmarks in bench/, never part of make test. Uses the local cluster (brought up,
# and down again afterwards, when it was not running) plus KWOK fake nodes for the benchmarks that
# need thousands of pods. BENCH=footprint,latency,writes,ttl,throughput,memory picks some (default: those
# six); also many (issue 11), plugin-startup and plugin-prompt (issue 13).
# Each benchmark runs its own operator as the image does (node dist/main.js, built here into
# bench/out/dist; BENCH_OPERATOR_MAIN runs another) with the operator's ServiceAccount token, and adds
# its figures to bench/out/results.json; operator logs go to bench/out/operator-*.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"
export PATH="$REPO_DIR/node_modules/.bin:$PATH"
BENCHES=${BENCH:-footprint,latency,writes,ttl,throughput,memory}
bench_cluster_up 10
rm -f bench/out/results.json
if [[ -z ${BENCH_OPERATOR_MAIN:-} ]]; then
  rm -rf bench/out/dist
  node_modules/.bin/tsc -p tsconfig.build.json --outDir bench/out/dist || die "tsc could not build the operator"
  export BENCH_OPERATOR_MAIN=$REPO_DIR/bench/out/dist/main.js
fi
node -e '
const fs = require("node:fs"), os = require("node:os");
const versions = Object.fromEntries(fs.readFileSync("hack/versions.env", "utf8").split("\n").filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split("=")));
fs.writeFileSync("bench/out/results.json", JSON.stringify({
  date: new Date().toISOString(),
  machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), kernel: os.release() },
  versions: { node: process.version, ...versions, client_node: require("./node_modules/@kubernetes/client-node/package.json").version },
  commit: require("node:child_process").execSync("git rev-parse --short HEAD").toString().trim(),
}, null, 2));
'
for b in ${BENCHES//,/ }; do
  log "benchmark: $b"
  node "bench/$b.ts"
done
log "results in bench/out/results.json"
