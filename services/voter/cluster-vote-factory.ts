/**
 * The {@link VoteFactory} of a running voter: builds votes from the cluster's
 * watch-backed caches (no I/O) with services/decred's buildVote and signs them
 * with the ticket's voting key, decrypted for the signature and wiped right
 * after. Parsed tickets are cached per (ticket, etcd revision).
 *
 * Inputs effective from a height (services/cluster vote-inputs.ts): every
 * build of the vote on a draw at height H uses the inputs that apply AT H —
 * the ticket's choices and tspend / treasury (Pi key) policies, the cluster
 * defaults, and the tspends the cluster recorded with `from <= H` that are
 * votable at H — never simply the latest ones. So:
 * - `canonical(ticket, ev)`: when the local view is provably current for H
 *   (every input cache reached the tip marker of H - 1; a view behind waits
 *   for its own watches up to `viewWaitMs`, no I/O), the inputs are the ones
 *   every voter computes: `{ ok: true }`, and the region signers may sign at
 *   once. A view still behind asks etcd (`freshInputs`, for as long again):
 *   the inputs read after the tip was raised to H - 1 are the canonical ones,
 *   so the answer is `{ ok: true }` with those kept for the draw; no answer,
 *   a late import, a record of an older version: `{ ok: false, reason }`.
 * - `refresh(ticket, ev)` (the record-first path): reads the inputs from etcd
 *   (`freshInputs`: the tip raised to H - 1 first, then one linearizable
 *   read) and keeps them for this (ticket, block), so whichever path signs
 *   builds exactly the bytes a canonical signer builds. Without it (an etcd
 *   outage) a build uses the view's inputs at H (the lease owner's outage path).
 * - `pin(ticket, draw)` (at the draw) captures the agenda table and the
 *   view's inputs at H; a build uses, in order: the canonical inputs, the
 *   fresh ones, the pinned ones.
 *
 * The vote version is one of those inputs (services/cluster vote-version.ts):
 * every build of a draw at H whose inputs name the version committed for H
 * writes that version with its agendas (`agendasOf(version)`: read from the
 * chain or the copy in `config/agendas-v<N>`), whatever this voter's proxies
 * report; unknown agendas: VoterAgendasUnknownError, and the draw is not
 * canonical here; an unreadable `config/vote-version`:
 * VoterVoteVersionCorruptError, nothing is signed. Inputs with no version
 * committed for H (never canonical, single signer) use the version of this
 * voter's proxies, as pinned at the draw.
 *
 * Treasury votes (tspend-book.ts): each votable recorded tspend gets the first
 * yes/no of ticket tspend, default tspend, ticket Pi key, default Pi key
 * (decred/dcrwallet: wallet/wallet.go TSpendPolicy, TreasuryKeyPolicy); those
 * with an answer become the vote's 'T','V' output (tx version 3), in hash
 * order, at most 7, recorded in `meta.treasuryVotes`. A tspend a proxy streamed
 * a moment ago is in no vote until it is recorded and its `from` height reached.
 *
 * Without a cluster source (unit tests), the inputs come from the ticket
 * records and the defaults functions given, as a view that is never canonical.
 */
import {
  buildVote, encodeTx, hashFromHex, hashToHex, parseTicket, signVote, decodeTxHex, txHash,
  type NetParams, type TicketInfo, type Tx,
} from '../decred/index.ts';
import { valueWithin } from '../base/index.ts';
import type { Logger } from '../telemetry/index.ts';
import {
  TicketNotFoundError, stateAtOrOldest, ticketInputs,
  type CanonicalInputs, type EarlierInput, type FreshInputs, type InputState, type VoteInputs,
} from '../cluster/index.ts';
import type { AgendaTable } from './agenda-table.ts';
import { treasuryVotesFor, type PolicyWord, type TSpendBook } from './tspend-book.ts';
import { dutyKey, type WinningTicketsEvent } from './chain-event.ts';
import { TicketNotManagedError, VoterAgendasUnknownError, VoterVoteVersionCorruptError } from './errors.ts';
import {
  voteBitsFromChoices, type CanonicalVerdict, type InputsHow, type InputsTiming, type PreparedVote, type SignedVote, type VoteFactory, type VoteMeta,
} from './vote-factory.ts';

