/**
 * The owner's vote records, written right after the first send (docs/architecture.md,
 * invariant 3: etcd is not on the owner's critical path). When etcd is
 * unreachable the records wait here, in order, and are written when it
 * returns (fault table: "etcd quorum lost → owners keep voting; records written
 * after it returns"). Each write is create-if-absent; its `stored` result goes
 * back to the duty, which switches to the stored bytes if they differ.
 *
 * The queue lives in memory: a voter killed during an etcd outage loses its
 * pending records, not its votes (they were sent); the backups that hold the
 * same vote repair those records after the outage (record-repair.ts). Bounded
 * by `maxPending`; beyond it the oldest record is dropped with an error log.
 * With an {@link EtcdReach}, failures and successes are reported to it and the
 * queue retries at once when etcd comes back (`kick`), before any backup's
 * renewed hedge expires.
 */
import type { Logger } from '../telemetry/index.ts';
import type { VoteRecord } from '../cluster/index.ts';
import type { DutyRecords } from './cluster-records.ts';
import type { EtcdReach } from './etcd-reach.ts';
import { VoterError } from './errors.ts';
import { JitteredBackoff, STOP_BUDGET_MS, settledWithin, sleep, valueWithin } from '../base/index.ts';

/** How long stop() keeps writing queued and in-flight records (part of the CLI's 5 s shutdown cap). */
export const DEFAULT_STOP_FLUSH_MS = STOP_BUDGET_MS.recordFlush;

/** Default bound on records waiting for etcd (5 per block: hours of blocks). */
export const DEFAULT_MAX_PENDING_RECORDS = 10_000;

interface Pending {
  rec: VoteRecord;
  onStored: (stored: VoteRecord) => void;
  onDropped: ((err: VoterError) => void) | undefined;
}

/** Why a submitted record will never be written (given to `onDropped`): code `VOTER_RECORD_DROPPED`. */
function droppedError(rec: VoteRecord, why: 'queue full' | 'stopped'): VoterError {
  return new VoterError('VOTER_RECORD_DROPPED', `vote record of ticket ${rec.ticketHash} at height ${rec.height} not written: ${why}`);
}

/** Options of {@link RecordQueue}. */
export interface RecordQueueOptions {
  retryBaseMs: number;
  retryMaxMs: number;
  maxPending?: number;
  /** Shared view of etcd reachability (optional). */
  reach?: EtcdReach;
}

export class RecordQueue {
  readonly #records: DutyRecords;
  readonly #log: Logger;
  readonly #opts: RecordQueueOptions;
  readonly #pending: Pending[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  /** Direct writes that failed while stop() was waiting for them. */
  readonly #deferredAtStop: Pending[] = [];
  #wake: (() => void) | undefined;
  #backoff: AbortController | undefined;
  #loop: Promise<void> | undefined;
  readonly #abort = new AbortController();
  #written = 0;
  #deferred = 0;
  #dropped = 0;

  constructor(records: DutyRecords, log: Logger, opts: RecordQueueOptions) {
    this.#records = records;
    this.#log = log;
    this.#opts = opts;
  }

  /** Records waiting for etcd. */
  get pending(): number {
    return this.#pending.length;
  }

