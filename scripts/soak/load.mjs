// The open-loop load: checks are scheduled by the clock, not by completions, after a linear ramp. A check that is due
// goes into a queue at once; the driver takes it from there as soon as it has room (gRPC: a connection's byte budget,
// grpc_driver.mjs; Envoy: a free keep-alive socket), and its latency is counted both from the send and from the
// schedule. When `maxInflight` checks are queued or in flight, a due check is dropped and counted instead.
import { pickKind } from './token_supply.mjs';

export function createLoad({ cfg, judge, supply }) {
  const queue = [];
  let head = 0;
  let driver;
  const { rate, rampMs, durationMs } = cfg;
  // due(t): checks scheduled by t ms after the start; sched(i): when check i is scheduled.
  const rampN = (rate * rampMs) / 2000;
  const due = (t) => Math.floor(t < rampMs ? (rate * t * t) / (2000 * rampMs) : (rate * (t - rampMs / 2)) / 1000);
  const sched = (i) => (i < rampN ? Math.sqrt((2000 * rampMs * i) / rate) : (i * 1000) / rate + rampMs / 2);

  const load = {
    get queued() {
      return queue.length - head;
    },
    /** Sends queued checks while the driver has room; the driver calls it again when a check completes. */
    pump() {
      while (head < queue.length) {
        const job = queue[head];
        job.t ??= supply.take(pickKind());
        if (!driver.trySend(job)) break;
        queue[head++] = undefined;
      }
      if (head > 4096) {
        queue.splice(0, head);
        head = 0;
      }
    },
    /** Runs the schedule from `t0` (performance.now()) to the end of the run, or until `stopEarly()` says so. */
    run(useDriver, t0, stopEarly) {
      driver = useDriver;
      let n = 0;
      return new Promise((resolve) => {
        const tick = () => {
          const now = performance.now();
          if (now - t0 >= durationMs || stopEarly()) return resolve(n);
          // Open loop: everything due by now is scheduled now, even after a stall.
          for (const until = due(now - t0); n < until; n++) {
            judge.scheduled();
            if (queue.length - head + driver.inflight >= cfg.maxInflight) judge.dropped();
            else queue.push({ n, scheduledAt: t0 + sched(n), t: undefined });
          }
          load.pump();
          setTimeout(tick, 1);
        };
        tick();
      });
    },
  };
  return load;
}
