/**
 * The {@link VoteFactory} of a running voter: builds votes from the cluster's
 * watch-backed ticket cache (no I/O) with services/decred's buildVote and
 * signs them with the ticket's voting key, decrypted for the signature and
 * wiped right after. Parsed tickets are cached per (ticket, etcd revision).
 *
 * Inputs pinned at the draw: `pin(ticket, draw)` (called when the draw
 * arrives, before any waiting) captures the ticket record, the cluster default
 * choices and the agenda table as they are then, with their etcd revisions;
 * every later build for that (ticket, block) uses the pinned inputs. So a
 * backup that takes over after its hedge builds the same bytes as the owner
 * did at the draw even if the choices changed meanwhile, and the record
 * carries both revisions (ticket and defaults) that fixed the bytes.
 *
 * Treasury votes (tspend-book.ts): the pin also captures the tspends the
 * proxies streamed that are inside their voting window at the draw's height,
 * and the cluster's default tspend / Pi-key policies (same etcd revision as
 * the default choices); the ticket's own policies come with its pinned record.
 * Each tspend gets the first yes/no of ticket tspend, default tspend, ticket
 * Pi key, default Pi key (decred/dcrwallet: wallet/wallet.go TSpendPolicy, TreasuryKeyPolicy); those with an answer become
 * the vote's 'T','V' output (tx version 3), in hash order, at most 7, and are
 * recorded in `meta.treasuryVotes`. A tspend learned after the draw is not in
 * that draw's votes, so a takeover rebuilds the owner's bytes.
 */
import {
  buildVote, encodeTx, hashFromHex, hashToHex, parseTicket, signVote, decodeTxHex, txHash,
  type NetParams, type TicketInfo, type Tx,
} from '../decred/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { AgendaTable } from './agenda-table.ts';
import { treasuryVotesFor, type KnownTSpend, type PolicyWord, type TSpendBook } from './tspend-book.ts';
import { dutyKey, type WinningTicketsEvent } from './chain-event.ts';
import { TicketNotManagedError, VoterAgendasUnknownError } from './errors.ts';
import {
  voteBitsFromChoices, type PreparedVote, type SignedVote, type VoteFactory, type VoteMeta,
} from './vote-factory.ts';

/** The ticket-cache operations the factory uses (a subset of the cluster's TicketCache). */
export interface TicketSource {
  get(ticketHash: string): {
    record: {
      ticketHex: string;
      voteChoices: Record<string, string>;
      treasuryPolicy?: Readonly<Record<string, PolicyWord>>;
      tspendPolicy?: Readonly<Record<string, PolicyWord>>;
    };
    modRevision: number;
  } | undefined;
  getVotingKey(ticketHash: string): { expose(): Uint8Array; wipe(): void };
}

type TicketEntry = NonNullable<ReturnType<TicketSource['get']>>;

/** Cluster-wide treasury policies (the `config/vote-defaults` maps). */
export interface TreasuryDefaults {
  treasuryPolicy: Readonly<Record<string, PolicyWord>>;
  tspendPolicy: Readonly<Record<string, PolicyWord>>;
}

/** Where treasury votes come from: the streamed tspends and the default policies. */
export interface TreasurySource {
  tspends: TSpendBook;
  defaults: () => TreasuryDefaults;
}

const NO_TREASURY_DEFAULTS: TreasuryDefaults = { treasuryPolicy: {}, tspendPolicy: {} };

/** The inputs of one (ticket, block) vote, captured at the draw. */
interface Pinned {
  height: number;
  blockHashHex: string;
  ticket: TicketEntry;
  defaults: Readonly<Record<string, string>>;
  defaultsRevision: number;
  agendas: AgendaTable | undefined;
  treasuryDefaults: TreasuryDefaults;
  /** The tspends inside their window at the draw's height, hash order. */
  tspends: readonly KnownTSpend[];
}

interface Payload {
  unsigned: Tx;
  ticket: Tx;
  info: TicketInfo;
}

/** Parsed tickets kept for re-builds (re-sends, backups); a draw has 5 tickets, a few draws are open at once. */
const MAX_PARSED_TICKETS = 256;

export class ClusterVoteFactory implements VoteFactory {
  readonly #parsed = new Map<string, { rev: number; ticket: Tx; info: TicketInfo }>();
  readonly #pins = new Map<string, Pinned>();

  constructor(
    private readonly tickets: TicketSource,
    private readonly defaults: () => Readonly<Record<string, string>>,
    /** The agendas (and vote version) to vote with now; undefined when unknown (agenda-book.ts). */
    private readonly agendas: () => AgendaTable | undefined,
    private readonly params: NetParams,
    private readonly log: Logger,
    private readonly defaultsRevision: () => number = () => 0,
    private readonly treasury?: TreasurySource,
  ) {}

  /** The tspends a vote on `height` may vote on now, and the default treasury policies. */
  private treasuryInputs(height: number): { tspends: readonly KnownTSpend[]; treasuryDefaults: TreasuryDefaults } {
    if (!this.treasury) return { tspends: [], treasuryDefaults: NO_TREASURY_DEFAULTS };
    return { tspends: this.treasury.tspends.votable(height, this.params), treasuryDefaults: this.treasury.defaults() };
  }

