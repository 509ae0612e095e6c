// Tokens for the load: signed ahead by the issuer thread into per-kind queues, topped up every 10 ms for the next
// ~200 ms of load; a kind whose queue is empty at send time is signed inline. After a rotation the queues are emptied
// and batches signed with the previous keys are discarded, so new tokens use the new kid at once.
import { randomBytes } from 'node:crypto';
import { MIX } from './options.mjs';
import { generate } from './tokens.mjs';

export const RUN_TAG = randomBytes(4).toString('hex');

const KIND_TABLE = MIX.flatMap(([kind, n]) => new Array(n).fill(kind));
export const pickKind = () => KIND_TABLE[(Math.random() * KIND_TABLE.length) | 0];

export function createTokenSupply({ rate }) {
  const pool = new Array(4096); // the last valid/old_key tokens, for `repeat`
  let poolSize = 0;
  let poolNext = 0;
  const queues = Object.fromEntries(MIX.map(([kind]) => [kind, { items: [], head: 0, pending: 0 }]));
  const stats = { epoch: 0, inline: 0, fromWorker: 0 };
  const seq = { n: 0 };
  let issuer;
  let refill;

  const supply = {
    stats,
    /** The issuer thread's 'tokens' message. */
    onTokens(msg) {
      if (msg.epoch !== stats.epoch) return; // signed with keys that have been rotated since
      for (const [kind, list] of Object.entries(msg.tokens)) {
        const q = queues[kind];
        q.pending = Math.max(0, q.pending - msg.asked[kind]);
        for (const t of list) q.items.push(t);
      }
    },
    /** After a rotation: queued tokens of the previous keys are dropped, so new tokens use the new kid at once. */
    keysChanged(epoch) {
      stats.epoch = epoch;
      for (const q of Object.values(queues)) Object.assign(q, { items: [], head: 0, pending: 0 });
    },
    start(issuerState) {
      issuer = issuerState;
      refill = setInterval(() => {
        const asked = {};
        let any = false;
        for (const [kind, share] of MIX) {
          if (kind === 'repeat') continue;
          const q = queues[kind];
          const want = Math.ceil(((rate * share) / 1000) * 0.2) + 8; // ~200 ms of this kind
          const have = q.items.length - q.head + q.pending;
          if (q.head > 4096) Object.assign(q, { items: q.items.slice(q.head), head: 0 });
          if (have < want) {
            asked[kind] = want * 2 - have;
            q.pending += asked[kind];
            any = true;
          }
        }
        if (any) issuer.askTokens(stats.epoch, asked);
      }, 10);
      refill.unref();
    },
    stop: () => clearInterval(refill),
    /** A token of `kind`: { kind, token, key (its signing key's state, for key-dependent verdicts), fresh, of }. */
    take(kind) {
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
        stats.fromWorker++;
      } else {
        const ctx = { issuer: issuer.info.issuer, current: issuer.current, lastRetired: issuer.lastRetired };
        g = generate(kind, ctx, seq, `${RUN_TAG}-m`);
        stats.inline++;
      }
      const t = {
        kind: g.kind,
        key: g.kid === undefined ? undefined : issuer.keys.get(g.kid),
        token: g.token,
        fresh: true,
      };
      if (t.kind === 'valid' || t.kind === 'old_key') {
        pool[poolNext] = t;
        poolNext = (poolNext + 1) % pool.length;
        poolSize = Math.min(poolSize + 1, pool.length);
      }
      return t;
    },
  };
  return supply;
}
