// The main thread's side of the issuer thread (issuer_thread.mjs): what it reports about keys and JWKS responses,
// commands to it, and the key rotations and issuer outages of a run.
import { Worker } from 'node:worker_threads';
import { fail } from './procs.mjs';
import { signingKey } from './tokens.mjs';

/**
 * Starts the issuer thread and waits for its issuer. The returned state:
 *   keys      kid -> { kid, alg, keyObject, signer, publishedAt, servedAt, knownAt, removedAt, removalServedAt,
 *             removalSeenAt }. servedAt / removalServedAt: the first JWKS response served after the key was published /
 *             removed; knownAt / removalSeenAt: when tokengate applied a fetch at or after it (tokengate.mjs).
 *   current   alg -> key new valid tokens are signed with; lastRetired: the key replaced last
 *   jwksHits  the time of every JWKS response;  up: whether the issuer is serving
 */
export async function startIssuer({ runTag, onTokens }) {
  const state = { keys: new Map(), current: {}, lastRetired: undefined, jwksHits: [], up: true, info: undefined };
  const replies = new Map();
  let nextId = 0;
  const thread = new Worker(new URL('./issuer_thread.mjs', import.meta.url), { workerData: { runTag } });
  thread.on('error', (err) => fail(`issuer thread failed: ${err.stack ?? err.message}`));
  thread.on('message', (msg) => {
    switch (msg.type) {
      case 'published': {
        const k = signingKey(msg.kid, msg.alg, msg.keyObject);
        state.keys.set(k.kid, { ...k, publishedAt: msg.at });
        if (!state.info) state.current[k.alg] = state.keys.get(k.kid); // the keys the issuer starts with
        return;
      }
      case 'hit':
        state.jwksHits.push(msg.at);
        for (const k of state.keys.values()) {
          if (k.servedAt === undefined && k.removedAt === undefined && k.publishedAt <= msg.at) k.servedAt = msg.at;
          if (k.removedAt !== undefined && k.removalServedAt === undefined && k.removedAt <= msg.at) {
            k.removalServedAt = msg.at;
          }
        }
        return;
      case 'tokens':
        onTokens(msg);
        return;
      case 'ready':
        replies.get('ready')?.(msg);
        return;
      case 'reply':
        replies.get(msg.id)?.(msg);
        replies.delete(msg.id);
    }
  });
  state.info = await new Promise((resolve) => replies.set('ready', resolve));
  state.command = (type, body = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      replies.set(id, (msg) => (msg.error ? reject(new Error(msg.error)) : resolve(msg)));
      thread.postMessage({ type, id, ...body });
    });
  state.askTokens = (epoch, asked) => thread.postMessage({ type: 'sign', epoch, asked });
  state.close = async () => {
    if (!state.up) await state.command('start');
    await state.command('close');
    await thread.terminate();
  };
  return state;
}

/**
 * Schedules the run's key changes and outages from `loadStart`: every rotateEveryS from rotateFirstS a new key
 * (alternately ES256 and RS256; new tokens of that alg use it at once) and, removeAfterS later, the removal of the
 * key it replaced; every flapEveryS from flapFirstS the issuer stopped for flapForS. `onRotate(epoch)` tells the token
 * supply to drop tokens signed with the replaced key. Returns cancel().
 */
export function scheduleKeyEvents(issuer, { schedule, durationMs, loadStart, event, onRotate }) {
  const timers = [];
  const at = (seconds, fn) => {
    if (seconds * 1000 >= durationMs) return;
    const run = () => fn().catch((err) => event(`${fn.name} failed: ${err.message}`));
    timers.push(setTimeout(run, Math.max(0, loadStart + seconds * 1000 - Date.now())));
  };
  const now = () => (Date.now() - loadStart) / 1000;
  const down = () => (issuer.up ? '' : ' [issuer down]');
  let rotation = 0;
  const rotate = async function rotate() {
    const alg = rotation++ % 2 === 0 ? 'ES256' : 'RS256';
    const { kid, retired, epoch } = await issuer.command('rotate', { alg });
    const prev = issuer.keys.get(retired);
    issuer.current[alg] = issuer.keys.get(kid);
    issuer.lastRetired = prev;
    onRotate(epoch);
    event(`addKey ${alg} ${kid} (new ${alg} tokens use it at once; ${prev.kid} retired)${down()}`);
    at(now() + schedule.removeAfterS, async function removeKey() {
      prev.removedAt = (await issuer.command('remove', { kid: prev.kid })).at;
      event(`removeKey ${prev.kid}${down()}`);
    });
  };
  const flap = async function flap() {
    issuer.up = false;
    await issuer.command('stop');
    event(`issuer stop (for ${schedule.flapForS}s)`);
    at(now() + schedule.flapForS, async function start() {
      await issuer.command('start');
      issuer.up = true;
      event('issuer start');
    });
  };
  for (let s = schedule.rotateFirstS; s * 1000 < durationMs; s += schedule.rotateEveryS) at(s, rotate);
  for (let s = schedule.flapFirstS; s * 1000 < durationMs; s += schedule.flapEveryS) at(s, flap);
  return () => timers.forEach(clearTimeout);
}
