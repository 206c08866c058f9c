/**
 * Missed tickets as the CHAIN reports them (`votecluster_voter_missed_tickets_total`).
 *
 * A vote for block X (height H) can only be mined in a child of X (height
 * H + 1). When the voter sees a main-chain block connected whose parent is X,
 * it asks a node proxy where each vote it SIGNED for X is
 * (GetRawTransaction with_block, naming the child so a dcrd without
 * --txindex reads it from that block): in that child → voted; anywhere else or not
 * at all → the chain passed X's draw without our vote: missed. Reporter: the
 * voter that signed and sent the vote (owner fast path, record-first owner,
 * backup that took over; every replica under `all-vote`), so each missed
 * ticket is counted once per signer, and a draw nobody signed is not counted
 * here (the devnet judge and the admin's stake info see those).
 *
 * Bounded: votes older than `maxAgeBlocks` below the best height are dropped
 * unchecked; lookups run in the background and `stop()` awaits them.
 */
import type { Logger } from '../telemetry/index.ts';

/** One signed vote waiting for its block's child. */
interface SignedVote {
  ticketHex: string;
  txidHex: string;
  height: number;
}

/** Options of {@link MissedWatch}. */
export interface MissedWatchOptions {
  /**
   * Where a transaction is (`blockHash` undefined: only in a mempool); rejects when no proxy
   * answers. `inBlock` is the child block the vote should be in: a dcrd without --txindex
   * finds a mined vote only by reading that block.
   */
  locate(txidHex: string, inBlock: string): Promise<{ blockHash?: string } | 'not-found'>;
  /** Called once per missed ticket. */
  onMissed(ticketHex: string, height: number): void;
  /** Called once per vote found in the child block. */
  onVoted?(ticketHex: string, height: number): void;
  maxAgeBlocks: number;
  log: Logger;
  /**
   * Wait this long after the child connects before the lookups (default 0). The child's
   * connect is also its draw: a delay keeps these calls out of that draw's vote window.
   */
  checkDelayMs?: number;
}

/** Tracks signed votes and checks them against the chain when the voted block gets a child. */
export class MissedWatch {
  readonly #o: MissedWatchOptions;
  /** blockHashHex → signed votes for that block. */
  readonly #byBlock = new Map<string, SignedVote[]>();
  readonly #running = new Set<Promise<void>>();
  /**
   * Pending check delays, each resolved (false) by stop(). Plain timers, not delay(ms, {signal}):
   * one check per connected block waits checkDelayMs, so at a block a second (a devnet, a
   * catch-up) a dozen wait at once, and one abort signal shared by all of them drew Node's
   * MaxListenersExceededWarning (seen in the long chaos runs), though nothing leaked.
   */
  readonly #waits = new Map<NodeJS.Timeout, (go: boolean) => void>();
  #stopped = false;
  #missed = 0;
  #voted = 0;

  constructor(o: MissedWatchOptions) {
    this.#o = o;
  }

  /** Missed / voted counts so far. */
  stats(): { missed: number; voted: number; tracked: number } {
    let tracked = 0;
    for (const v of this.#byBlock.values()) tracked += v.length;
    return { missed: this.#missed, voted: this.#voted, tracked };
  }

  /** Remembers a vote this voter signed and sent for `blockHashHex`. */
  signed(blockHashHex: string, height: number, ticketHex: string, txidHex: string): void {
    if (this.#stopped) return;
    const list = this.#byBlock.get(blockHashHex) ?? [];
    if (list.some((v) => v.ticketHex === ticketHex)) return;
    list.push({ ticketHex, txidHex, height });
    this.#byBlock.set(blockHashHex, list);
  }

  /** A main-chain block connected: judge the votes for its parent; forget votes too old to matter. */
  blockConnected(blockHashHex: string, prevHashHex: string | undefined, height: number): void {
    if (this.#stopped) return;
    const votes = prevHashHex ? this.#byBlock.get(prevHashHex) : undefined;
    if (votes && prevHashHex) {
      this.#byBlock.delete(prevHashHex);
      const wait = this.#o.checkDelayMs ? this.#sleep(this.#o.checkDelayMs) : Promise.resolve(true);
      // A wait ended by stop() (false): nothing to check then.
      const p = wait.then((go) => (go ? this.#check(blockHashHex, votes) : undefined)).finally(() => this.#running.delete(p));
      this.#running.add(p);
    }
    for (const [hash, list] of this.#byBlock) {
      if ((list[0]?.height ?? height) + this.#o.maxAgeBlocks < height) this.#byBlock.delete(hash);
    }
  }

  /** The voted block was disconnected: its votes can no longer be mined or missed. */
  blockDisconnected(blockHashHex: string): void {
    this.#byBlock.delete(blockHashHex);
  }

  /** Resolves when the lookups started so far are done. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }

  /** Stops tracking and awaits the lookups in flight (they end at the next vote). */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const [timer, resolve] of this.#waits) {
      clearTimeout(timer);
      resolve(false);
    }
    this.#waits.clear();
    this.#byBlock.clear();
    await Promise.allSettled([...this.#running]);
  }

  /** Resolves true after `ms`, or false at once when stop() runs first. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waits.delete(timer);
        resolve(true);
      }, ms);
      this.#waits.set(timer, resolve);
    });
  }

  async #check(childHashHex: string, votes: readonly SignedVote[]): Promise<void> {
    for (const v of votes) {
      if (this.#stopped) return;
      let where: { blockHash?: string } | 'not-found';
      try {
        where = await this.#o.locate(v.txidHex, childHashHex);
      } catch (err) {
        // No proxy could say: unknown, not missed. The devnet/admin views still see it.
        this.#o.log.warn({ ticket: v.ticketHex, height: v.height, voteTxid: v.txidHex, err }, 'could not check whether the vote was mined');
        continue;
      }
      // A vote commits to its block's hash, so any block holding it is a child of the voted
      // block: the child seen here, or a sibling of it that the chain reorganised onto.
      if (where !== 'not-found' && where.blockHash !== undefined) {
        this.#voted++;
        this.#o.onVoted?.(v.ticketHex, v.height);
      } else {
        this.#missed++;
        this.#o.log.error({ ticket: v.ticketHex, height: v.height, voteTxid: v.txidHex, childBlock: childHashHex }, 'ticket missed: the next block does not hold our vote');
        this.#o.onMissed(v.ticketHex, v.height);
      }
    }
  }
}
