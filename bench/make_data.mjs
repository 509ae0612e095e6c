#!/usr/bin/env node
// Generates the benchmark's keys, JWKS, tokens and ghz data files (bench/out/data by default):
//
//   jwks.json                 the public keys every system under test trusts (RS256 + ES256)
//   keys/*.pem                the signing keys (reused on the next run, so data can be extended and stays consistent)
//   opa/data.json             the same JWKS as a string (io.jwt.decode_verify "cert"), issuer and audience, for OPA
//   opa/input_{valid,bad}.json one OPA-Envoy `input` document each, for `opa eval` checks of bench/opa/policy.rego
//   <set>.json                ghz --data-file: a JSON array of Envoy-shaped CheckRequests (ghz round-robins it)
//   <set>.bin                 the same requests as count-delimited protobuf (ghz --binary-file), cheaper for ghz
//   manifest.json             what was generated, for which issuer/audience, counts per kind, and token expiry
//
// Sets: repeated (a: 4 tokens reused over 1,000 requests), rs256 (b: N distinct), es256 (c: N distinct),
// mix (d: 80 % valid RS256 / 20 % invalid: expired, bad signature, wrong aud, unknown kid, 5 % each),
// warm_rs256 / warm_es256 (distinct tokens for warm-up runs, disjoint from the measured sets), envoy_token.txt.
//
// Usage: node bench/make_data.mjs [--out DIR] [--issuer URL] [--audience AUD] [--n-rs256 N] [--n-es256 N]
//                                 [--n-mix N] [--n-warm N] [--force]
// Regenerates only what is missing or stale (other issuer/audience/count, or tokens expiring within 2 days).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');

export const DEFAULTS = {
  out: join(HERE, 'out', 'data'),
  issuer: 'http://127.0.0.1:18480',
  audience: 'api://tokengate-bench',
  scope: 'orders.read',
  policy: 'orders',
  nRs256: 100_000,
  nEs256: 60_000,
  nMix: 100_000,
  nWarm: 10_000,
};
const TOKEN_LIFETIME_S = 7 * 86_400;
const MIN_REMAINING_S = 2 * 86_400;

// ---------------------------------------------------------------- token signing (shared by main and workers)

const b64u = (buf) => Buffer.from(buf).toString('base64url');

/** Claims of a realistic Entra-like access token (~850 B when RS256-signed). */
function claimsFor(spec, i, now) {
  return {
    aud: spec.audience,
    iss: spec.issuer,
    iat: now,
    nbf: now,
    exp: now + TOKEN_LIFETIME_S,
    azp: 'b5f1c9a2-7a51-4c4e-9a0e-bench-client',
    sub: `user-${spec.set}-${i}`,
    oid: randomUUID(),
    tid: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    scp: `${spec.scope} profile`,
    roles: ['Reader'],
    name: `Bench User ${i}`,
    jti: randomUUID(),
    ver: '2.0',
  };
}

/**
 * Signs tokens [from, to) of one set. `kinds` decides each token's flavour for the mix set.
 * Worker-safe: takes only plain data.
 */
function signRange(job) {
  const { from, to, keys, spec } = job;
  const now = Math.floor(Date.now() / 1000);
  const out = [];
  const priv = {
    RS256: createPrivateKey(keys.RS256.pem),
    ES256: createPrivateKey(keys.ES256.pem),
    rogue: createPrivateKey(keys.rogue.pem),
  };
  const signWith = (key, alg, kid, claims) => {
    const header = { alg, typ: 'JWT', kid };
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
    const sig = alg === 'ES256' ? sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }) : sign('sha256', Buffer.from(input), key);
    return `${input}.${b64u(sig)}`;
  };
  for (let i = from; i < to; i++) {
    const claims = claimsFor(spec, i, now);
    let kind = 'valid';
    if (spec.mix) {
      // Deterministic, evenly spread: 4 of every 20 requests are invalid, one of each kind.
      const r = i % 20;
      kind = r === 3 ? 'expired' : r === 8 ? 'bad_signature' : r === 13 ? 'wrong_aud' : r === 18 ? 'unknown_kid' : 'valid';
    }
    const alg = spec.alg;
    let token;
    switch (kind) {
      case 'expired':
        token = signWith(priv[alg], alg, keys[alg].kid, { ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 });
        break;
      case 'bad_signature': {
        // Signed by a key that is not published, under the published kid: a forged token.
        token = signWith(priv.rogue, alg, keys[alg].kid, claims);
        break;
      }
      case 'wrong_aud':
        token = signWith(priv[alg], alg, keys[alg].kid, { ...claims, aud: 'api://someone-else' });
        break;
      case 'unknown_kid':
        // A few distinct unknown kids: each may trigger a JWKS refetch, bounded by tokengate's keys.cooldown.
        token = signWith(priv.rogue, alg, `unknown-kid-${i % 8}`, claims);
        break;
      default:
        token = signWith(priv[alg], alg, keys[alg].kid, claims);
    }
    out.push({ token, kind });
  }
  return out;
}

