/**
 * Treasury votes of the voter (the 'T','V' output and the
 * policy lookup; decred/dcrwallet wallet/wallet.go TSpendPolicy and the vote
 * path that appends the treasury votes).
 *
 * - {@link TSpendBook}: the tspends the proxies streamed, kept until they
 *   expire (dcrwallet keeps the tspends of its `tspend` notifications the same way).
 * - A tspend is voted on when the height of the block being voted on is inside
 *   its window (InsideTSpendWindow with the network's TVI and multiplier).
 * - Its vote comes from the first yes/no of: the ticket's tspend policy, the
 *   cluster default tspend policy, the ticket's Pi-key policy, the default
 *   Pi-key policy (Pi key = the tspend's sigScript bytes [66:99]). A stored
 *   `abstain` is no answer (dcrwallet removes the entry on abstain); no answer
 *   at all means the tspend is left out.
 * - Order and bound: by tspend hash (display hex, ascending), at most
 *   {@link MAX_TREASURY_VOTES}, so every voter builds the same output from the
 *   same inputs (dcrwallet iterates a map; consensus does not care).
 */
import { checkTSpendFull, decodeTx, hashToHex, InvalidArgumentError, toHex, tspendVotable, type NetParams } from '../decred/index.ts';

/** Most treasury votes one vote carries: (256 − 2) / 33 of a stake null-data push, and the vote record's bound. */
export const MAX_TREASURY_VOTES = 7;

/** Most tspends kept at once (mainnet has seen a handful at a time); more are refused. */
export const MAX_KNOWN_TSPENDS = 256;

/** Blocks a tspend is kept past its expiry, for draws of side-chain blocks below the tip. */
const KEEP_PAST_EXPIRY = 16;

/** A tspend the voter knows. */
export interface KnownTSpend {
  /** Display hex, lower case. */
  hashHex: string;
  expiry: number;
  /** The signing Pi key, compressed, lower-case hex (66 chars). */
  piKeyHex: string;
}

/** yes / no / abstain, as stored by the admin API. */
export type PolicyWord = 'yes' | 'no' | 'abstain';

/** The four policy maps consulted for one ticket (keys: tspend hash / Pi key, lower-case hex). */
export interface TreasuryPolicyTables {
  ticketTSpend: Readonly<Record<string, PolicyWord>>;
  defaultTSpend: Readonly<Record<string, PolicyWord>>;
  ticketPiKey: Readonly<Record<string, PolicyWord>>;
  defaultPiKey: Readonly<Record<string, PolicyWord>>;
}

/** One treasury vote as the vote record stores it. */
export interface TreasuryVoteChoice {
  tspendHashHex: string;
  vote: 'yes' | 'no';
}

/**
 * The tspends streamed by the proxies (first arrival wins), until they expire.
 * {@link addRaw} admits only tspends that pass dcrd's checks (structure, window,
 * a sanctioned Pi key of the network, a valid Schnorr signature): a proxy is
 * not trusted to fill the seven treasury-vote slots with fakes.
 */
export class TSpendBook {
  readonly #byHash = new Map<string, KnownTSpend>();

  /** @param params the network whose Pi keys and TVI {@link addRaw} checks against. */
  constructor(private readonly params?: NetParams) {}

  /** Adds a checked tspend; false when it was already known or the book is full ({@link MAX_KNOWN_TSPENDS}). */
  add(t: { hashHex: string; expiry: number; piKey: Uint8Array }): boolean {
    const hashHex = t.hashHex.toLowerCase();
    if (this.#byHash.has(hashHex) || this.#byHash.size >= MAX_KNOWN_TSPENDS) return false;
    this.#byHash.set(hashHex, { hashHex, expiry: t.expiry, piKeyHex: toHex(t.piKey) });
    return true;
  }

  /**
   * Checks a raw tspend with services/decred `checkTSpendFull` against the book's
   * network, then adds it. Returns its hash and whether it was new.
   * @throws {DecredError} (RuleError NOT_A_TREASURY_SPEND, BAD_TSPEND_EXPIRY,
   *   UNKNOWN_PI_KEY, BAD_TSPEND_SIGNATURE; DecodeError) for a tspend dcrd would refuse;
   *   InvalidArgumentError when the book has no network parameters.
   */
  addRaw(raw: Uint8Array): { hashHex: string; added: boolean } {
    if (!this.params) throw new InvalidArgumentError('TSpendBook: no network parameters to check tspends with');
    const info = checkTSpendFull(decodeTx(raw), this.params);
    const hashHex = hashToHex(info.hash);
    return { hashHex, added: this.add({ hashHex, expiry: info.expiry, piKey: info.piKey }) };
  }

  get size(): number {
    return this.#byHash.size;
  }

  /** Every known tspend (tests, stats). */
  all(): KnownTSpend[] {
    return [...this.#byHash.values()];
  }

  /**
   * The tspends a vote on the block at `height` may vote on (inside their
   * window), sorted by hash. Forgets tspends expired well below `height`.
   */
  votable(height: number, params: Pick<NetParams, 'treasuryVoteInterval' | 'treasuryVoteIntervalMultiplier'>): KnownTSpend[] {
    const out: KnownTSpend[] = [];
    for (const [h, t] of this.#byHash) {
      if (t.expiry + KEEP_PAST_EXPIRY <= height) {
        this.#byHash.delete(h);
        continue;
      }
      if (tspendVotable(height, t.expiry, params)) out.push(t);
    }
    return out.sort((a, b) => (a.hashHex < b.hashHex ? -1 : a.hashHex > b.hashHex ? 1 : 0));
  }
}

/** dcrwallet's lookup order; undefined when no table says yes or no. */
export function resolveTreasuryVote(p: TreasuryPolicyTables, tspendHashHex: string, piKeyHex: string): 'yes' | 'no' | undefined {
  const h = tspendHashHex.toLowerCase();
  const k = piKeyHex.toLowerCase();
  for (const v of [p.ticketTSpend[h], p.defaultTSpend[h], p.ticketPiKey[k], p.defaultPiKey[k]]) {
    if (v === 'yes' || v === 'no') return v;
  }
  return undefined;
}

/** The treasury votes of one vote: the votable tspends with a yes/no answer, in hash order, at most 7. */
export function treasuryVotesFor(tspends: readonly KnownTSpend[], p: TreasuryPolicyTables): TreasuryVoteChoice[] {
  const out: TreasuryVoteChoice[] = [];
  for (const t of tspends) {
    const vote = resolveTreasuryVote(p, t.hashHex, t.piKeyHex);
    if (vote) out.push({ tspendHashHex: t.hashHex, vote });
    if (out.length === MAX_TREASURY_VOTES) break;
  }
  return out;
}
