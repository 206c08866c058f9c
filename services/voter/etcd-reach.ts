/**
 * Whether etcd answers, as one shared view for the voter (docs/architecture.md,
 * "Fault model": etcd quorum lost). Duties and the record queue report failures and successes;
 * while etcd is down ONE probe loop (a linearizable read) finds out when it is
 * back, instead of every waiting duty hammering it. When it returns:
 * - waiters of {@link EtcdReach.whenReachable} resume (backups hedge again from
 *   that moment, so the owners' queued records land before any takeover);
 * - `onReachable` listeners run (the record queue flushes at once).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../telemetry/index.ts';

/**
 * A promise that rejects when `signal` aborts, and `dispose()`, which removes its abort
 * listener: the signal lives as long as the voter, and one probing run per outage that
 * left its listener behind was a leak (MaxListenersExceededWarning after 11 outages).
 */
function abortedRejection(signal: AbortSignal): { stopped: Promise<never>; dispose(): void } {
  let onAbort: (() => void) | undefined;
  const stopped = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(new Error('stopped'));
    else {
      onAbort = () => reject(new Error('stopped'));
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  stopped.catch(() => undefined);
  return { stopped, dispose: () => { if (onAbort) signal.removeEventListener('abort', onAbort); } };
}

/** Default interval between probes while etcd is unreachable. */
export const DEFAULT_ETCD_PROBE_INTERVAL_MS = 200;

export class EtcdReach {
  readonly #probe: () => Promise<unknown>;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #abort = new AbortController();
  readonly #waiters = new Set<(reachable: boolean) => void>();
  readonly #listeners = new Set<() => void>();
  #reachable = true;
  #downSinceMs: number | undefined;
  #backAtMs: number | undefined;
  #loop: Promise<void> | undefined;
  #outages = 0;

  constructor(probe: () => Promise<unknown>, log: Logger, intervalMs = DEFAULT_ETCD_PROBE_INTERVAL_MS) {
    this.#probe = probe;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** False from the first reported failure until a probe or an operation succeeds. */
  get isReachable(): boolean {
    return this.#reachable;
  }

  /** When the last (or current) outage began (ms since epoch), if etcd ever went away. */
  get downSinceMs(): number | undefined {
    return this.#downSinceMs;
  }

  /** When etcd last came back (ms since epoch), if it ever went away. */
  get backAtMs(): number | undefined {
    return this.#backAtMs;
  }

  /** Number of outages seen. */
  get outages(): number {
    return this.#outages;
  }

  /** An etcd operation failed as unreachable: probing starts (once). */
  noteFailure(): void {
    if (this.#abort.signal.aborted) return;
    if (this.#reachable) {
      this.#reachable = false;
      this.#downSinceMs = Date.now();
      this.#outages++;
      this.#log.warn({}, 'etcd unreachable: no vote record can be written; owners keep the fast path, backups wait');
    }
    this.#loop ??= this.#run().finally(() => {
      this.#loop = undefined;
    });
  }

  /** An etcd operation succeeded. */
  noteSuccess(): void {
    if (this.#reachable) return;
    this.#reachable = true;
    this.#backAtMs = Date.now();
    this.#log.warn({ downMs: this.#backAtMs - (this.#downSinceMs ?? this.#backAtMs) }, 'etcd reachable again');
    for (const w of [...this.#waiters]) w(true);
    for (const l of [...this.#listeners]) {
      try {
        l();
      } catch (err) {
        this.#log.error({ err }, 'etcd reachable listener threw');
      }
    }
  }

  /** Resolves true once etcd is reachable (at once if it is), false when `signal` aborts first. */
  whenReachable(signal?: AbortSignal): Promise<boolean> {
    if (this.#reachable) return Promise.resolve(true);
    if (signal?.aborted || this.#abort.signal.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const finish = (v: boolean): void => {
        this.#waiters.delete(finish);
        signal?.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const onAbort = (): void => finish(false);
      this.#waiters.add(finish);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Subscribes to "etcd is back"; returns the unsubscribe function. */
  onReachable(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Stops probing; pending waiters resolve false. */
  async stop(): Promise<void> {
    this.#abort.abort();
    for (const w of [...this.#waiters]) w(false);
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    // One listener for the whole run (not one per probe: an outage can last hours), removed
    // when the run ends (a voter lives through many outages).
    const { stopped, dispose } = abortedRejection(signal);
    try {
      while (!this.#reachable && !signal.aborted) {
        try {
          // stop() does not wait for a probe in flight (one etcd call with the client's retries can
          // take ~6 s while etcd is gone, longer than the CLI's shutdown cap): abort ends the race.
          await Promise.race([this.#probe(), stopped]);
          if (signal.aborted) return;
          this.noteSuccess();
          return;
        } catch {
          if (signal.aborted) return; // stopped
          // still unreachable
        }
        try {
          await delay(this.#intervalMs, undefined, { signal });
        } catch {
          return; // stopped
        }
      }
    } finally {
      dispose();
    }
  }
}
