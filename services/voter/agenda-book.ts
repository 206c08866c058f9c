/**
 * The vote version a voter writes and the agendas of that version, both from
 * the chain, never from a built-in table.
 *
 * - Each proxy reports the vote version a wallet writes behind its dcrd (the
 *   newest version that dcrd's `getvoteinfo` recognises; services/decred
 *   vote-version.ts) in every stream_start and every draw. The cluster writes
 *   the lowest version among the connected proxies: the highest version every
 *   connected dcrd recognises. Proxies that disagree (a rolling dcrd upgrade)
 *   are logged and shown by a gauge.
 * - The agendas of a version are read through a proxy (`GetVoteInfo`) on every
 *   (re)connected stream and whenever the version changes, and stored in etcd
 *   (`config/agendas-v<N>`) when they differ from the stored copy, so a voter
 *   that starts while no proxy answers still knows them.
 * - A voter that knows no agendas for the version it must write does not vote
 *   with the users' choices dropped: {@link AgendaBook.current} returns
 *   undefined, the vote build fails with VoterAgendasUnknownError (logged,
 *   counted) and the draw is left to a voter that knows them (the backups).
 */
import type { Logger } from '../telemetry/index.ts';
import type { NodeProxyClient } from '../nodeproxy/index.ts';
import { AgendaTable } from './agenda-table.ts';

/** The stored copies of agenda sets (the cluster's `config/agendas-v<N>`). */
export interface AgendaStore {
  agendaSet(voteVersion: number): { voteVersion: number; agendas: unknown[] } | undefined;
  putAgendaSet(set: StoredSet): Promise<boolean>;
}

/** An agenda set as stored (services/cluster AgendaSetSchema). */
export interface StoredSet {
  voteVersion: number;
  agendas: Array<{
    id: string;
    description: string;
    mask: number;
    choices: Array<{ id: string; description: string; bits: number; isAbstain: boolean; isNo: boolean }>;
  }>;
}

/** Options of {@link AgendaBook}. */
export interface AgendaBookOptions {
  proxies: ReadonlyArray<{ address: string; client: Pick<NodeProxyClient, 'getVoteInfo'> }>;
  store?: AgendaStore;
  log: Logger;
  deadlineMs: number;
  /** Called with the vote version written and whether the connected proxies disagree. */
  onVersion?: (voteVersion: number, mismatch: boolean) => void;
}

type WireChoice = { id?: string; description?: string; bits?: number; is_abstain?: boolean; is_no?: boolean };
type WireAgenda = { id?: string; description?: string; mask?: number; choices?: WireChoice[] };

/** A GetVoteInfo answer as a stored set. */
function toStored(voteVersion: number, wire: Record<string, unknown>): StoredSet {
  const agendas = (wire['agendas'] as WireAgenda[] | undefined) ?? [];
  return {
    voteVersion,
    agendas: agendas.map((a) => ({
      id: a.id ?? '',
      description: a.description ?? '',
      mask: a.mask ?? 0,
      choices: (a.choices ?? []).map((c) => ({
        id: c.id ?? '', description: c.description ?? '', bits: c.bits ?? 0, isAbstain: c.is_abstain ?? false, isNo: c.is_no ?? false,
      })),
    })),
  };
}

/** See the module comment. */
export class AgendaBook {
  /** proxy address → the vote version it reported last (connected proxies only). */
  readonly #proxyVersion = new Map<string, number>();
  /** vote version → agendas read from the chain by this process. */
  readonly #tables = new Map<number, AgendaTable>();
  readonly #inflight = new Map<number, Promise<boolean>>();
  /** The version written last (kept while every proxy is down). */
  #lastVersion: number | undefined;
  #mismatch = false;

  constructor(private readonly o: AgendaBookOptions) {}

