#!/usr/bin/env bash
# Install nginx or Caddy for the e2e tests of the HTTP authorization mode (test/e2e/proxies/), the way
# scripts/install-envoy.sh installs Envoy: into the per-machine tools cache (scripts/tools.sh), outside the clone.
#
#   scripts/install-proxy.sh nginx|caddy      # the LAST LINE on stdout is the absolute path of the binary
#
# Where the binary comes from, first match wins:
#   1. $NGINX_BIN / $CADDY_BIN, as given.
#   2. nginx / caddy on the PATH, if it can do what the tests need (nginx built with the auth_request module; a
#      caddy whose Caddyfile knows forward_auth, i.e. Caddy >= 2.5.1).
#   3. The tools cache: $TOOLS_DIR/<package>-<version>/, from an earlier run.
#   4. The Debian package of this machine's apt sources (nginx 1.22 and caddy 2.6 on Debian 12), fetched with
#      `apt-get download` and unpacked with `dpkg-deb -x` into the cache. Not installed: no root needed, no service
#      is started, nothing outside the cache changes. The binaries' shared libraries (libssl3, libpcre2-8-0, zlib1g,
#      libcrypt1 for nginx; libzstd1 for caddy) are those of any Debian system; a missing one is named.
#
# Everything but the last line goes to stderr. A failure is one sentence on stderr and exit status 1. Two runs at once
# wait for each other (flock).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

PROXY="${1:-}"
log() { echo "install-proxy: $*" >&2; }
fail() { log "$*"; exit 1; }

case "$PROXY" in
  nginx) PACKAGE=nginx BIN_IN_PACKAGE=usr/sbin/nginx GIVEN="${NGINX_BIN:-}" VAR=NGINX_BIN ;;
  caddy) PACKAGE=caddy BIN_IN_PACKAGE=usr/bin/caddy GIVEN="${CADDY_BIN:-}" VAR=CADDY_BIN ;;
  *) fail "usage: scripts/install-proxy.sh nginx|caddy" ;;
esac

# Whether $1 is a binary of $PROXY that the tests can use.
usable() {
  local bin="$1"
  [[ -x "$bin" ]] || return 1
  if [[ "$PROXY" == nginx ]]; then
    "$bin" -V 2>&1 | grep -q -- '--with-http_auth_request_module'
  else
    local dir
    dir="$(mktemp -d)"
    printf 'http://:1 {\n\tforward_auth 127.0.0.1:2 {\n\t\turi /authz\n\t\tcopy_headers X-A\n\t}\n}\n' >"$dir/Caddyfile"
    HOME="$dir" XDG_CONFIG_HOME="$dir" XDG_DATA_HOME="$dir" \
      "$bin" adapt --config "$dir/Caddyfile" --adapter caddyfile >/dev/null 2>&1
    local ok=$?
    rm -rf "$dir"
    return $ok
  fi
}

if [[ -n "$GIVEN" ]]; then
  usable "$GIVEN" || fail "$VAR is set to $GIVEN, which is not a usable $PROXY (nginx needs the auth_request module, Caddy forward_auth)."
  echo "$GIVEN"
  exit 0
fi

ON_PATH="$(command -v "$PROXY" || true)"
if [[ -n "$ON_PATH" ]] && usable "$ON_PATH"; then
  log "using $ON_PATH"
  echo "$ON_PATH"
  exit 0
fi

mkdir -p "$TOOLS_DIR" 2>/dev/null || fail "cannot create the tools cache $TOOLS_DIR (set TOKENGATE_TOOLS_DIR to a writable folder)."
if command -v flock >/dev/null; then
  exec 9>"$TOOLS_DIR/$PACKAGE.lock"
  flock 9
fi

for dir in "$TOOLS_DIR/$PACKAGE"-*/; do
  if [[ -d "$dir" && "$dir" != *.partial/ ]] && usable "$dir$BIN_IN_PACKAGE"; then
    log "$PROXY already unpacked in $dir"
    echo "$dir$BIN_IN_PACKAGE"
    exit 0
  fi
done

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
  fail "cannot install $PROXY: this is not a Debian or Ubuntu machine (no apt-get, dpkg-deb); install $PROXY yourself or set $VAR."
VERSION="$(apt-cache policy "$PACKAGE" 2>/dev/null | sed -n 's/^ *Candidate: *//p')"
[[ -n "$VERSION" && "$VERSION" != "(none)" ]] ||
  fail "cannot install $PROXY: apt knows no package $PACKAGE (run apt-get update, or enable the main component); or set $VAR."
TARGET="$TOOLS_DIR/$PACKAGE-${VERSION//[^A-Za-z0-9.+~-]/_}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
log "$PROXY not found; unpacking the Debian package $PACKAGE $VERSION into $TARGET"
# apt-get download runs its fetcher as _apt, which cannot write a folder only its owner may: let it.
chmod 755 "$WORK"
(cd "$WORK" && apt-get download "$PACKAGE=$VERSION" >"$WORK/download.log" 2>&1) ||
  fail "cannot install $PROXY: \`apt-get download $PACKAGE=$VERSION\` failed (no network or a stale package list: run apt-get update); or set $VAR."
rm -rf "$TARGET.partial"
dpkg-deb -x "$WORK"/"$PACKAGE"_*.deb "$TARGET.partial" ||
  fail "cannot install $PROXY: dpkg-deb could not unpack the downloaded $PACKAGE package."
MISSING="$(ldd "$TARGET.partial/$BIN_IN_PACKAGE" 2>/dev/null | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' | tr '\n' ' ')"
[[ -z "$MISSING" ]] ||
  fail "cannot install $PROXY: the packaged binary needs libraries this machine lacks (${MISSING% }); apt-get install $PACKAGE brings them, or set $VAR."
usable "$TARGET.partial/$BIN_IN_PACKAGE" ||
  fail "cannot install $PROXY: the unpacked $TARGET.partial/$BIN_IN_PACKAGE does not run or lacks what the tests need; set $VAR."
rm -rf "$TARGET"
mv "$TARGET.partial" "$TARGET"
log "installed"
echo "$TARGET/$BIN_IN_PACKAGE"
