#!/usr/bin/env node
// Soak test: tokengate under a fixed-rate, open-loop mix of valid, invalid and unknown-kid tokens for a bounded time,
// while the development issuer rotates keys and goes down; every answer is judged, nothing may be lost. Loopback only.
// See docs/reliability.md, "Soak".
//
//   npm run soak                                  # build, then 10 minutes at 1500 checks/s, gRPC straight to tokengate
//   node scripts/soak.mjs --via-envoy             # the same through a real Envoy (the shipped envoy.yaml) as HTTP
//   node scripts/soak.mjs --minutes 1             # or SOAK_MINUTES=1
//   node scripts/soak.mjs --rate 1200             # or SOAK_RATE=1200 (checks/s)
//   options: --max-inflight 256 (checks queued or in flight; beyond it a due check is dropped and counted)
//            --connections N (gRPC connections, default 8; HTTP/1.1 sockets to Envoy, default 64)
//            --ramp-seconds S (default min(10, 5 % of the run)) --sample-seconds 10
//            --log-level warn (tokengate's; info logs every denial) --out bench/out
//            --rss-limit-mib 128 (tokengate's peak RSS that fails the run)
//            tokengate runs with the image's node flags and allocator settings (scripts/node_runtime.mjs: the
//            Dockerfile's); --tokengate-node-flags="--trace-gc" adds flags, --bare-runtime drops the image's
//
// Processes: this thread drives the load (soak/load.mjs, soak/grpc_driver.mjs or soak/http_driver.mjs) and judges
// every answer (soak/judge.mjs); a worker thread runs the dev issuer and signs tokens ahead of need
// (soak/issuer_thread.mjs); tokengate is a child process of the built CLI; with --via-envoy, Envoy and a trivial
// upstream are children too. Load starts once tokengate's /readyz (and Envoy's tokengate host) is healthy.
//
// Exit status 1 if wrong decisions > 0, lost checks > 0 (no answer within 2 s, a gRPC error, through Envoy a 5xx
// tokengate did not send, or unanswered at the end), tokengate's peak RSS (VmHWM, start-up included) went over
// --rss-limit-mib (128), or its memory was not flat: the floor of RSS or of V8's used heap (the lowest of 1 s samples
// per window of up to 30 s, from when the token cache is steady: 5 minutes, or half of a shorter run) grew > 10 % from
// the first half of those windows to the second (soak/memory_trend.mjs: a GC sawtooth passes, a leak fails); 2 on a
// set-up error; 0 otherwise.
// Results: bench/out/soak-<timestamp>.json, .md, .tokengate.log (and .envoy.log).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startEnvoy } from './soak/envoy.mjs';
import { createGrpcDriver } from './soak/grpc_driver.mjs';
import { createHttpDriver } from './soak/http_driver.mjs';
import { scheduleKeyEvents, startIssuer } from './soak/issuer.mjs';
import { createJudge } from './soak/judge.mjs';
import { createLoad } from './soak/load.mjs';
import { startMemoryProbe } from './soak/memory_probe.mjs';
import { CHECK_TIMEOUT_MS, readOptions } from './soak/options.mjs';
import { log, ROOT, sleep } from './soak/procs.mjs';
import { buildResult, markdown } from './soak/report.mjs';
import { createSampler } from './soak/sampler.mjs';
import { createTokenSupply, RUN_TAG } from './soak/token_supply.mjs';
import { startTokengate, watchKeyAges } from './soak/tokengate.mjs';

const cfg = readOptions();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
const workDir = mkdtempSync(join(tmpdir(), 'tokengate-soak-'));
process.on('exit', () => rmSync(workDir, { recursive: true, force: true }));
mkdirSync(cfg.out, { recursive: true });
const outBase = join(cfg.out, `soak-${new Date().toISOString().replace(/[:.]/g, '-')}`);

