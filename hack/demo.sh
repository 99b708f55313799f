#!/usr/bin/env bash
# make demo: the operator end to end on a throwaway local cluster, narrated.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"

NS=demo
OPERATOR_LOG=$(mktemp /tmp/debugsession-operator-demo.XXXXXX.log)
operator_pid=""
cluster_started=0

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }

cleanup() {
  say "Cleaning up"
  [[ -n $operator_pid ]] && kill -TERM "$operator_pid" 2>/dev/null && wait "$operator_pid" 2>/dev/null
  rm -f "${OPERATOR_KUBECONFIG:-}"
  if [[ $cluster_started == 1 ]]; then
    hack/cluster-down.sh
  else
    kubectl delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1
  fi
  echo "operator log: $OPERATOR_LOG"
}
trap cleanup EXIT

if [[ -z ${KUBECONFIG:-} ]]; then
  say "Starting a local Kubernetes cluster (etcd, apiserver, controller-manager, scheduler, containerd, kubelet)"
  echo "The first run builds Kubernetes $KUBE_VERSION from source: expect 30-50 minutes. Later runs take about a minute."
  [[ -f $CLUSTER_DIR/tier ]] || cluster_started=1
  CLUSTER_TIER=node hack/cluster-up.sh
  eval "$(hack/cluster-env.sh)"
fi
export KUBECONFIG

say "Installing the CRDs and the admission policies (make install)"
run make -s install

say "Giving the operator its ServiceAccount and least-privilege RBAC (config/rbac), and running it with that token"
OPERATOR_KUBECONFIG=$(hack/operator-kubeconfig.sh)

say "Starting the operator (logs in $OPERATOR_LOG)"
node_modules/.bin/node src/main.ts --kubeconfig "$OPERATOR_KUBECONFIG" >"$OPERATOR_LOG" 2>&1 &
operator_pid=$!
sleep 2
kill -0 "$operator_pid" 2>/dev/null || { cat "$OPERATOR_LOG"; die "the operator did not start"; }

say "A workload to debug: Deployment 'web' (busybox httpd)"
kubectl create namespace "$NS" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
until kubectl -n "$NS" get serviceaccount default >/dev/null 2>&1; do sleep 0.5; done
run kubectl -n "$NS" create deployment web --image=busybox:local -- httpd -f -p 8080
kubectl -n "$NS" patch deployment web --type=json -p '[{"op":"add","path":"/spec/template/spec/terminationGracePeriodSeconds","value":1},{"op":"add","path":"/spec/template/spec/containers/0/imagePullPolicy","value":"IfNotPresent"}]' >/dev/null
kubectl -n "$NS" rollout status deployment/web --timeout=120s
POD=$(kubectl -n "$NS" get pods -l app=web -o jsonpath='{.items[0].metadata.name}')

say "What may be debugged in namespace $NS: a DebugPolicy (who may use it is RBAC; we are cluster-admin)"
cat config/samples/debugpolicy.yaml
run kubectl -n "$NS" apply -f config/samples/debugpolicy.yaml
POD_UID=$(kubectl -n "$NS" get pod "$POD" -o jsonpath='{.metadata.uid}')
run kubectl -n "$NS" get pods -o wide

say "Asking for a debugger in $POD for one minute"
SESSION_YAML=$(cat <<YAML
apiVersion: debugging.dev/v1alpha1
kind: DebugSession
metadata:
  name: debug-web
spec:
  targetPod: $POD
  targetContainer: busybox
  image: busybox:local
  imagePullPolicy: IfNotPresent
  command: [sh]
  stdin: true
  tty: true
  ttl: 1m
  reason: "demo: why is web slow?"
YAML
)
echo "$SESSION_YAML"
kubectl -n "$NS" apply -f - <<<"$SESSION_YAML"

say "Watching the session go Running"
for _ in $(seq 1 60); do
  kubectl -n "$NS" get dbg debug-web --no-headers
  [[ $(kubectl -n "$NS" get dbg debug-web -o jsonpath='{.status.phase}') == Running ]] && break
  sleep 1
done
run kubectl -n "$NS" wait --for=condition=Ready debugsession/debug-web --timeout=60s
run kubectl -n "$NS" get dbg
echo "requested by: $(kubectl -n "$NS" get dbg debug-web -o jsonpath='{.status.requestedBy.username}') (stamped at admission; nobody can forge it)"

CONTAINER=$(kubectl -n "$NS" get dbg debug-web -o jsonpath='{.status.containerName}')
say "How to attach (status.attachCommand):"
kubectl -n "$NS" get dbg debug-web -o jsonpath='{.status.attachCommand}{"\n"}'

say "The debugger shares the target's process namespace: ps auxww inside it shows httpd"
run kubectl -n "$NS" exec "$POD" -c "$CONTAINER" -- ps auxww

EXPIRES=$(kubectl -n "$NS" get dbg debug-web -o jsonpath='{.status.expiresAt}')
say "The pod is tainted (an ephemeral container can never be removed); it will be removed at $EXPIRES"
run kubectl -n "$NS" get pod "$POD" -o jsonpath='{.metadata.labels}{"\n"}{.spec.ephemeralContainers[*].name}{"\n"}'
left=$(( $(date -d "$EXPIRES" +%s) - $(date +%s) ))
while ((left > 0)); do
  printf '\r   %3ss left ' "$left"
  sleep 5
  left=$(( $(date -d "$EXPIRES" +%s) - $(date +%s) ))
done
echo

say "Expired: the tainted pod is evicted and the Deployment replaces it"
for _ in $(seq 1 60); do
  [[ $(kubectl -n "$NS" get dbg debug-web -o jsonpath='{.status.phase}') == Expired ]] && break
  sleep 1
done
kubectl -n "$NS" wait --for=delete "pod/$POD" --timeout=60s >/dev/null 2>&1 || true
kubectl -n "$NS" rollout status deployment/web --timeout=120s >/dev/null
run kubectl -n "$NS" get dbg
run kubectl -n "$NS" get pods
NEW_POD=$(kubectl -n "$NS" get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
echo "old pod $POD (uid $POD_UID) is gone; new pod $NEW_POD has ephemeral containers: [$(kubectl -n "$NS" get pod "$NEW_POD" -o jsonpath='{.spec.ephemeralContainers[*].name}')]"
run kubectl -n "$NS" get events --field-selector involvedObject.kind=DebugSession --sort-by=.lastTimestamp

say "Demo finished"
