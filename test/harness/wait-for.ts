/**
 * The project's no-sleep synchronisation helper for tests and harnesses.
 * `waitFor` polls a condition until it returns a truthy value (or resolves to
 * one) and returns that value; it rejects with a {@link WaitForTimeoutError}
 * naming `message` (and the last error the condition threw, as `cause`) when
 * the deadline passes. Polling is the honest primitive for "eventually" checks
 * against real processes; never assert on elapsed time.
 */

/** Default deadline for {@link waitFor}. */
export const DEFAULT_WAIT_TIMEOUT_MS = 5_000;
/** Default polling interval for {@link waitFor}. */
export const DEFAULT_WAIT_INTERVAL_MS = 20;

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Deadline in ms (default {@link DEFAULT_WAIT_TIMEOUT_MS}). */
  timeoutMs?: number;
  /** Delay between polls in ms (default {@link DEFAULT_WAIT_INTERVAL_MS}). */
  intervalMs?: number;
  /** What we were waiting for; appears in the timeout error. */
  message?: string;
  /** Aborts the wait early (rejects with the signal's reason). */
  signal?: AbortSignal;
}

/** The condition did not become true before the deadline. */
export class WaitForTimeoutError extends Error {
  readonly code = 'TEST_WAIT_TIMEOUT';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WaitForTimeoutError';
  }
}

/**
 * Polls `cond` until it yields a truthy value and returns it.
 * A condition that throws counts as "not yet"; the last error becomes the
 * timeout error's `cause`, so a failing test shows why it never became true.
 *
 * @example
 * const owner = await waitFor(() => cluster.owners.ownerOf(t), { timeoutMs: 3000, message: 'owner appears' });
 */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  opts: WaitForOptions = {},
): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? DEFAULT_WAIT_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const v = await cond();
      if (v) return v as NonNullable<T>;
      lastValue = v;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const what = opts.message ?? 'condition';
      const detail = lastError !== undefined
        ? `; last error: ${(lastError as Error)?.message ?? String(lastError)}`
        : `; last value: ${String(lastValue)}`;
      throw new WaitForTimeoutError(`waitFor: ${what} not met within ${timeoutMs} ms${detail}`, {
        cause: lastError,
      });
    }
    await pause(Math.min(intervalMs, left), opts.signal);
  }
}

/** Resolves after `ms`, or rejects when `signal` aborts. Polling interval only, never for synchronisation. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
