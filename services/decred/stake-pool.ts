/**
 * The live ticket pool as dcrd's stake node tracks it (decred/dcrd:
 * blockchain/stake/tickets.go connectNode).
 *
 * Invariant: after `connectBlock(h)` the pool holds exactly dcrd's live set
 * after block h, kept sorted by raw hash bytes, and `winners` are the tickets
 * that votes in block h+1 must spend. Header h+1 commits `poolSize` and
 * `finalState` of this state (`nextHeaderCommitment()`).
 *
 * Per block h (from StakeEnabledHeight on):
 *   1. the winners of h-1 leave the live set: spent if block h votes them, else missed;
 *   2. live tickets whose live-height <= h - TicketExpiry expire (and are missed);
 *   3. revocations in block h move tickets from missed to revoked;
 *   4. tickets mined in block h - TicketMaturity become live at height h;
 *   5. if h >= SVH - 1, winners are drawn from the new live set with header h.
 */
import { compareBytes, hashToHex } from './bytes.ts';
import { InvalidArgumentError, RuleError } from './errors.ts';
import { selectWinners } from './lottery.ts';
import { BLOCK_HEADER_SIZE } from './wire/block-header.ts';
import type { NetParams } from './params.ts';
import { txType } from './stake.ts';
import { txHash, type Tx, type TxIn } from './wire/tx.ts';

/** The parameters the pool needs; a full `NetParams` satisfies it. */
export type StakePoolParams = Pick<
  NetParams,
  'ticketMaturity' | 'ticketExpiry' | 'stakeEnabledHeight' | 'stakeValidationHeight' | 'ticketsPerBlock'
>;

/** What block h contributes to the stake state. */
export interface StakeBlock {
  height: number;
  /** The serialized 180-byte header of block h (the lottery seed). */
  header: Uint8Array;
  /** Hashes (internal order) of the tickets mined in block h. */
  tickets: readonly Uint8Array[];
  /** Ticket hashes spent by the votes in block h. */
  votedTickets: readonly Uint8Array[];
  /** Ticket hashes spent by the revocations in block h. */
  revokedTickets: readonly Uint8Array[];
}

/** What connecting one block changed. */
export interface ConnectResult {
  height: number;
  /** Previous winners voted in this block. */
  voted: Uint8Array[];
  /** Previous winners that were not voted (missed). */
  missed: Uint8Array[];
  /** Tickets that expired in this block (also moved to missed). */
  expired: Uint8Array[];
  /** Tickets that became live in this block. */
  added: Uint8Array[];
  /** Winners drawn from this block (empty before SVH-1). */
  winners: Uint8Array[];
  /** Indexes of the winners in the sorted live set, in draw order. */
  winnerIdxs: number[];
  /** FinalState for header h+1 (zeros before SVH-1). */
  finalState: Uint8Array;
  /** Live tickets after this block (PoolSize of header h+1). */
  poolSize: number;
}

/**
 * The {@link StakeBlock} of a block from its header bytes and stake-tree
 * transactions: tickets by txid, votes by the ticket they spend (input 1),
 * revocations by the ticket they spend (input 0). Other txs are ignored.
 */
export function stakeBlockFromTxs(
  height: number,
  header: Uint8Array,
  stakeTxs: readonly Tx[],
  opts: { isTreasuryEnabled?: boolean } = {},
): StakeBlock {
  const tickets: Uint8Array[] = [];
  const votedTickets: Uint8Array[] = [];
  const revokedTickets: Uint8Array[] = [];
  for (const tx of stakeTxs) {
    const t = txType(tx, opts);
    if (t === 'ticket') tickets.push(txHash(tx));
    else if (t === 'vote') votedTickets.push((tx.inputs[1] as TxIn).prevOut.hash);
    else if (t === 'revocation') revokedTickets.push((tx.inputs[0] as TxIn).prevOut.hash);
  }
  return { height, header, tickets, votedTickets, revokedTickets };
}

function key(h: Uint8Array): string {
  return hashToHex(h);
}

/** Binary search in a raw-byte-sorted array: index of `h` or -(insertion point) - 1. */
function search(sorted: readonly Uint8Array[], h: Uint8Array): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareBytes(sorted[mid] as Uint8Array, h);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -lo - 1;
}

/**
 * The live ticket pool state machine. Connect blocks in height order starting
 * at any height below StakeEnabledHeight (typically 0), or restore a snapshot
 * with {@link LiveTicketPool.fromSnapshot}. Not reorg-aware: on a reorg,
 * rebuild from a snapshot of the fork point.
 */
export class LiveTicketPool {
  /** Live tickets, sorted by raw bytes. */
  private live: Uint8Array[] = [];
  /** Live-height (the height the ticket became live) by display hex. */
  private liveHeight = new Map<string, number>();
  /** Tickets by the height they became live, ascending (lazy: entries may no longer be live). */
  private liveByHeight = new Map<number, Uint8Array[]>();
  /** Tickets mined but not yet live, by the height they were mined at. */
  private immature = new Map<number, Uint8Array[]>();
  private missedSet = new Map<string, Uint8Array>();
  private revokedSet = new Map<string, Uint8Array>();
  private currentWinners: Uint8Array[] = [];
  private currentFinalState: Uint8Array = new Uint8Array(6);
  private tipHeight = -1;

