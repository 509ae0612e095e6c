#!/usr/bin/env bash
# Print the envoy binary the tests and the bench use: $ENVOY_BIN if set, else the console script of the cached venv
# that scripts/install-envoy.sh makes (scripts/tools.sh says where; it execs the real binary in
# site-packages/envoy/_bin/envoy). Installs nothing. Prints the path either way; exits 1 with a hint when it is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
BIN="${ENVOY_BIN:-$ENVOY_VENV/bin/envoy}"
echo "$BIN"
if [[ ! -x "$BIN" ]]; then
  echo "envoy-path: no envoy at $BIN; run scripts/install-envoy.sh (or set ENVOY_BIN)" >&2
  exit 1
fi
