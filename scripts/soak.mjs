#!/usr/bin/env node
// Soak test: tokengate under a fixed-rate, open-loop mix of valid, invalid and unknown-kid tokens for a bounded time,
// while the development issuer rotates keys and flaps. Loopback only. See docs/reliability.md "Soak".
//
//   npm run soak                                  # build, then 10 minutes at 1500 checks/s
//   node scripts/soak.mjs --minutes 1             # or SOAK_MINUTES=1
//   node scripts/soak.mjs --rate 1200             # or SOAK_RATE=1200 (checks/s)
//   options: --max-inflight 256 --ramp-seconds S (default min(10, 5 % of the run)) --sample-seconds 10
//            --log-level warn (tokengate's; info logs every decision) --out bench/out
//
// Threads and processes: the main thread drives Authorization/Check over one grpc-js channel; a worker thread runs
// the dev issuer (ES256 + RS256; discovery, JWKS, rotation and flaps on command) and signs tokens ahead of need;
// tokengate runs as a child process (`node dist/cli.js serve --config <temp file>`). Load starts once /readyz is 200.
// Sends are scheduled by the clock, not by completions (open loop), after a linear ramp; when `--max-inflight`
// checks are outstanding a due send is dropped and counted.
//
// Every answer is compared with the verdict expected for it:
//   - allow of an expired / wrong-audience / missing-scope / bad-signature / forged (published kid, unpublished key)
//     / never-published-kid token, or of a token whose key tokengate has seen removed        -> wrong allow
//   - deny of a valid token whose key tokengate has applied and which is still in the JWKS  -> wrong deny
//   - a valid token whose key is published but not yet applied by tokengate, whose key is removed but the removal
//     not yet applied, or which was in flight while tokengate applied such a change: either verdict is accepted and
//     counted as "tolerated", with the reasons.
// "Applied" is measured, not guessed: the issuer's JWKS hit counter is instrumented (first JWKS served after the
// change) and tokengate's tokengate_key_age_seconds and tokengate_key_fetches_total are polled twice a second (see
// pollKeyAge). Answers that fall in a window are judged again 3 s later, when the poll has caught up.
//
// Exit status 1 if wrong decisions > 0, RPC failures > 0 (errors, deadline 2 s, unanswered), or tokengate's RSS
// (/proc/<pid>/status VmRSS) grew > 10 % from the first sample after warm-up (min(60 s, 10 % of the run)) to the
// maximum of the later samples; 0 otherwise. Results: bench/out/soak-<timestamp>.json, .md, .tokengate.log.
import { spawn } from 'node:child_process';
import { KeyObject, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

const AUDIENCE = 'api://soak';
const SCOPE = 'orders.read';
const RUN_TAG = randomBytes(4).toString('hex');

// ------------------------------------------------------------------------------------------------- token signing
// Shared by the issuer thread and the main thread (inline fallback). Keys are { kid, alg, keyObject, headerB64 }.
const b64json = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function rawSign(key, input) {
  return key.alg === 'ES256'
    ? sign('sha256', Buffer.from(input), { key: key.keyObject, dsaEncoding: 'ieee-p1363' })
    : sign('sha256', Buffer.from(input), key.keyObject);
}
const ROGUE = { alg: 'ES256', keyObject: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey }; // never published

/** Signs one fresh token of `kind` with the keys of `ctx`: { kind, kid, token }. */
function generate(kind, ctx, seq, tag) {
  const now = Math.floor(Date.now() / 1000);
  const n = seq.n++;
  const claims = (over) => {
    const c = { iss: ctx.issuer, aud: AUDIENCE, sub: `user-${n % 100_000}`, iat: now, nbf: now, exp: now + 3600, scp: `${SCOPE} profile`, jti: `${tag}-${n}`, ...over };
    for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
    return c;
  };
  const jwt = (key, payload, headerB64 = key.headerB64, signKey = key) => {
    const input = `${headerB64}.${b64json(payload)}`;
    return `${input}.${rawSign(signKey, input).toString('base64url')}`;
  };
  const es = ctx.current.ES256;
  switch (kind) {
    case 'valid': {
      const key = Math.random() < 0.95 ? es : ctx.current.RS256; // RS256 signing costs ~8x ES256 signing
      return { kind, kid: key.kid, token: jwt(key, claims()) };
    }
    case 'old_key':
      if (!ctx.lastRetired) return generate('valid', ctx, seq, tag);
      return { kind, kid: ctx.lastRetired.kid, token: jwt(ctx.lastRetired, claims()) };
    case 'expired': {
      const exp = now - 30 - ((Math.random() * 3600) | 0);
      return { kind, kid: es.kid, token: jwt(es, claims({ exp, iat: exp - 3600, nbf: exp - 3600 })) };
    }
    case 'wrong_aud':
      return { kind, kid: es.kid, token: jwt(es, claims({ aud: Math.random() < 0.5 ? 'api://another-api' : ['api://x', 'api://y'] })) };
    case 'missing_scope':
      return { kind, kid: es.kid, token: jwt(es, claims({ scp: Math.random() < 0.5 ? undefined : 'orders.write profile' })) };
    case 'bad_sig': {
      const input = `${es.headerB64}.${b64json(claims())}`;
      const sig = rawSign(es, input);
      sig[(Math.random() * sig.length) | 0] ^= 1 << ((Math.random() * 8) | 0); // still canonical base64url
      return { kind, kid: es.kid, token: `${input}.${sig.toString('base64url')}` };
    }
    case 'forged': // the current kid, signed with a key that was never published
      return { kind, kid: es.kid, token: jwt(es, claims(), es.headerB64, ROGUE) };
    case 'unknown_kid': {
      const kid = `never-published-${randomBytes(6).toString('hex')}`;
      return { kind, kid, token: jwt(ROGUE, claims(), b64json({ alg: 'ES256', typ: 'JWT', kid }), ROGUE) };
    }
  }
  throw new Error(`unknown token kind ${kind}`);
}

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

if (!isMainThread) {
  // The issuer thread: the dev issuer (so its JWKS answers do not wait on the gRPC driver's event loop), its key
  // rotation and flaps on command, and token signing ahead of need.
  //
  // The dev issuer keeps its private keys to itself and signs through jose/WebCrypto (~7k ES256/s here). The soak
  // needs ~2k fresh tokens/s, so this thread captures each key as the issuer's KeyRing creates it (the keys are
  // generated extractable "for out-of-band tooling") and signs with node:crypto directly (~19k ES256/s, ~2.5k RS256/s
  // per core) with a pre-encoded header.
  const { startDevIssuer } = await import(join(ROOT, 'dist/dev_issuer/dev_issuer.js'));
  const { KeyRing } = await import(join(ROOT, 'dist/dev_issuer/keys.js'));
  const post = (msg) => parentPort.postMessage(msg);
  const captured = new Map();
  const originalAdd = KeyRing.prototype.add;
  KeyRing.prototype.add = async function add(...args) {
    const key = await originalAdd.apply(this, args);
    // Same microtask chain as the ring's insert: no JWKS request can be served in between, so `at` is exact.
    const k = { kid: key.kid, alg: key.alg, keyObject: KeyObject.from(key.privateKey), headerB64: b64json({ alg: key.alg, typ: 'JWT', kid: key.kid }) };
    captured.set(k.kid, k);
    post({ type: 'published', kid: k.kid, alg: k.alg, keyObject: k.keyObject, at: Date.now() });
    return key;
  };
  const issuer = await startDevIssuer({ algorithms: ['ES256', 'RS256'], cacheMaxAge: 60 });
  // Every JWKS response is a point where tokengate's view of the keys can change: report each with its time.
  let jwksHits = issuer.hits.jwks;
  Object.defineProperty(issuer.hits, 'jwks', {
    get: () => jwksHits,
    set: (v) => {
      jwksHits = v;
      post({ type: 'hit', at: Date.now() });
    },
    enumerable: true,
  });
  const ctx = { epoch: 0, issuer: issuer.issuer, current: {}, lastRetired: undefined };
  for (const k of captured.values()) ctx.current[k.alg] = k;
  const seq = { n: 0 };
  const tag = `${RUN_TAG}-w`;
  parentPort.on('message', async (msg) => {
    const reply = (body) => post({ type: 'reply', id: msg.id, ...body });
    try {
      if (msg.type === 'sign') {
        if (msg.epoch !== ctx.epoch) return;
        const tokens = {};
        for (const [kind, count] of Object.entries(msg.asked)) {
          const list = (tokens[kind] = []);
          for (let i = 0; i < count; i++) list.push(generate(kind, ctx, seq, tag));
        }
        post({ type: 'tokens', epoch: ctx.epoch, asked: msg.asked, tokens });
      } else if (msg.type === 'rotate') {
        const kid = await issuer.addKey(msg.alg);
        // New tokens use the new kid at once.
        ctx.lastRetired = ctx.current[msg.alg];
        ctx.current[msg.alg] = captured.get(kid);
        ctx.epoch++;
        reply({ kid, retired: ctx.lastRetired.kid, epoch: ctx.epoch });
      } else if (msg.type === 'remove') {
        issuer.removeKey(msg.kid);
        reply({ at: Date.now() });
      } else if (msg.type === 'stop') {
        const at = Date.now();
        await issuer.stop();
        reply({ at });
      } else if (msg.type === 'start') {
        await issuer.start();
        reply({ at: Date.now() });
      } else if (msg.type === 'close') {
        await issuer.close();
        reply({});
      }
    } catch (err) {
      reply({ error: err.message });
    }
  });
  post({ type: 'ready', issuer: issuer.issuer, discoveryUrl: issuer.discoveryUrl });
  await new Promise(() => {}); // the rest of this file is the main thread's
}

const { createCheckClient } = await import(join(ROOT, 'dist/grpc/check_client.js'));

// ---------------------------------------------------------------------------------------------------------- options
const { values: opts } = parseArgs({
  options: {
    minutes: { type: 'string', default: process.env.SOAK_MINUTES ?? '10' },
    rate: { type: 'string', default: process.env.SOAK_RATE ?? '1500' },
    'max-inflight': { type: 'string', default: '256' },
    'sample-seconds': { type: 'string', default: '10' },
    'ramp-seconds': { type: 'string' },
    'log-level': { type: 'string', default: 'warn' },
    out: { type: 'string', default: join(ROOT, 'bench/out') },
  },
});
const MINUTES = Number(opts.minutes);
const RATE = Number(opts.rate);
const MAX_INFLIGHT = Number(opts['max-inflight']);
const SAMPLE_MS = Number(opts['sample-seconds']) * 1000;
for (const [name, v] of [['minutes', MINUTES], ['rate', RATE], ['max-inflight', MAX_INFLIGHT], ['sample-seconds', SAMPLE_MS]]) {
  if (!(Number.isFinite(v) && v > 0)) fail(`--${name} must be a positive number`);
}
const DURATION_MS = Math.round(MINUTES * 60_000);
const WARMUP_MS = Math.min(60_000, DURATION_MS * 0.1);
const RAMP_MS = opts['ramp-seconds'] !== undefined ? Number(opts['ramp-seconds']) * 1000 : Math.min(10_000, DURATION_MS * 0.05);
if (!(RAMP_MS >= 0 && RAMP_MS < DURATION_MS)) fail('--ramp-seconds must be >= 0 and shorter than the run');
const RSS_GROWTH_LIMIT = 0.10;
const RPC_TIMEOUT_MS = 2000;
// The schedule of a 10-minute run (seconds from the start of load), scaled down with floors for shorter runs.
// The defaults keep rotations out of the issuer's down windows; shorter runs may overlap them, which the
// expected-verdict logic handles (a key published while the issuer is down is "not yet fetched").
const f = Math.min(1, DURATION_MS / 600_000);
const SCHEDULE = {
  rotateFirstS: Math.max(10, 40 * f),
  rotateEveryS: Math.max(15, 60 * f),
  removeAfterS: Math.max(8, 25 * f),
  flapFirstS: Math.max(20, 75 * f),
  flapEveryS: Math.max(30, 120 * f),
  flapForS: Math.max(8, 20 * f),
};
// The mix, per 1000 scheduled checks.
const MIX = [
  ['valid', 700], // fresh, distinct: 95 % ES256, 5 % RS256, signed with the current key of its alg
  ['old_key', 40], // fresh, signed with the most recently retired key (allowed until its removal is fetched)
  ['repeat', 50], // a token from the last 4096 valid/old_key tokens, sent again (a cache hit when still cached)
  ['expired', 40], // current key, exp 30 s .. 1 h in the past
  ['wrong_aud', 50], // current key, aud of another API
  ['missing_scope', 50], // current key, no scp or a scp without the required scope
  ['bad_sig', 30], // a valid token with one bit of its signature flipped
  ['forged', 15], // the current ES256 kid, signed with a key that was never published
  ['unknown_kid', 25], // a never-published kid (fresh random), signed with that unpublished key
];
const MUST_DENY = new Set(['expired', 'wrong_aud', 'missing_scope', 'bad_sig', 'forged', 'unknown_kid']);
// Reasons that prove the signature verified with a key that is still current: such a fresh token went into the cache.
const CACHED_REASONS = new Set(['TokenAudienceNotAllowed', 'TokenIssuerNotAllowed', 'TokenClaimNotFound', 'TokenClaimValueNotAllowed']);

function fail(message) {
  process.stderr.write(`soak: ${message}\n`);
  process.exit(2);
}
// Never leave tokengate or the temp config behind, whatever ends the soak (failure, Ctrl-C, SIGTERM).
let child;
let childExit;
let workDir;
process.on('exit', () => {
  if (child && !childExit) child.kill('SIGKILL');
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => process.exit(130));
const log = (message) => process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

// ---------------------------------------------------------------------------------------------------- the issuer
// Key state as the issuer thread reports it: kid -> { kid, alg, keyObject, publishedAt, knownAt, removedAt, removalSeenAt }.
// servedAt / removalServedAt: the first JWKS response served after the key was published / removed.
// knownAt / removalSeenAt: when tokengate applied keys fetched at or after that response (see pollKeyAge).
const keys = new Map();
const current = {}; // alg -> key: what the issuer thread signs valid tokens with
let lastRetired;
let issuerUp = true;
const jwksHits = [];
let readyInfo;
const replies = new Map();
let nextId = 0;
const issuerThread = new Worker(new URL(import.meta.url));
issuerThread.on('error', (err) => fail(`issuer thread failed: ${err.stack ?? err.message}`));
issuerThread.on('message', (msg) => {
  switch (msg.type) {
    case 'published': {
      const k = { kid: msg.kid, alg: msg.alg, keyObject: msg.keyObject, headerB64: b64json({ alg: msg.alg, typ: 'JWT', kid: msg.kid }), publishedAt: msg.at };
      keys.set(k.kid, k);
      if (!readyInfo) current[k.alg] = k;
      return;
    }
    case 'hit':
      jwksHits.push(msg.at);
      for (const k of keys.values()) {
        if (k.servedAt === undefined && k.removedAt === undefined && k.publishedAt <= msg.at) k.servedAt = msg.at;
        if (k.removedAt !== undefined && k.removalServedAt === undefined && k.removedAt <= msg.at) k.removalServedAt = msg.at;
      }
      return;
    case 'tokens':
      onTokens(msg);
      return;
    case 'ready':
      readyInfo = msg;
      replies.get('ready')?.(msg);
      return;
    case 'reply':
      replies.get(msg.id)?.(msg);
      replies.delete(msg.id);
  }
});
function command(type, body = {}) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    replies.set(id, (msg) => (msg.error ? reject(new Error(msg.error)) : resolve(msg)));
    issuerThread.postMessage({ type, id, ...body });
  });
}
const issuer = readyInfo ?? (await new Promise((resolve) => replies.set('ready', resolve)));

