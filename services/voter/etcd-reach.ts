/**
 * Whether etcd is healthy, as the voter's one view of it (docs/architecture.md,
 * "Fault model": etcd quorum lost). Three answers, all here:
 * - {@link EtcdReach.isReachable}: etcd answers at all (no failure reported since the last success);
 * - {@link EtcdReach.isLeaseFresh}: our session lease was confirmed within `leaseMaxAgeMs`
 *   (an owner may sign on the fast path and claim tickets);
 * - {@link EtcdReach.isCurrentSince}: reachable without an outage since a moment, the lease
 *   confirmed lately and the votes watch up (a backup's hedge may skip its final read).
 * Duties and the record queue report failures and successes;
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

/** What the open cluster handle tells about this voter's etcd session. */
export interface EtcdSession {
  /** ms since etcd last confirmed the session lease (Infinity while not joined). */
  leaseAgeMs(): number;
  /** True while the votes watch is connected. */
  isVotesWatchConnected(): boolean;
}

/** The ages that make a session healthy. */
export interface EtcdHealthLimits {
  /** A lease confirmed within this is fresh (fast path, claims). */
  leaseMaxAgeMs: number;
  /** A lease confirmed within this, with the votes watch up, makes etcd current for a hedge. */
  recentLeaseAgeMs: number;
}

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
  #session: { view: EtcdSession; limits: EtcdHealthLimits } | undefined;

  constructor(probe: () => Promise<unknown>, log: Logger, intervalMs = DEFAULT_ETCD_PROBE_INTERVAL_MS) {
    this.#probe = probe;
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  /** False from the first reported failure until a probe or an operation succeeds. */
  get isReachable(): boolean {
    return this.#reachable;
  }

  /** Connects the session view (once the cluster is open); until then the lease is not fresh. */
  attachSession(view: EtcdSession, limits: EtcdHealthLimits): void {
    this.#session = { view, limits };
  }

  /** ms since etcd last confirmed the session lease (undefined before {@link attachSession}). */
  leaseAgeMs(): number | undefined {
    return this.#session?.view.leaseAgeMs();
  }

  /** True while the session lease was confirmed within `leaseMaxAgeMs`. */
  isLeaseFresh(): boolean {
    const s = this.#session;
    return s !== undefined && s.view.leaseAgeMs() < s.limits.leaseMaxAgeMs;
  }

  /**
   * True while etcd answers this voter now: no failure reported since the last success and the
   * session lease confirmed within `recentLeaseAgeMs` (the lease is confirmed every second, so an
   * idle voter cut from etcd turns false within seconds too). The `etcd_reachable` gauge.
   * `leaseAgeMs` asks for a more recent confirmation than `recentLeaseAgeMs`.
   */
  answersNow(leaseAgeMs?: number): boolean {
    const s = this.#session;
    return this.#reachable && s !== undefined && s.view.leaseAgeMs() < (leaseAgeMs ?? s.limits.recentLeaseAgeMs);
  }

  /** True when etcd went away after `sinceMs` or is away now: what was read since then says nothing. */
  wasAwaySince(sinceMs: number): boolean {
    return !this.#reachable || (this.#backAtMs !== undefined && this.#backAtMs >= sinceMs);
  }

  /**
   * True when etcd answered throughout since `sinceMs` and answers now: reachable, no outage
   * since, our lease confirmed within `recentLeaseAgeMs` and the votes watch connected.
   */
  isCurrentSince(sinceMs: number): boolean {
    const s = this.#session;
    return s !== undefined && !this.wasAwaySince(sinceMs)
      && s.view.leaseAgeMs() < s.limits.recentLeaseAgeMs && s.view.isVotesWatchConnected();
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
