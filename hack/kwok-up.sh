#!/usr/bin/env bash
# Adds KWOK fake nodes to the running local cluster (make bench only): hack/kwok-up.sh [NODES].
# KWOK is a process of this machine, started and stopped by PID like the other components
# (cluster-down stops it too); the nodes are Node objects labelled type=kwok and tainted
# kwok.x-k8s.io/node=fake:NoSchedule, so nothing lands on them unless it asks to.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
NODES=${1:-10}
[[ -f $CLUSTER_DIR/tier ]] || die "no local cluster is up; run make cluster-up first"
"$HACK_DIR/build-binaries.sh" kwok

# Pod addresses on the fake nodes come from a range nothing routes to. The nodes' own address is
# loopback, where no kubelet listens: a pods/log read (a DebugSessionRecord at session end) is refused
# at once, as a reachable kubelet would answer at once, instead of waiting out an ARP timeout.
start_daemon kwok "$KWOK_BIN_DIR/kwok" \
  --kubeconfig="$KUBECONFIG_FILE" \
  --config="$HACK_DIR/kwok/stages.yaml" \
  --manage-all-nodes=false --manage-nodes-with-label-selector=type=kwok \
  --node-lease-duration-seconds=40 \
  --cidr=10.99.0.0/16 --node-ip=127.0.0.1 \
  --server-address=127.0.0.1:10247

nodes=""
for i in $(seq 0 $((NODES - 1))); do
  nodes+="---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  labels: {type: kwok, kubernetes.io/hostname: kwok-node-$i, kubernetes.io/os: linux}
  annotations: {kwok.x-k8s.io/node: fake, node.alpha.kubernetes.io/ttl: \"0\"}
spec:
  taints: [{key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}]
"
done
kubectl_admin apply -f - <<<"$nodes" >/dev/null
kwok_ready() {
  local ready
  ready=$(kubectl_admin get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -c True)
  [[ $ready -ge $NODES ]]
}
wait_for "$NODES KWOK nodes Ready" 60 kwok kwok_ready
log "$NODES KWOK nodes Ready"