// ---------------------------------------------------------------------------------------------------- tokengate
const runId = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync(opts.out, { recursive: true });
const outBase = join(opts.out, `soak-${runId}`);
const grpcPort = await freePort();
const opsPort = await freePort();
workDir = mkdtempSync(join(tmpdir(), 'tokengate-soak-'));
const configPath = join(workDir, 'tokengate.yaml');
writeFileSync(
  configPath,
  `# written by scripts/soak.mjs
server:
  grpc: { address: "127.0.0.1:${grpcPort}" }
  http: { address: "127.0.0.1:${opsPort}" }
keys:
  cooldown: 5
  refreshInterval: 60
logging:
  level: ${opts['log-level']}
policies:
  - name: soak
    validateJwt:
      openidConfig:
        - url: ${issuer.discoveryUrl}
      audiences: ["${AUDIENCE}"]
      requiredClaims:
        - { name: scp, separator: " ", match: any, values: ["${SCOPE}"] }
      outputClaimsToHeaders:
        - { claim: sub, header: x-user-sub }
`,
);
const tgLogPath = `${outBase}.tokengate.log`;
const tgLog = openSync(tgLogPath, 'w');
child = spawn(process.execPath, [join(ROOT, 'dist/cli.js'), 'serve', '--config', configPath], {
  stdio: ['ignore', tgLog, tgLog],
  env: { ...process.env, LOG_LEVEL: opts['log-level'] },
});
child.on('exit', (code, signal) => (childExit = { code, signal, at: Date.now() }));
const OPS = `http://127.0.0.1:${opsPort}`;

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function waitReady(timeoutMs) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (childExit) fail(`tokengate exited during start (${JSON.stringify(childExit)}); see ${tgLogPath}`);
    try {
      if ((await fetch(`${OPS}/readyz`)).status === 200) return;
    } catch {
      // not listening yet: poll again
    }
    await sleep(100);
  }
  fail(`tokengate not ready within ${timeoutMs} ms; see ${tgLogPath}`);
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