  /**
   * Captures the inputs of the vote for (ticket, draw) now (no I/O); later builds for
   * that pair use them. A second call for the same pair keeps the first capture.
   * Returns false when the ticket is not in the cache.
   */
  pin(ticketHex: string, ev: Pick<WinningTicketsEvent, 'blockHashHex' | 'height'>): boolean {
    const key = dutyKey(ticketHex, ev.blockHashHex);
    if (this.#pins.has(key)) return true;
    const ticket = this.tickets.get(ticketHex);
    if (!ticket) return false;
    this.#pins.set(key, {
      height: ev.height, blockHashHex: ev.blockHashHex, ticket,
      defaults: this.defaults(), defaultsRevision: this.defaultsRevision(), agendas: this.agendas(),
      ...this.treasuryInputs(ev.height),
    });
    return true;
  }

  /** Drops pins of votes that are over: blocks below `height`, or one block hash. */
  unpin(pred: (p: { height: number; blockHashHex: string }) => boolean): void {
    for (const [k, p] of this.#pins) if (pred(p)) this.#pins.delete(k);
  }

  /** Pinned (ticket, block) pairs (tests, stats). */
  get pinned(): number {
    return this.#pins.size;
  }

  prepare(ticketHex: string, ev: WinningTicketsEvent): PreparedVote {
    const pin = this.#pins.get(dutyKey(ticketHex, ev.blockHashHex));
    const cached = pin?.ticket ?? this.tickets.get(ticketHex);
    if (!cached) throw new TicketNotManagedError(ticketHex);
    let p = this.#parsed.get(ticketHex);
    if (!p || p.rev !== cached.modRevision) {
      const ticket = decodeTxHex(cached.record.ticketHex);
      p = { rev: cached.modRevision, ticket, info: parseTicket(ticket) };
      this.#parsed.delete(ticketHex);
      this.#parsed.set(ticketHex, p);
      // Only the draws in flight need their parsed tickets: keep the newest few, not one per ticket ever drawn.
      if (this.#parsed.size > MAX_PARSED_TICKETS) this.#parsed.delete(this.#parsed.keys().next().value as string);
    }
    const agendas = pin?.agendas ?? this.agendas();
    if (!agendas) throw new VoterAgendasUnknownError(ev.voteVersion > 0 ? ev.voteVersion : undefined);
    const defaults = pin?.defaults ?? this.defaults();
    const defaultsRevision = pin?.defaultsRevision ?? this.defaultsRevision();
    const choices = agendas.resolve(defaults, cached.record.voteChoices, (agendaId, choiceId) =>
      this.log.warn({ ticket: ticketHex, agendaId, choiceId }, 'vote choice for an agenda the chain does not define; abstaining'),
    );
    const t = pin ?? this.treasuryInputs(ev.height);
    const treasuryVotes = treasuryVotesFor(t.tspends, {
      ticketTSpend: cached.record.tspendPolicy ?? {}, defaultTSpend: t.treasuryDefaults.tspendPolicy,
      ticketPiKey: cached.record.treasuryPolicy ?? {}, defaultPiKey: t.treasuryDefaults.treasuryPolicy,
    });
    const meta: VoteMeta = {
      voteBits: voteBitsFromChoices(choices),
      // The version the agendas belong to: the cluster's (agenda-book.ts), the same on every voter
      // that sees the same proxies, so a backup's rebuild matches the owner's bytes.
      voteVersion: agendas.voteVersion ?? (ev.voteVersion > 0 ? ev.voteVersion : this.params.voteVersion),
      treasuryVotes,
      revision: cached.modRevision,
      defaultsRevision,
    };
    const unsigned = buildVote({
      ticket: p.ticket, ticketInfo: p.info, blockHash: hashFromHex(ev.blockHashHex), blockHeight: ev.height,
      voteBits: meta.voteBits, voteVersion: meta.voteVersion, voteSubsidy: ev.voteSubsidy, params: this.params,
      treasuryVotes: treasuryVotes.map((v) => ({ tspendHash: hashFromHex(v.tspendHashHex), vote: v.vote === 'yes' ? 1 : 2 })),
    });
    const payload: Payload = { unsigned, ticket: p.ticket, info: p.info };
    return { ticketHex, meta, payload };
  }

  sign(prepared: PreparedVote): SignedVote {
    const { unsigned, ticket, info } = prepared.payload as Payload;
    const key = this.tickets.getVotingKey(prepared.ticketHex);
    let signed: Tx;
    try {
      signed = signVote(unsigned, ticket, key.expose(), { ticketInfo: info, params: this.params });
    } finally {
      key.wipe();
    }
    return { ticketHex: prepared.ticketHex, rawTx: encodeTx(signed), txidHex: hashToHex(txHash(signed)), meta: prepared.meta };
  }

  /** Forgets parsed tickets no longer managed. */
  prune(isManaged: (ticketHex: string) => boolean): void {
    for (const t of this.#parsed.keys()) if (!isManaged(t)) this.#parsed.delete(t);
  }
}
