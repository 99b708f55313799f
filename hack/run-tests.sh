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
mkdir -p test-results
# Each lane leaves test-results/NAME.json (vitest's report), NAME.unhandled.json (errors outside any
# test, which fail a run whose tests all passed) and NAME.log; the summary gets "NAME.json:EXIT".
VITEST=(node_modules/.bin/vitest run --reporter=default --reporter=json --reporter=./hack/vitest-unhandled.ts)
reports=()
status=0
ended() { # NAME EXIT: a lane's report and exit code, for the summary
  reports+=("test-results/$1.json:$2")
  (($2 == 0)) || status=1
}
lane() { # NAME VITEST-ARGS...: runs in the foreground, its output shown as it comes
  local name=$1
  shift
  # Not a pipe into tee: a process a test left behind holding the output would keep the lane open.
  "${VITEST[@]}" "$@" --outputFile.json="test-results/$name.json" > >(tee "test-results/$name.log") 2>&1
  ended "$name" $?
}

lane unit --project unit

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
  "${VITEST[@]}" --project faults --outputFile.json=test-results/faults.json > test-results/faults.log 2>&1 &
  faults=$!
fi
lane cluster --project integration --project e2e
if [[ -n $faults ]]; then
  wait "$faults"
  ended faults $?
  cat test-results/faults.log
fi

# Alone: an operator for every namespace, or the cluster's apiserver and etcd killed (hack/cluster-fault.sh).
lane serial --project serial

if [[ $started_cluster == 1 ]]; then
  # Brings the cluster down itself and checks nothing is left behind.
  lane lifecycle --project lifecycle
  started_cluster=0
  hack/cluster-down.sh >/dev/null 2>&1
fi

node hack/test-summary.ts "${reports[@]}" || status=1
exit $status