log(`tokengate pid ${child.pid}, grpc 127.0.0.1:${grpcPort}, ops ${OPS}, issuer ${issuer.issuer}`);
await waitReady(30_000);
log(`ready; ${MINUTES} min at ${RATE}/s, max in-flight ${MAX_INFLIGHT}, warm-up ${WARMUP_MS / 1000}s, schedule ${JSON.stringify(SCHEDULE)}`);

/**
 * When did tokengate apply the JWKS served after a key change? tokengate_key_age_seconds = now - fetchedAt of its last
 * successful fetch, so for a scrape between `before` and `after` that fetch was applied in [before - age, after - age].
 * Fetches of one source are single-flight, so the change is applied (at the latest at after - age) when either
 *  - every JWKS response served before `before` has been applied (successful fetches = JWKS responses so far), or
 *  - the last applied fetch was applied after the first JWKS response served after the change (before - age >= it).
 * The first test is the precise one; the second covers the rest of the run if a fetch ever failed after its JWKS.
 */
let keyAgePolling = false;
async function pollKeyAge() {
  if (keyAgePolling) return;
  keyAgePolling = true;
  try {
    const before = Date.now();
    const text = await (await fetch(`${OPS}/metrics`)).text();
    const after = Date.now();
    const m = text.match(/^tokengate_key_age_seconds\{[^}]*\} ([0-9.e+-]+)$/m);
    const ok = text.match(/^tokengate_key_fetches_total\{[^}]*result="ok"[^}]*\} ([0-9.e+-]+)$/m);
    if (!m) return;
    const age = Number(m[1]) * 1000;
    let servedBefore = jwksHits.length;
    while (servedBefore > 0 && jwksHits[servedBefore - 1] >= before) servedBefore--;
    const allApplied = ok !== null && Number(ok[1]) === servedBefore;
    const applied = (servedAt) => servedAt !== undefined && ((allApplied && servedAt < before) || before - age >= servedAt);
    for (const k of keys.values()) {
      if (k.knownAt === undefined && applied(k.servedAt)) k.knownAt = after - age;
      if (k.removalSeenAt === undefined && applied(k.removalServedAt)) k.removalSeenAt = after - age;
    }
  } catch {
    // the next poll will tell
  } finally {
    keyAgePolling = false;
  }
}
await pollKeyAge();
const keyAgePoll = setInterval(() => void pollKeyAge(), 500);