  constructor(readonly params: StakePoolParams) {}

  /** Height of the last connected block (-1 before any). */
  get height(): number {
    return this.tipHeight;
  }
  /** Number of live tickets. */
  get size(): number {
    return this.live.length;
  }
  /** Winners drawn from the last connected block (votes in the next block must spend them). */
  get winners(): readonly Uint8Array[] {
    return this.currentWinners;
  }
  /** Live tickets sorted by raw bytes (do not mutate). */
  liveTickets(): readonly Uint8Array[] {
    return this.live;
  }
  isLive(hash: Uint8Array): boolean {
    return this.liveHeight.has(key(hash));
  }
  isMissed(hash: Uint8Array): boolean {
    return this.missedSet.has(key(hash));
  }
  isRevoked(hash: Uint8Array): boolean {
    return this.revokedSet.has(key(hash));
  }
  missedTickets(): Uint8Array[] {
    return [...this.missedSet.values()];
  }
  /** PoolSize and FinalState that the header of block height+1 must carry. */
  nextHeaderCommitment(): { poolSize: number; finalState: Uint8Array } {
    return { poolSize: this.live.length, finalState: this.currentFinalState.slice() };
  }

  private removeLive(h: Uint8Array): boolean {
    const i = search(this.live, h);
    if (i < 0) return false;
    this.live.splice(i, 1);
    this.liveHeight.delete(key(h));
    return true;
  }

  private addLive(h: Uint8Array, height: number): void {
    const i = search(this.live, h);
    if (i >= 0) throw new RuleError('DUPLICATE_TICKET', `ticket ${hashToHex(h)} is already live`);
    this.live.splice(-i - 1, 0, h);
    this.liveHeight.set(key(h), height);
    const bucket = this.liveByHeight.get(height);
    if (bucket) bucket.push(h);
    else this.liveByHeight.set(height, [h]);
  }

  /** Adds many tickets (already checked: none is live, no duplicates) with one merge instead of one splice each. */
  private addLiveBatch(ts: readonly Uint8Array[], height: number): void {
    const add = [...ts].sort(compareBytes);
    const merged: Uint8Array[] = new Array<Uint8Array>(this.live.length + add.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < this.live.length || j < add.length) {
      const a = this.live[i];
      const b = add[j];
      if (b === undefined || (a !== undefined && compareBytes(a, b) < 0)) {
        merged[k++] = a as Uint8Array;
        i++;
      } else {
        merged[k++] = b;
        j++;
      }
    }
    this.live = merged;
    for (const t of add) this.liveHeight.set(key(t), height);
    const bucket = this.liveByHeight.get(height) ?? [];
    for (const t of ts) bucket.push(t);
    this.liveByHeight.set(height, bucket);
  }

