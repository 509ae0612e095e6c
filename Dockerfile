# syntax=docker/dockerfile:1
# tokengate: JWT authorization sidecar for Envoy (ext_authz v3). Multi-stage build:
#   build   - every dependency (the postinstall fetches and verifies the Envoy protos into proto/), then tsc and the
#             bundle the ENTRYPOINT runs (dist/bundle/tokengate.mjs, rolldown.config.mjs)
#   deps    - production dependencies only; --ignore-scripts because the postinstall needs scripts/ and the
#             registry, and its output (proto/) is copied from the build stage instead
#   runtime - node + dist/ + proto/ + config/ + production node_modules, nothing else
#
#   docker build -t tokengate:0.1.0 .
#   docker run --rm --read-only -v "$PWD/config:/etc/tokengate:ro" tokengate:0.1.0
#
# test/deploy/image_layout.test.ts replays the deps and runtime stages without Docker (it parses this file):
# keep COPY sources relative to the build context, one instruction per line.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/fetch-protos.mjs scripts/fetch-protos.mjs
COPY proto/ proto/
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json rolldown.config.mjs ./
COPY src/ src/
RUN npm run build

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TOKENGATE_CONFIG=/etc/tokengate/tokengate.yaml
# The process's memory budget, read by npm start, the soak, the footprint and the bench (scripts/node_runtime.mjs):
# - MALLOC_ARENA_MAX=2: glibc gives each thread that allocates its own malloc arena (up to 8 per core), and V8's GC
#   helper threads and libuv's pool all allocate: RSS carried ~8-12 MiB of half-empty arenas (bench/RESULTS.md,
#   "Footprint").
# - MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ at glibc's initial 128 KiB, fixed: glibc otherwise raises both
#   (up to 32 MiB) each time a large block is freed, after which large blocks stay in the heap and freed memory is
#   not returned; under the soak's load the main heap held 19 MiB instead of 11, and peak RSS was 5-12 MiB higher
#   (docs/reliability.md, "Soak"), at no visible CPU cost.
# - --max-old-space-size=64 tells V8 the budget: it then keeps the old generation's next GC at most halfway between
#   the live heap and 64 MB, where growth alone (--heap-growing-percent below) lets it reach 3x the live heap. In
#   3-minute soaks at the same load V8 committed 66.9 MiB without it (peak RSS 133.6 MiB), 49.5 MiB with it (115.0);
#   through 10-minute soaks with a full token cache (~28 MiB live) at most ~60 MiB. Live data fits well under it:
#   the token cache holds at most 16 MiB (src/authz/token_cache.ts); the introspection and DPoP caches, when
#   configured, up to 16 MiB each more: raise it with the pod's memory limit (README, "Sizing"). In NODE_OPTIONS so
#   that a Deployment can set it beside the limit (deploy/base does).
ENV MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072 \
    NODE_OPTIONS=--max-old-space-size=64
WORKDIR /app
# Everything is owned by root and read-only to the process: the container runs with readOnlyRootFilesystem
# and tokengate writes nothing but its Unix socket (into a mounted volume) and logs (stdout).
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/proto ./proto
COPY config/ ./config/
# A numeric UID/GID (the conventional "nonroot" 65532), so Kubernetes' runAsNonRoot can verify it.
USER 65532:65532
# The ops port (GET /healthz, /readyz, /metrics); the gRPC address is usually a Unix socket in a shared volume.
EXPOSE 9090
# No HEALTHCHECK: Kubernetes probes the ops port (deploy/base/deployment.yaml).
# A 4 MiB young-generation semi-space (V8's default is 16 MiB): peak RSS under load drops by about 20 MB and GC
# time per check stays the same. At 2 MiB, checks still in flight survive two scavenges and are promoted, which
# doubled GC time per check (measured with --trace-gc over 60k checks). --heap-growing-percent=200 fixes the old
# generation's growth between full GCs at 3x the live heap (V8 picks up to 4x): peak RSS drops by about 25 MB for
# two more full GCs of ~15 ms in 10 s at full load (6 instead of 4 in one --trace-gc run); 150 % cost throughput.
# npm start, the soak, the footprint and the bench read these flags (scripts/node_runtime.mjs).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--heap-growing-percent=200", "dist/bundle/tokengate.mjs", "serve"]
