#!/usr/bin/env bash
# Assembles the cluster's images offline (no registry can be reached here) and imports them into
# containerd's k8s.io namespace:
#   docker.io/library/busybox:local  Debian's busybox-static with all its applets
#   localhost/pause:local           the pod sandbox: a shell that sleeps, reaps and exits on TERM
# The OCI archives are cached next to the binaries, keyed by the busybox package version.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CTR=(ctr --address "$CLUSTER_DIR/containerd/containerd.sock" -n k8s.io)
BUSYBOX_VERSION=$(dpkg-query -W -f '${Version}' busybox-static)
IMAGE_DIR="$CACHE_DIR/images/busybox-$BUSYBOX_VERSION"

# build_image NAME TAG CMD... : an OCI layout holding /bin/busybox and its applet links.
build_image() {
  local name=$1 tag=$2; shift 2
  local out="$IMAGE_DIR/$name.tar"
  [[ -f "$out" ]] && return 0
  local work; work=$(mktemp -d)
  umoci init --layout "$work/layout"
  umoci new --image "$work/layout:$tag"
  umoci unpack --image "$work/layout:$tag" "$work/bundle" >/dev/null
  local root="$work/bundle/rootfs"
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/root" "$root/var/www"
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  # Relative links: `busybox --install` would point them at this build folder's absolute path.
  local applet
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$root/etc/group"
  umoci repack --image "$work/layout:$tag" "$work/bundle" >/dev/null
  local args=(--image "$work/layout:$tag" --config.env PATH=/bin)
  for c in "$@"; do args+=(--config.cmd "$c"); done
  umoci config "${args[@]}"
  mkdir -p "$IMAGE_DIR"
  tar -C "$work/layout" -cf "$out.tmp" .
  mv "$out.tmp" "$out"
  rm -rf "$work"
}

import_image() {
  local name=$1 base=$2 tag=$3
  if "${CTR[@]}" images ls -q | grep -qx "$base:$tag"; then return 0; fi
  # Right after containerd starts an import can come back without the image (seen once in a
  # demo run); a second try has always worked.
  local attempt out=""
  for attempt in 1 2 3; do
    out=$("${CTR[@]}" images import --base-name "$base" "$IMAGE_DIR/$name.tar" 2>&1) || true
    if "${CTR[@]}" images ls -q | grep -qx "$base:$tag"; then
      log "imported $base:$tag"
      return 0
    fi
    sleep "$attempt"
  done
  die "importing $name did not yield $base:$tag; ctr said: $out"
}

build_image busybox local sh
build_image pause local /bin/sh -c 'trap "exit 0" TERM INT; while :; do sleep 3600 & wait; done'
if [[ ${1:-} != --build-only ]]; then
  import_image busybox docker.io/library/busybox local
  import_image pause localhost/pause local
fi
