#!/usr/bin/env bash
# Install Jaeger (v2, the OpenTelemetry-Collector-based backend) for the tracing e2e test (test/e2e/tracing/): a real
# OTLP receiver with a query API, where Envoy's spans and tokengate's meet in one trace. Into the per-machine tools
# cache ($GO_TOOLS_BIN from scripts/tools.sh), outside the clone, like the bench's Go tools.
#
#   scripts/install-jaeger.sh        # the LAST LINE on stdout is the absolute path of the binary
#
# Source: the Go module proxy, github.com/jaegertracing/jaeger at $JAEGER_VERSION, package ./cmd/jaeger. Its go.mod has
# a replace directive (Shopify/sarama), which `go install pkg@version` refuses and `go get -tool` would ignore, so the
# module is downloaded and the package built inside it, with the module's own go.mod and go.sum (what `go install`
# would do if it could). Needs Go >= 1.24.
#
# Cost: a big build. Cold (empty module and build caches) it took 25.5 min of wall time on the project's 2-vCPU machine
# while that machine ran at a load average of 10-15 (about 9 CPU-minutes in all, so roughly 5-6 min on two idle
# cores); the module downloads take 20 s. `npm run test:e2e` runs it when Jaeger is missing (once per machine: the
# binary stays in the tools cache); `npm run test:e2e:tracing` runs the tracing test alone (scripts/e2e.mjs --tracing).
#
# Idempotent: a binary built from the pinned version is kept (FORCE=1 rebuilds). Two runs at once wait for each
# other (flock). Everything but the last line goes to stderr; a failure is one sentence there and exit status 1.
set -euo pipefail

JAEGER_VERSION="${JAEGER_VERSION:-v1.75.0}"

log() { echo "install-jaeger: $*" >&2; }
fail() { log "$*"; exit 1; }

if [[ -n "${JAEGER_BIN:-}" ]]; then
  [[ -x "$JAEGER_BIN" ]] || fail "JAEGER_BIN is set to $JAEGER_BIN, which is not an executable file."
  echo "$JAEGER_BIN"
  exit 0
fi

# The module's replace directive is why it is built inside the module (scripts/go-module-build.sh); Go >= 1.24.
source "$(dirname "${BASH_SOURCE[0]}")/go-module-build.sh"
go_module_build jaeger github.com/jaegertracing/jaeger "$JAEGER_VERSION" cmd/jaeger
BIN="$GO_TOOLS_BIN/jaeger"
"$BIN" --help >/dev/null 2>&1 || fail "the installed $BIN does not run."
echo "$BIN"
