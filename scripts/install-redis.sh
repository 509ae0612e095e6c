#!/usr/bin/env bash
# Install redis-server for the e2e test of the DPoP replay store on Redis (test/e2e/dpop_redis.test.ts), the way
# scripts/install-proxy.sh installs nginx and Caddy: into the per-machine tools cache (scripts/tools.sh), outside the
# clone.
#
#   scripts/install-redis.sh      # the LAST LINE on stdout is the absolute path of a redis-server to run
#
# Where the binary comes from, first match wins:
#   1. $REDIS_BIN, as given (a Valkey server works too: valkey-server speaks the same protocol).
#   2. redis-server on the PATH.
#   3. The tools cache: $TOOLS_DIR/redis-<version>/bin/redis-server, from an earlier run.
#   4. The Debian packages of this machine's apt sources (redis-tools 7.0 on Debian 12 holds the server binary, which
#      the redis-server package only links to), fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
#      the cache, with the libraries it needs that this machine lacks (liblzf1, libjemalloc2) unpacked beside it.
#      Not installed: no root needed, no service is started, nothing outside the cache changes. bin/redis-server is
#      a small wrapper that points the loader at the unpacked libraries.
#
# Everything but the last line goes to stderr. A failure is one sentence on stderr and exit status 1. Two runs at once
# wait for each other (flock).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/tools.sh"

log() { echo "install-redis: $*" >&2; }
fail() { log "$*"; exit 1; }

# Whether $1 runs and is a Redis (or Valkey) server.
usable() {
  [[ -x "$1" ]] && "$1" --version 2>/dev/null | grep -Eq '^(Redis|Valkey) server v='
}

if [[ -n "${REDIS_BIN:-}" ]]; then
  usable "$REDIS_BIN" || fail "REDIS_BIN is set to $REDIS_BIN, which is not a runnable redis-server."
  echo "$REDIS_BIN"
  exit 0
fi

ON_PATH="$(command -v redis-server || true)"
if [[ -n "$ON_PATH" ]] && usable "$ON_PATH"; then
  log "using $ON_PATH"
  echo "$ON_PATH"
  exit 0
fi

mkdir -p "$TOOLS_DIR" 2>/dev/null || fail "cannot create the tools cache $TOOLS_DIR (set TOKENGATE_TOOLS_DIR to a writable folder)."
if command -v flock >/dev/null; then
  exec 9>"$TOOLS_DIR/redis.lock"
  flock 9
fi

for dir in "$TOOLS_DIR"/redis-*/; do
  if [[ -d "$dir" && "$dir" != *.partial/ ]] && usable "${dir}bin/redis-server"; then
    log "redis-server already unpacked in $dir"
    echo "${dir}bin/redis-server"
    exit 0
  fi
done

command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
  fail "cannot install redis-server: this is not a Debian or Ubuntu machine (no apt-get, dpkg-deb); install it yourself or set REDIS_BIN."
VERSION="$(apt-cache policy redis-tools 2>/dev/null | sed -n 's/^ *Candidate: *//p')"
[[ -n "$VERSION" && "$VERSION" != "(none)" ]] ||
  fail "cannot install redis-server: apt knows no package redis-tools (run apt-get update); or set REDIS_BIN."
TARGET="$TOOLS_DIR/redis-${VERSION//[^A-Za-z0-9.+~-]/_}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# apt-get download runs its fetcher as _apt, which cannot write a folder only its owner may: let it.
chmod 755 "$WORK"

# Downloads Debian package $1 (at version $2 when given) and unpacks it into $TARGET.partial.
unpack() {
  local spec="$1${2:+=$2}"
  (cd "$WORK" && apt-get download "$spec" >>"$WORK/download.log" 2>&1) ||
    fail "cannot install redis-server: \`apt-get download $spec\` failed (no network or a stale package list: run apt-get update); or set REDIS_BIN."
  dpkg-deb -x "$WORK/$1"_*.deb "$TARGET.partial" || fail "cannot install redis-server: dpkg-deb could not unpack $1."
}

log "redis-server not found; unpacking the Debian package redis-tools $VERSION into $TARGET"
rm -rf "$TARGET.partial"
unpack redis-tools "$VERSION"
BIN="$TARGET.partial/usr/bin/redis-check-rdb"
[[ -x "$BIN" ]] || fail "cannot install redis-server: the redis-tools package holds no usr/bin/redis-check-rdb."
# The server decides what to be by the name it is run as (redis-check-rdb checks a dump file).
ln -sf redis-check-rdb "$TARGET.partial/usr/bin/redis-server"
libdirs() { find "$TARGET.partial/usr/lib" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | tr '\n' ':'; }
missing() { LD_LIBRARY_PATH="$(libdirs)" ldd "$BIN" 2>/dev/null | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p'; }
for lib in $(missing); do
  case "$lib" in
    liblzf.so.1) unpack liblzf1 ;;
    libjemalloc.so.2) unpack libjemalloc2 ;;
    *) ;;
  esac
done
LEFT="$(missing | tr '\n' ' ')"
[[ -z "$LEFT" ]] ||
  fail "cannot install redis-server: the packaged binary needs libraries this machine lacks (${LEFT% }); apt-get install redis-server brings them, or set REDIS_BIN."

mkdir -p "$TARGET.partial/bin"
cat >"$TARGET.partial/bin/redis-server" <<WRAPPER
#!/usr/bin/env bash
# Written by scripts/install-redis.sh: the unpacked server, with the libraries unpacked beside it.
DIR="\$(cd "\$(dirname "\${BASH_SOURCE[0]}")/.." && pwd)"
LIBS="\$(find "\$DIR/usr/lib" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | tr '\n' ':')"
export LD_LIBRARY_PATH="\${LIBS}\${LD_LIBRARY_PATH:-}"
exec "\$DIR/usr/bin/redis-server" "\$@"
WRAPPER
chmod 755 "$TARGET.partial/bin/redis-server"
rm -rf "$TARGET"
mv "$TARGET.partial" "$TARGET"
usable "$TARGET/bin/redis-server" ||
  fail "cannot install redis-server: the unpacked $TARGET/bin/redis-server does not run; set REDIS_BIN."
log "installed"
echo "$TARGET/bin/redis-server"
