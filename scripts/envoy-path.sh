#!/usr/bin/env bash
# Print the envoy binary the tests use (same rule as test/e2e): $ENVOY_BIN if set, else the project venv's
# console script .tools/envoy-venv/bin/envoy (execs the real binary in site-packages/envoy/_bin/envoy).
# Exits 1 with a hint when neither exists.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${ENVOY_BIN:-$ROOT/.tools/envoy-venv/bin/envoy}"
if [[ ! -x "$BIN" ]]; then
  echo "envoy-path: no envoy at $BIN; run scripts/install-envoy.sh (or set ENVOY_BIN)" >&2
  exit 1
fi
echo "$BIN"
