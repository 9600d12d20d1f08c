#!/usr/bin/env bash
# Transpiles a handler component with jco and runs it on Node:
#   examples/embed-js/run.sh target/components/handlers/summarize.wasm
# Installs jco and the WASI shim into examples/embed-js/node_modules on first use.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
component=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$here"
if [ ! -x node_modules/.bin/jco ]; then
  npm ci --silent --no-audit --no-fund
fi
rm -rf out
node_modules/.bin/jco transpile "$component" -o out --name handler --quiet \
  --map 'workflowpilot:orchestration/*=../host/*.js'
node run_handler.mjs
