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
// warm_rs256 / warm_es256 (distinct tokens for warm-up runs, disjoint from the measured sets), envoy_token.txt,
// opaque (f: 4 opaque, non-JWT tokens reused over 1,000 requests; opaque_tokens.json lists them for the bench's
// introspection endpoint, lib/issuer.mjs).
//
// Usage: node bench/make_data.mjs [--out DIR] [--issuer URL] [--audience AUD] [--n-rs256 N] [--n-es256 N]
//                                 [--n-mix N] [--n-warm N] [--force]
// Keys: lib/data_keys.mjs; tokens: lib/data_tokens.mjs (worker threads); requests: lib/requests.mjs.
// Regenerates only what is missing or stale (other issuer/audience/count, or tokens expiring within 2 days).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dataKeys, jwksOf } from './lib/data_keys.mjs';
import { TOKEN_LIFETIME_S, signParallel } from './lib/data_tokens.mjs';
import { varint } from './lib/delimited.mjs';
import { benchCheckRequest } from './lib/requests.mjs';

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
const MIN_REMAINING_S = 2 * 86_400;

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

  const keys = dataKeys(join(cfg.out, 'keys'), { create: true });
  const jwksText = JSON.stringify(jwksOf(keys));
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
    opaque: { alg: 'opaque', tokens: 4, requests: 1000, mix: false },
  };
  const manifest = {
    generated: old.generated ?? {},
    issuer: cfg.issuer,
    audience: cfg.audience,
    scope: cfg.scope,
    policy: cfg.policy,
    keyFingerprint,
    sets: {},
  };
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
    const spec = {
      set: name,
      alg: set.alg,
      issuer: cfg.issuer,
      audience: cfg.audience,
      scope: cfg.scope,
      mix: set.mix,
    };
    const tokens = set.alg === 'opaque' ? opaqueTokens(set.tokens, keyFingerprint) : await signParallel(set.tokens, keys, spec);
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
      const j = `${i ? ',\n' : '\n'}${JSON.stringify(benchCheckRequest(t.token, i, { policy: cfg.policy, json: true }))}`;
      jsonBytes += writeSync(jsonFd, j);
      const msg = Root.serialize(benchCheckRequest(t.token, i, { policy: cfg.policy, json: false }));
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
  // Derived from the keys, so a data set kept from an earlier run still matches the list.
  const opaque = opaqueTokens(sets.opaque.tokens, keyFingerprint).map((t) => t.token);
  writeIfChanged(join(cfg.out, 'opaque_tokens.json'), `${JSON.stringify(opaque, null, 2)}\n`);
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  process.stderr.write(`make_data: ready in ${cfg.out} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}

/** Opaque access tokens as an issuer might mint them: random-looking, not JWTs, known only to its introspection. */
function opaqueTokens(count, keyFingerprint) {
  return Array.from({ length: count }, (_, i) => ({
    kind: 'valid',
    token: `tgb_${createHash('sha256').update(`${keyFingerprint}:opaque:${i}`).digest('base64url')}`,
  }));
}

function writeOpaInputs(cfg, token) {
  // The `input` opa-envoy-plugin builds from a CheckRequest (attributes + parsed_path/parsed_query), for `opa eval`.
  const base = benchCheckRequest(token, 0, { policy: cfg.policy, json: true });
  const input = {
    ...base,
    parsed_path: ['orders', '1000'],
    parsed_query: { expand: ['items'] },
    parsed_body: null,
    truncated_body: false,
    version: { encoding: 'protojson', ext_authz: 'v3' },
  };
  writeFileSync(join(cfg.out, 'opa', 'input_valid.json'), `${JSON.stringify(input, null, 2)}\n`);
  const bad = structuredClone(input);
  const parts = token.split('.');
  bad.attributes.request.http.headers.authorization = `Bearer ${parts[0]}.${parts[1]}.${parts[2].slice(0, -6)}AAAAAA`;
  writeFileSync(join(cfg.out, 'opa', 'input_bad.json'), `${JSON.stringify(bad, null, 2)}\n`);
}

/** The CheckRequest serializer with tokengate's own loader options (from dist/), so the bytes match what it decodes. */
async function loadProtoSerializer() {
  const { loadAuthorizationService } = await import(join(ROOT, 'dist', 'grpc', 'protos.js'));
  const svc = loadAuthorizationService();
  return { Root: { serialize: (obj) => svc.Check.requestSerialize(obj) } };
}

function writeIfChanged(path, text) {
  if (existsSync(path) && readFileSync(path, 'utf8') === text) return;
  writeFileSync(path, text);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err) => {
    process.stderr.write(`make_data: ${err.stack ?? err}\n`);
    process.exit(1);
  });
}
