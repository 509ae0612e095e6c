// Section workers: two cores, nothing pinned, one process against workers (tokengate server.workers, the ceiling's
// --workers), with ghz and then with h2load, which leaves the servers most of the core that ghz takes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, CALL, CFG, DATA, OUT, ROOT, SCENARIOS, log } from './config.mjs';
import { recordCommand, run } from './children.mjs';
import { readDelimited } from './delimited.mjs';
import { aggregate, measure } from './measure.mjs';
import { sh } from './machine.mjs';
import { cpuOfPids, peakRssMb, treeCpuSeconds } from './proc_stats.mjs';
import { startSystem, tokengateCounters, writeTokengateConfig } from './systems.mjs';
import { durS, fmt } from './units.mjs';

/** Does this tokengate accept server.workers? (validate exits non-zero on an unknown key.) */
async function workersSupported(ctx, res) {
  const wcfg = writeTokengateConfig(ctx, { workers: CFG.tgWorkers });
  try {
    await run([BIN.node, join(ROOT, 'dist', 'cli.js'), 'validate', wcfg]);
    res.supported.tokengate = true;
  } catch (err) {
    res.supported.tokengate = false;
    res.supported.tokengateError = err.message.split('\n').slice(-3).join(' ').slice(0, 400);
    log(
      `workers: tokengate does not accept server.workers (${res.supported.tokengateError}); measuring 1 process only`,
    );
  }
  res.supported.ceiling = true;
}

export async function sectionWorkers(ctx) {
  const res = { supported: {}, results: {} };
  await workersSupported(ctx, res);
  const cases = [];
  for (const system of ['ceiling', 'tokengate'].filter((s) => CFG.systems.includes(s))) {
    for (const scenario of system === 'ceiling' ? ['a'] : ['a', 'b']) {
      cases.push({ system, scenario, workers: 1 });
      if (res.supported[system]) cases.push({ system, scenario, workers: system === 'tokengate' ? CFG.tgWorkers : 2 });
    }
  }
  for (let r = 1; r <= CFG.runs; r++) {
    for (const cs of cases) {
      const tag = `workers-${cs.system}-${cs.scenario}-w${cs.workers}-r${r}`;
      const result = await measure(ctx, { ...cs, pinned: false, connections: 2, tag });
      (res.results[`${cs.system}:${cs.scenario}:w${cs.workers}`] ??= { ...cs, runs: [] }).runs.push(result);
    }
  }
  for (const v of Object.values(res.results)) v.median = aggregate(v.runs);
  if (!BIN.h2load) {
    res.h2load = { skipped: 'h2load not found (scripts/install-bench-tools.sh installs nghttp2-client)' };
    log(`workers: ${res.h2load.skipped}`);
    return res;
  }
  res.h2load = { version: sh([BIN.h2load, '--version']).trim(), results: {} };
  const body = grpcFrame(readDelimited(readFileSync(join(DATA, `${SCENARIOS.a.data}.bin`)), 1)[0]);
  const bodyFile = join(OUT, 'h2load_a.body');
  writeFileSync(bodyFile, body);
  for (let r = 1; r <= CFG.runs; r++) {
    for (const cs of cases.filter((x) => x.scenario === 'a')) {
      const tag = `workers-h2load-${cs.system}-a-w${cs.workers}-r${r}`;
      const result = await measureWithH2load(ctx, { ...cs, bodyFile, tag });
      (res.h2load.results[`${cs.system}:a:w${cs.workers}`] ??= { ...cs, runs: [] }).runs.push(result);
    }
  }
  for (const v of Object.values(res.h2load.results)) v.median = aggregate(v.runs);
  return res;
}

/** A gRPC length-prefixed message: compressed flag 0, 4-byte big-endian length, the message. */
function grpcFrame(message) {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  return frame;
}

function h2loadArgv(address, bodyFile) {
  return [
    BIN.h2load,
    '-c',
    '2',
    '-m',
    String(Math.ceil(CFG.concurrency / 2)),
    '--warm-up-time',
    String(durS(CFG.warmup)),
    '-D',
    String(durS(CFG.duration)),
    '-d',
    bodyFile,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    `http://${address}/${CALL}`,
  ];
}