/** The ticket-cache operations the factory uses (a subset of the cluster's TicketCache). */
export interface TicketSource {
  get(ticketHash: string): {
    record: {
      ticketHex: string;
      voteChoices: Record<string, string>;
      treasuryPolicy?: Readonly<Record<string, PolicyWord>>;
      tspendPolicy?: Readonly<Record<string, PolicyWord>>;
      inputsFrom?: number;
      earlierInputs?: readonly EarlierInput[];
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

/** Where treasury votes come from without a cluster source: the streamed tspends and the default policies. */
export interface TreasurySource {
  tspends: TSpendBook;
  defaults: () => TreasuryDefaults;
}

/** The cluster's vote inputs (services/cluster `canonicalInputs`, `freshInputs`, the view). */
export interface VoteInputSource {
  /** No I/O: the canonical inputs at H, or why they are not provable. */
  canonicalInputs(ticketHex: string, height: number): CanonicalInputs;
  /** Tip raised to H - 1, then one linearizable read. @throws EtcdUnavailableError, TicketNotFoundError */
  freshInputs(ticketHex: string, height: number): Promise<FreshInputs>;
  /** No I/O: the view's inputs at H even when not provably current (the outage path), undefined when the ticket is not cached. */
  viewInputs(ticketHex: string, height: number): VoteInputs | undefined;
  /** Resolves true once the view is current for H (no I/O), false after `timeoutMs`. */
  whenCurrentFor(height: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean>;
  /** No I/O: the lowest tip marker height the input caches hold (-1: none yet); diagnostics. */
  viewHeight?(): number;
  /**
   * True while a live voter of an older version (one that builds from the latest inputs) is in
   * the cluster: no draw is canonical then (a rolling upgrade). Absent: never.
   */
  olderVotersLive?(): boolean;
}

/** The inputs of one (ticket, block) vote and where they came from. */
interface Pinned {
  height: number;
  blockHashHex: string;
  agendas: AgendaTable | undefined;
  /** The view's inputs at the draw (undefined: the ticket was not cached then). */
  view: VoteInputs | undefined;
  /** The inputs read from etcd for this draw (record-first and behind-view paths). */
  fresh?: VoteInputs;
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
  readonly #source: VoteInputSource;
  readonly #agendasOf: (voteVersion: number) => AgendaTable | undefined;

  /**
   * @param defaults default choices (used only without `inputs`)
   * @param defaultsRevision (used only without `inputs`)
   * @param treasury streamed tspends and default policies (used only without `inputs`)
   * @param inputs the cluster's vote inputs (a running voter); absent: a never-canonical view
   *   of the ticket records and `defaults` / `treasury` (tests)
   * @param agendasOf the agendas of a given vote version (the committed one a build uses);
   *   absent: `agendas()` when it is of that version
   * @param viewWaitMs how long `canonical` waits for a view behind the draw to catch up (no I/O)
   */
  constructor(
    private readonly tickets: TicketSource,
    defaults: () => Readonly<Record<string, string>>,
    /** The agendas (and vote version) to vote with now; undefined when unknown (agenda-book.ts). */
    private readonly agendas: () => AgendaTable | undefined,
    private readonly params: NetParams,
    private readonly log: Logger,
    defaultsRevision: () => number = () => 0,
    treasury?: TreasurySource,
    inputs?: VoteInputSource,
    private readonly viewWaitMs: () => number = () => 0,
    agendasOf?: (voteVersion: number) => AgendaTable | undefined,
  ) {
    this.#agendasOf = agendasOf ?? ((v) => {
      const t = this.agendas();
      return t?.voteVersion === v ? t : undefined;
    });
    this.#source = inputs ?? localInputs(tickets, defaults, defaultsRevision, treasury, params);
  }

  /**
   * Captures the agenda table and the view's inputs for (ticket, draw) now (no I/O); later
   * builds for that pair use them unless canonical or fresh inputs exist. A second call for
   * the same pair keeps the first capture. Returns false when the ticket is not in the cache.
   */
  pin(ticketHex: string, ev: Pick<WinningTicketsEvent, 'blockHashHex' | 'height'>): boolean {
    const key = dutyKey(ticketHex, ev.blockHashHex);
    if (this.#pins.has(key)) return true;
    if (!this.tickets.get(ticketHex)) return false;
    this.#pins.set(key, { height: ev.height, blockHashHex: ev.blockHashHex, agendas: this.agendas(), view: this.#source.viewInputs(ticketHex, ev.height) });
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

  /**
   * Whether the vote for (ticket, draw) is canonical here: every input cache reached the tip
   * marker of H - 1 (waiting up to `viewWaitMs` for this voter's own watches, no I/O) and the
   * ticket's and the defaults' states at H are committed (not a late import, not a record of an
   * older version), and no voter of an older version is live (rolling upgrade: its bytes could
   * differ). Then `prepare` builds the bytes every voter builds. A view still behind after
   * the wait reads the inputs from etcd (tip raised to H - 1, then one read; at most `viewWaitMs`
   * more): canonical too when they arrive in time, and kept for this draw's builds.
   */
  async canonical(ticketHex: string, ev: WinningTicketsEvent): Promise<CanonicalVerdict> {
    const t0 = performance.now();
    const viewHeight = this.#source.viewHeight?.();
    const timing = (how: InputsHow): InputsTiming => ({ how, ms: performance.now() - t0, ...(viewHeight !== undefined ? { viewHeight } : {}) });
    const no = (reason: string): CanonicalVerdict => ({ ok: false, reason, timing: timing('none') });
    if (this.#source.olderVotersLive?.() === true) return no('older-voters-live');
    let c = this.#source.canonicalInputs(ticketHex, ev.height);
    if (c.ok || c.reason !== 'view-behind') return this.#verdict(c, timing('view'));
    const waitMs = this.viewWaitMs();
    if (waitMs <= 0) return no(c.reason);
    if (await this.#source.whenCurrentFor(ev.height, waitMs)) {
      c = this.#source.canonicalInputs(ticketHex, ev.height);
      return this.#verdict(c, timing('waited'));
    }
    // Still behind: the inputs read from etcd after the tip was raised to H - 1 are exactly the
    // ones every current view computes. Asked for as long again; no answer: not canonical here.
    const fresh = await valueWithin(this.#source.freshInputs(ticketHex, ev.height), waitMs);
    if (fresh?.canonical !== true) return no(fresh?.reason ?? c.reason);
    this.#keepFresh(ticketHex, ev, fresh);
    return this.#verdict({ ok: true, inputs: fresh.inputs }, timing('read'));
  }

  /** Canonical inputs make a canonical vote here only when this voter knows the agendas of their vote version. */
  #verdict(c: CanonicalInputs, timing: InputsTiming): CanonicalVerdict {
    const no = (reason: string): CanonicalVerdict => ({ ok: false, reason, timing: { ...timing, how: 'none' } });
    if (!c.ok) return no(c.reason);
    const v = c.inputs.voteVersion;
    if (v === undefined) return no('no-vote-version');
    return this.#agendasOf(v) ? { ok: true, timing } : no('agendas-unknown');
  }

  #keepFresh(ticketHex: string, ev: Pick<WinningTicketsEvent, 'blockHashHex' | 'height'>, f: FreshInputs): void {
    const key = dutyKey(ticketHex, ev.blockHashHex);
    const pin = this.#pins.get(key) ?? { height: ev.height, blockHashHex: ev.blockHashHex, agendas: this.agendas(), view: undefined };
    pin.fresh = f.inputs;
    this.#pins.set(key, pin);
  }

  /**
   * The record-first path's inputs: reads them from etcd (services/cluster `freshInputs`: the
   * cluster tip raised to H - 1 first, then one linearizable read) and keeps them for this
   * (ticket, block): later builds are the bytes a canonical signer builds, where one exists.
   * @throws EtcdUnavailableError (etcd does not answer), TicketNotManagedError
   */
  async refresh(ticketHex: string, ev: Pick<WinningTicketsEvent, 'blockHashHex' | 'height'>): Promise<void> {
    let f: FreshInputs;
    try {
      f = await this.#source.freshInputs(ticketHex, ev.height);
    } catch (err) {
      if (err instanceof TicketNotFoundError) throw new TicketNotManagedError(ticketHex);
      throw err;
    }
    this.#keepFresh(ticketHex, ev, f);
    if (!f.canonical) this.log.debug({ ticket: ticketHex, height: ev.height, reason: f.reason }, 'vote inputs read from etcd are not canonical; single signer');
  }

  /** The inputs of the vote of `ticketHex` on `ev`: canonical, else fresh, else pinned, else the view's. */
  private inputsFor(ticketHex: string, ev: WinningTicketsEvent, pin: Pinned | undefined): VoteInputs {
    const c = this.#source.canonicalInputs(ticketHex, ev.height);
    if (c.ok) return c.inputs;
    if (pin?.fresh) return pin.fresh;
    const inputs = pin?.view ?? this.#source.viewInputs(ticketHex, ev.height);
    if (!inputs) throw new TicketNotManagedError(ticketHex);
    // Neither provably current nor read from etcd: the outage path (one signer, the lease owner).
    this.log.warn({ ticket: ticketHex, height: ev.height, reason: c.reason, ticketRevision: inputs.ticketRevision, tspends: inputs.tspends.map((t) => t.hashHex) },
      'vote built from this voter\'s view, not provably current for the draw (etcd not read)');
    return inputs;
  }

  /**
   * The vote version and its agendas for a build from `inputs`: the version committed for the
   * draw's height (the same on every voter), else (none committed: a single signer) the version
   * of this voter's proxies as pinned at the draw.
   * @throws VoterVoteVersionCorruptError, VoterAgendasUnknownError
   */
  #versionFor(inputs: VoteInputs, pin: Pinned | undefined, ev: WinningTicketsEvent): { agendas: AgendaTable; voteVersion: number } {
    if (inputs.voteVersionCorrupt !== undefined) throw new VoterVoteVersionCorruptError(inputs.voteVersionCorrupt);
    const committed = inputs.voteVersion;
    if (committed !== undefined) {
      const agendas = this.#agendasOf(committed);
      if (!agendas) throw new VoterAgendasUnknownError(committed);
      return { agendas, voteVersion: committed };
    }
    const agendas = pin?.agendas ?? this.agendas();
    if (!agendas) throw new VoterAgendasUnknownError(ev.voteVersion > 0 ? ev.voteVersion : undefined);
    return { agendas, voteVersion: agendas.voteVersion ?? (ev.voteVersion > 0 ? ev.voteVersion : this.params.voteVersion) };
  }

  prepare(ticketHex: string, ev: WinningTicketsEvent): PreparedVote {
    const pin = this.#pins.get(dutyKey(ticketHex, ev.blockHashHex));
    const cached = this.tickets.get(ticketHex);
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
    const inputs = this.inputsFor(ticketHex, ev, pin);
    const { agendas, voteVersion } = this.#versionFor(inputs, pin, ev);
    const choices = agendas.resolve(inputs.defaults.voteChoices, inputs.ticket.voteChoices, (agendaId, choiceId) =>
      this.log.warn({ ticket: ticketHex, agendaId, choiceId }, 'vote choice for an agenda the chain does not define; abstaining'),
    );
    const treasuryVotes = treasuryVotesFor(inputs.tspends, {
      ticketTSpend: inputs.ticket.tspendPolicy, defaultTSpend: inputs.defaults.tspendPolicy,
      ticketPiKey: inputs.ticket.treasuryPolicy, defaultPiKey: inputs.defaults.treasuryPolicy,
    });
    const meta: VoteMeta = {
      voteBits: voteBitsFromChoices(choices),
      voteVersion,
      treasuryVotes,
      revision: inputs.ticketRevision,
      defaultsRevision: inputs.defaultsRevision,
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

const EMPTY_MAP: Readonly<Record<string, never>> = Object.freeze({});

/**
 * A never-canonical source over plain ticket records and defaults functions (no cluster): each
 * record's state at H (or its oldest), the defaults as given, the streamed tspends votable at H.
 */
function localInputs(
  tickets: TicketSource, defaults: () => Readonly<Record<string, string>>, defaultsRevision: () => number,
  treasury: TreasurySource | undefined, params: NetParams,
): VoteInputSource {
  const view = (ticketHex: string, height: number): VoteInputs | undefined => {
    const t = tickets.get(ticketHex);
    if (!t) return undefined;
    const r = t.record;
    const state: InputState = stateAtOrOldest(ticketInputs({
      voteChoices: r.voteChoices, tspendPolicy: r.tspendPolicy ?? EMPTY_MAP, treasuryPolicy: r.treasuryPolicy ?? EMPTY_MAP,
      inputsFrom: r.inputsFrom, earlierInputs: r.earlierInputs,
    }), height);
    const td = treasury?.defaults();
    return {
      height, ticket: state,
      defaults: { voteChoices: defaults(), tspendPolicy: td?.tspendPolicy ?? EMPTY_MAP, treasuryPolicy: td?.treasuryPolicy ?? EMPTY_MAP },
      tspends: (treasury?.tspends.votable(height, params) ?? []).map((k) => ({ ...k, from: 0 })),
      ticketRevision: t.modRevision, defaultsRevision: defaultsRevision(),
    };
  };
  return {
    canonicalInputs: () => ({ ok: false, reason: 'view-behind' }),
    freshInputs: async (ticketHex, height) => {
      const inputs = view(ticketHex, height);
      if (!inputs) throw new TicketNotFoundError(`ticket ${ticketHex} is not managed by the cluster`);
      return { inputs, canonical: false, reason: 'view-behind' };
    },
    viewInputs: view,
    whenCurrentFor: async () => false,
  };
}
