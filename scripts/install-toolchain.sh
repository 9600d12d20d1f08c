#!/usr/bin/env bash
# Installs what the build and the tests need from Debian: the guest toolchain
# for when rustup has no wasm32-wasip2 target (rustc-web: rustc/cargo 1.96 with
# the std source, lld, the wasi libc), and the Postgres server binaries the
# tests start throwaway clusters from (postgresql; setpriv from util-linux).
# Idempotent: does nothing when present.
set -euo pipefail
packages=(rustc-web cargo-web rust-web-src lld-22 wasi-libc postgresql util-linux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
