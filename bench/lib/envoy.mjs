// Section envoy: ghz -> Envoy (no auth | jwt_authn | ext_authz -> tokengate | ext_authz -> the allow-all ceiling)
// -> a gRPC upstream (the ceiling server), at the maximum rate and at fixed fractions of the ext_authz path's.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { TOKEN_CHECKING_VARIANTS, VARIANTS, writeEnvoyConfigs } from '../envoy_config.mjs';
import { BIN, CFG, DATA, OUT, PORTS, ROOT, log } from './config.mjs';
import { recordCommand, run, startChild } from './children.mjs';
import { ghz } from './ghz.mjs';
import { peakRssMb, treeCpuSeconds } from './proc_stats.mjs';
import { checkClient, httpStatus, startSystem, tamper, tokengateCounters } from './systems.mjs';
import { fmt, median } from './units.mjs';

const { httpGet } = await import(join(ROOT, 'dist', 'testkit', 'http.js'));
const { portInUse } = await import(join(ROOT, 'dist', 'testkit', 'ports.js'));
const LISTENER = `127.0.0.1:${PORTS.envoyListener}`;

async function writeConfigs(ctx) {
  const m = ctx.issuer.manifest;
  const ports = {
    listenerPort: PORTS.envoyListener,
    adminPort: PORTS.envoyAdmin,
    upstreamPort: PORTS.upstream,
    tokengatePort: PORTS.server,
    authzCeilingPort: PORTS.authzCeiling,
  };
  const auth = {
    jwksFile: join(DATA, 'jwks.json'),
    issuer: m.issuer,
    audience: m.audience,
    scope: m.scope,
    policy: m.policy,
  };
  const files = writeEnvoyConfigs(join(OUT, 'envoy'), ports, auth);
  const validated = {};
  for (const [v, f] of Object.entries(files)) {
    await run([BIN.envoy, '--mode', 'validate', '-c', f, '--log-level', 'error']);
    validated[v] = relative(ROOT, f);
  }
  return { files, validated };
}

/** Runs `fn(envoy)` with a fresh Envoy of `variant`, ready and listening. */
async function withEnvoy(files, variant, fn) {
  if (await portInUse(PORTS.envoyListener)) throw new Error(`port ${PORTS.envoyListener} in use`);
  const argv = [BIN.envoy, '-c', files[variant], '--concurrency', String(CFG.envoyConcurrency), '--log-level', 'error'];
  argv.push('--disable-hot-restart');
  recordCommand(`envoy:${variant}`, argv);
  const child = startChild(`envoy-${variant}`, argv);
  try {
    const ready = async () => (await httpStatus(PORTS.envoyAdmin, '/ready')) === 200;
    await child.waitUntil(`envoy ${variant} ready`, ready, { intervalMs: 20 });
    await child.waitUntil(`envoy ${variant} listener`, () => portInUse(PORTS.envoyListener), { intervalMs: 20 });
    return await fn(child);
  } finally {
    await child.stop('SIGTERM', 3000);
  }
}

/** A valid and a forged token through Envoy: the token-checking variants must deny the second. */
async function envoyPreflight(ctx, variant) {
  const client = await checkClient(LISTENER);
  const verdict = async (token) => {
    try {
      await client.check({}, { authorization: `Bearer ${token}` });
      return 'allow';
    } catch (err) {
      return `deny(${err.code})`;
    }
  };
  const result = { valid: await verdict(ctx.token), forged: await verdict(tamper(ctx.token)) };
  client.close();
  if (result.valid !== 'allow' || (TOKEN_CHECKING_VARIANTS.has(variant) && result.forged === 'allow')) {
    throw new Error(`envoy ${variant} preflight: ${JSON.stringify(result)}`);
  }
  return result;
}

/** One ghz run through a fresh Envoy; `pids` are the processes behind it, by role. */
async function envoyRun(ctx, res, files, variant, { rps, tag, servers }) {
  return withEnvoy(files, variant, async (envoy) => {
    res.preflight[variant] ??= await envoyPreflight(ctx, variant);
    const md = { authorization: `Bearer ${ctx.token}` };
    const common = { target: LISTENER, set: '{}', metadata: md, connections: CFG.envoyConnections, pinned: false };
    await ghz({ ...common, duration: '1s', skipFirst: 0, tag: `${tag}-warm` });
    // `tokengate` is whichever process answers the ext_authz hop: tokengate, or the allow-all ceiling.
    const authzPid = { ext_authz: servers.tg.pid, ext_authz_ceiling: servers.authzCeiling.pid }[variant];
    const pids = { envoy: envoy.pid, ...(authzPid ? { tokengate: authzPid } : {}), upstream: servers.upstream.pid };
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, treeCpuSeconds(p)]));
    const skipFirst = rps ? Math.max(50, Math.min(CFG.skipFirst, Math.round(rps / 4))) : CFG.skipFirst;
    const g = await ghz({ ...common, rps, tag, serverPids: Object.values(pids), skipFirst });
    const requests = g.count + g.skipped;
    const cpuUs = Object.fromEntries(
      Object.entries(pids).map(([k, p]) => [k, ((treeCpuSeconds(p) - cpu0[k]) * 1e6) / requests]),
    );
    const r = {
      variant,
      offered: rps ?? null,
      rps: g.rps,
      p50: g.p50,
      p90: g.p90,
      p99: g.p99,
      errors: g.errors,
      endCancelled: g.endCancelled,
      statusCodeDistribution: g.statusCodeDistribution,
      cpuUsPerReq: cpuUs,
      clientCpuPct: g.clientCpuPct,
      serversCpuPct: g.serverCpuPct,
      envoyPeakRssMb: peakRssMb(envoy.pid).tree,
      answerMs: await envoyAnswerTimes(),
    };
    const cpu = JSON.stringify(Object.fromEntries(Object.entries(cpuUs).map(([k, v]) => [k, Math.round(v)])));
    log(
      `${tag}: ${fmt(r.rps, 0)} rps p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms cpu µs/req ${cpu}${r.errors ? ` ERRORS ${r.errors}` : ''}`,
    );
    return r;
  });
}

