// Judging every answer against the verdict it should have had, and counting what happened to every check.
//
//   - allow of an expired / wrong-audience / missing-scope / bad-signature / forged (published kid, unpublished key)
//     / never-published-kid token, or of a token whose key tokengate has seen removed        -> wrong allow
//   - deny of a valid token whose key tokengate has applied and which is still in the JWKS  -> wrong deny
//   - a valid token whose key is published but not yet applied by tokengate, whose key is removed but the removal not
//     yet applied, or which was in flight while tokengate applied such a change: either verdict is accepted and counted
//     as "tolerated", with the reasons.
// "Applied" is measured, not guessed (issuer.mjs, tokengate.mjs). Answers in a window are judged again 3 s later,
// when the reports and the key-age poll have caught up with their send time.
import { MIX, MUST_DENY } from './options.mjs';

const newWindow = () => ({
  lat: [],
  latKnown: [],
  latSched: [],
  answered: 0,
  sent: 0,
  dropped: 0,
  wrong: 0,
  tolerated: 0,
  lost: 0,
});

export function createJudge({ loadStart }) {
  const totals = {
    scheduled: 0,
    sent: 0,
    dropped: 0,
    answered: 0,
    lost: 0,
    allow: 0,
    deny: 0,
    wrongAllow: 0,
    wrongDeny: 0,
    tolerated: 0,
    freshTokens: 0,
    freshTokensCached: 0,
  };
  const byKind = Object.fromEntries(MIX.map(([kind]) => [kind, { sent: 0, allow: 0, deny: 0, reasons: {} }]));
  const tolerated = {}; // 'why -> reason' -> n
  const lostByCause = {};
  const lostDetails = []; // the first 200 lost checks: send time, kind, cause, detail
  const wrongExamples = [];
  const allLat = [];
  const unsure = [];
  let win = newWindow();
  const rel = (ms) => (ms === undefined ? null : Math.round(ms - loadStart) / 1000);

  /** The verdict expected for a check decided at time `at`: 'allow', 'deny', or a tolerated 'either:<why>'. */
  function expected(t, at) {
    if (MUST_DENY.has(t.kind)) return 'deny';
    const k = t.key;
    if (k.removalSeenAt !== undefined && at >= k.removalSeenAt) return 'deny';
    if (k.removedAt !== undefined && at >= k.removedAt) return 'either:removed-key-not-yet-refetched';
    if (k.knownAt !== undefined && at >= k.knownAt) return 'allow';
    return 'either:new-key-not-yet-fetched';
  }

  function wrong(what, a, exp) {
    totals[what]++;
    win.wrong++;
    if (wrongExamples.length >= 50) return;
    const k = a.t.key;
    wrongExamples.push({
      what,
      kind: a.t.kind,
      of: a.t.of,
      expected: exp,
      got: a.reason,
      sentAtS: rel(a.sentAt),
      key: k && {
        kid: k.kid,
        alg: k.alg,
        ...Object.fromEntries(
          ['publishedAt', 'servedAt', 'knownAt', 'removedAt', 'removalServedAt', 'removalSeenAt'].map((f) => [
            f,
            rel(k[f]),
          ]),
        ),
      },
    });
  }

  function judge(a, final) {
    // A check in flight while tokengate applied a key change may be decided either way.
    const atSend = expected(a.t, a.sentAt);
    const exp = atSend === expected(a.t, a.answeredAt) ? atSend : 'either:in-flight-across-a-key-change';
    if (exp === 'allow' && !a.allowed) wrong('wrongDeny', a, exp);
    else if (exp === 'deny' && a.allowed) wrong('wrongAllow', a, exp);
    else if (exp.startsWith('either')) {
      if (!final) return void unsure.push(a);
      totals.tolerated++;
      win.tolerated++;
      const key = `${exp.slice(7)} -> ${a.reason}`;
      tolerated[key] = (tolerated[key] ?? 0) + 1;
    }
  }

  return {
    totals,
    byKind,
    tolerated,
    lostByCause,
    lostDetails,
    wrongExamples,
    allLat,
    rel,
    scheduled() {
      totals.scheduled++;
    },
    dropped() {
      totals.dropped++;
      win.dropped++;
    },
    sent(t) {
      totals.sent++;
      win.sent++;
      byKind[t.kind].sent++;
    },
    /**
     * An answer: { t, sentAt, answeredAt (epoch ms), allowed, reason, latencyMs, schedLatencyMs, cached }. `cached`:
     * whether the answer proves a fresh token was verified and cached (undefined when the reason is not known).
     */
    answer(a) {
      totals.answered++;
      win.answered++;
      win.lat.push(a.latencyMs);
      if (a.t.kind === 'valid' || a.t.kind === 'repeat') win.latKnown.push(a.latencyMs);
      win.latSched.push(a.schedLatencyMs);
      allLat.push(a.latencyMs);
      const bk = byKind[a.t.kind];
      if (a.allowed) {
        totals.allow++;
        bk.allow++;
      } else {
        totals.deny++;
        bk.deny++;
      }
      bk.reasons[a.reason] = (bk.reasons[a.reason] ?? 0) + 1;
      if (a.t.fresh) {
        totals.freshTokens++;
        if (a.cached) totals.freshTokensCached++;
      }
      judge(a, false);
    },
    /** A lost check: no answer in time, a transport error, or (through Envoy) a 5xx tokengate did not send. */
    lose({ t, sentAt, cause, detail }) {
      totals.lost++;
      win.lost++;
      lostByCause[cause] = (lostByCause[cause] ?? 0) + 1;
      if (lostDetails.length < 200) lostDetails.push({ sentAtS: rel(sentAt), sentAt, kind: t.kind, cause, detail });
    },
    /** Judges again the answers of key-change windows older than 3 s (all of them with `all`). */
    sweep(all) {
      let i = 0;
      while (i < unsure.length && (all || unsure[i].answeredAt < Date.now() - 3000)) judge(unsure[i++], true);
      unsure.splice(0, i);
    },
    /** The counts and latencies since the last call. */
    takeWindow() {
      const w = win;
      win = newWindow();
      return w;
    },
  };
}
