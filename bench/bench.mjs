#!/usr/bin/env node
// The benchmark driver (bench/run.sh runs it after building and generating data; bench/report.mjs renders its output).
// Everything on loopback, bounded in time; every child it starts is killed when it exits, however it exits.
//
// Sections (BENCH_SECTIONS, comma list; default all):
//   main      ceiling / tokengate / OPA-Envoy on scenarios a (repeated), b (distinct RS256), c (distinct ES256), d (mix),
//             server pinned to CPU ${BENCH_SERVER_CPU:-0}, ghz pinned to CPU ${BENCH_CLIENT_CPU:-1}, -c 50, 1 connection
//   unloaded  1 request in flight, repeated tokens, same pinning
//   sweep     fixed offered load (ghz --rps) for the p99-vs-load chart: ceiling, tokengate (a), tokengate (b), OPA (b)
//   workers   two cores, nothing pinned, ghz --connections 2: one process vs 2 workers (tokengate server.workers: 2,
//             ceiling --workers 2), scenarios a and b; then scenario a again with h2load as the client (2 connections,
//             25 streams each), which leaves the servers most of the second core that ghz takes
//   ready     time from spawning tokengate to /readyz 200, the issuer answering every request after 10 ms
//   envoy     ghz -> Envoy (noauth | jwt_authn | ext_authz -> tokengate | ext_authz -> allow-all ceiling) -> gRPC
//             upstream (ceiling server), unpinned
//
// Each figure: fresh server process per run (so no run sees another's cache), a warm-up ghz run on a disjoint token
// set (not measured), then the measured ghz run with --skipFirst; median of BENCH_RUNS runs.
// Output: bench/out/results.json (+ raw ghz summaries in bench/out/ghz/).
//
// The parts: lib/config.mjs (knobs, ports, tools), lib/children.mjs (the shared process manager), lib/issuer.mjs (the
// dev issuer), lib/systems.mjs, lib/ghz.mjs, lib/measure.mjs, lib/sections.mjs, lib/workers.mjs, lib/envoy.mjs.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { BIN, CFG, CLK_TCK, DATA, OUT, PORTS, ROOT, log } from './lib/config.mjs';
import { commands, killChildren } from './lib/children.mjs';
import { sectionEnvoy } from './lib/envoy.mjs';
import { startIssuer } from './lib/issuer.mjs';
import { machineInfo, versions } from './lib/machine.mjs';
import { loadavg } from './lib/proc_stats.mjs';
import { sectionMain, sectionReady, sectionSweep, sectionUnloaded } from './lib/sections.mjs';
import { sectionWorkers } from './lib/workers.mjs';

async function main() {
  mkdirSync(OUT, { recursive: true });
  rmSync(join(OUT, 'ghz'), { recursive: true, force: true });
  rmSync(join(OUT, 'logs'), { recursive: true, force: true });
  mkdirSync(join(OUT, 'logs'), { recursive: true }); // tokengate's log file goes there, whichever system starts first
  for (const [name, bin] of Object.entries({ ghz: BIN.ghz, 'opa-envoy-plugin': BIN.opa })) {
    if (!existsSync(bin)) throw new Error(`${name} not found at ${bin}: run scripts/install-bench-tools.sh`);
  }
  const started = new Date();
  const issuer = await startIssuer();
  const ctx = {
    issuer,
    token: readFileSync(join(DATA, 'envoy_token.txt'), 'utf8').trim(),
    preflight: {},
    rateSeen: {},
  };
  const results = {
    started: started.toISOString(),
    config: { ...CFG, ports: PORTS, clkTck: CLK_TCK, dataDir: relative(ROOT, DATA) },
    machine: machineInfo(),
    versions: versions(),
    data: issuer.manifest,
    sections: {},
  };
  // BENCH_MERGE=1: keep the sections of the last results.json that this run does not measure, so one section of a
  // full run can be measured again; each section records when it ran, and the report names every run it draws on.
  const resultsFile = join(OUT, 'results.json');
  if (CFG.merge && existsSync(resultsFile)) {
    const previous = JSON.parse(readFileSync(resultsFile, 'utf8'));
    const kept = Object.keys(previous.sections ?? {}).filter((name) => !CFG.sections.includes(name));
    for (const name of kept) results.sections[name] = { startedAt: previous.started, ...previous.sections[name] };
    for (const c of previous.commands ?? [])
      if (!commands.some((x) => x.kind === c.kind && x.cmd === c.cmd)) commands.push(c);
    results.mergedWith = [
      ...(previous.mergedWith ?? []),
      { started: previous.started, finished: previous.finished, sections: kept },
    ];
  }
  const save = () => {
    results.commands = commands;
    results.preflight = ctx.preflight;
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  };
  log(
    `sections ${CFG.sections.join(',')}; systems ${CFG.systems.join(',')}; scenarios ${CFG.scenarios.join(',')}; ` +
      `${CFG.runs} runs × ${CFG.duration}, -c ${CFG.concurrency}, ghz data ${CFG.ghzData}; load ${results.machine.loadavgStart.join(' ')}`,
  );
  try {
    for (const section of CFG.sections) {
      const t0 = Date.now();
      log(`== section ${section}`);
      const la0 = loadavg();
      let out;
      if (section === 'main') out = await sectionMain(ctx);
      else if (section === 'unloaded') out = await sectionUnloaded(ctx);
      else if (section === 'sweep') out = await sectionSweep(ctx, results.sections.main);
      else if (section === 'workers') out = await sectionWorkers(ctx);
      else if (section === 'ready') out = await sectionReady(ctx);
      else if (section === 'envoy') out = await sectionEnvoy(ctx);
      else throw new Error(`unknown section ${section}`);
      results.sections[section] = {
        ...out,
        startedAt: new Date(t0).toISOString(),
        seconds: (Date.now() - t0) / 1000,
        loadavgBefore: la0,
        loadavgAfter: loadavg(),
      };
      save();
    }
  } finally {
    results.finished = new Date().toISOString();
    results.machine.loadavgEnd = loadavg();
    results.jwksHits = { ...issuer.hits };
    save();
    await issuer.close();
  }
  log(`done: ${relative(ROOT, join(OUT, 'results.json'))}`);
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`FAILED: ${err.stack ?? err}`);
    killChildren('SIGKILL');
    process.exit(1);
  },
);
