#!/usr/bin/env bash
# Builds the Python handlers (handlers-python/NAME/app.py) into
# target/components/python/NAME.wasm with componentize-py, installed from PyPI
# into a project-local virtualenv (target/python-venv/) on first use, with
# wasmtime-py, the second host examples/embed-python/ runs on.
#
# They are kept out of target/components/handlers/ on purpose: a Python
# component carries the interpreter (about 18 MB) and its first compilation
# takes seconds; drop one into a handlers directory to serve it.
# Rebuilds a handler only when its sources or wit/ changed. Without PyPI it
# says so and skips (exit 0): nothing else depends on these components.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
version=0.25.1
wasmtime_py=50.0.1
venv="$root/target/python-venv"
cpy="$venv/bin/componentize-py"
out="$root/target/components/python"

installed() { "$venv/bin/pip" freeze 2>/dev/null | grep -qx "$1"; }
if ! installed "componentize-py==$version" || ! installed "wasmtime==$wasmtime_py"; then
  echo "installing componentize-py $version and wasmtime-py $wasmtime_py into $venv (Python handlers)" >&2
  if ! python3 -m venv "$venv" 2>/dev/null; then
    sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-venv >/dev/null
    python3 -m venv "$venv"
  fi
  if ! "$venv/bin/pip" install -q "componentize-py==$version" "wasmtime==$wasmtime_py"; then
    echo "PyPI unreachable: Python handlers not built (componentize-py==$version is needed)" >&2
    exit 0
  fi
fi

mkdir -p "$out"
for app in handlers-python/*/app.py; do
  [ -f "$app" ] || continue
  dir=$(dirname "$app")
  name=$(basename "$dir")
  dest="$out/$name.wasm"
  if [ -f "$dest" ] && [ -z "$(find "$dir" wit -newer "$dest" -type f -print -quit)" ]; then
    continue
  fi
  (cd "$dir" && "$cpy" -d "$root/wit" -w intent-handler componentize app -o "$dest.tmp" >/dev/null)
  mv -f "$dest.tmp" "$dest"
  echo "built $dest" >&2
done
