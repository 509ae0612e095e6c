// The issuer thread: the development issuer (a thread of its own, so that its JWKS answers never wait on the load
// driver's event loop), key rotation and flaps on command, and token signing ahead of need (see tokens.mjs).
//
// Messages to the main thread: published { kid, alg, keyObject, at }, hit { at } (every JWKS response),
// tokens { epoch, asked, tokens }, ready { issuer, discoveryUrl }, reply { id, ... } to a command.
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { ROOT } from './procs.mjs';
import { generate, signingKey } from './tokens.mjs';

const { startDevIssuer } = await import(join(ROOT, 'dist/dev_issuer/dev_issuer.js'));
const post = (msg) => parentPort.postMessage(msg);

// The issuer's hooks run as things happen, so their times are exact: a key as it enters the key ring (before any
// JWKS response can list it), with its private key so that this thread signs with it; and every JWKS response, a
// point where tokengate's view of the keys can change.
const captured = new Map();
const hooks = {
  keyAdded({ kid, alg, privateKey, at }) {
    captured.set(kid, signingKey(kid, alg, privateKey));
    post({ type: 'published', kid, alg, keyObject: privateKey, at });
  },
  jwksServed: ({ at }) => post({ type: 'hit', at }),
};
const issuer = await startDevIssuer({ algorithms: ['ES256', 'RS256'], cacheMaxAge: 60, hooks });

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