// ---------------------------------------------------------------------------------------------------- tokens
// Fresh tokens are signed ahead by the issuer thread (see the top of the file) into per-kind queues, topped up every
// 10 ms for the next ~200 ms of load; a kind whose queue is empty at send time is signed inline. After a rotation the
// queues are emptied and batches signed with the previous keys are discarded, so new tokens use the new kid at once.
const pool = new Array(4096);
let poolSize = 0;
let poolNext = 0;
const queues = Object.fromEntries(MIX.map(([kind]) => [kind, { items: [], head: 0, pending: 0 }]));
const signer = { epoch: 0, inline: 0, fromWorker: 0, seq: { n: 0 } };
function onTokens(msg) {
  if (msg.epoch !== signer.epoch) return; // signed with keys that have been rotated since
  for (const [kind, list] of Object.entries(msg.tokens)) {
    const q = queues[kind];
    q.pending = Math.max(0, q.pending - msg.asked[kind]);
    for (const t of list) q.items.push(t);
  }
}
/** After a rotation: queued tokens of the previous keys are dropped, so new tokens use the new kid at once. */
function keysChanged(epoch) {
  signer.epoch = epoch;
  for (const q of Object.values(queues)) {
    q.items = [];
    q.head = 0;
    q.pending = 0;
  }
}
const refill = setInterval(() => {
  const asked = {};
  let any = false;
  for (const [kind, share] of MIX) {
    if (kind === 'repeat') continue;
    const q = queues[kind];
    const want = Math.ceil((RATE * share) / 1000 * 0.2) + 8; // ~200 ms of this kind
    const have = q.items.length - q.head + q.pending;
    if (q.head > 4096) {
      q.items = q.items.slice(q.head);
      q.head = 0;
    }
    if (have < want) {
      asked[kind] = want * 2 - have;
      q.pending += asked[kind];
      any = true;
    }
  }
  if (any) issuerThread.postMessage({ type: 'sign', epoch: signer.epoch, asked });
}, 10);
refill.unref();
const signingContext = () => ({ issuer: issuer.issuer, current, lastRetired });

/** A token of the given kind: { kind, token, key (its signing key's state, for key-dependent verdicts), fresh }. */
function takeToken(kind) {
  if (kind === 'repeat' && poolSize > 0) {
    const t = pool[(Math.random() * poolSize) | 0];
    return { kind, key: t.key, token: t.token, fresh: false, of: t.kind };
  }
  if (kind === 'repeat') kind = 'valid';
  const q = queues[kind];
  let g;
  if (q.head < q.items.length) {
    g = q.items[q.head];
    q.items[q.head++] = undefined;
    signer.fromWorker++;
  } else {
    g = generate(kind, signingContext(), signer.seq, `${RUN_TAG}-m`);
    signer.inline++;
  }
  const t = { kind: g.kind, key: g.kid === undefined ? undefined : keys.get(g.kid), token: g.token, fresh: true };
  if (t.kind === 'valid' || t.kind === 'old_key') {
    pool[poolNext] = t;
    poolNext = (poolNext + 1) % pool.length;
    poolSize = Math.min(poolSize + 1, pool.length);
  }
  return t;
}
const KIND_TABLE = MIX.flatMap(([kind, n]) => new Array(n).fill(kind));
const pickKind = () => KIND_TABLE[(Math.random() * KIND_TABLE.length) | 0];

/** The verdict expected for a check decided at time `at`: 'allow', 'deny', or a tolerated 'either:<why>'. */
function expected(t, at) {
  if (MUST_DENY.has(t.kind)) return 'deny';
  const k = t.key;
  if (k.removalSeenAt !== undefined && at >= k.removalSeenAt) return 'deny';
  if (k.removedAt !== undefined && at >= k.removedAt) return 'either:removed-key-not-yet-refetched';
  if (k.knownAt !== undefined && at >= k.knownAt) return 'allow';
  return 'either:new-key-not-yet-fetched';
}

// ---------------------------------------------------------------------------------------------------- the load
const client = createCheckClient(`127.0.0.1:${grpcPort}`);
const totals = {
  scheduled: 0, sent: 0, dropped: 0, answered: 0, rpcFailures: 0, lost: 0,
  allow: 0, deny: 0, wrongAllow: 0, wrongDeny: 0, tolerated: 0,
  freshTokens: 0, freshTokensCached: 0,
};
const byKind = {}; // kind -> { sent, allow, deny, reasons: {reason: n} }
const tolerated = {}; // 'either:...|allow' or '|reason' -> n
const wrongExamples = [];
const rpcErrors = {};
const rpcFailureTimes = []; // send times (s) of the first 2000 failed RPCs
const rpcFailureDetails = [];
for (const [kind] of MIX) byKind[kind] = { sent: 0, allow: 0, deny: 0, reasons: {} };
let inflight = 0;
let win = newWindow();
const allLat = [];
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function newWindow() {
  return { lat: [], latKnown: [], latSched: [], answered: 0, sent: 0, dropped: 0, wrong: 0, tolerated: 0, rpcFailures: 0 };
}

function request(token, n) {
  const headers = {
    ':authority': 'api.example.com',
    ':method': 'GET',
    ':path': '/orders',
    ':scheme': 'http',
    'user-agent': 'soak/1',
    'x-request-id': `soak-${n}`,
    authorization: `Bearer ${token}`,
  };
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.0.0.7', port_value: 51234 } } },
      destination: { address: { socket_address: { address: '10.0.0.8', port_value: 8080 } } },
      request: { http: { id: String(n), method: 'GET', path: '/orders', host: 'api.example.com', scheme: 'http', protocol: 'HTTP/1.1', headers } },
      context_extensions: {},
    },
  };
}

function send(n, scheduledAt) {
  totals.scheduled++;
  if (inflight >= MAX_INFLIGHT) {
    totals.dropped++;
    win.dropped++;
    return;
  }
  const t = takeToken(pickKind());
  const kind = t.kind;
  const sentAt = Date.now();
  const started = performance.now();
  inflight++;
  totals.sent++;
  win.sent++;
  byKind[kind].sent++;
  client.check(request(t.token, n), RPC_TIMEOUT_MS).then(
    (res) => {
      const end = performance.now();
      inflight--;
      totals.answered++;
      win.answered++;
      win.lat.push(end - started);
      if (kind === 'valid' || kind === 'repeat') win.latKnown.push(end - started);
      win.latSched.push(end - scheduledAt);
      allLat.push(end - started);
      const allowed = res.status?.code === 0;
      const reason = allowed ? 'allow' : (res.dynamic_metadata?.fields?.['tokengate.reason']?.stringValue ?? `code${res.status?.code}`);
      const bk = byKind[kind];
      if (allowed) { totals.allow++; bk.allow++; } else { totals.deny++; bk.deny++; }
      bk.reasons[reason] = (bk.reasons[reason] ?? 0) + 1;
      if (t.fresh) {
        totals.freshTokens++;
        if (allowed || CACHED_REASONS.has(reason)) totals.freshTokensCached++;
      }
      judge({ t, sentAt, allowed, reason, answeredAt: Date.now() }, false);
    },
    (err) => {
      inflight--;
      totals.rpcFailures++;
      win.rpcFailures++;
      const key = `${err.code ?? ''} ${String(err.details ?? err.message).replace(/ after .*$/, '').slice(0, 120)} (${kind})`;
      rpcErrors[key] = (rpcErrors[key] ?? 0) + 1;
      if (rpcFailureTimes.length < 2000) rpcFailureTimes.push(rel(sentAt));
      if (rpcFailureDetails.length < 20) rpcFailureDetails.push(`${rel(sentAt)}s ${kind}: ${err.details ?? err.message}`);
    },
  );
}

