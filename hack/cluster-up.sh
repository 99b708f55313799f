#!/usr/bin/env bash
# Starts the local cluster. CLUSTER_TIER=node (default) or control-plane. Idempotent: components
# already running are left alone, so it also upgrades a control-plane tier to a node tier.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---- network: the node's namespace and a veth pair; the apiserver listens on the host end.
setup_network() {
  if [[ ! -e /var/run/netns/$NETNS ]]; then
    ip netns add "$NETNS"
  fi
  if ! ip link show "$VETH_HOST" >/dev/null 2>&1; then
    ip link add "$VETH_HOST" type veth peer name "$VETH_NODE"
    ip link set "$VETH_NODE" netns "$NETNS"
    ip addr add "$HOST_IP/$NET_PREFIX" dev "$VETH_HOST"
    ip link set "$VETH_HOST" up
    in_node ip addr add "$NODE_IP/$NET_PREFIX" dev "$VETH_NODE"
    in_node ip link set "$VETH_NODE" up
    in_node ip link set lo up
    in_node ip route add default via "$HOST_IP"
  fi
  # Forwarding inside the node's namespace only (pods -> node -> host); the host's setting is untouched.
  in_node sysctl -qw net.ipv4.ip_forward=1
  # The host (and the apiserver on it) reaches pod IPs through the node: `kubectl get --raw
  # .../pods/NAME:PORT/proxy/...` and tests that talk to pods. Gone with the veth on cluster-down.
  ip route replace "$POD_CIDR" via "$NODE_IP" dev "$VETH_HOST"
}

# ---- certificates: one CA, a serving cert for the apiserver and kubelet, client certs per identity.
gen_pki() {
  [[ -f $PKI_DIR/.complete ]] && return 0
  cd "$PKI_DIR"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=debugsession-local-ca" 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  # name CN O SANs
  local certs=(
    "apiserver|kube-apiserver||IP:127.0.0.1,IP:$HOST_IP,IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost"
    "kubelet-serving|$NODE_NAME||IP:$NODE_IP,DNS:$NODE_NAME"
    "admin|kubernetes-admin|system:masters|"
    "apiserver-kubelet-client|kube-apiserver-kubelet-client|system:masters|"
    "controller-manager|system:kube-controller-manager||"
    "scheduler|system:kube-scheduler||"
    "kubelet|system:node:$NODE_NAME|system:nodes|"
    "kube-proxy|system:kube-proxy||"
  )
  local entry name cn o sans subj ext
  for entry in "${certs[@]}"; do
    IFS='|' read -r name cn o sans <<<"$entry"
    subj="/CN=$cn"; [[ -n $o ]] && subj="/O=$o$subj"
    openssl req -newkey rsa:2048 -nodes -keyout "$name.key" -out "$name.csr" -subj "$subj" 2>/dev/null
    ext="$name.ext"
    if [[ -n $sans ]]; then
      printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$sans" > "$ext"
    else
      printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > "$ext"
    fi
    openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$name.crt" -days 3650 -extfile "$ext" 2>/dev/null
    rm -f "$name.csr" "$ext"
  done
  touch .complete
  cd - >/dev/null
}

write_kubeconfig() {
  local file=$1 user=$2
  cat > "$file" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://$HOST_IP:$APISERVER_PORT
    certificate-authority: $PKI_DIR/ca.crt
users:
- name: $user
  user:
    client-certificate: $PKI_DIR/$user.crt
    client-key: $PKI_DIR/$user.key
contexts:
- name: local
  context: {cluster: local, user: $user}
current-context: local
KCFG
}

start_etcd() {
  start_daemon etcd "$ETCD_BIN_DIR/etcd" \
    --name local --data-dir "$CLUSTER_DIR/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster local=http://127.0.0.1:2380 \
    --unsafe-no-fsync --quota-backend-bytes=4294967296 --log-level=warn
  wait_for "etcd health" 60 etcd curl -fsS http://127.0.0.1:2379/health
}

