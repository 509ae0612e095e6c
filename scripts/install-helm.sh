#!/usr/bin/env bash
# Install Helm, which lints and renders the chart deploy/helm/tokengate in the e2e tier (test/e2e/deploy/helm*.test.ts).
# Into the per-machine tools cache ($GO_TOOLS_BIN from scripts/tools.sh), outside the clone, like the bench's Go tools.
#
#   scripts/install-helm.sh          # the LAST LINE on stdout is the absolute path of the binary
#
# Source: the Go module proxy, helm.sh/helm/v4 at $HELM_VERSION, package ./cmd/helm, built inside the downloaded module
# (scripts/go-module-build.sh) with the version stamped in as Helm's own Makefile does (-X .../internal/version.version),
# so `helm version` names it. Needs Go >= 1.26 (the module's go.mod says so).
#
# Cost: cold (empty module and build caches: a throwaway GOMODCACHE and GOCACHE) it took 584 s (9.7 min) of wall time
# on the project's 2-vCPU machine, downloads included, while the machine's load average rose from 1.4 to 10-13 with
# other people's jobs (5.5 CPU-minutes in all, so roughly 3 min on two idle cores); 2026-12-06. The binary is 86 MB.
#
# Idempotent: a binary built from the pinned version is kept (FORCE=1 rebuilds). Two runs at once wait for each
# other (flock). Everything but the last line goes to stderr; a failure is one sentence there and exit status 1.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v4.3.2}"

log() { echo "install-helm: $*" >&2; }
fail() { log "$*"; exit 1; }

if [[ -n "${HELM_BIN:-}" ]]; then
  [[ -x "$HELM_BIN" ]] || fail "HELM_BIN is set to $HELM_BIN, which is not an executable file."
  echo "$HELM_BIN"
  exit 0
fi

source "$(dirname "${BASH_SOURCE[0]}")/go-module-build.sh"
go_module_build helm helm.sh/helm/v4 "$HELM_VERSION" cmd/helm \
  -ldflags "-w -s -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION"
BIN="$GO_TOOLS_BIN/helm"
"$BIN" version >/dev/null 2>&1 || fail "the installed $BIN does not run."
echo "$BIN"