export async function sectionEnvoy(ctx) {
  if (!existsSync(BIN.envoy)) {
    log(`envoy: ${BIN.envoy} missing (scripts/install-envoy.sh); skipped`);
    return { skipped: `no envoy at ${BIN.envoy}` };
  }
  const { files, validated } = await writeConfigs(ctx);
  const upstream = await startSystem(ctx, 'ceiling', { pinned: false, port: PORTS.upstream, name: 'upstream' });
  const tg = await startSystem(ctx, 'tokengate', { pinned: false, name: 'tokengate-envoy' });
  // The ext_authz hop's own ceiling: the allow-all grpc-js server as Envoy's authorization service.
  const authzCeiling = await startSystem(ctx, 'ceiling', {
    pinned: false,
    port: PORTS.authzCeiling,
    name: 'authz-ceiling',
  });
  const servers = { upstream, tg, authzCeiling };
  const res = { validated, concurrency: CFG.envoyConcurrency, connections: CFG.envoyConnections };
  Object.assign(res, { preflight: {}, max: {}, fixed: {} });
  try {
    for (let r = 1; r <= CFG.runs; r++) {
      for (const v of VARIANTS) {
        const run = await envoyRun(ctx, res, files, v, { tag: `envoy-max-${v}-r${r}`, servers });
        (res.max[v] ??= { runs: [] }).runs.push(run);
      }
    }
    for (const v of VARIANTS) res.max[v].median = aggregateEnvoy(res.max[v].runs);
    const authzMax = res.max.ext_authz.median.rps;
    res.rates = [...new Set(CFG.envoyRates.map((f) => Math.max(100, Math.round((f * authzMax) / 100) * 100)))];
    for (const rate of res.rates) {
      for (let r = 1; r <= CFG.runs; r++) {
        for (const v of VARIANTS) {
          const run = await envoyRun(ctx, res, files, v, { rps: rate, tag: `envoy-${rate}-${v}-r${r}`, servers });
          ((res.fixed[rate] ??= {})[v] ??= { runs: [] }).runs.push(run);
        }
      }
      for (const v of VARIANTS) res.fixed[rate][v].median = aggregateEnvoy(res.fixed[rate][v].runs);
    }
    res.tokengatePeakRssMb = peakRssMb(tg.pid).tree;
    res.tokengateMetrics = await tokengateCounters();
  } finally {
    await tg.stop();
    await authzCeiling.stop();
    await upstream.stop();
  }
  return res;
}

/**
 * Each cluster's answer time as Envoy measures it (upstream_rq_time: request sent to response complete), quantiles
 * over the Envoy process's life (a fresh Envoy per run: the 1 s warm-up included). It separates what a hop costs
 * from the client's view, which on 2 shared vCPUs also holds ghz's and Envoy's own scheduling delays. Envoy's
 * histogram buckets are coarse (0.5, 1, 5, 10, 25, 50 ms …; Envoy interpolates within them).
 */
async function envoyAnswerTimes() {
  const path = '/stats?filter=upstream_rq_time&format=json';
  const stats = JSON.parse((await httpGet(PORTS.envoyAdmin, path)).body);
  const histograms = stats.stats.find((s) => s.histograms)?.histograms;
  if (!histograms) return {};
  const at = (q) => histograms.supported_quantiles.indexOf(q);
  const out = {};
  for (const [key, cluster] of [
    ['tokengate', 'tokengate'],
    ['upstream', 'upstream_grpc'],
  ]) {
    const h = histograms.computed_quantiles.find((c) => c.name === `cluster.${cluster}.upstream_rq_time`);
    if (h)
      out[key] = {
        p50: h.values[at(50)].cumulative,
        p90: h.values[at(90)].cumulative,
        p99: h.values[at(99)].cumulative,
      };
  }
  return out;
}

function aggregateEnvoy(runs) {
  const med = (f) => median(runs.map(f));
  const cpu = {};
  for (const k of Object.keys(runs[0].cpuUsPerReq)) cpu[k] = med((r) => r.cpuUsPerReq[k]);
  const quantiles = (k) =>
    Object.fromEntries(['p50', 'p90', 'p99'].map((q) => [q, med((r) => r.answerMs?.[k]?.[q] ?? NaN)]));
  return {
    runs: runs.length,
    rps: med((r) => r.rps),
    p50: med((r) => r.p50),
    p90: med((r) => r.p90),
    p99: med((r) => r.p99),
    errors: runs.reduce((n, r) => n + r.errors, 0),
    cpuUsPerReq: cpu,
    clientCpuPct: med((r) => r.clientCpuPct),
    serversCpuPct: med((r) => r.serversCpuPct),
    envoyPeakRssMb: Math.max(...runs.map((r) => r.envoyPeakRssMb)),
    answerMs: Object.fromEntries(Object.keys(runs[0].answerMs ?? {}).map((k) => [k, quantiles(k)])),
  };
}