start_apiserver() {
  # MutatingAdmissionPolicy is beta in 1.35: its feature gate and API group are switched on here
  # so the admission design can rely on it (see docs/adr).
  start_daemon kube-apiserver "$KUBE_BIN_DIR/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:2379 \
    --bind-address="$HOST_IP" --secure-port="$APISERVER_PORT" --advertise-address="$HOST_IP" \
    --tls-cert-file="$PKI_DIR/apiserver.crt" --tls-private-key-file="$PKI_DIR/apiserver.key" \
    --client-ca-file="$PKI_DIR/ca.crt" \
    --kubelet-client-certificate="$PKI_DIR/apiserver-kubelet-client.crt" \
    --kubelet-client-key="$PKI_DIR/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI_DIR/sa.pub" \
    --service-account-signing-key-file="$PKI_DIR/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --authorization-mode=Node,RBAC --allow-privileged=true \
    --enable-admission-plugins=NodeRestriction \
    --feature-gates=MutatingAdmissionPolicy=true \
    --runtime-config=admissionregistration.k8s.io/v1beta1=true \
    --profiling=false --v=1
  wait_for "kube-apiserver /readyz" 90 kube-apiserver \
    curl -fsS --cacert "$PKI_DIR/ca.crt" --cert "$PKI_DIR/admin.crt" --key "$PKI_DIR/admin.key" \
      "https://$HOST_IP:$APISERVER_PORT/readyz"
}

start_controller_manager() {
  write_kubeconfig "$CLUSTER_DIR/controller-manager.kubeconfig" controller-manager
  start_daemon kube-controller-manager "$KUBE_BIN_DIR/kube-controller-manager" \
    --kubeconfig="$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$CLUSTER_DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$CLUSTER_DIR/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10257 \
    --service-account-private-key-file="$PKI_DIR/sa.key" --root-ca-file="$PKI_DIR/ca.crt" \
    --cluster-signing-cert-file="$PKI_DIR/ca.crt" --cluster-signing-key-file="$PKI_DIR/ca.key" \
    --use-service-account-credentials=true --leader-elect=false \
    --service-cluster-ip-range="$SERVICE_CIDR" --v=1
  wait_for "the default ServiceAccount" 60 kube-controller-manager \
    kubectl_admin get serviceaccount default -n default
}

start_scheduler() {
  write_kubeconfig "$CLUSTER_DIR/scheduler.kubeconfig" scheduler
  start_daemon kube-scheduler "$KUBE_BIN_DIR/kube-scheduler" \
    --kubeconfig="$CLUSTER_DIR/scheduler.kubeconfig" \
    --authentication-kubeconfig="$CLUSTER_DIR/scheduler.kubeconfig" \
    --authorization-kubeconfig="$CLUSTER_DIR/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port=10259 --leader-elect=false --v=1
}

# cgroup v1 (see shared/CLUSTER.md): containerd and its shims, and the kubelet's pods, live under
# one cgroup of our own per hierarchy, so cluster-down can find every process they left behind.
CGROUP_NAME=dbgsess
make_cgroups() {
  local h
  for h in /sys/fs/cgroup/*/; do
    [[ -d $h && ! -L ${h%/} ]] || continue
    mkdir -p "$h$CGROUP_NAME/containerd"
  done
  # cpuset children start with empty cpus/mems; inherit the parent's.
  if [[ -d /sys/fs/cgroup/cpuset/$CGROUP_NAME ]]; then
    local d
    for d in /sys/fs/cgroup/cpuset/$CGROUP_NAME /sys/fs/cgroup/cpuset/$CGROUP_NAME/containerd; do
      cat /sys/fs/cgroup/cpuset/cpuset.cpus > "$d/cpuset.cpus"
      cat /sys/fs/cgroup/cpuset/cpuset.mems > "$d/cpuset.mems"
    done
  fi
}

# Runs "$@" with its process placed in our containerd cgroup in every hierarchy first.
in_containerd_cgroup() {
  local h
  for h in /sys/fs/cgroup/*/; do
    [[ -d $h$CGROUP_NAME/containerd ]] && echo $$ > "$h$CGROUP_NAME/containerd/cgroup.procs"
  done
  exec "$@"
}
export -f in_containerd_cgroup
export CGROUP_NAME

