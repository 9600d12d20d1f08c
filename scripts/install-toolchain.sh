#!/usr/bin/env bash
# Installs what building the guest components needs when rustup has no
# wasm32-wasip2 target: Debian's rustc-web toolchain (rustc/cargo 1.96 with the
# std source), lld and the wasi libc. Idempotent: does nothing when present.
set -euo pipefail
packages=(rustc-web cargo-web rust-web-src lld-22 wasi-libc)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (guest toolchain)" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