  stats(): { written: number; deferred: number; pending: number; dropped: number } {
    return { written: this.#written, deferred: this.#deferred, pending: this.#pending.length, dropped: this.#dropped };
  }

  /**
   * Writes `rec` now (no waiting for the queue: the common case is one txn);
   * on failure, or while older records still wait, it is queued for the loop.
   * Exactly one of `onStored` / `onDropped` runs: `onDropped` when the record will
   * never be written (submitted after stop, pushed out of a full queue, still queued at stop).
   */
  submit(rec: VoteRecord, onStored: (stored: VoteRecord) => void, onDropped?: (err: VoterError) => void): void {
    if (this.#abort.signal.aborted) {
      this.#log.error({ ticket: rec.ticketHash, height: rec.height }, 'vote record submitted after stop; not written');
      onDropped?.(droppedError(rec, 'stopped'));
      return;
    }
    if (this.#pending.length > 0) {
      this.#enqueue({ rec, onStored, onDropped });
      return;
    }
    const p = this.#records.record(rec).then(
      (r) => {
        this.#written++;
        this.#opts.reach?.noteSuccess();
        onStored(r.stored);
      },
      (err: unknown) => {
        this.#deferred++;
        this.#opts.reach?.noteFailure();
        if (this.#abort.signal.aborted) {
          // stop() is past the loop: nothing would write it any more.
          this.#log.warn({ ticket: rec.ticketHash, height: rec.height, err }, 'vote record not written and the queue is stopping');
          this.#deferredAtStop.push({ rec, onStored, onDropped });
          return;
        }
        this.#log.warn({ ticket: rec.ticketHash, height: rec.height, err }, 'vote record not written (etcd unreachable?); queued');
        this.#enqueue({ rec, onStored, onDropped });
      },
    );
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  start(): void {
    if (!this.#loop) this.#loop = this.#run(this.#abort.signal);
  }

  /** Retries the head record now (etcd came back) instead of finishing the backoff. */
  kick(): void {
    this.#backoff?.abort();
  }

  /** Stops the retry loop; waits for it and for writes in flight. Unwritten records are logged. */
  async stop(flushMs: number = DEFAULT_STOP_FLUSH_MS): Promise<void> {
    // Bounded flush (the CLI's 5 s shutdown cap must hold under load, when one etcd call with the
    // client's retries can take ~6 s): writes in flight and the loop's current write get until
    // the deadline, then queued records one more attempt each, in order, while time is left.
    // Whatever is still unwritten is logged record by record (never dropped silently); the votes
    // were sent, and record-repair (chain) restores their records from a live voter.
    const deadline = performance.now() + flushMs;
    const left = (): number => Math.max(0, deadline - performance.now());
    this.#abort.abort();
    this.#wake?.();
    const loopDone = await settledWithin(this.#loop ?? Promise.resolve(), left());
    await settledWithin(Promise.allSettled([...this.#inFlight]), left());
    // Only once the loop is idle: it may still be writing the head record.
    while (loopDone && this.#pending.length > 0 && left() > 0) {
      const head = this.#pending[0] as Pending;
      const r = await valueWithin(this.#records.record(head.rec), left());
      if (r === undefined) break; // etcd still unreachable (or too slow): stop trying
      this.#pending.shift();
      this.#written++;
      head.onStored(r.stored);
    }
    const unwritten = [...this.#pending.splice(0), ...this.#deferredAtStop.splice(0)];
    for (const p of unwritten) {
      this.#log.error({ ticket: p.rec.ticketHash, height: p.rec.height, blockHashHex: p.rec.blockHash, voteTxid: p.rec.voteTxid },
        'vote record not written before stop (the vote was sent; record-repair restores it from the chain)');
    }
    if (unwritten.length > 0 || this.#inFlight.size > 0) {
      this.#log.warn({ unwritten: unwritten.length, inFlight: this.#inFlight.size, flushMs }, 'stopping with vote records not yet written (votes were sent)');
    }
    for (const p of unwritten) p.onDropped?.(droppedError(p.rec, 'stopped'));
  }

  #enqueue(p: Pending): void {
    this.#pending.push(p);
    const max = this.#opts.maxPending ?? DEFAULT_MAX_PENDING_RECORDS;
    while (this.#pending.length > max) {
      const old = this.#pending.shift();
      this.#dropped++;
      this.#log.error({ ticket: old?.rec.ticketHash, height: old?.rec.height }, 'vote record queue full; oldest record dropped');
      if (old) old.onDropped?.(droppedError(old.rec, 'queue full'));
    }
    this.#wake?.();
  }

  async #run(signal: AbortSignal): Promise<void> {
    const backoff = new JitteredBackoff(this.#opts.retryBaseMs, this.#opts.retryMaxMs);
    let attempt = 0;
    while (!signal.aborted) {
      if (this.#pending.length === 0) {
        await new Promise<void>((resolve) => { this.#wake = resolve; });
        this.#wake = undefined;
        continue;
      }
      const head = this.#pending[0] as Pending;
      try {
        const r = await this.#records.record(head.rec);
        this.#pending.shift();
        this.#written++;
        this.#opts.reach?.noteSuccess();
        attempt = 0;
        backoff.reset();
        head.onStored(r.stored);
        if (this.#pending.length === 0) this.#log.info({ written: this.#written }, 'queued vote records written');
      } catch (err) {
        attempt++;
        this.#opts.reach?.noteFailure();
        if (attempt === 1 || attempt % 10 === 0) {
          this.#log.warn({ pending: this.#pending.length, attempt, err }, 'vote records still waiting for etcd');
        }
        const b = new AbortController();
        this.#backoff = b;
        // Ends early on kick() (etcd answered again) or stop().
        await sleep(backoff.nextMs(), AbortSignal.any([signal, b.signal]));
        this.#backoff = undefined;
      }
    }
  }
}
