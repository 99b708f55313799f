#!/usr/bin/env bash
# Stops everything cluster-up started (by PID), and removes mounts, network namespaces, veths,
# cgroups and state. Safe after a failed or partial cluster-up, and when nothing is running.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cluster_lock
set +e
CGROUP_NAME=dbgsess

for c in kwok kube-proxy kubelet kube-scheduler kube-controller-manager; do stop_daemon "$c"; done
stop_daemon containerd

# Every process left in our cgroups (container shims and the containers they ran) is ours by
# construction: cluster-up put containerd there and the kubelet's cgroupRoot points there.
cgroup_pids() {
  local h
  for h in /sys/fs/cgroup/*/; do
    [[ -d $h$CGROUP_NAME ]] && find "$h$CGROUP_NAME" -name cgroup.procs -exec cat {} + 2>/dev/null
  done | sort -un
}
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  pids=$(cgroup_pids)
  [[ -z $pids ]] && break
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  sleep 0.3
done
[[ -n $(cgroup_pids) ]] && log "warning: processes still in our cgroups: $(cgroup_pids | tr '\n' ' ')"

stop_daemon kube-apiserver
stop_daemon etcd

# Mounts under the cluster's folder (overlay rootfs, shm, tmpfs volumes), deepest first.
if [[ -d $CLUSTER_DIR ]]; then
  for attempt in 1 2 3; do
    mapfile -t mounts < <(awk -v d="$CLUSTER_DIR" 'index($5, d"/") == 1 || $5 == d { print $5 }' /proc/self/mountinfo | sort -r)
    ((${#mounts[@]})) || break
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
  done
fi

# Pod network namespaces that our containerd created: those holding an address of our pod range.
pod_prefix=${POD_CIDR%.*.*}.
for ns in /var/run/netns/cni-*; do
  [[ -e $ns ]] || continue
  name=$(basename "$ns")
  if ip netns exec "$name" ip -4 -o addr show 2>/dev/null | grep -q " inet $pod_prefix"; then
    ip netns del "$name" 2>/dev/null || { umount "$ns" 2>/dev/null; rm -f "$ns"; }
  elif ! ip netns exec "$name" true 2>/dev/null; then
    # A dangling entry (its bind mount is gone) is the remains of a pod sandbox; nothing lives in it.
    rm -f "$ns"
  fi
done

ip link del "$VETH_HOST" 2>/dev/null
[[ -e /var/run/netns/$NETNS ]] && ip netns del "$NETNS"

# Our cgroups, deepest first (rmdir only succeeds on empty ones, which they now are).
for h in /sys/fs/cgroup/*/; do
  [[ -d $h$CGROUP_NAME ]] && find "$h$CGROUP_NAME" -depth -type d -exec rmdir {} + 2>/dev/null
done

rm -rf "$CLUSTER_DIR"
log "cluster is down"
exit 0