  /** The vote version the cluster writes now (undefined before any proxy reported one). */
  get voteVersion(): number | undefined {
    const vs = [...this.#proxyVersion.values()];
    return vs.length > 0 ? Math.min(...vs) : this.#lastVersion;
  }

  /** True while the connected proxies report different vote versions. */
  get mismatch(): boolean {
    return this.#mismatch;
  }

  /**
   * A proxy's stream (re)started, or one of its draws arrived, with the vote version it reports
   * (0: it has not reached its dcrd yet). A stream start refreshes that version's agendas; so
   * does a version that changed. Resolves when the refresh is done (callers need not wait).
   */
  async noteProxy(address: string, voteVersion: number, streamStarted: boolean): Promise<void> {
    if (!(voteVersion > 0)) return;
    const previous = this.#proxyVersion.get(address);
    this.#proxyVersion.set(address, voteVersion);
    const changed = this.#recompute();
    if (previous !== voteVersion && previous !== undefined) {
      this.o.log.info({ proxy: address, voteVersion, previous }, 'proxy reports a new vote version');
    }
    if (streamStarted || previous !== voteVersion || changed) await this.refresh(voteVersion, address);
  }

  /** A proxy's stream went down: its version no longer counts. */
  proxyDown(address: string): void {
    if (this.#proxyVersion.delete(address)) this.#recompute();
  }

  /**
   * The agendas to build a vote with now: the current version's table read from the chain, or
   * the copy stored in etcd. Undefined when neither is known (the caller must not vote).
   */
  current(): AgendaTable | undefined {
    const v = this.voteVersion;
    if (v === undefined) return undefined;
    const t = this.#tables.get(v);
    if (t) return t;
    const stored = this.o.store?.agendaSet(v);
    return stored ? AgendaTable.fromVoteInfo({ agendas: stored.agendas }, v) : undefined;
  }

  /**
   * Reads the agendas of `voteVersion` through a proxy (`preferred` first), keeps them and stores
   * them in etcd when they differ from the stored copy. Resolves false when no proxy answered
   * (the previous table, or the stored copy, stays in use).
   */
  refresh(voteVersion: number, preferred?: string): Promise<boolean> {
    const running = this.#inflight.get(voteVersion);
    if (running) return running;
    const p = this.#refresh(voteVersion, preferred).finally(() => this.#inflight.delete(voteVersion));
    this.#inflight.set(voteVersion, p);
    return p;
  }

  async #refresh(voteVersion: number, preferred?: string): Promise<boolean> {
    const order = [...this.o.proxies].sort((a, b) => Number(b.address === preferred) - Number(a.address === preferred));
    for (const p of order) {
      let wire: Record<string, unknown>;
      try {
        wire = await p.client.getVoteInfo(voteVersion, { deadlineMs: this.o.deadlineMs });
      } catch (err) {
        this.o.log.warn({ err, proxy: p.address, voteVersion }, 'could not read agendas through a proxy; trying the next');
        continue;
      }
      let table: AgendaTable;
      try {
        table = AgendaTable.fromVoteInfo(wire, voteVersion);
      } catch (err) {
        this.o.log.error({ err, proxy: p.address, voteVersion }, 'a proxy answered GetVoteInfo with an unusable agenda list');
        continue;
      }
      const known = this.#tables.has(voteVersion);
      this.#tables.set(voteVersion, table);
      if (!known) this.o.log.info({ voteVersion, agendas: table.size, proxy: p.address }, 'agendas loaded');
      if (this.o.store) {
        try {
          if (await this.o.store.putAgendaSet(toStored(voteVersion, wire))) this.o.log.info({ voteVersion }, 'agendas stored in etcd');
        } catch (err) {
          this.o.log.warn({ err, voteVersion }, 'could not store the agendas in etcd');
        }
      }
      return true;
    }
    const fallback = this.o.store?.agendaSet(voteVersion) ? 'the copy stored in etcd' : this.#tables.has(voteVersion) ? 'the agendas read earlier' : undefined;
    if (fallback) this.o.log.warn({ voteVersion }, `no proxy answered GetVoteInfo; using ${fallback}`);
    else this.o.log.error({ voteVersion }, 'no proxy answered GetVoteInfo and no agendas are stored: draws are left to voters that know them');
    return false;
  }

  /** Recomputes the written version and the mismatch flag; true when the version changed. */
  #recompute(): boolean {
    const before = this.#lastVersion;
    const vs = new Set(this.#proxyVersion.values());
    const v = this.voteVersion;
    const mismatch = vs.size > 1;
    if (mismatch && !this.#mismatch) {
      this.o.log.warn({ versions: Object.fromEntries(this.#proxyVersion), voteVersion: v }, 'the connected proxies report different vote versions (their dcrd releases differ); voting with the lowest');
    }
    this.#mismatch = mismatch;
    if (v !== undefined) {
      this.#lastVersion = v;
      this.o.onVersion?.(v, mismatch);
    }
    if (v !== before && before !== undefined && v !== undefined) this.o.log.info({ voteVersion: v, previous: before }, 'vote version changed');
    return v !== before;
  }
}
