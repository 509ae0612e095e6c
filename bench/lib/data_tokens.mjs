// The bench's token sets, signed with the shared signer (dist/dev_issuer/jws.js) in worker threads, one slice each.
// This file is both the module make_data.mjs imports and the worker it starts.
import { createPrivateKey, randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const { JwsSigner } = await import(join(ROOT, 'dist', 'dev_issuer', 'jws.js'));

export const TOKEN_LIFETIME_S = 7 * 86_400;

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

/** What token i of the mix set is: deterministic, evenly spread, 4 of every 20 invalid, one of each kind. */
function kindOf(spec, i) {
  if (!spec.mix) return 'valid';
  return { 3: 'expired', 8: 'bad_signature', 13: 'wrong_aud', 18: 'unknown_kid' }[i % 20] ?? 'valid';
}

/** Signs tokens [from, to) of one set. Takes plain data only (it runs in a worker). */
function signRange({ from, to, keys, spec }) {
  const now = Math.floor(Date.now() / 1000);
  const alg = spec.alg;
  const key = createPrivateKey(keys[alg].pem);
  const rogue = createPrivateKey(keys.rogue.pem);
  const signer = new JwsSigner(alg, key, { typ: 'JWT', kid: keys[alg].kid });
  // Signed by a key that is not published, under the published kid: a forged token.
  const forger = new JwsSigner(alg, rogue, { typ: 'JWT', kid: keys[alg].kid });
  // A few distinct unknown kids: each may trigger a JWKS refetch, bounded by tokengate's keys.cooldown.
  const unknown = Array.from(
    { length: 8 },
    (_, n) => new JwsSigner(alg, rogue, { typ: 'JWT', kid: `unknown-kid-${n}` }),
  );
  const out = [];
  for (let i = from; i < to; i++) {
    const claims = claimsFor(spec, i, now);
    const kind = kindOf(spec, i);
    let token;
    if (kind === 'expired') token = signer.sign({ ...claims, iat: now - 7200, nbf: now - 7200, exp: now - 3600 });
    else if (kind === 'bad_signature') token = forger.sign(claims);
    else if (kind === 'wrong_aud') token = signer.sign({ ...claims, aud: 'api://someone-else' });
    else if (kind === 'unknown_kid') token = unknown[i % 8].sign(claims);
    else token = signer.sign(claims);
    out.push({ token, kind });
  }
  return out;
}

if (!isMainThread) parentPort.postMessage(signRange(workerData));

/** `count` tokens of one set ({ token, kind }[]), signed by up to one worker per core. */
export async function signParallel(count, keys, spec) {
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
