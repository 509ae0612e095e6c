#!/usr/bin/env bash
# `npm run bench`: build tokengate, generate the token sets, measure ceiling / tokengate / OPA-Envoy (and Envoy paths),
# and write bench/RESULTS.md + bench/p99_vs_load.svg. Full defaults take roughly 35-45 minutes on 2 cores; run it on an
# otherwise idle machine (the report records the load average before and after each section).
#
# Knobs (environment):
#   BENCH_DURATION=10s  BENCH_RUNS=3  BENCH_CONCURRENCY=50  BENCH_SKIP_FIRST=500  BENCH_WARMUP=2s
#   BENCH_SECTIONS=main,unloaded,sweep,workers,ready,envoy   BENCH_SYSTEMS=ceiling,tokengate,opa   BENCH_SCENARIOS=a,b,c,d,e,f
#   BENCH_SWEEP_RPS=1000,2000,4000,6000,8000,11000,14000  BENCH_SWEEP_DURATION=5s  BENCH_SWEEP_RUNS=$BENCH_RUNS
#   BENCH_GHZ_DATA=bin|json (count-delimited protobuf, or the JSON array via --data-file; same requests)
#   BENCH_TG_LOG_LEVEL=info (tokengate's default; its per-check log lines go to /dev/null)
#   BENCH_ENVOY_CONCURRENCY=2  BENCH_ENVOY_CONNECTIONS=2  BENCH_ENVOY_RATES=0.25,0.5,0.75 (x ext_authz max rate)
#   BENCH_N_RS256=100000 BENCH_N_ES256=60000 BENCH_N_MIX=100000 BENCH_N_WARM=10000 (token set sizes)
#   BENCH_SERVER_CPU=0 BENCH_CLIENT_CPU=1  BENCH_SKIP_BUILD=1  BENCH_SKIP_INSTALL=1
#   BENCH_MERGE=1 (keep the sections of the last results.json that this run does not measure: re-run one section)
#   BENCH_NODE_FLAGS="--max-semi-space-size=8" (node flags of tokengate and the ceiling; default: the Dockerfile ENTRYPOINT's)
# Smoke test: BENCH_DURATION=2s BENCH_RUNS=1 BENCH_SWEEP_RPS=1000,4000 BENCH_SWEEP_DURATION=2s bash bench/run.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${BENCH_OUT:-$ROOT/bench/out}"
mkdir -p "$OUT"

# Kill every child (and their children) whatever way we leave.
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "${BENCH_PID:-}" ]] && kill -0 "$BENCH_PID" 2>/dev/null; then
    # bench.mjs kills its children itself on SIGTERM.
    kill -TERM "$BENCH_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$BENCH_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$BENCH_PID" 2>/dev/null || true
  fi
  # If bench.mjs could not clean up (SIGKILLed), its live children are listed by PID in children.pids.
  if [[ -f "$OUT/children.pids" ]]; then
    while read -r pid; do [[ "$pid" =~ ^[0-9]+$ ]] && kill -KILL "$pid" 2>/dev/null || true; done <"$OUT/children.pids"
    rm -f "$OUT/children.pids"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "[bench] $*" >&2; }

for tool in taskset node go; do command -v "$tool" >/dev/null || { log "ERROR: $tool not found"; exit 1; }; done
[[ "$(nproc)" -ge 2 ]] || log "WARNING: fewer than 2 CPUs; pinning server and client to different cores is impossible"

if [[ "${BENCH_SKIP_INSTALL:-0}" != 1 ]]; then
  bash scripts/install-bench-tools.sh >/dev/null
  if [[ -z "${ENVOY_BIN:-}" ]]; then
    # Installs into the per-machine tools cache when missing (scripts/tools.sh); bench.mjs finds it there too.
    bash scripts/install-envoy.sh >/dev/null || log "WARNING: envoy install failed; the envoy section will be skipped"
  fi
fi
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
  log "npm run build"
  npm run --silent build
fi

log "generating token sets (cached in ${BENCH_DATA_DIR:-bench/out/data})"
node bench/make_data.mjs

log "running bench/bench.mjs"
node bench/bench.mjs &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=

node bench/report.mjs --results "$OUT/results.json"
log "done: bench/RESULTS.md, bench/p99_vs_load.svg (raw: ${OUT#$ROOT/}/results.json)"