/**
 * Compares an answer with the verdict expected at its send time. An answer that falls in a key-change window is judged
 * again 3 s later (`final`), once the issuer's reports and the key-age poll have caught up with that send time.
 */
const unsure = [];
function judge(a, final) {
  // A check in flight while tokengate applied a key change may be decided either way.
  const atSend = expected(a.t, a.sentAt);
  const exp = atSend === expected(a.t, a.answeredAt) ? atSend : 'either:in-flight-across-a-key-change';
  if (exp === 'allow' && !a.allowed) wrong('wrongDeny', a.t, exp, a.reason, a.sentAt);
  else if (exp === 'deny' && a.allowed) wrong('wrongAllow', a.t, exp, a.reason, a.sentAt);
  else if (exp.startsWith('either')) {
    if (!final) return void unsure.push(a);
    totals.tolerated++;
    win.tolerated++;
    const key = `${exp.slice(7)} -> ${a.reason}`;
    tolerated[key] = (tolerated[key] ?? 0) + 1;
  }
}
function judgeUnsure(all) {
  let i = 0;
  while (i < unsure.length && (all || unsure[i].answeredAt < Date.now() - 3000)) judge(unsure[i++], true);
  unsure.splice(0, i);
}
const unsureSweep = setInterval(() => judgeUnsure(false), 1000);

function wrong(what, t, exp, reason, sentAt) {
  totals[what]++;
  win.wrong++;
  if (wrongExamples.length < 50) {
    const k = t.key;
    wrongExamples.push({
      what, kind: t.kind, of: t.of, expected: exp, got: reason, sentAtS: (sentAt - loadStart) / 1000,
      key: k && { kid: k.kid, alg: k.alg, publishedAtS: rel(k.publishedAt), servedAtS: rel(k.servedAt), knownAtS: rel(k.knownAt), removedAtS: rel(k.removedAt), removalServedAtS: rel(k.removalServedAt), removalSeenAtS: rel(k.removalSeenAt) },
    });
  }
}
const rel = (ms) => (ms === undefined ? null : Math.round(ms - loadStart) / 1000);

// ------------------------------------------------------------------------------------------------ rotation, flaps
const events = [];
const timers = [];
const event = (what) => {
  events.push({ tS: Math.round((Date.now() - loadStart) / 100) / 10, event: what });
  log(what);
};
/** Runs fn at `seconds` after the start of load, if that is before the end of the run. */
function at(seconds, fn) {
  if (seconds * 1000 < DURATION_MS) timers.push(setTimeout(fn, Math.max(0, loadStart + seconds * 1000 - Date.now())));
}
let rotation = 0;
async function rotate() {
  const alg = rotation++ % 2 === 0 ? 'ES256' : 'RS256';
  const { kid, retired, epoch } = await command('rotate', { alg });
  const prev = keys.get(retired);
  current[alg] = keys.get(kid);
  lastRetired = prev;
  keysChanged(epoch);
  event(`addKey ${alg} ${kid} (new ${alg} tokens use it at once; ${prev.kid} retired)${issuerUp ? '' : ' [issuer down]'}`);
  at((Date.now() - loadStart) / 1000 + SCHEDULE.removeAfterS, async () => {
    const { at: removedAt } = await command('remove', { kid: prev.kid });
    prev.removedAt = removedAt;
    event(`removeKey ${prev.kid}${issuerUp ? '' : ' [issuer down]'}`);
  });
}
async function flap() {
  issuerUp = false;
  await command('stop');
  event(`issuer stop (for ${SCHEDULE.flapForS}s)`);
  at((Date.now() - loadStart) / 1000 + SCHEDULE.flapForS, async () => {
    await command('start');
    issuerUp = true;
    event('issuer start');
  });
}

// ---------------------------------------------------------------------------------------------------- sampling
const samples = [];
let readyzFailures = 0;
let readyzChecks = 0;
let lastCpu = procCpu();
let lastSampleAt = performance.now();
let lastClientCpu = process.cpuUsage();

function procStatus(field) {
  try {
    const m = readFileSync(`/proc/${child.pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
function procCpu() {
  try {
    const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, clock ticks (100/s)
  } catch {
    return undefined;
  }
}
async function scrape() {
  try {
    const text = await (await fetch(`${OPS}/metrics`)).text();
    const one = (name) => {
      const m = text.match(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm'));
      return m ? Number(m[1]) : undefined;
    };
    const sum = (name) => [...text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} ([0-9.e+-]+)$`, 'gm'))].map((m) => ({ labels: m[1], v: Number(m[2]) }));
    return {
      cacheEntries: one('tokengate_token_cache_entries'),
      cacheHits: one('tokengate_token_cache_hits_total'),
      cacheMisses: one('tokengate_token_cache_misses_total'),
      rssMetric: one('process_resident_memory_bytes'),
      heapUsed: one('nodejs_heap_size_used_bytes'),
      external: one('nodejs_external_memory_bytes'),
      durationBuckets: [...text.matchAll(/^tokengate_check_duration_seconds_bucket\{le="([^"]+)"\} ([0-9.e+-]+)$/gm)].map((m) => [m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]),
      loopLagP99: one('nodejs_eventloop_lag_p99_seconds'),
      loopLagMax: one('nodejs_eventloop_lag_max_seconds'),
      gcSeconds: sum('nodejs_gc_duration_seconds_sum').reduce((a, g) => a + g.v, 0),
      gcMajorSeconds: sum('nodejs_gc_duration_seconds_sum').filter((g) => g.labels.includes('major')).reduce((a, g) => a + g.v, 0),
      decisions: sum('tokengate_decisions_total'),
      keyFetches: sum('tokengate_key_fetches_total'),
    };
  } catch (err) {
    return { error: String(err) };
  }
}
/** p-quantile of tokengate's own check duration between two scrapes: the upper bound of the bucket it falls in (ms). */
function serverQuantile(prev, cur, p) {
  if (!prev?.durationBuckets?.length || !cur?.durationBuckets?.length) return null;
  const d = cur.durationBuckets.map(([le, v], i) => [le, v - (prev.durationBuckets[i]?.[1] ?? 0)]);
  const total = d.at(-1)[1];
  if (!(total > 0)) return null;
  const hit = d.find(([, v]) => v >= p * total);
  return hit[0] === Infinity ? Infinity : Math.round(hit[0] * 1e5) / 100;
}
let lastScrape;
const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : null);
const r2 = (x) => (x == null ? null : Math.round(x * 100) / 100);

