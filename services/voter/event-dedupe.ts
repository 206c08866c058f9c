/**
 * Merges the WatchChain streams of every proxy into one stream of distinct
 * events. Invariant protected (docs/architecture.md, "Fault model":
 * duplicate or replayed notifications → one vote per ticket per block): the FIRST arrival of the
 * winning tickets for a block hash is admitted, every later copy (another proxy,
 * a rebroadcast, a replay after a stream reconnect) is dropped. Votes are per
 * (ticket, block hash), so two competing tips at one height are two distinct
 * events and both are admitted.
 *
 * Memory is bounded twice: at most `capacity` remembered keys (oldest evicted
 * first), and draws older than `maxAgeBlocks` below the best height seen are
 * dropped outright, so an evicted key can never be re-admitted as a live draw.
 * Even if one were, the duty itself is duplicate-safe (the vote record).
 */
import type { ChainEvent } from './chain-event.ts';

/** Why an event was not admitted. */
export type DropReason = 'duplicate' | 'too-old';

/** Result of {@link EventDedupe.admit}. */
export type AdmitResult = { admitted: true } | { admitted: false; reason: DropReason };

export class EventDedupe {
  readonly #capacity: number;
  readonly #maxAgeBlocks: number;
  /** Insertion-ordered set of keys; Map keeps order, so the first key is the oldest. */
  readonly #seen = new Map<string, true>();
  #bestHeight = 0;
  #dropped = 0;

  constructor(capacity: number, maxAgeBlocks: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    if (!Number.isInteger(maxAgeBlocks) || maxAgeBlocks < 0) {
      throw new RangeError(`maxAgeBlocks must be a non-negative integer, got ${maxAgeBlocks}`);
    }
    this.#capacity = capacity;
    this.#maxAgeBlocks = maxAgeBlocks;
  }

  /** Best (highest) block height seen on any stream. */
  get bestHeight(): number {
    return this.#bestHeight;
  }

  /** Number of keys remembered (≤ capacity). */
  get size(): number {
    return this.#seen.size;
  }

  /** Events dropped so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Raises the best height from outside (a proxy's stream_start names its best block). */
  noteBestHeight(height: number): void {
    if (height > this.#bestHeight) this.#bestHeight = height;
  }

  /** Decides whether `ev` is the first arrival of its kind for its block hash. */
  admit(ev: ChainEvent): AdmitResult {
    if (ev.kind === 'winning-tickets' && ev.height + this.#maxAgeBlocks < this.#bestHeight) {
      this.#dropped++;
      return { admitted: false, reason: 'too-old' };
    }
    const key = `${ev.kind}:${ev.blockHashHex}`;
    if (this.#seen.has(key)) {
      this.#dropped++;
      return { admitted: false, reason: 'duplicate' };
    }
    // A block can be disconnected and later connected again (reorg back): the
    // opposite event is forgotten so the next transition is admitted again.
    if (ev.kind === 'block-connected') this.#seen.delete(`block-disconnected:${ev.blockHashHex}`);
    if (ev.kind === 'block-disconnected') this.#seen.delete(`block-connected:${ev.blockHashHex}`);
    this.#remember(key);
    if (ev.kind !== 'block-disconnected' && ev.height > this.#bestHeight) this.#bestHeight = ev.height;
    return { admitted: true };
  }

  #remember(key: string): void {
    this.#seen.set(key, true);
    while (this.#seen.size > this.#capacity) {
      const oldest = this.#seen.keys().next().value as string;
      this.#seen.delete(oldest);
    }
  }
}
