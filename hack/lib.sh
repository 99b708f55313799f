#!/usr/bin/env bash
# Shared settings and helpers for the local cluster scripts. Sourced, never run.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$HACK_DIR/.." && pwd)"
# shellcheck source=versions.env
source "$HACK_DIR/versions.env"

# Built binaries are cached by version outside the clone, so every clone on this machine reuses them.
CACHE_DIR="${DEBUGSESSION_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/debugsession-operator}"
KUBE_BIN_DIR="$CACHE_DIR/kubernetes/$KUBE_VERSION/bin"
ETCD_BIN_DIR="$CACHE_DIR/etcd/$ETCD_VERSION/bin"
KWOK_BIN_DIR="$CACHE_DIR/kwok/$KWOK_VERSION/bin"

# One cluster per machine: its state lives in one folder, outside the clone, so that any clone
# (and CI's fresh clone) can bring it down again.
CLUSTER_DIR="${CLUSTER_DIR:-/var/lib/debugsession-cluster}"
LOG_DIR="$CLUSTER_DIR/logs"
PID_DIR="$CLUSTER_DIR/pids"
PKI_DIR="$CLUSTER_DIR/pki"
KUBECONFIG_FILE="$CLUSTER_DIR/admin.kubeconfig"

# Network of the node: a namespace with a veth pair (see "Network rule" in shared/CLUSTER.md).
NETNS=dbgsess-node
VETH_HOST=dbgsess-h
VETH_NODE=dbgsess-n
HOST_IP=10.77.0.1
NODE_IP=10.77.0.2
NET_PREFIX=24
POD_CIDR=10.88.0.0/16
SERVICE_CIDR=10.96.0.0/16
NODE_NAME=dbgsess-node
APISERVER_PORT=6443

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Prints the last lines of a component's log, so a failure names its cause.
show_log_tail() {
  local name=$1 lines=${2:-40}
  if [[ -f "$LOG_DIR/$name.log" ]]; then
    echo "----- last $lines lines of $LOG_DIR/$name.log -----" >&2
    tail -n "$lines" "$LOG_DIR/$name.log" >&2
    echo "-----" >&2
  fi
}

pid_alive() { [[ -f "$PID_DIR/$1.pid" ]] && kill -0 "$(cat "$PID_DIR/$1.pid")" 2>/dev/null; }

# One cluster-up or cluster-down at a time on this machine: two at once write each other's PID files,
# and a daemon whose PID file was overwritten is never stopped (seen: a cluster-up typed while a
# make bench brought its cluster down left a kube-proxy running). Held until the script exits.
cluster_lock() {
  local dir=/run/lock
  [[ -d $dir ]] || dir=/tmp
  exec 9>"$dir/debugsession-cluster.lock"
  if ! flock -n 9; then
    log "another cluster-up or cluster-down is running; waiting for it to finish"
    flock 9
  fi
}

# Runs a daemon in its own session with a PID file and a log file; stop_daemon stops it by PID.
start_daemon() {
  local name=$1; shift
  mkdir -p "$LOG_DIR" "$PID_DIR"
  if pid_alive "$name"; then
    log "$name already running (pid $(cat "$PID_DIR/$name.pid"))"
    return 0
  fi
  # 9>&-: a daemon never holds cluster_lock's descriptor (it would hold the lock as long as it runs).
  setsid "$@" >>"$LOG_DIR/$name.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$PID_DIR/$name.pid"
  log "started $name (pid $!)"
}

stop_daemon() {
  local name=$1 pidfile="$PID_DIR/$1.pid" pid i
  [[ -f "$pidfile" ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) ignored SIGTERM for 10s; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$pidfile"
}

# Waits until a command succeeds, or prints the component's log tail and fails.
wait_for() {
  local what=$1 timeout=$2 component=$3; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "timed out after ${timeout}s waiting for $what"
      show_log_tail "$component"
      return 1
    fi
    if [[ -n "$component" && -f "$PID_DIR/$component.pid" ]] && ! pid_alive "$component"; then
      log "$component exited while waiting for $what"
      show_log_tail "$component"
      return 1
    fi
    sleep 0.5
  done
}

in_node() { nsenter --net="/var/run/netns/$NETNS" -- "$@"; }

kubectl_admin() { "$KUBE_BIN_DIR/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# For make bench and make soak: the local node-tier cluster (brought up, and down again on exit, when it
# was not running) with $1 KWOK nodes beside it (default none), the CRDs and admission policies installed,
# KUBECONFIG and the cluster's own kubectl (the version the tests use) on PATH, and OPERATOR_KUBECONFIG
# (the operator's ServiceAccount token, removed on exit) exported.
bench_cluster_up() {
  BENCH_STARTED_CLUSTER=0
  trap bench_cluster_cleanup EXIT
  [[ -f $CLUSTER_DIR/tier ]] || BENCH_STARTED_CLUSTER=1
  CLUSTER_TIER=node hack/cluster-up.sh
  if ((${1:-0} > 0)); then hack/kwok-up.sh "$1"; fi
  KUBECONFIG=$KUBECONFIG_FILE
  export KUBECONFIG
  export PATH="$KUBE_BIN_DIR:$PATH"
  make -s install >/dev/null
  OPERATOR_KUBECONFIG=$(hack/operator-kubeconfig.sh)
  export OPERATOR_KUBECONFIG
  mkdir -p bench/out
}

bench_cluster_cleanup() {
  rm -f "${OPERATOR_KUBECONFIG:-}"
  if [[ ${BENCH_STARTED_CLUSTER:-0} == 1 ]]; then hack/cluster-down.sh; fi
}
