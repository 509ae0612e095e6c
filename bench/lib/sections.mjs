// Sections main, unloaded, sweep and ready (workers: workers.mjs; envoy: envoy.mjs).
import { join } from 'node:path';
import { BIN, CFG, NODE_FLAGS, PORTS, ROOT, SCENARIOS, TOKENGATE_CLI, log } from './config.mjs';
import { recordCommand, run, startChild } from './children.mjs';
import { aggregate, measure } from './measure.mjs';
import { httpStatus, writeTokengateConfig } from './systems.mjs';
import { fmt, median } from './units.mjs';

const { portInUse } = await import(join(ROOT, 'dist', 'testkit', 'ports.js'));
const { sleep } = await import(join(ROOT, 'dist', 'testkit', 'wait.js'));

export async function sectionMain(ctx) {
  const res = {};
  for (const scenario of CFG.scenarios) {
    for (let r = 1; r <= CFG.runs; r++) {
      // Interleaved (ceiling, tokengate, peer, ceiling, …): a drift in background load hits all systems alike.
      for (const system of CFG.systems) {
        // The peer's policy has no CEL rules and no introspection: (e) and (f) compare tokengate with the ceiling.
        if (system === 'opa' && SCENARIOS[scenario].policy) continue;
        const run = await measure(ctx, { system, scenario, tag: `main-${system}-${scenario}-r${r}` });
        (res[`${system}:${scenario}`] ??= { system, scenario, runs: [] }).runs.push(run);
      }
    }
  }
  for (const v of Object.values(res)) v.median = aggregate(v.runs);
  return res;
}

export async function sectionUnloaded(ctx) {
  const res = {};
  for (let r = 1; r <= CFG.runs; r++) {
    for (const system of CFG.systems) {
      const run = await measure(ctx, { system, scenario: 'a', c: 1, skipFirst: 200, tag: `unloaded-${system}-r${r}` });
      (res[system] ??= { system, scenario: 'a', runs: [] }).runs.push(run);
    }
  }
  for (const v of Object.values(res)) v.median = aggregate(v.runs);
  return res;
}

export async function sectionSweep(ctx, main) {
  const curves = [
    ['ceiling', 'b'],
    ['tokengate', 'a'],
    ['tokengate', 'b'],
    ['opa', 'b'],
  ].filter(([s]) => CFG.systems.includes(s));
  const res = {};
  for (const [system, scenario] of curves) {
    const max = main?.[`${system}:${scenario}`]?.median?.rps;
    // Points past ~1.3x the closed-loop maximum only measure an overflowing queue.
    const levels = CFG.sweepRps.filter((l) => !max || l <= max * 1.3);
    const key = `${system}:${scenario}`;
    res[key] = { system, scenario, maxRps: max ?? null, points: [] };
    for (const level of levels) {
      const runs = [];
      for (let r = 1; r <= CFG.sweepRuns; r++) {
        runs.push(
          await measure(ctx, {
            system,
            scenario,
            rps: level,
            duration: CFG.sweepDuration,
            warmup: '1s',
            skipFirst: Math.max(50, Math.min(CFG.skipFirst, Math.round(level / 4))),
            tag: `sweep-${system}-${scenario}-${level}-r${r}`,
          }),
        );
      }
      const rawRuns = runs.map((x) => ({ rps: x.rps, p50: x.p50, p99: x.p99 }));
      res[key].points.push({ offered: level, ...aggregate(runs), rawRuns });
    }
  }
  return res;
}

/** Time from spawning tokengate to /readyz 200, the issuer answering every request after CFG.issuerDelayMs. */
export async function sectionReady(ctx) {
  const times = [];
  const cfgFile = writeTokengateConfig(ctx, {});
  ctx.issuer.setDelay(CFG.issuerDelayMs);
  try {
    for (let r = 1; r <= CFG.readyRuns; r++) {
      if (await portInUse(PORTS.ops)) await sleep(200);
      const argv = [BIN.node, ...NODE_FLAGS, TOKENGATE_CLI, 'serve', '--config', cfgFile];
      recordCommand('ready', argv);
      const t0 = performance.now();
      const child = startChild(`ready-${r}`, argv);
      let listeningMs = null;
      const ready = async () => {
        const st = await httpStatus(PORTS.ops, '/readyz', 500);
        if (st && listeningMs === null) listeningMs = performance.now() - t0;
        return st === 200;
      };
      await child.waitUntil('tokengate /readyz', ready, { intervalMs: 2 });
      const readyMs = performance.now() - t0;
      times.push({ readyMs, opsListeningMs: listeningMs });
      log(
        `ready run ${r}: /readyz 200 after ${fmt(readyMs, 0)} ms (ops port answering after ${fmt(listeningMs, 0)} ms)`,
      );
      await child.stop('SIGTERM', 3000);
    }
    // For scale: how long a bare `node -e ''` takes to start and exit on this machine right now.
    const nodeStart = [];
    for (let r = 0; r < 3; r++) {
      const t0 = performance.now();
      await run([BIN.node, '-e', '']);
      nodeStart.push(performance.now() - t0);
    }
    return {
      issuerDelayMs: CFG.issuerDelayMs,
      runs: times,
      medianMs: median(times.map((t) => t.readyMs)),
      nodeBareStartMs: median(nodeStart),
    };
  } finally {
    ctx.issuer.setDelay(0);
  }
}