async function sample() {
  const w = win;
  win = newWindow();
  const now = performance.now();
  const elapsedS = (now - lastSampleAt) / 1000;
  lastSampleAt = now;
  const cpu = procCpu();
  const clientCpu = process.cpuUsage();
  const m = await scrape();
  const lat = Float64Array.from(w.lat).sort();
  const latS = Float64Array.from(w.latSched).sort();
  const latK = Float64Array.from(w.latKnown).sort();
  const s = {
    tS: Math.round((Date.now() - loadStart) / 1000),
    achievedPerS: Math.round(w.answered / elapsedS),
    sent: w.sent,
    dropped: w.dropped,
    p50Ms: r2(pct(lat, 0.5)),
    p99Ms: r2(pct(lat, 0.99)),
    maxMs: r2(lat.length ? lat[lat.length - 1] : null),
    p99FromScheduleMs: r2(pct(latS, 0.99)),
    p99ValidMs: r2(pct(latK, 0.99)),
    rssBytes: procStatus('VmRSS'),
    serverP99MsBucket: serverQuantile(lastScrape, m, 0.99),
    tokengateLoopLagP99Ms: m.loopLagP99 === undefined ? null : r2(m.loopLagP99 * 1000),
    tokengateGcPct: lastScrape?.gcSeconds !== undefined && m.gcSeconds !== undefined ? r2(((m.gcSeconds - lastScrape.gcSeconds) / elapsedS) * 100) : null,
    tokengateMajorGcMs: lastScrape?.gcMajorSeconds !== undefined && m.gcMajorSeconds !== undefined ? Math.round((m.gcMajorSeconds - lastScrape.gcMajorSeconds) * 1000) : null,
    heapUsedBytes: m.heapUsed,
    externalBytes: m.external,
    cacheEntries: m.cacheEntries,
    tokengateCpuPct: cpu !== undefined && lastCpu !== undefined ? Math.round(((cpu - lastCpu) / elapsedS) * 100) : null,
    clientCpuPct: Math.round(((clientCpu.user - lastClientCpu.user + clientCpu.system - lastClientCpu.system) / 1e6 / elapsedS) * 100),
    clientLoopP99Ms: r2(loopDelay.percentile(99) / 1e6),
    clientLoopMaxMs: r2(loopDelay.max / 1e6),
    tokengateLoopLagMaxMs: m.loopLagMax === undefined ? null : r2(m.loopLagMax * 1000),
    wrong: w.wrong,
    tolerated: w.tolerated,
    rpcFailures: w.rpcFailures,
    issuerUp,
    loadavg1: r2(loadavg()[0]),
  };
  loopDelay.reset();
  if (!m.error) lastScrape = m;
  lastCpu = cpu;
  lastClientCpu = clientCpu;
  samples.push(s);
  log(
    `t=${s.tS}s rate=${s.achievedPerS}/s p50=${s.p50Ms}ms p99=${s.p99Ms}ms (from schedule ${s.p99FromScheduleMs}ms) ` +
      `rss=${mib(s.rssBytes)}MiB cache=${s.cacheEntries} tg-cpu=${s.tokengateCpuPct}% wrong=${totals.wrongAllow + totals.wrongDeny} ` +
      `rpcfail=${totals.rpcFailures} dropped=${totals.dropped} tolerated=${totals.tolerated}${issuerUp ? '' : ' [issuer down]'}`,
  );
}
const mib = (b) => (b === undefined || b === null ? null : Math.round((b / 1048576) * 10) / 10);

// ---------------------------------------------------------------------------------------------------- run
const before = await scrape();
lastScrape = before;
const loadStart = Date.now();
const t0 = performance.now();
// The rate ramps up linearly over the first RAMP_MS (so a cold JIT in either process is not a burst of timeouts), then
// holds. due(t): checks scheduled by t ms after t0; sched(n): when check n is scheduled.
const rampN = (RATE * RAMP_MS) / 2000;
const due = (t) => Math.floor(t < RAMP_MS ? (RATE * t * t) / (2000 * RAMP_MS) : (RATE * (t - RAMP_MS / 2)) / 1000);
const sched = (i) => (i < rampN ? Math.sqrt((2000 * RAMP_MS * i) / RATE) : (i * 1000) / RATE + RAMP_MS / 2);
let n = 0;

for (let s = SCHEDULE.rotateFirstS; s * 1000 < DURATION_MS; s += SCHEDULE.rotateEveryS) at(s, () => void rotate().catch((e) => event(`rotate failed: ${e.message}`)));
for (let s = SCHEDULE.flapFirstS; s * 1000 < DURATION_MS; s += SCHEDULE.flapEveryS) at(s, () => void flap().catch((e) => event(`flap failed: ${e.message}`)));
const sampler = setInterval(() => void sample(), SAMPLE_MS);
const readyPoll = setInterval(async () => {
  readyzChecks++;
  try {
    if ((await fetch(`${OPS}/readyz`)).status !== 200) readyzFailures++;
  } catch {
    readyzFailures++;
  }
}, 1000);

await new Promise((resolve) => {
  const tick = () => {
    const now = performance.now();
    if (now - t0 >= DURATION_MS || childExit) return resolve();
    const dueNow = due(now - t0);
    // Open loop: everything due by now is sent now, even after a stall.
    while (n < dueNow) {
      send(n, t0 + sched(n));
      n++;
    }
    setTimeout(tick, 1);
  };
  tick();
});
const crashedDuringRun = childExit;
for (const t of timers) clearTimeout(t);
clearInterval(sampler);
clearInterval(readyPoll);
clearInterval(unsureSweep);
const drainUntil = Date.now() + RPC_TIMEOUT_MS + 3000;
while (inflight > 0 && Date.now() < drainUntil) await sleep(20);
totals.lost = inflight;
if (win.sent > 0 || win.answered > 0) await sample();
await sleep(3000); // let the key-age poll catch up with the last answers
await pollKeyAge();
clearInterval(keyAgePoll);
judgeUnsure(true);
if (!issuerUp) await command('start');
const after = await scrape();

