#!/usr/bin/env bash
# Builds the health judges of test/judges (kstatus, and Flux's evaluator of healthCheckExprs) once
# per content of their sources, and prints the directory that holds the `judges` binary. A re-run
# with that directory present returns at once, without Go. The Argo CD judge is Lua and needs no
# build: lua5.1 and lua-cjson come from hack/install-deps.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JUDGES_SRC="$REPO_DIR/test/judges"
# Keyed by content, not by a version: the judges change with the test code, and every clone on this
# machine with the same sources shares one build.
hash=$(cd "$JUDGES_SRC" && LC_ALL=C sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-16)
JUDGES_BIN_DIR="$CACHE_DIR/judges/$hash"

if [[ ! -f "$JUDGES_BIN_DIR/.complete" ]]; then
  command -v go >/dev/null || [[ ! -x /usr/local/go/bin/go ]] || export PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null || die "go is not installed; it is needed to build the test judges (see README)"
  mkdir -p "$CACHE_DIR/judges"
  # Test files run in parallel processes and may all ask at once: one builds, the others wait for it.
  exec 9>"$CACHE_DIR/judges/.lock"
  flock 9
  if [[ ! -f "$JUDGES_BIN_DIR/.complete" ]]; then
    log "building the health judges (test/judges, $hash); a cold build takes a few minutes"
    rm -rf "$JUDGES_BIN_DIR"
    (cd "$JUDGES_SRC" && CGO_ENABLED=0 go build -mod=readonly -buildvcs=false -trimpath -ldflags "-s -w" \
      -o "$JUDGES_BIN_DIR/judges" .)
    echo '[]' | "$JUDGES_BIN_DIR/judges" kstatus | grep -qx '\[\]' || die "the judges binary does not run"
    touch "$JUDGES_BIN_DIR/.complete"
    log "health judges in $JUDGES_BIN_DIR"
  fi
  exec 9>&-
fi
echo "$JUDGES_BIN_DIR"
