/**
 * Polls `probe` until it returns something other than undefined, or fails with `what` after `timeoutMs`.
 * This is readiness by observation: the interval only paces the polling, it never stands in for readiness.
 * `diagnostics` (e.g. a process log tail) is appended to the timeout error.
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
      if (err instanceof StopWaiting) throw new Error(`${what}: ${err.message}${suffix(options.diagnostics)}`);
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const last = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${last}${suffix(options.diagnostics)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

export class StopWaiting extends Error {}

function suffix(diagnostics: (() => string) | undefined): string {
  return diagnostics ? `\n${diagnostics()}` : '';
}
