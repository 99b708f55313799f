#!/usr/bin/env bash
# Faults for the fault suite (test/faults/): stops one component of the running local cluster with
# SIGKILL, by the PID its start recorded, or starts it again exactly as cluster-up.sh does (same flags,
# same data, and it returns once the component answers).
#
#   hack/cluster-fault.sh kill  etcd|kube-apiserver
#   hack/cluster-fault.sh start etcd|kube-apiserver
source "$(dirname "${BASH_SOURCE[0]}")/cluster-up.sh"

usage() { die "usage: $0 kill|start etcd|kube-apiserver"; }

main() {
  local action=${1:-} component=${2:-} pid i
  [[ $component == etcd || $component == kube-apiserver ]] || usage
  [[ -f $CLUSTER_DIR/tier ]] || die "no local cluster is up (hack/cluster-up.sh)"
  case $action in
    kill)
      pid_alive "$component" || die "$component is not running"
      pid=$(cat "$PID_DIR/$component.pid")
      kill -KILL "$pid"
      for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      kill -0 "$pid" 2>/dev/null && die "$component (pid $pid) still runs after SIGKILL"
      rm -f "$PID_DIR/$component.pid"
      log "killed $component (pid $pid)"
      ;;
    start)
      if [[ $component == etcd ]]; then start_etcd; else start_apiserver; fi
      ;;
    *) usage ;;
  esac
}

main "$@"
