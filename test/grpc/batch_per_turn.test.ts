import { describe, expect, it } from 'vitest';
import { batchPerTurn } from '../../src/grpc/batch_per_turn.js';

/** Resolves in the check phase after every immediate queued before it, i.e. after the batcher's flush. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('batchPerTurn', () => {
  it('runs the first call of a turn at once and the rest, in arrival order, in the check phase', async () => {
    const ran: number[] = [];
    const handle = batchPerTurn((n: number) => ran.push(n), () => {});
    handle(1);
    handle(2);
    handle(3);
    expect(ran).toEqual([1]);
    await nextTurn();
    expect(ran).toEqual([1, 2, 3]);
  });

  it('runs the first call of the next turn at once again', async () => {
    const ran: number[] = [];
    const handle = batchPerTurn((n: number) => ran.push(n), () => {});
    handle(1);
    handle(2);
    await nextTurn();
    handle(3);
    expect(ran).toEqual([1, 2, 3]);
  });

  it('a call that throws goes to onError, and the calls queued behind it still run', async () => {
    const ran: number[] = [];
    const failed: [string, number][] = [];
    const handle = batchPerTurn(
      (n: number) => {
        if (n % 2 === 0) throw new Error(`boom ${n}`);
        ran.push(n);
      },
      (err, n) => failed.push([(err as Error).message, n]),
    );
    for (const n of [1, 2, 3, 4, 5]) handle(n);
    await nextTurn();
    expect(ran).toEqual([1, 3, 5]);
    expect(failed).toEqual([['boom 2', 2], ['boom 4', 4]]);
  });
});
