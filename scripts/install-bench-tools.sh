#!/usr/bin/env bash
# Install the benchmark tools for `npm run bench` (bench/run.sh) into the per-machine tools cache outside the clone
# ($GO_TOOLS_BIN from scripts/tools.sh, used as GOBIN):
#   - ghz            github.com/bojand/ghz/cmd/ghz@v0.121.0                          (gRPC load generator, ~1 min build)
#   - opa-envoy-plugin github.com/open-policy-agent/opa-envoy-plugin/cmd/opa-envoy-plugin@v1.14.0-envoy
#                                                                                     (the peer: OPA + Envoy ext_authz gRPC plugin,
#                                                                                      a big build: several minutes on 2 cores)
#   - h2load         Debian package nghttp2-client (apt-get, onto the PATH), the cheap HTTP/2 client of the bench's
#                    workers section; without root or apt the bench skips that measurement and says so.
# ghz and opa-envoy-plugin come from the Go module proxy with `go install` (needs Go >= 1.25 for opa-envoy-plugin v1.14.0-envoy).
# The opa-envoy-plugin tags ("-envoy" suffix) are not in the checksum database reachable here (lookup 404), so that one
# module is exempted with GONOSUMDB; its dependencies are still checked against go.sum / the checksum database.
#
# Idempotent: a tool whose binary already reports the pinned version is not rebuilt (FORCE=1 rebuilds).
# Envoy itself comes from scripts/install-envoy.sh.
# Output: progress on stderr; on stdout one line per tool, "name<TAB>/abs/path".
set -euo pipefail

GHZ_VERSION="${GHZ_VERSION:-v0.121.0}"
OPA_ENVOY_VERSION="${OPA_ENVOY_VERSION:-v1.14.0-envoy}"
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"
export GOBIN="$GO_TOOLS_BIN"
export GOFLAGS="${GOFLAGS:-} -trimpath"
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/open-policy-agent/opa-envoy-plugin"
mkdir -p "$GOBIN"

log() { echo "install-bench-tools: $*" >&2; }

command -v go >/dev/null || { log "ERROR: go not found (need Go >= 1.25)"; exit 1; }

# The module version a binary was built from, read from its embedded build info.
built_version() { # $1 binary, $2 module path
  [[ -x "$1" ]] || return 1
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }'
}

install_tool() { # $1 name, $2 module, $3 package, $4 version
  local name="$1" mod="$2" pkg="$3" version="$4" bin="$GOBIN/$1"
  if [[ "${FORCE:-0}" != 1 && -x "$bin" && ( "$(built_version "$bin" "$mod" || true)" == "$version" ||
        "$(cat "$GOBIN/.$name.version" 2>/dev/null || true)" == "$mod@$version" ) ]]; then
    log "$name $version already installed"
  else
    log "go install $pkg@$version (GOBIN=$GOBIN)"
    local t0=$SECONDS
    if ! go install "$pkg@$version" >&2; then
      # `go install pkg@version` also reads the module's version list (for deprecation notices); the proxy reachable
      # here refuses that list for opa-envoy-plugin (403), so fall back to the same build by hand: download exactly
      # that module version and build the package inside it, with the module's own go.mod/go.sum (what go install
      # does when the module has no replace directives, which is the case here).
      log "go install failed; building $mod@$version from its downloaded module instead"
      local dir
      dir="$(go mod download -json "$mod@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
      [[ -d "$dir" ]] || { log "ERROR: go mod download $mod@$version failed"; exit 1; }
      (cd "$dir" && go build -o "$bin" "./${pkg#"$mod"/}") >&2
    fi
    echo "$mod@$version" >"$GOBIN/.$name.version"
    log "$name built in $((SECONDS - t0)) s"
  fi
  printf '%s\t%s\n' "$name" "$bin"
}

install_tool ghz github.com/bojand/ghz github.com/bojand/ghz/cmd/ghz "$GHZ_VERSION"
install_tool opa-envoy-plugin github.com/open-policy-agent/opa-envoy-plugin \
  github.com/open-policy-agent/opa-envoy-plugin/cmd/opa-envoy-plugin "$OPA_ENVOY_VERSION"

if command -v h2load >/dev/null; then
  log "h2load already installed"
elif [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  log "apt-get install nghttp2-client (h2load)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nghttp2-client; } >&2 ||
    log "WARNING: could not install nghttp2-client; the workers section will skip its h2load runs"
else
  log "WARNING: h2load missing and apt-get unusable here (not root?); the workers section will skip its h2load runs"
fi
command -v h2load >/dev/null && printf '%s\t%s\n' h2load "$(command -v h2load)"

"$GOBIN/ghz" --version >&2 || true
"$GOBIN/opa-envoy-plugin" version 2>&1 | head -n 3 >&2 || true
