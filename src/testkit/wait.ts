// Waiting with a deadline, shared by the tests, the bench and the soak: readiness is observed, never slept for.

/**
 * Polls `probe` until it returns something other than undefined, or fails with `what` after `timeoutMs`.
 * This is readiness by observation: the interval only paces the polling, it never stands in for readiness.
 * A probe that throws is retried (its last error goes into the timeout message), except for StopWaiting.
 * `diagnostics` (e.g. a process log tail) is appended to the error.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs: number; intervalMs?: number; diagnostics?: () => string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      // A probe throwing StopWaiting means "give up now" (e.g. the process we wait for has exited).
      if (err instanceof StopWaiting)
        throw new Error(`${what}: ${err.message}${suffix(options.diagnostics)}`, { cause: err });
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${what}${last}${suffix(options.diagnostics)}`,
      );
    }
    await sleep(options.intervalMs ?? 50);
  }
}

export class StopWaiting extends Error {}

/**
 * waitFor for a yes/no condition: polls every 20 ms until `probe` returns true. Unlike waitFor, a probe that
 * throws ends the wait at once with that error (as the cause).
 */
export async function waitUntil(
  probe: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  await waitFor(
    what,
    async () => {
      try {
        return (await probe()) ? true : undefined;
      } catch (err) {
        throw new StopWaiting(err instanceof Error ? err.message : String(err), { cause: err });
      }
    },
    { timeoutMs, intervalMs: 20 },
  );
}

/** A pause that paces a loop (polling, a drain); never a stand-in for readiness. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function suffix(diagnostics: (() => string) | undefined): string {
  return diagnostics ? `\n${diagnostics()}` : '';
}
