/**
 * The ticket lottery (decred/dcrd: blockchain/stake/lottery.go, tickets.go).
 *
 * Invariant: given the live ticket set after block N and the 180-byte header
 * of block N, every node draws the same five winners in the same order and
 * commits the same 6-byte FinalState in header N+1. That requires (1) the
 * exact Hash256PRNG, (2) rejection sampling as in arc4random_uniform, and
 * (3) the live set sorted by RAW (internal-order) hash bytes, the order of
 * dcrd's ticket treap, never by display hex.
 */
import { compareBytes } from './bytes.ts';
import { InvalidArgumentError } from './errors.ts';
import { blake256 } from './hash.ts';
import { BLOCK_HEADER_SIZE } from './wire/block-header.ts';

/** The pi-derived constant appended to the seed (lottery.go seedConst). */
export const LOTTERY_SEED_CONST = Uint8Array.of(0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3);


/** Default number of winners per block on every network. */
export const DEFAULT_TICKETS_PER_BLOCK = 5;

const UINT32_MAX = 0xffffffff;

/**
 * Hash256PRNG: a deterministic PRNG of 32-bit big-endian words read from a
 * BLAKE-256 hash chain. The first 8 outputs come from the IV itself.
 */
export class Hash256Prng {
  private seedState: Uint8Array;
  private lastHash: Uint8Array;
  private idx = 0;
  private hashIdx = 0;
  /** seedState ‖ BE32(idx), reused for each refill. */
  private readonly buf = new Uint8Array(36);
  private readonly bufView = new DataView(this.buf.buffer);

  /** Seeds from arbitrary bytes: IV = BLAKE256(seed ‖ seedConst) (NewHash256PRNG). */
  constructor(seed: Uint8Array) {
    const withConst = new Uint8Array(seed.length + LOTTERY_SEED_CONST.length);
    withConst.set(seed);
    withConst.set(LOTTERY_SEED_CONST, seed.length);
    const iv = blake256(withConst);
    this.seedState = iv;
    this.lastHash = iv;
    this.buf.set(iv);
  }

  /** A PRNG started directly from a 32-byte IV (NewHash256PRNGFromIV). */
  static fromIv(iv: Uint8Array): Hash256Prng {
    if (iv.length !== 32) throw new InvalidArgumentError(`prng iv: expected 32 bytes, got ${iv.length}`);
    const p = new Hash256Prng(new Uint8Array());
    p.seedState = Uint8Array.from(iv);
    p.lastHash = p.seedState;
    p.buf.set(p.seedState);
    return p;
  }

  /** Hash256Rand: the next uint32. */
  next(): number {
    const o = this.hashIdx * 4;
    const h = this.lastHash;
    const r = (((h[o] as number) << 24) | ((h[o + 1] as number) << 16) | ((h[o + 2] as number) << 8) | (h[o + 3] as number)) >>> 0;
    this.hashIdx++;
    if (this.hashIdx > 7) {
      this.bufView.setUint32(32, this.idx, false);
      this.lastHash = blake256(this.buf);
      this.idx++;
      this.hashIdx = 0;
    }
    // Roll the whole PRNG over by re-hashing the seed once idx would overflow a uint32.
    if (this.idx > UINT32_MAX) {
      this.seedState = blake256(this.seedState);
      this.lastHash = this.seedState;
      this.buf.set(this.seedState);
      this.idx = 0;
    }
    return r;
  }

  /** uniformRandom: a uniform value in [0, n) by rejection sampling (arc4random_uniform). */
  uniformRandom(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > UINT32_MAX) {
      throw new InvalidArgumentError(`uniformRandom: upper bound ${n} is not a uint32`);
    }
    if (n < 2) return 0;
    // (2^32 - 2n) mod n == 2^32 mod n when n <= 2^31; otherwise 2^32 - n.
    const min = n > 0x80000000 ? 0x100000000 - n : (0x100000000 - 2 * n) % n;
    let r: number;
    do r = this.next();
    while (r < min);
    return r % n;
  }

  /** StateHash = BLAKE256(lastHash ‖ BE32(idx) ‖ byte(hashIdx)). */
  stateHash(): Uint8Array {
    const b = new Uint8Array(37);
    b.set(this.lastHash);
    new DataView(b.buffer).setUint32(32, this.idx, false);
    b[36] = this.hashIdx & 0xff;
    return blake256(b);
  }
}

/**
 * findTicketIdxs: `n` distinct indexes in [0, size), in draw order.
 * Throws {@link InvalidArgumentError} when the pool is smaller than `n`,
 * before drawing anything (dcrd ErrVerifyTooManyTickets).
 */
export function findTicketIdxs(size: number, n: number, prng: Hash256Prng): number[] {
  if (!Number.isInteger(size) || size < 0 || size > UINT32_MAX) {
    throw new InvalidArgumentError(`findTicketIdxs: pool size ${size} is not a uint32`);
  }
  if (size < n) {
    throw new InvalidArgumentError(`findTicketIdxs: pool of ${size} tickets is smaller than ${n} winners`);
  }
  const list: number[] = [];
  while (list.length < n) {
    const r = prng.uniformRandom(size);
    if (!list.includes(r)) list.push(r);
  }
  return list;
}

/** Sorts ticket hashes in place by raw bytes (bytes.Compare), as the ticket treap orders them. */
export function sortTicketHashes(hashes: Uint8Array[]): Uint8Array[] {
  return hashes.sort(compareBytes);
}

export interface SelectWinnersOptions {
  /** The caller guarantees `liveTicketHashes` is already sorted by raw bytes (skips the sort). */
  sorted?: boolean;
  /** Winners per block (TicketsPerBlock); default 5. */
  ticketsPerBlock?: number;
}

export interface LotteryResult {
  /** Winning ticket hashes (internal order), in draw order. */
  winners: Uint8Array[];
  /** Indexes into the sorted live set, in draw order. */
  idxs: number[];
  /** The 6-byte FinalState block N+1 must commit. */
  finalState: Uint8Array;
}

/**
 * Draws the winners of block N from the live set after connecting N.
 * `headerBytes180` is the serialized header of block N. Sorts a copy of the
 * live set unless `{ sorted: true }` is given; a 100,000-ticket pool sorts in
 * tens of milliseconds, so callers drawing every block should keep a sorted
 * pool (see `LiveTicketPool`).
 */
export function selectWinners(
  liveTicketHashes: readonly Uint8Array[],
  headerBytes180: Uint8Array,
  opts: SelectWinnersOptions | number = {},
): LotteryResult {
  const o: SelectWinnersOptions = typeof opts === 'number' ? { ticketsPerBlock: opts } : opts;
  const perBlock = o.ticketsPerBlock ?? DEFAULT_TICKETS_PER_BLOCK;
  if (headerBytes180.length !== BLOCK_HEADER_SIZE) {
    throw new InvalidArgumentError(`selectWinners: header must be ${BLOCK_HEADER_SIZE} bytes, got ${headerBytes180.length}`);
  }
  const sorted = o.sorted ? liveTicketHashes : sortTicketHashes([...liveTicketHashes]);
  const prng = new Hash256Prng(headerBytes180);
  const idxs = findTicketIdxs(sorted.length, perBlock, prng);
  const winners = idxs.map((i) => sorted[i] as Uint8Array);
  const acc = new Uint8Array(32 * winners.length + 32);
  winners.forEach((w, k) => acc.set(w, 32 * k));
  acc.set(prng.stateHash(), 32 * winners.length);
  return { winners, idxs, finalState: blake256(acc).slice(0, 6) };
}
