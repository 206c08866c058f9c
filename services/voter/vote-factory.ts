/**
 * Deterministic vote construction (docs/architecture.md, invariants 2 and 3): a vote is
 * a pure function of the draw (block hash, height, subsidy, vote version) and
 * the ticket record at ONE etcd revision (choices, policies, key). The
 * revision goes into the vote record, so any voter building from the same
 * revision produces byte-identical votes (RFC 6979 signatures), and a takeover
 * re-sends the same bytes. Building needs no I/O: everything comes from the
 * watch-backed ticket cache.
 *
 * Vote bits (decred/dcrwallet: wallet/wallet.go SetAgendaChoices): the ticket's own choices if it has
 * any, else the cluster default; for each choice clear the agenda mask and OR in
 * the choice bits; bit 0 (previous block valid) is always set.
 */
import type { WinningTicketsEvent } from './chain-event.ts';

/** Everything that shaped the vote's bytes; stored with the vote record. */
export interface VoteMeta {
  voteBits: number;
  voteVersion: number;
  treasuryVotes: readonly { tspendHashHex: string; vote: 'yes' | 'no' }[];
  /** etcd mod revision of the ticket record the vote was built from (the record's `choicesRevision`). */
  revision: number;
  /**
   * etcd mod revision of the cluster-wide `config/vote-defaults` the choices fell back to
   * (0 = unset). With `revision` it fixes every input of the vote's bytes.
   */
  defaultsRevision?: number;
}

/** A built, unsigned vote (opaque to the duty). */
export interface PreparedVote {
  ticketHex: string;
  meta: VoteMeta;
  /** Factory-private payload (the unsigned tx and what signing needs). */
  readonly payload: unknown;
}

/** A signed vote ready to send. */
export interface SignedVote {
  ticketHex: string;
  rawTx: Uint8Array;
  /** Display hex of the vote's tx hash. */
  txidHex: string;
  meta: VoteMeta;
}

/**
 * How a voter established a draw's vote inputs: `view` (its caches were provably current when
 * the draw arrived), `waited` (its own watches caught up within the wait), `read` (read from
 * etcd after raising the cluster tip), `none` (not canonical: the single-signer paths).
 */
export type InputsHow = 'view' | 'waited' | 'read' | 'none';

/** How (and how fast) the inputs were established; for spans, metrics and duty events. */
export interface InputsTiming {
  how: InputsHow;
  /** Time from the question to the verdict, ms. */
  ms: number;
  /** The lowest tip marker height of the voter's input caches when the draw arrived (-1: none yet). */
  viewHeight?: number;
}

/** Whether a draw's vote is canonical for this voter now, and if not, why (logs). */
export type CanonicalVerdict = ({ ok: true } | { ok: false; reason: string }) & { timing?: InputsTiming };

/** Builds and signs votes from the local ticket cache; both steps are synchronous and do no I/O. */
export interface VoteFactory {
  /** @throws TicketNotManagedError when the ticket is not in the cache. */
  prepare(ticketHex: string, ev: WinningTicketsEvent): PreparedVote;
  sign(prepared: PreparedVote): SignedVote;
  /**
   * Whether the vote for (ticket, draw) is canonical: `prepare` builds it from inputs every voter
   * holds the same for that height, and this voter's view is provably current for it. A factory
   * without it has no canonical votes (every draw takes the single-signer paths).
   */
  canonical?(ticketHex: string, ev: WinningTicketsEvent): CanonicalVerdict | Promise<CanonicalVerdict>;
  /**
   * The record-first path's inputs: pins, for (ticket, draw), the inputs read fresh from etcd
   * after the cluster tip was advanced to the draw's height - 1 (so no guarded write can take
   * effect at that height any more): the bytes every canonical signer computes. Rejects when
   * etcd does not answer. A factory without it builds from the inputs pinned at the draw.
   */
  refresh?(ticketHex: string, ev: WinningTicketsEvent): Promise<void>;
}

/** One agenda choice as stored: the agenda's mask and the chosen bits. */
export interface ChoiceBits {
  mask: number;
  bits: number;
}

/** Bit 0: the previous block's regular tree is valid (decred/dcrwallet: wallet/createtx.go). */
export const VOTE_BITS_PREV_VALID = 0x0001;

/**
 * Vote bits from choices (dcrwallet SetAgendaChoices): start at 0x0001, for each
 * choice clear its mask and OR in its bits (masked), keep bit 0 set.
 */
export function voteBitsFromChoices(choices: readonly ChoiceBits[]): number {
  let bits = VOTE_BITS_PREV_VALID;
  for (const c of choices) bits = ((bits & ~c.mask) | (c.bits & c.mask)) & 0xffff;
  return (bits | VOTE_BITS_PREV_VALID) & 0xffff;
}

/**
 * The per-ticket choices when the ticket has any, otherwise the cluster default
 * (decred/dcrwallet: wallet/chainntfns.go VoteOnOwnedTickets: the per-ticket
 * choices if saved, otherwise the wallet default).
 */
export function selectChoices(
  perTicket: readonly ChoiceBits[] | undefined,
  defaults: readonly ChoiceBits[] | undefined,
): readonly ChoiceBits[] {
  if (perTicket && perTicket.length > 0) return perTicket;
  return defaults ?? [];
}
