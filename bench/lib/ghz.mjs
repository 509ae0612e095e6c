// ghz, the gRPC load generator: which slice of a data set a run gets, the command line, and its summary with the
// client's and the servers' CPU sampled over the measured window.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BIN, CALL, CFG, DATA, OUT, PROTO, PROTO_DIR, pinArgs } from './config.mjs';
import { recordCommand, run } from './children.mjs';
import { delimitedPrefix } from './delimited.mjs';
import { cpuOfPids } from './proc_stats.mjs';

function dataArgs(set) {
  if (set.startsWith('{')) return ['-d', set];
  return CFG.ghzData === 'json' ? ['-D', join(DATA, `${set}.json`)] : ['-B', join(DATA, `${set}.bin`)];
}

/**
 * ghz decodes the whole data file before it starts (100k requests: ~1 GB and 6-12 s; the JSON form ~3 GB), on every
 * run. So each run gets the first K requests of a set, K rounded up to 10k and large enough for the requests the run
 * is expected to send (estimated from earlier runs of the same system and scenario); the full set when unknown.
 * Returns the name of a data set (cached prefix files "<set>.first<K>.{bin,json}").
 */
export function dataSlice(set, needed) {
  const total = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8')).sets[set]?.requests;
  if (!total || !needed || !Number.isFinite(needed)) return set;
  // At least 30k: three times the token caches of tokengate (10,000) and of the OPA config, so that even a run that
  // wraps around its slice finds its early tokens evicted (cyclic access over more keys than a FIFO/LRU holds: no hits).
  const k = Math.max(30_000, Math.ceil(needed / 10_000) * 10_000);
  if (k >= total) return set;
  const name = `${set}.first${k}`;
  const ext = CFG.ghzData === 'json' ? 'json' : 'bin';
  const src = join(DATA, `${set}.${ext}`);
  const dst = join(DATA, `${name}.${ext}`);
  if (existsSync(dst) && statSync(dst).mtimeMs >= statSync(src).mtimeMs) return name;
  const buf = readFileSync(src);
  if (ext === 'bin') writeFileSync(dst, delimitedPrefix(buf, k));
  else {
    // make_data writes one request per line: "[", then "{…}," lines, then "]".
    const lines = buf.toString('utf8').split('\n');
    const body = lines.slice(1, 1 + k).map((l) => l.replace(/,$/, ''));
    writeFileSync(dst, `[\n${body.join(',\n')}\n]\n`);
  }
  return name;
}

function ghzArgv({ target, set, c, connections, duration, rps, skipFirst, metadata, outFile }) {
  return [
    BIN.ghz,
    '--insecure',
    '--proto',
    PROTO,
    '-i',
    PROTO_DIR,
    '--call',
    CALL,
    // The data has no template actions: without these, ghz builds a template with ~200 sprig functions for every
    // call, which more than doubles its CPU per request (measured here: ~45 vs ~120 µs with an empty message).
    '--disable-template-functions',
    '--disable-template-data',
    ...dataArgs(set),
    ...(metadata ? ['-m', JSON.stringify(metadata)] : []),
    '-c',
    String(c),
    '--connections',
    String(connections),
    '-z',
    duration,
    ...(rps ? ['--rps', String(rps)] : []),
    ...(skipFirst ? ['--skipFirst', String(skipFirst)] : []),
    '-O',
    'json',
    '-o',
    outFile,
    target,
  ];
}

/** Steady-state CPU % of the client and the servers over the measured window [end - total, end] of a report. */
function windowCpu(samples, raw) {
  const endMs = Date.parse(raw.date); // ghz stamps `date` when it finalises the report
  const win = samples.filter((x) => x.t >= endMs - raw.total / 1e6 + 300 && x.t <= endMs - 200 && x.client !== null);
  if (win.length < 2) return { clientCpuPct: null, serverCpuPct: null };
  const [a, b] = [win[0], win.at(-1)];
  const dt = (b.t - a.t) / 1000;
  const serverCpuPct = a.server !== null && b.server !== null ? (100 * (b.server - a.server)) / dt : null;
  return { clientCpuPct: (100 * (b.client - a.client)) / dt, serverCpuPct };
}

/**
 * ghz -z closes its connections when the time is up: the calls still in flight then fail with "use of closed
 * network connection" / Canceled. Those (at most one per worker) are an artefact of stopping, not server errors.
 */
function countErrors(raw, c) {
  let endCancelled = 0;
  let errors = 0;
  for (const [msg, n] of Object.entries(raw.errorDistribution ?? {})) {
    if (/use of closed network connection|code = Canceled|context canceled|transport is closing/.test(msg)) {
      endCancelled += n;
    } else errors += n;
  }
  return endCancelled > c * 2 ? { errors: errors + endCancelled, endCancelled: 0 } : { errors, endCancelled };
}

let ghzSeq = 0;
/** Runs ghz and returns its summary (latencies in ms). */
export async function ghz(opts) {
  const { c = CFG.concurrency, connections = 1, duration = CFG.duration, skipFirst = CFG.skipFirst } = opts;
  const { rps, pinned = true, tag, serverPids } = opts;
  const outFile = join(OUT, 'ghz', `${String(++ghzSeq).padStart(4, '0')}-${tag ?? 'run'}.json`);
  mkdirSync(dirname(outFile), { recursive: true });
  const argv = [
    ...(pinned ? pinArgs(CFG.clientCpu) : []),
    ...ghzArgv({ ...opts, c, connections, duration, skipFirst, outFile }),
  ];
  const kind = `ghz${tag?.endsWith('-warm') ? ':warmup' : ''}${rps ? ':rps' : ''}${c === 1 ? ':c1' : ''}`;
  recordCommand(
    `${kind}${pinned ? '' : ':unpinned'}`,
    argv.map((a) => (a === outFile ? 'bench/out/ghz/RUN.json' : a)),
  );
  // Sample ghz's and the servers' CPU every 250 ms: steady-state utilisation over the measured window tells whether
  // the client (pinned to one core) or the server set the pace.
  const samples = [];
  let timer;
  const watch = (child) => {
    const sample = () => {
      const server = serverPids ? cpuOfPids(serverPids) : null;
      samples.push({ t: Date.now(), client: cpuOfPids([child.pid]), server });
    };
    timer = setInterval(sample, 250);
    sample();
  };
  await run(argv, { timeoutMs: 10 * 60_000, onSpawn: watch }).finally(() => clearInterval(timer));
  const raw = JSON.parse(readFileSync(outFile, 'utf8'));
  const pct = (p) => (raw.latencyDistribution ?? []).find((d) => d.percentage === p)?.latency / 1e6;
  const summary = {
    // Throughput over the whole measured run: ghz's own `rps` divides only the non-skipped calls by the full time.
    rps: (raw.count + skipFirst) / (raw.total / 1e9),
    ghzRps: raw.rps,
    count: raw.count,
    okCount: raw.statusCodeDistribution?.OK ?? 0,
    ...countErrors(raw, c),
    skipped: skipFirst,
    totalS: raw.total / 1e9,
    averageMs: raw.average / 1e6,
    fastestMs: raw.fastest / 1e6,
    slowestMs: raw.slowest / 1e6,
    p50: pct(50),
    p90: pct(90),
    p95: pct(95),
    p99: pct(99),
    // ghz's CPU as a share of the measured window: ~100 % when pinned to one core means the client, not the
    // server, set the pace.
    ...windowCpu(samples, raw),
    statusCodeDistribution: raw.statusCodeDistribution,
    errorDistribution: raw.errorDistribution,
  };
  // Keep only the summary (the per-request details are large).
  writeFileSync(outFile, `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}