if (!isMainThread) {
  parentPort.postMessage(signRange(workerData));
}

// ---------------------------------------------------------------- Envoy-shaped CheckRequests

/**
 * A CheckRequest as Envoy's HTTP ext_authz filter sends it for `GET /orders/{n}` (default settings: all request
 * headers, pseudo-headers included, lower-case keys; attributes.request.http mirrors method/path/host).
 * Field names are the proto names (ghz's jsonpb and proto-loader with keepCase both accept them).
 */
export function envoyCheckRequest(token, i, { policy, json }) {
  const path = `/orders/${1000 + (i % 9000)}?expand=items`;
  const requestId = randomUUID();
  const headers = {
    ':authority': 'api.example.com',
    ':method': 'GET',
    ':path': path,
    ':scheme': 'https',
    accept: 'application/json',
    'accept-encoding': 'gzip, deflate, br',
    authorization: `Bearer ${token}`,
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) orders-client/3.2.1',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-proto': 'https',
    'x-request-id': requestId,
  };
  const seconds = Math.floor(Date.now() / 1000);
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.0.0.7', port_value: 40000 + (i % 20000) } } },
      destination: { address: { socket_address: { address: '10.0.0.8', port_value: 8080 } } },
      request: {
        time: json ? new Date(seconds * 1000).toISOString() : { seconds: String(seconds), nanos: 0 },
        http: {
          id: String(9_000_000_000_000_000 + i),
          method: 'GET',
          headers,
          path,
          host: 'api.example.com',
          scheme: 'https',
          protocol: 'HTTP/1.1',
        },
      },
      context_extensions: { policy },
    },
  };
}

// ---------------------------------------------------------------- main

