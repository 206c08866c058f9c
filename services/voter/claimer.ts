/**
 * Keeps this node's owner claims in line with the rendezvous ranking
 * (DESIGN.md §3 invariant 1). Claims are made ahead of draws so the owner's
 * fast path needs no etcd I/O at draw time:
 * - a ticket whose rank-0 node (among live nodes) is this node and that has no
 *   claim is claimed (create-if-absent bound to our lease);
 * - a claim we hold on a ticket whose rank-0 node is ANOTHER live node is
 *   released, so ownership rebalances when nodes join; the new rank 0 claims it
 *   on its next sweep. Between the two, a draw finds no claim and the rank-0
 *   voter takes the record-first path: one etcd txn, still safe.
 * A sweep runs on start, whenever membership, owners or tickets change
 * (debounced), and periodically as a safety net. Claims run with bounded
 * concurrency so 100,000 tickets are owned within seconds.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../telemetry/index.ts';

/** What the claimer needs from the cluster. */
export interface ClaimPort {
  selfId: string;
  managedTickets(): Iterable<string>;
  /** Live node ids ranked for the ticket (owner first). */
  rankedIds(ticketHex: string): readonly string[];
  ownerOf(ticketHex: string): string | undefined;
  claim(ticketHex: string): Promise<{ won: boolean; owner: string }>;
  release(ticketHex: string): Promise<boolean>;
  isLeaseFresh(): boolean;
}

/** Options of {@link Claimer}. */
export interface ClaimerOptions {
  /** Debounce of change-triggered sweeps. */
  debounceMs: number;
  /** Interval of the safety-net sweep. */
  periodMs: number;
  /** Claims in flight at once. */
  concurrency: number;
}

/** Default claim concurrency (etcd txn ≈ 1-2 ms on loopback: ~10k claims/s). */
export const DEFAULT_CLAIM_CONCURRENCY = 64;

export class Claimer {
  readonly #port: ClaimPort;
  readonly #log: Logger;
  readonly #opts: ClaimerOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #dirty = true;
  #wake: (() => void) | undefined;
  #sweeps = 0;
  #claimed = 0;
  #released = 0;
  #firstSweepDone: Promise<void>;
  #resolveFirst!: () => void;

  constructor(port: ClaimPort, log: Logger, opts: ClaimerOptions) {
    this.#port = port;
    this.#log = log;
    this.#opts = opts;
    this.#firstSweepDone = new Promise((r) => { this.#resolveFirst = r; });
  }

  /** Resolves after the first complete sweep (start-up: "owns its share"). */
  get ready(): Promise<void> {
    return this.#firstSweepDone;
  }

  stats(): { sweeps: number; claimed: number; released: number } {
    return { sweeps: this.#sweeps, claimed: this.#claimed, released: this.#released };
  }

  /** Asks for a sweep soon (membership, owners or tickets changed). */
  poke(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  start(): void {
    if (!this.#loop) this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.#dirty) {
        this.#dirty = false;
        try {
          await this.sweep(signal);
        } catch (err) {
          // etcd unreachable or lease lost: claims wait for the next sweep; draws meanwhile
          // take the record-first path, which is safe.
          this.#dirty = true;
          this.#log.warn({ err }, 'claim sweep failed; will retry');
        }
        if (this.#sweeps === 1) this.#resolveFirst();
      }
      // Sleep until poked or the period passes; the timer is cleared on wake so no
      // abort listeners pile up on the voter's signal.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.#dirty ? this.#opts.periodMs / 4 : this.#opts.periodMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
      if (signal.aborted) break;
      if (!this.#dirty) this.#dirty = true; // periodic sweep
      // Debounce bursts of changes into one sweep.
      try {
        await delay(this.#opts.debounceMs, undefined, { signal });
      } catch {
        break;
      }
    }
    this.#resolveFirst();
  }

  /** One pass over every managed ticket. */
  async sweep(signal: AbortSignal): Promise<void> {
    const port = this.#port;
    if (!port.isLeaseFresh()) throw new Error('lease not fresh; not claiming');
    const toClaim: string[] = [];
    const toRelease: string[] = [];
    for (const t of port.managedTickets()) {
      const ranked = port.rankedIds(t);
      const first = ranked[0];
      const owner = port.ownerOf(t);
      if (first === port.selfId && owner === undefined) toClaim.push(t);
      else if (owner === port.selfId && first !== undefined && first !== port.selfId) toRelease.push(t);
    }
    const work = [
      ...toClaim.map((t) => async () => { if ((await port.claim(t)).won) this.#claimed++; }),
      ...toRelease.map((t) => async () => { if (await port.release(t)) this.#released++; }),
    ];
    let next = 0;
    let firstErr: unknown;
    const worker = async (): Promise<void> => {
      while (next < work.length && !signal.aborted) {
        const job = work[next++] as () => Promise<void>;
        try {
          await job();
        } catch (err) {
          firstErr ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#opts.concurrency, work.length) }, worker));
    this.#sweeps++;
    if (toClaim.length + toRelease.length > 0) {
      this.#log.info({ claims: toClaim.length, releases: toRelease.length, sweep: this.#sweeps }, 'ownership sweep');
    }
    if (firstErr !== undefined) throw firstErr;
  }
}
