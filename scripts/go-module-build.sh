# Sourced by scripts/install-promtool.sh, scripts/install-helm.sh and scripts/install-jaeger.sh: build one package of a
# Go module, pinned by version, from the Go module proxy into the per-machine tools cache ($GO_TOOLS_BIN from
# scripts/tools.sh): the module is downloaded and the package built inside it with the module's own go.mod and go.sum. That is what `go install pkg@version` does, except that it also works for a module with replace
# directives (which `go install` refuses) and does not ask the proxy for the module's version list (which the proxy
# reachable here refuses for some modules).
#
#   go_module_build NAME MODULE VERSION PACKAGE_DIR [go build flags...]
#
# Idempotent: a binary whose stamp ($GO_TOOLS_BIN/.NAME.version) names MODULE@VERSION is kept (FORCE=1 rebuilds); two
# runs at once wait for each other (flock). Progress and the one-sentence failure go to stderr (the caller's log and
# fail functions); the caller prints the binary's path.
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

go_module_build() {
  local name="$1" module="$2" version="$3" pkg="$4"
  shift 4
  local bin="$GO_TOOLS_BIN/$name" stamp="$GO_TOOLS_BIN/.$name.version"
  command -v go >/dev/null ||
    fail "cannot build $name: go not found ($module $version comes from the Go module proxy); install Go or set the ${name^^}_BIN variable."
  mkdir -p "$GO_TOOLS_BIN" 2>/dev/null ||
    fail "cannot create the tools cache $GO_TOOLS_BIN (set TOKENGATE_TOOLS_DIR to a writable folder)."
  if command -v flock >/dev/null; then
    exec 9>"$bin.lock"
    flock 9
  fi
  # A binary built inside its module reports "(devel)" as its module version, so the stamp names what it came from.
  if [[ "${FORCE:-0}" != 1 && -x "$bin" && "$(cat "$stamp" 2>/dev/null || true)" == "$module@$version" ]]; then
    log "$name $version already installed"
    return 0
  fi
  log "building $module/$pkg@$version from the Go module proxy into $GO_TOOLS_BIN (a big build: see this script's header)"
  local t0=$SECONDS dir
  dir="$(go mod download -json "$module@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -d "$dir" ]] || fail "cannot build $name: go mod download $module@$version failed (no network, or no such version)."
  rm -f "$stamp"
  # GOWORK=off: a module may ship a go.work naming folders that its module zip leaves out (Prometheus does).
  (cd "$dir" && GOWORK=off GOFLAGS="${GOFLAGS:-} -trimpath" go build "$@" -o "$bin.tmp" "./$pkg") >&2 ||
    fail "cannot build $name: go build of $module/$pkg@$version failed (the compiler output is above)."
  mv "$bin.tmp" "$bin"
  echo "$module@$version" >"$stamp"
  log "built in $((SECONDS - t0)) s"
}
