#!/usr/bin/env bash
# Installs the Debian packages the local cluster and the tests need, when missing. Idempotent and quiet when
# everything is present.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# binary -> package
declare -A NEEDED=(
  [containerd]=containerd
  [runc]=runc
  [/usr/lib/cni/bridge]=containernetworking-plugins
  [/bin/busybox]=busybox-static
  [umoci]=umoci
  [ip]=iproute2
  [iptables]=iptables
  [conntrack]=conntrack
  [openssl]=openssl
  [nsenter]=util-linux
  [curl]=curl
  [jq]=jq
  # test/e2e/plugin.test.ts drives kubectl dbg in a real terminal.
  [tmux]=tmux
  # The Argo CD health judge of the tests (test/judges/argocd-run.lua).
  [lua5.1]=lua5.1
)

missing=()
for bin in "${!NEEDED[@]}"; do
  if [[ $bin == /* ]]; then [[ -e $bin ]] && continue; else command -v "$bin" >/dev/null 2>&1 && continue; fi
  missing+=("${NEEDED[$bin]}")
done
# The images need the static busybox (a dynamic one cannot run alone in a container); the
# machine may have the dynamic `busybox` package at /bin/busybox instead.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
# A Lua library, no binary to look for: the Argo CD judge reads objects with it.
dpkg -s lua-cjson >/dev/null 2>&1 || missing+=(lua-cjson)

if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
