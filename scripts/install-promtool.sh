#!/usr/bin/env bash
# Install Prometheus's promtool, which checks the alert rules (deploy/components/monitoring/) the way Prometheus itself
# loads them: `promtool check rules FILE` (the e2e test test/e2e/monitoring/promtool.test.ts). Into the per-machine
# tools cache ($GO_TOOLS_BIN from scripts/tools.sh), outside the clone, like the bench's Go tools.
#
#   scripts/install-promtool.sh      # the LAST LINE on stdout is the absolute path of the binary
#
# Source: the Go module proxy, github.com/prometheus/prometheus at $PROMTOOL_VERSION (v0.316.0 is Prometheus 3.16.0),
# package ./cmd/promtool, built inside the downloaded module (scripts/go-module-build.sh; the module has no replace
# directive today, but `go install pkg@version` also asks the proxy for a version list, which is not always served).
# Built with the tag remove_all_sd, Prometheus's documented switch (its README, "Service discovery plugins") that
# leaves out the optional service discoveries (AWS, Azure, GCE, Consul, ...) and their cloud SDKs: promtool's rule
# checks do not use them. Kubernetes, file and static discovery stay in (promtool imports them directly).
# Needs Go >= 1.26.7 (the module's go.mod says so).
#
# Cost: cold (empty module and build caches: a throwaway GOMODCACHE and GOCACHE) it took 536 s (8.9 min) of wall time
# on the project's 2-vCPU machine, downloads included, while the machine's load average stood at 9-13 with other
# people's jobs (4.5 CPU-minutes in all, so roughly 2.5 min on two idle cores); 2026-12-06. The binary is 77 MB.
#
# Idempotent: a binary built from the pinned version is kept (FORCE=1 rebuilds). Two runs at once wait for each
# other (flock). Everything but the last line goes to stderr; a failure is one sentence there and exit status 1.
set -euo pipefail

PROMTOOL_VERSION="${PROMTOOL_VERSION:-v0.316.0}"

log() { echo "install-promtool: $*" >&2; }
fail() { log "$*"; exit 1; }

if [[ -n "${PROMTOOL_BIN:-}" ]]; then
  [[ -x "$PROMTOOL_BIN" ]] || fail "PROMTOOL_BIN is set to $PROMTOOL_BIN, which is not an executable file."
  echo "$PROMTOOL_BIN"
  exit 0
fi

source "$(dirname "${BASH_SOURCE[0]}")/go-module-build.sh"
# The module's versions are v0.<major><minor as two digits>.<patch> for Prometheus <major>.<minor>.<patch> (v0.316.0 is
# 3.16.0); stamped in as Prometheus's own build (.promu.yml) does, so `promtool --version` names it.
minor_part="${PROMTOOL_VERSION#v0.}"
release="$((${minor_part%%.*} / 100)).$((${minor_part%%.*} % 100)).${minor_part#*.}"
go_module_build promtool github.com/prometheus/prometheus "$PROMTOOL_VERSION" cmd/promtool -tags remove_all_sd \
  -ldflags "-X github.com/prometheus/common/version.Version=$release"
BIN="$GO_TOOLS_BIN/promtool"
"$BIN" --version >/dev/null 2>&1 || fail "the installed $BIN does not run."
echo "$BIN"
