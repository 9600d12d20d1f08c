#!/usr/bin/env bash
# Validates every built component with wasm-tools and prints its world.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command -v wasm-tools >/dev/null || { echo "wasm-tools is not installed: cargo install wasm-tools --locked" >&2; exit 1; }
for f in "$root"/target/components/orchestrator.wasm "$root"/target/components/handlers/*.wasm; do
  wasm-tools validate "$f"
  echo "== $(basename "$f")"
  wasm-tools component wit "$f" | grep -E '^(world|  (import|export))'
done