  /** Applies block h; see the module comment for the five steps. */
  connectBlock(block: StakeBlock): ConnectResult {
    const h = block.height;
    if (this.tipHeight >= 0 && h !== this.tipHeight + 1) {
      throw new InvalidArgumentError(`connectBlock: expected height ${this.tipHeight + 1}, got ${h}`);
    }
    const p = this.params;
    const res: ConnectResult = {
      height: h,
      voted: [],
      missed: [],
      expired: [],
      added: [],
      winners: [],
      winnerIdxs: [],
      finalState: new Uint8Array(6),
      poolSize: 0,
    };
    const matured = h >= p.stakeEnabledHeight ? (this.immature.get(h - p.ticketMaturity) ?? []) : [];
    let newSize = this.live.length;
    const votedKeys = new Set(block.votedTickets.map(key));
    const expiring: Uint8Array[] = [];
    const expiredBuckets: number[] = [];
    if (h >= p.stakeValidationHeight - 1 && block.header.length !== BLOCK_HEADER_SIZE) {
      throw new InvalidArgumentError(`connectBlock: header of block ${h} must be ${BLOCK_HEADER_SIZE} bytes, got ${block.header.length}`);
    }

    if (h >= p.stakeEnabledHeight) {
      // Validate first so a rejected block leaves the pool untouched.
      const winnerKeys = new Set(this.currentWinners.map(key));
      for (const v of block.votedTickets) {
        if (!winnerKeys.has(key(v))) {
          throw new RuleError('NOT_A_WINNER', `block ${h} votes ticket ${hashToHex(v)}, which was not called to vote`);
        }
      }
      const expiryHeight = h - p.ticketExpiry;
      for (const [lh, bucket] of this.liveByHeight) {
        if (lh > expiryHeight) break;
        expiredBuckets.push(lh);
        for (const t of bucket) if (this.liveHeight.has(key(t)) && !winnerKeys.has(key(t))) expiring.push(t);
      }
      const becomingMissed = new Set([...this.currentWinners.filter((w) => !votedKeys.has(key(w))), ...expiring].map(key));
      for (const r of block.revokedTickets) {
        const k = key(r);
        if (!this.missedSet.has(k) && !becomingMissed.has(k)) {
          throw new RuleError('NOT_MISSED', `block ${h} revokes ticket ${hashToHex(r)}, which is not missed or expired`);
        }
      }
      const maturedKeys = new Set<string>();
      for (const t of matured) {
        const k = key(t);
        if (maturedKeys.has(k) || this.liveHeight.has(k)) throw new RuleError('DUPLICATE_TICKET', `ticket ${hashToHex(t)} is already live`);
        maturedKeys.add(k);
      }
      const winnersLive = this.currentWinners.filter((w) => this.liveHeight.has(key(w))).length;
      newSize = this.live.length - winnersLive - expiring.length + matured.length;
    }
    if (h >= p.stakeValidationHeight - 1 && newSize < p.ticketsPerBlock) {
      throw new RuleError('NOT_ENOUGH_TICKETS', `block ${h}: ${newSize} live tickets, the lottery needs at least ${p.ticketsPerBlock}`);
    }
    if (block.tickets.length > 0) this.immature.set(h, block.tickets.map((t) => Uint8Array.from(t)));

    if (h >= p.stakeEnabledHeight) {
      // 1. Previous winners: voted or missed.
      for (const w of this.currentWinners) {
        if (!this.removeLive(w)) continue;
        if (votedKeys.has(key(w))) res.voted.push(w);
        else {
          res.missed.push(w);
          this.missedSet.set(key(w), w);
        }
      }
      // 2. Expiry: live-height <= h - TicketExpiry.
      for (const lh of expiredBuckets) this.liveByHeight.delete(lh);
      for (const t of expiring) {
        this.removeLive(t);
        res.expired.push(t);
        this.missedSet.set(key(t), t);
      }
      // 3. Revocations.
      for (const r of block.revokedTickets) {
        const k = key(r);
        this.missedSet.delete(k);
        this.revokedSet.set(k, Uint8Array.from(r));
      }
      // 4. Maturity.
      this.immature.delete(h - p.ticketMaturity);
      if (matured.length > 8) this.addLiveBatch(matured, h);
      else for (const t of matured) this.addLive(t, h);
      for (const t of matured) res.added.push(t);
    }
    // 5. Lottery.
    if (h >= p.stakeValidationHeight - 1) {
      const draw = selectWinners(this.live, block.header, { sorted: true, ticketsPerBlock: p.ticketsPerBlock });
      this.currentWinners = draw.winners;
      this.currentFinalState = draw.finalState;
      res.winners = draw.winners;
      res.winnerIdxs = draw.idxs;
      res.finalState = draw.finalState;
    } else {
      this.currentWinners = [];
      this.currentFinalState = new Uint8Array(6);
    }
    // Drop immature entries that can no longer mature (mined before a restart point).
    for (const mh of this.immature.keys()) if (mh < h - p.ticketMaturity) this.immature.delete(mh);
    this.tipHeight = h;
    res.poolSize = this.live.length;
    return res;
  }

  /** A JSON-friendly snapshot (hex in display order) for persistence and reorg rollback. */
  snapshot(): LiveTicketPoolSnapshot {
    return {
      height: this.tipHeight,
      live: this.live.map((t) => ({ hash: hashToHex(t), liveHeight: this.liveHeight.get(key(t)) as number })),
      immature: [...this.immature.entries()].map(([height, ts]) => ({ height, hashes: ts.map(hashToHex) })),
      missed: [...this.missedSet.keys()],
      revoked: [...this.revokedSet.keys()],
      winners: this.currentWinners.map(hashToHex),
      finalState: Buffer.from(this.currentFinalState).toString('hex'),
    };
  }

  /** Restores a pool from {@link LiveTicketPool.snapshot}. */
  static fromSnapshot(params: StakePoolParams, s: LiveTicketPoolSnapshot): LiveTicketPool {
    const pool = new LiveTicketPool(params);
    const fromDisplay = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex')).reverse();
    for (const t of [...s.live].sort((a, b) => a.liveHeight - b.liveHeight)) {
      const h = fromDisplay(t.hash);
      pool.live.push(h);
      pool.liveHeight.set(t.hash, t.liveHeight);
      const bucket = pool.liveByHeight.get(t.liveHeight);
      if (bucket) bucket.push(h);
      else pool.liveByHeight.set(t.liveHeight, [h]);
    }
    pool.live.sort(compareBytes);
    for (const im of s.immature) pool.immature.set(im.height, im.hashes.map(fromDisplay));
    for (const m of s.missed) pool.missedSet.set(m, fromDisplay(m));
    for (const r of s.revoked) pool.revokedSet.set(r, fromDisplay(r));
    pool.currentWinners = s.winners.map(fromDisplay);
    pool.currentFinalState = Uint8Array.from(Buffer.from(s.finalState, 'hex'));
    pool.tipHeight = s.height;
    return pool;
  }
}

export interface LiveTicketPoolSnapshot {
  height: number;
  live: { hash: string; liveHeight: number }[];
  immature: { height: number; hashes: string[] }[];
  missed: string[];
  revoked: string[];
  winners: string[];
  finalState: string;
}