// ------------------------------------------------------------------------------------------------------- set-up
const supply = createTokenSupply({ rate: cfg.rate });
const issuer = await startIssuer({ runTag: RUN_TAG, onTokens: supply.onTokens });
const tokengateLog = `${outBase}.tokengate.log`;
const tokengate = await startTokengate({ cfg, discoveryUrl: issuer.info.discoveryUrl, workDir, logFile: tokengateLog });
tokengate.logFile = relative(ROOT, tokengateLog);
log(
  `tokengate pid ${tokengate.child.pid}, grpc 127.0.0.1:${tokengate.grpcPort}, ops ${tokengate.ops}, issuer ${issuer.info.issuer}`,
);
log(`tokengate runtime: ${JSON.stringify(tokengate.runtime)} ${cfg.tokengateNodeFlags.join(' ')}`);
const envoy = cfg.viaEnvoy ? await startEnvoy({ tokengatePort: tokengate.grpcPort, workDir, outBase }) : undefined;
if (envoy) log(`envoy ${envoy.version} pid ${envoy.child.pid}, listener 127.0.0.1:${envoy.listenerPort}`);
const keyAges = watchKeyAges(tokengate, issuer);
await keyAges.poll();
supply.start(issuer);
log(
  `ready; ${cfg.minutes} min at ${cfg.rate}/s ${envoy ? 'through Envoy' : 'over gRPC'}, ${cfg.connections} connections, ` +
    `max in flight ${cfg.maxInflight}, warm-up ${cfg.warmupMs / 1000}s, schedule ${JSON.stringify(cfg.schedule)}`,
);

// ---------------------------------------------------------------------------------------------------------- run
const before = await tokengate.scrape();
const loadStart = Date.now();
const t0 = performance.now();
const judge = createJudge({ loadStart });
const load = createLoad({ cfg, judge, supply });
const driverOptions = { connections: cfg.connections, judge, onFree: load.pump };
const driver = envoy
  ? createHttpDriver({ port: envoy.listenerPort, ...driverOptions })
  : createGrpcDriver({ address: `127.0.0.1:${tokengate.grpcPort}`, ...driverOptions });
const events = [];
const event = (what) => {
  events.push({ tS: Math.round((Date.now() - loadStart) / 100) / 10, event: what });
  log(what);
};
const keyEvents = {
  schedule: cfg.schedule,
  durationMs: cfg.durationMs,
  loadStart,
  event,
  onRotate: supply.keysChanged,
};
const cancelKeyEvents = scheduleKeyEvents(issuer, keyEvents);
const sampler = createSampler({ judge, tokengate, issuer, load, envoy, loadStart, first: before });
const memoryProbe = startMemoryProbe({ pid: tokengate.child.pid, ops: tokengate.ops, loadStart });
const sampling = setInterval(() => void sampler.sample(), cfg.sampleMs);
const sweeping = setInterval(() => judge.sweep(false), 1000);
const run = { loadStart, events, readyzChecks: 0, readyzFailures: 0 };
const readyPoll = setInterval(async () => {
  run.readyzChecks++;
  const ok = await fetch(`${tokengate.ops}/readyz`).then(
    (r) => r.status === 200,
    () => false,
  );
  if (!ok) run.readyzFailures++;
}, 1000);

await load.run(driver, t0, () => tokengate.child.exit !== undefined);
run.seconds = (performance.now() - t0) / 1000;
run.crashed = tokengate.child.exit;
cancelKeyEvents();
for (const timer of [sampling, sweeping, readyPoll]) clearInterval(timer);
run.memory = memoryProbe.stop();
// Every check that was scheduled and not dropped gets its answer or counts as lost.
for (const until = Date.now() + CHECK_TIMEOUT_MS + 3000; (load.queued || driver.inflight) && Date.now() < until;) {
  load.pump();
  await sleep(20);
}
const unanswered = load.queued + driver.inflight;
if (unanswered > 0) {
  judge.totals.lost += unanswered;
  judge.lostByCause['unanswered-at-end'] = unanswered;
}
await sampler.sample();
await sleep(3000); // let the key-age poll catch up with the last answers
await keyAges.poll();
keyAges.stop();
judge.sweep(true);
if (!issuer.up) await issuer.command('start').then(() => (issuer.up = true));
const after = await tokengate.scrape();
run.envoyStats = envoy ? await envoy.stats() : undefined;

// SIGTERM under no load: tokengate should drain and exit 0 (Envoy and the load's connections are closed first).
driver.close();
if (envoy) await envoy.stop();
run.stop = run.crashed ? { crashedDuringRun: run.crashed } : await tokengate.child.stop('SIGTERM', 20_000);
supply.stop();
await issuer.close();

// ------------------------------------------------------------------------------------------------------ verdict
const parts = { cfg, run, judge, samples: sampler.samples, before, after, issuer, supply, driver, envoy, tokengate };
const result = buildResult(parts);
writeFileSync(`${outBase}.json`, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(`${outBase}.md`, markdown(result));
log(`wrote ${relative(ROOT, outBase)}.json and .md`);
process.stdout.write(`\n${markdown(result)}\n`);
process.stdout.write(result.pass ? 'SOAK PASSED\n' : `SOAK FAILED: ${result.failures.join('; ')}\n`);
process.exit(result.pass ? 0 : 1);
