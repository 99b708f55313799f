#!/usr/bin/env bash
# The test part of `make test`: unit tests, then the integration and e2e suites on one local node-tier
# cluster (or on the cluster KUBECONFIG points at), then the cluster's own teardown test. Ends with
# the line "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"
set +e
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
    node_modules/.bin/node hack/test-summary.ts test-results/*.json
    exit 1
  fi
  eval "$(hack/cluster-env.sh)"
  export KUBECONFIG
fi

"${VITEST[@]}" --project integration --project e2e --outputFile.json=test-results/cluster.json || status=1

if [[ $started_cluster == 1 ]]; then
  # Brings the cluster down itself and checks nothing is left behind.
  "${VITEST[@]}" --project lifecycle --outputFile.json=test-results/lifecycle.json || status=1
  started_cluster=0
  hack/cluster-down.sh >/dev/null 2>&1
fi

node_modules/.bin/node hack/test-summary.ts test-results/*.json || status=1
exit $status