/**
 * Every decision since `before` (warm-up included) must be an allow, and there must be one for each call h2load
 * counted: a denial would be a 200 with grpc-status 16 to h2load, and count as a success. Returns the allows.
 */
async function onlyAllows(before, succeeded, tag) {
  const after = await tokengateCounters();
  const delta = (k) => (after?.decisions[k] ?? 0) - (before?.decisions[k] ?? 0);
  const others = Object.keys(after?.decisions ?? {}).filter((k) => k !== 'allow' && delta(k) > 0);
  const allowed = delta('allow');
  if (others.length > 0 || !(allowed >= succeeded)) {
    const also = others.length ? ` and also decided ${others.join(', ')}` : '';
    throw new Error(`${tag}: h2load completed ${succeeded} calls; tokengate allowed ${allowed}${also}`);
  }
  return allowed;
}

/**
 * One workers-section run with h2load instead of ghz, unpinned. h2load is C and costs a fraction of ghz's CPU per
 * call, so on two vCPUs it shows how far the servers themselves scale. It sends the same gRPC-framed request on
 * every stream and does not read grpc-status, so for tokengate the run counts only if its own decision counters
 * show an allow for every call h2load completed and no other decision.
 */
async function measureWithH2load(ctx, { system, workers, bodyFile, tag }) {
  const sut = await startSystem(ctx, system, { pinned: false, workers });
  try {
    const before = system === 'tokengate' ? await tokengateCounters() : undefined;
    const argv = h2loadArgv(sut.address, bodyFile);
    recordCommand('h2load:workers', argv);
    // h2load's own CPU, sampled while it runs (its /proc entry is gone once it exits): what the client costs.
    let clientCpuS = null;
    let timer;
    const cpu0 = treeCpuSeconds(sut.pid);
    const t0 = Date.now();
    const out = await run(argv, {
      timeoutMs: 5 * 60_000,
      onSpawn: (child) => (timer = setInterval(() => (clientCpuS = cpuOfPids([child.pid]) ?? clientCpuS), 100)),
    }).finally(() => clearInterval(timer));
    const cpuS = treeCpuSeconds(sut.pid) - cpu0;
    const wallS = (Date.now() - t0) / 1000;
    const succeeded = Number(/requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded/.exec(out)?.[1] ?? NaN);
    // "finished in" counts the warm-up too; the req/s beside it is the measured calls over the measured time.
    const rps = Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1] ?? NaN);
    const meanMs = parseH2loadMs(/time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1]);
    const allowed = before ? await onlyAllows(before, succeeded, tag) : null;
    const failures = /(\d+) failed, (\d+) errored, (\d+) timeout/.exec(out)?.slice(1) ?? [];
    const result = {
      system,
      scenario: 'a',
      workers,
      client: 'h2load',
      rps,
      count: succeeded,
      averageMs: meanMs,
      cpuS,
      cpuPct: (100 * cpuS) / wallS,
      clientCpuPct: clientCpuS === null ? null : (100 * clientCpuS) / wallS,
      cpuUsPerReq: null,
      peakRssMb: peakRssMb(sut.pid).tree,
      errors: failures.reduce((n, x) => n + Number(x), 0),
      tokengateAllowed: allowed,
    };
    const cpu = `server cpu ${fmt(result.cpuPct, 0)}% (h2load ${fmt(result.clientCpuPct, 0)}%)`;
    log(
      `${tag}: ${fmt(result.rps, 0)} rps  mean ${fmt(meanMs)} ms  ${cpu}  rss ${fmt(result.peakRssMb, 0)} MB` +
        `${result.errors ? `  ERRORS ${result.errors}` : ''}`,
    );
    return result;
  } finally {
    await sut.stop();
  }
}

/** h2load prints times as "123us", "1.23ms" or "1.02s". */
function parseH2loadMs(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  return m ? Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]] : null;
}