start_containerd() {
  local dir="$CLUSTER_DIR/containerd"
  mkdir -p "$dir" "$CLUSTER_DIR/cni/net.d"
  cat > "$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:local"
  enable_selinux = false
  # These machines refuse a negative oom_score_adj even to root (no CAP_SYS_RESOURCE); the kubelet
  # asks for -998 for sandboxes. Clamp to containerd's own score instead of failing every pod.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_DIR/cni/net.d"
TOML
  cat > "$CLUSTER_DIR/cni/net.d/10-bridge.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "dbgsess",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$POD_CIDR" }]], "routes": [{ "dst": "0.0.0.0/0" }],
                "dataDir": "$CLUSTER_DIR/cni/ipam" }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
  make_cgroups
  start_daemon containerd nsenter --net="/var/run/netns/$NETNS" -- \
    bash -c 'in_containerd_cgroup containerd --config "$0"' "$dir/config.toml"
  wait_for "containerd" 30 containerd ctr --address "$dir/containerd.sock" version
}

start_kubelet() {
  local dir="$CLUSTER_DIR/kubelet"
  mkdir -p "$dir" "$CLUSTER_DIR/pod-logs"
  write_kubeconfig "$CLUSTER_DIR/kubelet.kubeconfig" kubelet
  cat > "$dir/config.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI_DIR/ca.crt}
authorization: {mode: Webhook}
tlsCertFile: $PKI_DIR/kubelet-serving.crt
tlsPrivateKeyFile: $PKI_DIR/kubelet-serving.key
containerRuntimeEndpoint: unix://$CLUSTER_DIR/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_NAME
failCgroupV1: false
failSwapOn: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
podLogsDir: $CLUSTER_DIR/pod-logs
# Above the 10Mi default, so a test's 20 MB debugger log is still whole when the operator reads it
# (pods/log serves the current file only; a rotated-away part is lost to everyone, docs/records.md).
containerLogMaxSize: 64Mi
clusterDomain: cluster.local
serializeImagePulls: false
maxPods: 250
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 5s
YAML
  start_daemon kubelet nsenter --net="/var/run/netns/$NETNS" -- "$KUBE_BIN_DIR/kubelet" \
    --config="$dir/config.yaml" --kubeconfig="$CLUSTER_DIR/kubelet.kubeconfig" \
    --root-dir="$dir/root" --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --v=1
}

start_kube_proxy() {
  write_kubeconfig "$CLUSTER_DIR/kube-proxy.kubeconfig" kube-proxy
  cat > "$CLUSTER_DIR/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $CLUSTER_DIR/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
  start_daemon kube-proxy nsenter --net="/var/run/netns/$NETNS" -- "$KUBE_BIN_DIR/kube-proxy" \
    --config="$CLUSTER_DIR/kube-proxy.yaml" --v=1
}

node_ready() {
  [[ $(kubectl_admin get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

main() {
  TIER=${CLUSTER_TIER:-node}
  [[ $TIER == node || $TIER == control-plane ]] || die "CLUSTER_TIER must be 'node' or 'control-plane', not '$TIER'"
  [[ $(id -u) == 0 ]] || die "the local cluster needs root (network namespaces, mounts, cgroups)"
  start=$SECONDS

  on_error() {
    log "cluster-up failed; component logs are in $LOG_DIR. Run 'make cluster-down' to clean up."
  }
  trap on_error ERR

  "$HACK_DIR/install-deps.sh"
  "$HACK_DIR/build-binaries.sh"
  cluster_lock
  mkdir -p "$CLUSTER_DIR" "$LOG_DIR" "$PID_DIR" "$PKI_DIR"
  echo "$TIER" > "$CLUSTER_DIR/tier-requested"
  setup_network
  gen_pki
  write_kubeconfig "$KUBECONFIG_FILE" admin
  start_etcd
  start_apiserver
  start_controller_manager
  if [[ $TIER == node ]]; then
    start_scheduler
    start_containerd
    "$HACK_DIR/images.sh"
    start_kubelet
    start_kube_proxy
    wait_for "node $NODE_NAME Ready" 120 kubelet node_ready
  fi
  echo "$TIER" > "$CLUSTER_DIR/tier"
  log "cluster ($TIER tier) is up in $((SECONDS - start))s. Point a shell at it: eval \"\$(make -s cluster-env)\""
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
