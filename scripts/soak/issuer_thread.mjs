// The issuer thread: the development issuer (a thread of its own, so that its JWKS answers never wait on the load
// driver's event loop), key rotation and flaps on command, and token signing ahead of need (see tokens.mjs).
//
// Messages to the main thread: published { kid, alg, keyObject, at }, hit { at } (every JWKS response),
// tokens { epoch, asked, tokens }, ready { issuer, discoveryUrl }, reply { id, ... } to a command.
import { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { ROOT } from './procs.mjs';
import { generate, headerB64 } from './tokens.mjs';

const { startDevIssuer } = await import(join(ROOT, 'dist/dev_issuer/dev_issuer.js'));
const { KeyRing } = await import(join(ROOT, 'dist/dev_issuer/keys.js'));
const post = (msg) => parentPort.postMessage(msg);

// The dev issuer keeps its private keys to itself. Capture each one as its KeyRing creates it (the keys are generated
// extractable "for out-of-band tooling"), so that this thread can sign with node:crypto.
const captured = new Map();
const originalAdd = KeyRing.prototype.add;
KeyRing.prototype.add = async function add(...args) {
  const key = await originalAdd.apply(this, args);
  // Same microtask chain as the ring's insert: no JWKS request can be served in between, so `at` is exact.
  const keyObject = KeyObject.from(key.privateKey);
  captured.set(key.kid, { kid: key.kid, alg: key.alg, keyObject, headerB64: headerB64(key.alg, key.kid) });
  post({ type: 'published', kid: key.kid, alg: key.alg, keyObject, at: Date.now() });
  return key;
};

const issuer = await startDevIssuer({ algorithms: ['ES256', 'RS256'], cacheMaxAge: 60 });
// Every JWKS response is a point where tokengate's view of the keys can change: report each with its time.
let jwksHits = issuer.hits.jwks;
Object.defineProperty(issuer.hits, 'jwks', {
  get: () => jwksHits,
  set: (value) => {
    jwksHits = value;
    post({ type: 'hit', at: Date.now() });
  },
  enumerable: true,
});

const ctx = { epoch: 0, issuer: issuer.issuer, current: {}, lastRetired: undefined };
for (const k of captured.values()) ctx.current[k.alg] = k;
const seq = { n: 0 };
const tag = `${workerData.runTag}-w`;

const commands = {
  sign(msg) {
    if (msg.epoch !== ctx.epoch) return undefined; // asked before a rotation: the main thread drops such batches
    const tokens = {};
    for (const [kind, count] of Object.entries(msg.asked)) {
      const list = (tokens[kind] = []);
      for (let i = 0; i < count; i++) list.push(generate(kind, ctx, seq, tag));
    }
    post({ type: 'tokens', epoch: ctx.epoch, asked: msg.asked, tokens });
    return undefined;
  },
  async rotate(msg) {
    const kid = await issuer.addKey(msg.alg);
    // New tokens use the new kid at once.
    ctx.lastRetired = ctx.current[msg.alg];
    ctx.current[msg.alg] = captured.get(kid);
    ctx.epoch++;
    return { kid, retired: ctx.lastRetired.kid, epoch: ctx.epoch };
  },
  remove(msg) {
    issuer.removeKey(msg.kid);
    return { at: Date.now() };
  },
  async stop() {
    const at = Date.now();
    await issuer.stop();
    return { at };
  },
  async start() {
    await issuer.start();
    return { at: Date.now() };
  },
  async close() {
    await issuer.close();
    return {};
  },
};

parentPort.on('message', async (msg) => {
  try {
    const body = await commands[msg.type](msg);
    if (body) post({ type: 'reply', id: msg.id, ...body });
  } catch (err) {
    post({ type: 'reply', id: msg.id, error: err.message });
  }
});
post({ type: 'ready', issuer: issuer.issuer, discoveryUrl: issuer.discoveryUrl });
