#!/usr/bin/env bash
# The test part of `make test`: unit tests, then the integration and e2e suites on one local node-tier
# cluster (or on the cluster KUBECONFIG points at) with the fault suite beside them (local cluster
# only), then the suites that need the cluster alone, then the cluster's own teardown test. Ends with
# the line "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"
set +e
# Node.js 24 (npm package `node`) for vitest and everything it starts; the machine's node is older.
export PATH="$REPO_DIR/node_modules/.bin:$PATH"
[[ $(node --version) == v24.* ]] || die "node_modules/.bin/node is not Node.js 24: run 'make deps'"
reports=(test-results/unit.json)
mkdir -p test-results
VITEST=(node_modules/.bin/vitest run --reporter=default --reporter=json)
status=0

"${VITEST[@]}" --project unit --outputFile.json=test-results/unit.json || status=1

started_cluster=0
if [[ -z ${KUBECONFIG:-} ]]; then
  started_cluster=1
  trap '[[ $started_cluster == 1 ]] && hack/cluster-down.sh' EXIT
  if ! CLUSTER_TIER=node hack/cluster-up.sh; then
    log "the local cluster did not come up; integration and e2e suites not run"
    node hack/test-summary.ts "${reports[@]}"
    exit 1
  fi
  eval "$(hack/cluster-env.sh)"
  export KUBECONFIG
  # Suites that need this very cluster (deploy-local imports an image into its containerd).
  export E2E_LOCAL_CLUSTER=1
fi

# The fault suite runs beside integration and e2e (each operator acts in its own namespace): it
# mostly waits for TTLs to run out. Its output is shown once it is done, not interleaved.
faults=
if [[ -n ${E2E_LOCAL_CLUSTER:-} ]]; then
  reports+=(test-results/faults.json)
  "${VITEST[@]}" --project faults --outputFile.json=test-results/faults.json > test-results/faults.log 2>&1 &
  faults=$!
fi
reports+=(test-results/cluster.json)
"${VITEST[@]}" --project integration --project e2e --outputFile.json=test-results/cluster.json || status=1
if [[ -n $faults ]]; then
  wait "$faults" || status=1
  cat test-results/faults.log
fi

# Alone: an operator for every namespace, or the cluster's apiserver and etcd killed (hack/cluster-fault.sh).
reports+=(test-results/serial.json)
"${VITEST[@]}" --project serial --outputFile.json=test-results/serial.json || status=1

if [[ $started_cluster == 1 ]]; then
  # Brings the cluster down itself and checks nothing is left behind.
  reports+=(test-results/lifecycle.json)
  "${VITEST[@]}" --project lifecycle --outputFile.json=test-results/lifecycle.json || status=1
  started_cluster=0
  hack/cluster-down.sh >/dev/null 2>&1
fi

node hack/test-summary.ts "${reports[@]}" || status=1
exit $status
