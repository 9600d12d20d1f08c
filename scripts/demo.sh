#!/usr/bin/env bash
# Runs the support-ticket example on a fresh demo database: first on the
# embedded defaults (orchestration off, every step the normal way), then with
# orchestration_enabled set, through the intent handler components, then with
# compression and AIS routing on as well.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
pilot="$root/target/release/pilot"
export PILOT_DB="$root/target/demo/pilot.db"
rm -rf "$root/target/demo" && mkdir -p "$root/target/demo"

echo "== handlers"
"$pilot" handlers list
echo
echo "== examples/support-ticket-triage.json on the embedded defaults (all flags off)"
"$pilot" run examples/support-ticket-triage.json
echo
echo "== the same workflow with orchestration_enabled = true"
"$pilot" flags set orchestration_enabled true
"$pilot" run examples/support-ticket-triage.json
echo
echo "== and with compression and AIS routing on too"
"$pilot" flags set orchestration_compression_enabled true
"$pilot" flags set orchestration_ais_routing_enabled true
"$pilot" run examples/support-ticket-triage.json
echo
echo "== audit trail of that run"
"$pilot" audit --limit 5
