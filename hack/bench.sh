#!/usr/bin/env bash
# make bench: the benchmarks in bench/, never part of make test. Uses the cluster KUBECONFIG points
# at, or brings the local node tier up (and down again afterwards).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"
export PATH="$REPO_DIR/node_modules/.bin:$PATH"
started=0
operator_pid=""
cleanup() {
  [[ -n $operator_pid ]] && kill -TERM "$operator_pid" 2>/dev/null && wait "$operator_pid" 2>/dev/null
  rm -f "${OPERATOR_KUBECONFIG:-}"
  [[ $started == 1 ]] && hack/cluster-down.sh
}
trap cleanup EXIT
if [[ -z ${KUBECONFIG:-} ]]; then
  [[ -f $CLUSTER_DIR/tier ]] || started=1
  CLUSTER_TIER=node hack/cluster-up.sh
  eval "$(hack/cluster-env.sh)"
  export KUBECONFIG
fi
make -s install >/dev/null
OPERATOR_KUBECONFIG=$(hack/operator-kubeconfig.sh)
mkdir -p bench/out
node src/main.ts --kubeconfig "$OPERATOR_KUBECONFIG" --metrics-bind-address=127.0.0.1:0 --health-probe-bind-address=0 >bench/out/operator.log 2>&1 &
operator_pid=$!
sleep 2
kill -0 "$operator_pid" || { cat bench/out/operator.log; die "the operator did not start"; }
node bench/latency.ts
