#!/usr/bin/env bash
# Builds the pinned Kubernetes components and etcd from the Go module proxy, once per version.
# Output: $KUBE_BIN_DIR and $ETCD_BIN_DIR (see lib.sh). A finished build leaves a stamp file,
# so a re-run with the binaries present returns at once.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

KUBE_COMPONENTS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

# The machines keep Go in /usr/local/go; a login shell has it on PATH, a bare environment may not.
command -v go >/dev/null || [[ ! -x /usr/local/go/bin/go ]] || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || die "go is not installed; it is needed to build the Kubernetes binaries (see README)"

# k8s.io/kubernetes cannot be built with `go install pkg@version`: its go.mod points the staging
# modules (k8s.io/api, client-go, ...) at ./staging. A wrapper module replaces each of them with its
# published v0.X.Y, derived from that version's own go.mod rather than kept by hand.
build_kubernetes() {
  local stamp="$KUBE_BIN_DIR/.complete" work="$CACHE_DIR/kubernetes/$KUBE_VERSION/module"
  [[ -f "$stamp" ]] && return 0
  log "building Kubernetes $KUBE_VERSION (${KUBE_COMPONENTS[*]}); a cold build takes 20-40 minutes on 2 cores"
  local gomod staging_version major minor
  gomod=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p')
  [[ -f "$gomod" ]] || die "could not download the go.mod of k8s.io/kubernetes@$KUBE_VERSION"
  major=$(cut -d. -f1 <<<"${KUBE_VERSION#v}")
  minor=$(cut -d. -f2 <<<"$KUBE_VERSION")
  staging_version="v0.${minor}.$(cut -d. -f3 <<<"$KUBE_VERSION")"

  rm -rf "$work"; mkdir -p "$work"
  {
    echo "module debugsession-operator.local/kubebuild"
    echo
    grep -E '^go [0-9]' "$gomod"
    grep -E '^godebug ' "$gomod" || true
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging_version"'#p' "$gomod"
    echo ")"
  } > "$work/go.mod"
  grep -q "k8s.io/client-go => k8s.io/client-go $staging_version" "$work/go.mod" \
    || die "did not find the staging replace directives in $gomod"

  local pkg="k8s.io/component-base/version" cgo="k8s.io/client-go/pkg/version" ldflags="-s -w"
  for p in "$pkg" "$cgo"; do
    ldflags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  local targets=()
  for c in "${KUBE_COMPONENTS[@]}"; do targets+=("k8s.io/kubernetes/cmd/$c"); done
  mkdir -p "$KUBE_BIN_DIR.tmp"
  (cd "$work" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -ldflags "$ldflags" -o "$KUBE_BIN_DIR.tmp/" "${targets[@]}")
  rm -rf "$KUBE_BIN_DIR"; mv "$KUBE_BIN_DIR.tmp" "$KUBE_BIN_DIR"
  "$KUBE_BIN_DIR/kubectl" version --client | grep -q "$KUBE_VERSION" || die "kubectl does not report $KUBE_VERSION"
  touch "$stamp"
  log "Kubernetes $KUBE_VERSION binaries in $KUBE_BIN_DIR"
}

build_etcd() {
  local stamp="$ETCD_BIN_DIR/.complete" work="$CACHE_DIR/etcd/$ETCD_VERSION/module"
  [[ -f "$stamp" ]] && return 0
  log "building etcd $ETCD_VERSION"
  rm -rf "$work"; mkdir -p "$work" "$ETCD_BIN_DIR"
  (
    cd "$work"
    go mod init debugsession-operator.local/etcdbuild >/dev/null 2>&1
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null 2>&1 || go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    CGO_ENABLED=0 go build -ldflags "-s -w" -o "$ETCD_BIN_DIR/etcd" go.etcd.io/etcd/server/v3
  )
  "$ETCD_BIN_DIR/etcd" --version | grep -q "${ETCD_VERSION#v}" || die "etcd does not report $ETCD_VERSION"
  touch "$stamp"
  log "etcd $ETCD_VERSION in $ETCD_BIN_DIR"
}

# KWOK has no replace directives, so `go install pkg@version` builds it directly (about 3 minutes cold).
# Only make bench needs it; `all` (what make test builds) leaves it out.
build_kwok() {
  local stamp="$KWOK_BIN_DIR/.complete"
  [[ -f "$stamp" ]] && return 0
  log "building KWOK $KWOK_VERSION (for the benchmarks)"
  mkdir -p "$KWOK_BIN_DIR"
  GOBIN="$KWOK_BIN_DIR" CGO_ENABLED=0 go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  "$KWOK_BIN_DIR/kwok" --version | grep -q "$KWOK_VERSION" || die "kwok does not report $KWOK_VERSION"
  touch "$stamp"
  log "KWOK $KWOK_VERSION in $KWOK_BIN_DIR"
}

what=${1:-all}
case "$what" in
  etcd) build_etcd ;;
  kubernetes) build_kubernetes ;;
  kwok) build_kwok ;;
  all) build_etcd; build_kubernetes ;;
  *) die "usage: $0 [all|etcd|kubernetes|kwok]" ;;
esac
