/**
 * Bounded waits: every wait in a production service that must not outlive a
 * deadline goes through one of these. The timer never outlives the race, and a
 * late rejection of the raced promise is never reported as unhandled (its
 * outcome no longer matters once the deadline has passed).
 */
import { CodedError } from './errors.ts';

/** Resolves true when `p` settled (fulfilled or rejected) within `ms`, false otherwise. */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  return (await raceTimer(p.then(() => true, () => true), ms, false)) as boolean;
}

/** The value of `p` if it fulfils within `ms`; undefined on rejection or timeout. */
export function valueWithin<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return raceTimer(p.catch(() => undefined), ms, undefined);
}

/** `p`, or a rejection with {@link WaitTimeoutError} after `ms` (the call itself is not cancelled). */
export function rejectAfter<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(ms)), ms);
  });
  p.catch(() => undefined); // a late rejection after the timeout is expected, not unhandled
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves true once `cond()` holds, false after `timeoutMs` (checks every `pollMs`, default 20 ms). */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  pollMs = DEFAULT_POLL_MS,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= end) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/**
 * Sleeps `ms`; resolves true when the time passed, false at once when `signal`
 * aborts first (never rejects, so a stop path can simply return on false).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (elapsed: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(elapsed);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Default polling interval of {@link waitUntil}. */
export const DEFAULT_POLL_MS = 20;

/** A bounded wait ran out (see {@link rejectAfter}). */
export class WaitTimeoutError extends CodedError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super('BASE_WAIT_TIMEOUT', `no answer within ${timeoutMs} ms`, { retryable: true });
    this.timeoutMs = timeoutMs;
  }
}

function raceTimer<T, U>(p: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<U>((resolve) => { timer = setTimeout(() => resolve(onTimeout), ms); });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
