/**
 * The canonical inputs of a vote: `canonicalInputs(ticket, H)` from the local
 * watch caches (no I/O) when the view is provably current for H, and
 * `freshInputs(ticket, H)` from etcd for the record-first path.
 *
 * The view is current for a draw at H when every cache that feeds vote inputs
 * (tickets/, tspends/, config/) has applied its chain-tip marker of H - 1
 * (chain-tip.ts): then it holds every guarded write that applies from <= H,
 * and no later write can change what applies at H, so every voter with such a
 * view computes the same inputs, hence the same vote bytes.
 *
 * `freshInputs` first raises the tip to H - 1 (after that no guarded write can
 * take effect at <= H), then reads the ticket record, the defaults, the vote
 * version and the tspends in one txn (one revision, linearizable): the inputs
 * it computes for H are the ones any current view computes.
 *
 * The vote version is an input too (`config/vote-version`, vote-version.ts):
 * a draw at H is canonical only when a version is committed for H. None
 * committed (a fresh cluster before its first proposal): not canonical, the
 * single-signer paths. An unreadable value: not canonical, and the inputs say
 * so (`voteVersionCorrupt`), so no vote is built from them.
 */
import type { Etcd3 } from 'etcd3';
import { tspendVotable, type NetParams } from '../decred/index.ts';
import type { ChainTip } from './chain-tip.ts';
import { parseVoteDefaults, type ConfigStore, type VoteDefaults } from './config-store.ts';
import { VoteVersionSchema, voteVersionAt, type VoteVersionValue } from './vote-version.ts';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ClusterError, CorruptValueError, TicketNotFoundError } from './errors.ts';
import { assertHashHex, prefixRangeEnd, type Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { parseTicketRecord } from './ticket-record.ts';
import type { TicketRecordCache } from './ticket-cache.ts';
import { parseTSpendValue, type TSpendStore } from './tspend-store.ts';
import {
  defaultsInputs, stateAt, stateAtOrOldest, ticketInputs, tspendsAt,
  type CanonicalInputs, type NonCanonicalReason, type RecordedTSpend, type VersionedInputs, type VoteInputs,
} from './vote-inputs.ts';
import { parseJsonValue, type PrefixCache } from './watch-cache.ts';

/** The result of {@link VoteInputsView.freshInputs}. */
export interface FreshInputs {
  /**
   * The inputs to build the vote at H from. When `canonical` is false (a late import, a record
   * of an older version) no state provably applies to H; these are the state that does if any,
   * else the record's oldest (a single signer records the vote first, so it is the only one).
   */
  inputs: VoteInputs;
  /** True when these are exactly the inputs every current view computes for H. */
  canonical: boolean;
  reason?: NonCanonicalReason;
}

/** Options of {@link VoteInputsView}. */
export interface VoteInputsViewOptions {
  client: Etcd3;
  keyspace: Keyspace;
  params: NetParams;
  tickets: Pick<TicketRecordCache, 'voteInputsOf' | 'markerCache'>;
  config: Pick<ConfigStore, 'voteDefaultsEntry' | 'voteVersionEntry' | 'markerCache'>;
  tspends: Pick<TSpendStore, 'all' | 'markerCache'>;
  tip: Pick<ChainTip, 'advance'>;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  onCorrupt?: (err: CorruptValueError) => void;
}

/** See the module comment. */
export class VoteInputsView {
  private readonly log: ClusterLogger;

  constructor(private readonly opts: VoteInputsViewOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
  }

  private caches(): Array<PrefixCache<unknown>> {
    return [this.opts.tickets.markerCache, this.opts.tspends.markerCache, this.opts.config.markerCache];
  }

  /** The lowest marker height of the caches that feed vote inputs (-1: a cache saw none). No I/O. */
  viewHeight(): number {
    return Math.min(...this.caches().map((c) => c.markerHeight));
  }

  /** True when the local view is provably current for a draw at `height` (every marker >= height - 1). No I/O. */
  isCurrentFor(height: number): boolean {
    return this.viewHeight() >= height - 1;
  }

  /**
   * Waits (no I/O: the caches' own watches) until the view is current for a draw at `height`;
   * resolves false after `timeoutMs` or on abort.
   */
  async whenCurrentFor(height: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (const c of this.caches()) {
      if (!(await c.whenMarkerAtLeast(height - 1, Math.max(0, deadline - Date.now()), signal))) return false;
    }
    return true;
  }

  /**
   * The inputs of the vote of `ticketHex` on a draw at `height` from the local caches (no I/O),
   * when they are provably the canonical ones; otherwise why not.
   */
  canonicalInputs(ticketHex: string, height: number): CanonicalInputs {
    if (!this.isCurrentFor(height)) return { ok: false, reason: 'view-behind' };
    const v = this.#cached(ticketHex, height);
    if (!v) return { ok: false, reason: 'not-managed' };
    if (!v.canonical) return { ok: false, reason: v.reason as NonCanonicalReason };
    return { ok: true, inputs: v.inputs };
  }

  /**
   * The inputs at `height` as the local caches hold them, whether or not they are provably
   * current (the lease owner's outage path when etcd cannot be read): each record's state at H,
   * or its oldest when none provably applies. Undefined when the ticket is not cached. No I/O.
   */
  viewInputs(ticketHex: string, height: number): VoteInputs | undefined {
    return this.#cached(ticketHex, height)?.inputs;
  }

  /** The inputs at `height` from the local caches, and whether they provably apply (no I/O). */
  #cached(ticketHex: string, height: number): FreshInputs | undefined {
    const t = this.opts.tickets.voteInputsOf(ticketHex);
    if (!t) return undefined;
    const d = this.opts.config.voteDefaultsEntry();
    const vv = this.opts.config.voteVersionEntry();
    const r = resolve(t.inputs, defaultsInputs(d?.value), 'corrupt' in vv ? vv.corrupt : vv.value, height);
    return {
      inputs: {
        height, ticket: r.ticket, defaults: r.defaults, tspends: tspendsAt(this.opts.tspends.all(), height, this.votable),
        ticketRevision: t.modRevision, defaultsRevision: d?.modRevision ?? 0, ...r.version,
      },
      canonical: r.canonical,
      ...(r.reason ? { reason: r.reason } : {}),
    };
  }

  private readonly votable = (h: number, expiry: number): boolean => tspendVotable(h, expiry, this.opts.params);

  #report(err: CorruptValueError, msg: string): void {
    this.log.error({ err, key: err.key }, msg);
    this.opts.hooks?.observeCorruptValue?.(err.key);
    this.opts.onCorrupt?.(err);
  }

  /**
   * The inputs of the vote of `ticketHex` on a draw at `height` read from etcd: raises the
   * cluster tip to `height - 1` first, then reads the ticket record, `config/vote-defaults`,
   * `config/vote-version` and the tspends in one txn. Corrupt tspend values are reported and
   * left out.
   * @throws EtcdUnavailableError (etcd unreachable), TicketNotFoundError, CorruptValueError (the
   *   ticket record, the defaults or the vote version are unreadable: nothing may be signed)
   */
  async freshInputs(ticketHex: string, height: number): Promise<FreshInputs> {
    assertHashHex(ticketHex, 'ticketHash');
    const { client, keyspace, params } = this.opts;
    if (height >= 1) await this.opts.tip.advance(height - 1);
    const ticketKey = keyspace.ticket(ticketHex);
    const defaultsKey = keyspace.config('vote-defaults');
    const versionKey = keyspace.voteVersion();
    const tspendsPrefix = keyspace.tspendsPrefix();
    const res = await timed(this.opts.hooks, 'fresh_inputs', () =>
      client.kv.txn({
        compare: [],
        success: [
          { request_range: { key: Buffer.from(ticketKey) } },
          { request_range: { key: Buffer.from(defaultsKey) } },
          { request_range: { key: Buffer.from(versionKey) } },
          { request_range: { key: Buffer.from(tspendsPrefix), range_end: prefixRangeEnd(tspendsPrefix) } },
        ],
        failure: [],
      }),
    );
    const [tr, dr, vr, sr] = res.responses.map((r) => r.response_range);
    if (!tr || !dr || !vr || !sr) throw new ClusterError('CLUSTER_INVARIANT', 'fresh inputs: txn response missing');
    const tkv = tr.kvs[0];
    if (!tkv) throw new TicketNotFoundError(`ticket ${ticketHex} is not managed by the cluster`);
    // As the caches read them: an unreadable history is dropped (reported), an unreadable
    // defaults value is no defaults (reported), so this read computes what a current view does.
    const record = parseTicketRecord(ticketKey, tkv.value, (e) => this.#report(e, 'ticket record\'s vote input history unreadable: dropped, the record is used without it'));
    let dkv = dr.kvs[0];
    let defaults: VoteDefaults | undefined;
    try {
      defaults = dkv ? parseVoteDefaults(defaultsKey, dkv.value, (e) => this.#report(e, 'vote input history unreadable: dropped, the rest of the value is used')) : undefined;
    } catch (err) {
      if (!(err instanceof CorruptValueError)) throw err;
      this.#report(err, 'config/vote-defaults is unreadable: votes use no defaults until it is set again');
      dkv = undefined;
    }
    const vkv = vr.kvs[0];
    let version: VoteVersionValue | undefined;
    try {
      version = vkv ? parseJsonValue(versionKey, vkv.value, VoteVersionSchema) : undefined;
    } catch (err) {
      if (!(err instanceof CorruptValueError)) throw err;
      this.#report(err, 'the committed vote version is unreadable: no vote is signed from it; the next vote-version proposal replaces it');
      throw new CorruptValueError(versionKey, `the committed vote version is unreadable (${err.message}); no vote is signed from it; the next vote-version proposal replaces it`);
    }
    const recorded: RecordedTSpend[] = [];
    const marker = keyspace.tspendsTipMarker();
    for (const kv of sr.kvs) {
      const key = kv.key.toString();
      if (key === marker) continue;
      try {
        recorded.push(parseTSpendValue(key, kv.value, keyspace, params));
      } catch (err) {
        const e = err instanceof CorruptValueError ? err : new CorruptValueError(key, String((err as Error)?.message ?? err));
        this.log.error({ err: e, key }, 'corrupt tspend record refused: never voted on');
        this.opts.onCorrupt?.(e);
      }
    }
    const r = resolve(ticketInputs(record), defaultsInputs(defaults), version, height);
    return {
      inputs: {
        height, ticket: r.ticket, defaults: r.defaults, tspends: tspendsAt(recorded, height, this.votable),
        ticketRevision: Number(tkv.mod_revision), defaultsRevision: dkv ? Number(dkv.mod_revision) : 0, ...r.version,
      },
      canonical: r.canonical,
      ...(r.reason ? { reason: r.reason } : {}),
    };
  }
}

/**
 * The ticket's and the defaults' states at `height` and the vote version committed for it, and
 * whether all three provably apply (a corrupt version value is reported first: nothing is signed
 * from it).
 */
function resolve(ticket: VersionedInputs, defaults: VersionedInputs, version: VoteVersionValue | CorruptValueError | undefined, height: number): {
  ticket: VoteInputs['ticket']; defaults: VoteInputs['defaults']; version: Pick<VoteInputs, 'voteVersion' | 'voteVersionCorrupt'>;
  canonical: boolean; reason?: NonCanonicalReason;
} {
  const t = stateAt(ticket, height);
  const d = stateAt(defaults, height);
  const corrupt = version instanceof CorruptValueError ? version : undefined;
  const voteVersion = corrupt ? undefined : voteVersionAt(version as VoteVersionValue | undefined, height);
  const reason: NonCanonicalReason | undefined = corrupt
    ? 'vote-version-corrupt'
    : ticket.from === undefined || defaults.from === undefined
      ? 'legacy-record'
      : !t || !d ? 'late-import' : voteVersion === undefined ? 'no-vote-version' : undefined;
  return {
    ticket: t ?? stateAtOrOldest(ticket, height),
    defaults: d ?? stateAtOrOldest(defaults, height),
    version: corrupt ? { voteVersionCorrupt: corrupt.message } : voteVersion !== undefined ? { voteVersion } : {},
    canonical: reason === undefined,
    ...(reason ? { reason } : {}),
  };
}