// SIGTERM under no load: tokengate should drain and exit 0.
let stopResult;
if (!crashedDuringRun) {
  const stopped = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const tStop = Date.now();
  child.kill('SIGTERM');
  stopResult = await Promise.race([stopped, sleep(20_000).then(() => ({ code: null, signal: 'timeout' }))]);
  stopResult.ms = Date.now() - tStop;
  if (stopResult.signal === 'timeout') child.kill('SIGKILL');
} else {
  stopResult = { crashedDuringRun: childExit };
}
client.close();
await command('close');
await issuerThread.terminate();
rmSync(workDir, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------------- verdict
const sortedAll = Float64Array.from(allLat).sort();
const afterWarmup = samples.filter((s) => s.tS * 1000 >= WARMUP_MS && s.rssBytes !== undefined);
const baseline = afterWarmup[0];
const rest = afterWarmup.slice(1);
const rssMax = rest.length ? Math.max(...rest.map((s) => s.rssBytes)) : baseline?.rssBytes;
const rssGrowth = baseline && rssMax !== undefined ? rssMax / baseline.rssBytes - 1 : null;
// Diagnostics beside the criterion: the least-squares slope of RSS over the samples after warm-up, and the growth
// measured from the first sample after twice the warm-up.
const rssSlopeMiBPerMin = (() => {
  const pts = afterWarmup.map((s) => [s.tS / 60, s.rssBytes / 1048576]);
  if (pts.length < 3) return null;
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  const num = pts.reduce((a, p) => a + (p[0] - mx) * (p[1] - my), 0);
  const den = pts.reduce((a, p) => a + (p[0] - mx) ** 2, 0);
  return den ? Math.round((num / den) * 100) / 100 : null;
})();
const late = samples.filter((s) => s.tS * 1000 >= 2 * WARMUP_MS && s.rssBytes !== undefined);
const rssGrowthAfter2xWarmup = late.length > 1 ? Math.round((Math.max(...late.slice(1).map((s) => s.rssBytes)) / late[0].rssBytes - 1) * 10_000) / 10_000 : null;
const p99s = samples.filter((s) => s.p99Ms !== null).map((s) => s.p99Ms);
const decisionsCounted = (after.decisions ?? []).reduce((a, d) => a + d.v, 0) - (before.decisions ?? []).reduce((a, d) => a + d.v, 0);
const wrongDecisions = totals.wrongAllow + totals.wrongDeny;
const rpcFailures = totals.rpcFailures + totals.lost + (crashedDuringRun ? 1 : 0);
const failures = [];
if (wrongDecisions > 0) failures.push(`${wrongDecisions} wrong decisions (${totals.wrongAllow} wrong allows, ${totals.wrongDeny} wrong denies)`);
if (rpcFailures > 0) failures.push(`${rpcFailures} RPC failures (${totals.rpcFailures} errors, ${totals.lost} unanswered${crashedDuringRun ? `, tokengate exited during the run: ${JSON.stringify(crashedDuringRun)}` : ''})`);
if (rssGrowth === null) failures.push('no RSS sample after warm-up');
else if (rssGrowth > RSS_GROWTH_LIMIT) failures.push(`RSS grew ${(rssGrowth * 100).toFixed(1)} % after warm-up (limit ${RSS_GROWTH_LIMIT * 100} %)`);
const warnings = [];
if (totals.dropped > 0) warnings.push(`${totals.dropped} scheduled checks dropped at the in-flight cap (${MAX_INFLIGHT})`);
const achieved = totals.answered / ((performance.now() - t0) / 1000);
if (totals.answered < totals.scheduled * 0.95) warnings.push(`answered ${totals.answered} of ${totals.scheduled} scheduled checks (${((100 * totals.answered) / totals.scheduled).toFixed(1)} %): the rate was not held`);
if (readyzFailures > 0) warnings.push(`/readyz was not 200 on ${readyzFailures} of ${readyzChecks} polls`);
if (decisionsCounted !== totals.answered) warnings.push(`tokengate counted ${decisionsCounted} decisions, the client got ${totals.answered} answers`);
if (stopResult.code !== 0) warnings.push(`tokengate did not exit 0 on SIGTERM: ${JSON.stringify(stopResult)}`);

const result = {
  command: `node scripts/soak.mjs --minutes ${MINUTES} --rate ${RATE} --max-inflight ${MAX_INFLIGHT}`,
  startedAt: new Date(loadStart).toISOString(),
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` },
  config: { minutes: MINUTES, rate: RATE, rampSeconds: RAMP_MS / 1000, maxInflight: MAX_INFLIGHT, sampleSeconds: SAMPLE_MS / 1000, warmupSeconds: WARMUP_MS / 1000, schedule: SCHEDULE, mix: Object.fromEntries(MIX), rpcTimeoutMs: RPC_TIMEOUT_MS, logLevel: opts['log-level'] },
  pass: failures.length === 0,
  failures,
  warnings,
  totals: { ...totals, wrongDecisions, tokensSignedInWorker: signer.fromWorker, tokensSignedInline: signer.inline, achievedPerS: Math.round(achieved), decisionsCountedByTokengate: decisionsCounted, readyzFailures, readyzChecks },
  latencyMs: { p50: r2(pct(sortedAll, 0.5)), p99: r2(pct(sortedAll, 0.99)), p999: r2(pct(sortedAll, 0.999)), max: r2(sortedAll.at(-1)), windowP99Min: p99s.length ? Math.min(...p99s) : null, windowP99Max: p99s.length ? Math.max(...p99s) : null },
  rss: { baselineTS: baseline?.tS, baselineBytes: baseline?.rssBytes, maxAfterBytes: rssMax, growth: rssGrowth === null ? null : Math.round(rssGrowth * 10_000) / 10_000, first: samples[0]?.rssBytes, overallMax: Math.max(...samples.map((s) => s.rssBytes ?? 0)), slopeAfterWarmupMiBPerMin: rssSlopeMiBPerMin, growthAfter2xWarmup: rssGrowthAfter2xWarmup, twoXWarmupTS: late[0]?.tS ?? null },
  tokenCache: { entriesMax: Math.max(...samples.map((s) => s.cacheEntries ?? 0)), hits: after.cacheHits, misses: after.cacheMisses },
  tokengateCheckDuration: (() => {
    const b = after.durationBuckets ?? [];
    const total = b.at(-1)?.[1];
    const le = (x) => b.find(([l]) => l === x)?.[1];
    return total === undefined ? null : { count: total, over150ms: total - le(0.15), over250ms: total - le(0.25), over500ms: total - le(0.5) };
  })(),
  keyFetches: after.keyFetches,
  keyTimeline: [...keys.values()].map((k) => ({
    kid: k.kid, alg: k.alg, publishedAtS: rel(k.publishedAt), firstServedAtS: rel(k.servedAt), appliedByTokengateAtS: rel(k.knownAt),
    removedAtS: rel(k.removedAt), removalFirstServedAtS: rel(k.removalServedAt), removalAppliedByTokengateAtS: rel(k.removalSeenAt),
  })),
  jwksHits: jwksHits.length,
  decisionsByReason: after.decisions,
  byKind,
  tolerated,
  wrongExamples,
  rpcErrors,
  rpcFailureTimes,
  rpcFailureDetails,
  events,
  samples,
  tokengateStop: stopResult,
  tokengateLog: relative(ROOT, tgLogPath),
};
writeFileSync(`${outBase}.json`, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(`${outBase}.md`, markdown(result));

log(`wrote ${relative(ROOT, outBase)}.json and .md`);
process.stdout.write(`\n${markdown(result)}\n`);
process.stdout.write(result.pass ? 'SOAK PASSED\n' : `SOAK FAILED: ${failures.join('; ')}\n`);
process.exit(result.pass ? 0 : 1);

function markdown(r) {
  const t = r.totals;
  const lines = [
    `### Soak ${r.startedAt}: ${r.pass ? 'PASS' : 'FAIL'}`,
    '',
    `\`${r.command}\` on ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGiB} GiB, Node ${r.machine.node}`,
    '',
    '| total | value |',
    '|---|---|',
    `| checks answered / scheduled | ${t.answered} / ${t.scheduled} (achieved ${t.achievedPerS}/s of ${r.config.rate}/s) |`,
    `| dropped at the in-flight cap | ${t.dropped} |`,
    `| wrong decisions | **${t.wrongDecisions}** (wrong allows ${t.wrongAllow}, wrong denies ${t.wrongDeny}) |`,
    `| RPC failures | **${t.rpcFailures + t.lost}** (errors ${t.rpcFailures}, unanswered ${t.lost}) |`,
    `| tolerated (key change not yet fetched) | ${t.tolerated}: ${Object.entries(r.tolerated).map(([k, v]) => `${k} ${v}`).join(', ') || '—'} |`,
    `| allows / denies | ${t.allow} / ${t.deny} |`,
    `| distinct tokens sent / distinct tokens verified and cached | ${t.freshTokens} / ${t.freshTokensCached} (signed ahead in the worker ${t.tokensSignedInWorker}, inline ${t.tokensSignedInline}) |`,
    `| token cache entries (max) / hits / misses | ${r.tokenCache.entriesMax} / ${r.tokenCache.hits} / ${r.tokenCache.misses} |`,
    `| latency p50 / p99 / p99.9 / max (ms, whole run) | ${r.latencyMs.p50} / ${r.latencyMs.p99} / ${r.latencyMs.p999} / ${r.latencyMs.max} |`,
    `| p99 per ${r.config.sampleSeconds}s window, min – max (ms) | ${r.latencyMs.windowP99Min} – ${r.latencyMs.windowP99Max} |`,
    `| RSS after warm-up (t=${r.rss.baselineTS}s) → max later | ${mib(r.rss.baselineBytes)} → ${mib(r.rss.maxAfterBytes)} MiB (${r.rss.growth === null ? '—' : `${(r.rss.growth * 100).toFixed(1)} %`}; criterion: ≤ 10 %) |`,
    `| RSS diagnostics | first sample ${mib(r.rss.first)} MiB; slope after warm-up ${r.rss.slopeAfterWarmupMiBPerMin} MiB/min; growth after 2× warm-up (t=${r.rss.twoXWarmupTS}s) ${r.rss.growthAfter2xWarmup === null ? '—' : `${(r.rss.growthAfter2xWarmup * 100).toFixed(1)} %`} |`,
    `| JWKS responses served / tokengate key fetches | ${r.jwksHits} / ${(r.keyFetches ?? []).map((k) => `${k.labels.match(/result="(\w+)"/)?.[1]} ${k.v}`).join(', ')} |`,
    `| /readyz non-200 polls | ${t.readyzFailures} of ${t.readyzChecks} |`,
    `| SIGTERM at the end | ${JSON.stringify(r.tokengateStop)} |`,
    '',
    'Per window: latency as the client sees it (from the send; "valid" for valid and repeated tokens only, i.e. without the',
    'checks that wait for a key refetch; "sched" from the scheduled send time, which adds the',
    "client's own lag), tokengate's own p99 (the upper bound of its tokengate_check_duration_seconds bucket) and its",
    'event-loop lag p99 (nodejs_eventloop_lag_p99_seconds) and share of wall time in GC (ms of major GC), tokengate',
    "RSS / V8 heap used / external memory, the token cache's entries, CPU of tokengate and of the soak process (100 % =",
    'one core), the machine\'s 1-minute load average (2 cores; other engineers\' jobs included), and the issuer\'s state at',
    'the end of the window.',
    '',
    '| t (s) | checks/s | p50 ms | p99 ms | p99 valid ms | p99 sched ms | max ms | tokengate p99 ≤ ms | tokengate loop lag p99 ms | tokengate GC % (major ms) | RSS MiB | heap MiB | ext MiB | cache entries | tokengate CPU % | soak CPU % | load | wrong | tolerated | RPC fail | dropped | issuer |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...r.samples.map((s) => `| ${s.tS} | ${s.achievedPerS} | ${s.p50Ms} | ${s.p99Ms} | ${s.p99ValidMs} | ${s.p99FromScheduleMs} | ${s.maxMs} | ${s.serverP99MsBucket} | ${s.tokengateLoopLagP99Ms} | ${s.tokengateGcPct} (${s.tokengateMajorGcMs}) | ${mib(s.rssBytes)} | ${mib(s.heapUsedBytes)} | ${mib(s.externalBytes)} | ${s.cacheEntries} | ${s.tokengateCpuPct} | ${s.clientCpuPct} | ${s.loadavg1} | ${s.wrong} | ${s.tolerated} | ${s.rpcFailures} | ${s.dropped} | ${s.issuerUp ? 'up' : 'down'} |`),
    '',
    'Keys (seconds from the start of load): published in the JWKS, first JWKS response that had it, tokengate applied that',
    'fetch (upper bound, from tokengate_key_age_seconds); removed, first JWKS response without it, tokengate applied that.',
    '',
    '| key | published | first served | applied by tokengate | removed | first served without | applied by tokengate |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...r.keyTimeline.map((k) => `| ${k.kid} | ${k.publishedAtS} | ${k.firstServedAtS ?? '—'} | ${k.appliedByTokengateAtS ?? '—'} | ${k.removedAtS ?? '—'} | ${k.removalFirstServedAtS ?? '—'} | ${k.removalAppliedByTokengateAtS ?? '—'} |`),
    '',
    `Events: ${r.events.map((e) => `${e.tS}s ${e.event}`).join('; ') || 'none'}`,
    '',
    ...(r.failures.length ? [`Failures: ${r.failures.join('; ')}`, ''] : []),
    ...(r.warnings.length ? [`Warnings: ${r.warnings.join('; ')}`, ''] : []),
  ];
  return `${lines.join('\n')}\n`;
}