async function main() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      'n-rs256': { type: 'string' },
      'n-es256': { type: 'string' },
      'n-mix': { type: 'string' },
      'n-warm': { type: 'string' },
      force: { type: 'boolean', default: false },
    },
  });
  const cfg = {
    out: values.out ?? process.env.BENCH_DATA_DIR ?? DEFAULTS.out,
    issuer: values.issuer ?? process.env.BENCH_ISSUER ?? DEFAULTS.issuer,
    audience: values.audience ?? DEFAULTS.audience,
    scope: DEFAULTS.scope,
    policy: DEFAULTS.policy,
    nRs256: Number(values['n-rs256'] ?? process.env.BENCH_N_RS256 ?? DEFAULTS.nRs256),
    nEs256: Number(values['n-es256'] ?? process.env.BENCH_N_ES256 ?? DEFAULTS.nEs256),
    nMix: Number(values['n-mix'] ?? process.env.BENCH_N_MIX ?? DEFAULTS.nMix),
    nWarm: Number(values['n-warm'] ?? process.env.BENCH_N_WARM ?? DEFAULTS.nWarm),
  };
  const t0 = Date.now();
  mkdirSync(join(cfg.out, 'keys'), { recursive: true });
  mkdirSync(join(cfg.out, 'opa'), { recursive: true });

  const keys = loadOrCreateKeys(join(cfg.out, 'keys'));
  const jwks = {
    keys: [
      { ...createPublicKey(keys.RS256.pem).export({ format: 'jwk' }), kid: keys.RS256.kid, alg: 'RS256', use: 'sig' },
      { ...createPublicKey(keys.ES256.pem).export({ format: 'jwk' }), kid: keys.ES256.kid, alg: 'ES256', use: 'sig' },
    ],
  };
  const jwksText = JSON.stringify(jwks);
  writeIfChanged(join(cfg.out, 'jwks.json'), `${jwksText}\n`);
  writeIfChanged(
    join(cfg.out, 'opa', 'data.json'),
    `${JSON.stringify({ tokengate_bench: { jwks: jwksText, issuer: cfg.issuer, audience: cfg.audience, scope: cfg.scope } }, null, 2)}\n`,
  );

  const manifestPath = join(cfg.out, 'manifest.json');
  const old = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : { sets: {} };
  const keyFingerprint = createHash('sha256').update(jwksText).digest('hex').slice(0, 16);
  const now = Math.floor(Date.now() / 1000);
  const sets = {
    repeated: { alg: 'RS256', tokens: 4, requests: 1000, mix: false },
    rs256: { alg: 'RS256', tokens: cfg.nRs256, mix: false },
    es256: { alg: 'ES256', tokens: cfg.nEs256, mix: false },
    mix: { alg: 'RS256', tokens: cfg.nMix, mix: true },
    warm_rs256: { alg: 'RS256', tokens: cfg.nWarm, mix: false },
    warm_es256: { alg: 'ES256', tokens: cfg.nWarm, mix: false },
  };
  const manifest = { generated: old.generated ?? {}, issuer: cfg.issuer, audience: cfg.audience, scope: cfg.scope, policy: cfg.policy, keyFingerprint, sets: {} };
  const { Root } = await loadProtoSerializer();

  for (const [name, set] of Object.entries(sets)) {
    const prev = old.sets?.[name];
    const fresh =
      !values.force &&
      prev &&
      old.issuer === cfg.issuer &&
      old.audience === cfg.audience &&
      old.keyFingerprint === keyFingerprint &&
      prev.tokens === set.tokens &&
      prev.expiresAt - now > MIN_REMAINING_S &&
      existsSync(join(cfg.out, `${name}.json`)) &&
      existsSync(join(cfg.out, `${name}.bin`));
    if (fresh) {
      manifest.sets[name] = prev;
      continue;
    }
    const t1 = Date.now();
    const spec = { set: name, alg: set.alg, issuer: cfg.issuer, audience: cfg.audience, scope: cfg.scope, mix: set.mix };
    const tokens = await signParallel(set.tokens, keys, spec);
    const requests = set.requests ?? set.tokens;
    const kinds = {};
    const jsonFd = openSync(join(cfg.out, `${name}.json`), 'w');
    const binFd = openSync(join(cfg.out, `${name}.bin`), 'w');
    writeSync(jsonFd, '[');
    let jsonBytes = 1;
    let binBytes = 0;
    for (let i = 0; i < requests; i++) {
      const t = tokens[i % tokens.length];
      kinds[t.kind] = (kinds[t.kind] ?? 0) + 1;
      const j = `${i ? ',\n' : '\n'}${JSON.stringify(envoyCheckRequest(t.token, i, { policy: cfg.policy, json: true }))}`;
      jsonBytes += writeSync(jsonFd, j);
      const msg = Root.serialize(envoyCheckRequest(t.token, i, { policy: cfg.policy, json: false }));
      const framed = Buffer.concat([varint(msg.length), msg]);
      binBytes += writeSync(binFd, framed);
    }
    writeSync(jsonFd, '\n]\n');
    closeSync(jsonFd);
    closeSync(binFd);
    if (name === 'repeated') {
      writeFileSync(join(cfg.out, 'envoy_token.txt'), `${tokens[0].token}\n`);
      writeOpaInputs(cfg, tokens[0].token);
    }
    manifest.generated[name] = new Date().toISOString();
    manifest.sets[name] = {
      alg: set.alg,
      tokens: set.tokens,
      requests,
      kinds,
      tokenBytes: tokens[0].token.length,
      jsonBytes,
      binBytes,
      expiresAt: now + TOKEN_LIFETIME_S,
      seconds: (Date.now() - t1) / 1000,
    };
    process.stderr.write(
      `make_data: ${name}: ${requests} requests, ${set.tokens} tokens (${JSON.stringify(kinds)}), json ${(jsonBytes / 1e6).toFixed(1)} MB, ` +
        `bin ${(binBytes / 1e6).toFixed(1)} MB, ${((Date.now() - t1) / 1000).toFixed(1)} s\n`,
    );
  }
  if (!existsSync(join(cfg.out, 'envoy_token.txt')) || !existsSync(join(cfg.out, 'opa', 'input_valid.json'))) {
    throw new Error('make_data: repeated set missing its token files; rerun with --force');
  }
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`make_data: ready in ${cfg.out} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}

function writeOpaInputs(cfg, token) {
  // The `input` opa-envoy-plugin builds from a CheckRequest (attributes + parsed_path/parsed_query), for `opa eval`.
  const base = envoyCheckRequest(token, 0, { policy: cfg.policy, json: true });
  const input = { ...base, parsed_path: ['orders', '1000'], parsed_query: { expand: ['items'] }, parsed_body: null, truncated_body: false, version: { encoding: 'protojson', ext_authz: 'v3' } };
  writeFileSync(join(cfg.out, 'opa', 'input_valid.json'), `${JSON.stringify(input, null, 2)}\n`);
  const bad = structuredClone(input);
  const parts = token.split('.');
  bad.attributes.request.http.headers.authorization = `Bearer ${parts[0]}.${parts[1]}.${parts[2].slice(0, -6)}AAAAAA`;
  writeFileSync(join(cfg.out, 'opa', 'input_bad.json'), `${JSON.stringify(bad, null, 2)}\n`);
}

/** The messages of a count-delimited file (<set>.bin, ghz -B): each one preceded by its length as a varint. */
export function readDelimited(buf, limit = Infinity) {
  const out = [];
  let pos = 0;
  while (pos < buf.length && out.length < limit) {
    let len = 0;
    let shift = 0;
    let byte;
    do {
      byte = buf[pos++];
      len += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    out.push(buf.subarray(pos, pos + len));
    pos += len;
  }
  return out;
}

function varint(n) {
  const bytes = [];
  while (n > 0x7f) {
    bytes.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  bytes.push(n);
  return Buffer.from(bytes);
}

/** The CheckRequest serializer with tokengate's own loader options (from dist/), so the bytes match what it decodes. */
async function loadProtoSerializer() {
  const { loadAuthorizationService } = await import(join(ROOT, 'dist', 'grpc', 'protos.js'));
  const svc = loadAuthorizationService();
  return { Root: { serialize: (obj) => svc.Check.requestSerialize(obj) } };
}

function loadOrCreateKeys(dir) {
  const make = (file, gen) => {
    const path = join(dir, file);
    if (!existsSync(path)) writeFileSync(path, gen().privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    return readFileSync(path, 'utf8');
  };
  const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kidOf = (pem) => createHash('sha256').update(createPublicKey(pem).export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 16);
  const rsPem = make('rs256.pem', rsa);
  const esPem = make('es256.pem', ec);
  const roguePemRs = make('rogue_rs256.pem', rsa);
  return {
    RS256: { pem: rsPem, kid: `rs-${kidOf(rsPem)}` },
    ES256: { pem: esPem, kid: `es-${kidOf(esPem)}` },
    // Used for forged signatures (under the published kid) and for unknown kids; RS256 only, the mix set is RS256.
    rogue: { pem: roguePemRs, kid: 'rogue' },
  };
}

async function signParallel(count, keys, spec) {
  const threads = Math.max(1, Math.min(availableParallelism(), Math.ceil(count / 2000)));
  const per = Math.ceil(count / threads);
  const jobs = [];
  for (let w = 0; w < threads; w++) {
    const from = w * per;
    const to = Math.min(count, from + per);
    if (from >= to) break;
    jobs.push(
      new Promise((resolve, reject) => {
        const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { from, to, keys, spec } });
        worker.once('message', resolve);
        worker.once('error', reject);
      }),
    );
  }
  return (await Promise.all(jobs)).flat();
}

function writeIfChanged(path, text) {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writeFileSync(path, text);
}

if (isMainThread && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    process.stderr.write(`make_data: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}

