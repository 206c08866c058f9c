/**
 * The vote version a voter writes and the agendas of that version, both from
 * the chain, never from a built-in table.
 *
 * - Each proxy reports the vote version a wallet writes behind its dcrd (the
 *   newest version that dcrd's `getvoteinfo` recognises; services/decred
 *   vote-version.ts) in every stream_start and every draw.
 * - The version votes carry is the cluster's, committed in etcd with the
 *   height it applies from (`config/vote-version`, services/cluster
 *   vote-version.ts), so two voters whose proxies differ (a rolling dcrd
 *   upgrade, a voter cut off from one proxy) still build the same bytes. This
 *   book proposes it: only when every proxy this voter is connected to reports
 *   the same version V, V is higher than the committed one (or none is
 *   committed), and the agendas of V are stored in etcd; at most once per
 *   `proposeIntervalMs`. The write only ever raises the version (guarded by
 *   the cluster tip, applying from tip + 2), so voters that see different
 *   proxies cannot make it flip back and forth: it rises at most once per
 *   version any dcrd reports.
 * - Until a version is committed for a draw's height, no draw is canonical;
 *   the single signer writes the lowest version among its connected proxies
 *   (the highest every connected dcrd recognises). Proxies that disagree with
 *   each other or with the committed version are logged and shown by a gauge.
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
  /**
   * Called with the vote version votes carry now (the committed one, else the connected
   * proxies' lowest) and whether the connected proxies disagree with each other or with it.
   */
  onVersion?: (voteVersion: number, mismatch: boolean) => void;
  /** The latest vote version committed in etcd (undefined: none yet). No I/O. */
  committed?: () => number | undefined;
  /** Proposes a vote version (services/cluster `proposeVoteVersion`); resolves true when it wrote. */
  propose?: (voteVersion: number) => Promise<boolean>;
  /** Least time between two proposals of this voter (default {@link DEFAULT_PROPOSE_INTERVAL_MS}). */
  proposeIntervalMs?: number;
}

/** Least time between two vote-version proposals of one voter. */
export const DEFAULT_PROPOSE_INTERVAL_MS = 10_000;
/** Least time between two reads of the agendas of a version no proxy answered for. */
const MISSING_RETRY_MS = 5_000;

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
  /** Versions whose agendas this process stored in etcd (or found stored). */
  readonly #stored = new Set<number>();
  /** When a proposal last started (performance.now()); undefined: never. */
  #proposedAt: number | undefined;
  #proposing = false;
  /** version → when its missing agendas were last asked for. */
  readonly #missingAt = new Map<number, number>();
  /** version → the table built from the stored copy, and that copy (rebuilt when it changes). */
  readonly #fromStore = new Map<number, { set: unknown; table: AgendaTable }>();

  constructor(private readonly o: AgendaBookOptions) {}

  /**
   * The vote version of this voter's proxies: the lowest the connected ones report (the last
   * one while none is connected; undefined before any reported one). Votes carry it only while
   * no version is committed for the draw's height.
   */
  get voteVersion(): number | undefined {
    const vs = [...this.#proxyVersion.values()];
    return vs.length > 0 ? Math.min(...vs) : this.#lastVersion;
  }

  /** True while the connected proxies report different vote versions, or one other than the committed version. */
  get mismatch(): boolean {
    return this.#computeMismatch();
  }

  #computeMismatch(): boolean {
    const vs = new Set(this.#proxyVersion.values());
    const committed = this.o.committed?.();
    return vs.size > 1 || (committed !== undefined && vs.size === 1 && !vs.has(committed));
  }

  /** The vote version votes carry now: the committed one, else this voter's proxies'. */
  get effectiveVersion(): number | undefined {
    return this.o.committed?.() ?? this.voteVersion;
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
    this.#report();
    await this.#maybePropose();
  }

  /** A proxy's stream went down: its version no longer counts. */
  proxyDown(address: string): void {
    if (!this.#proxyVersion.delete(address)) return;
    this.#recompute();
    void this.#maybePropose();
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
    return this.#storedTable(v);
  }

  /**
   * The agendas of vote version `voteVersion` (the version committed for a draw): read from the
   * chain by this process, else the copy stored in etcd. Undefined when neither is known; then
   * they are asked of the proxies in the background (at most every few seconds), and the caller
   * must not vote. No I/O.
   */
  forVersion(voteVersion: number): AgendaTable | undefined {
    const t = this.#tables.get(voteVersion);
    if (t) return t;
    const stored = this.#storedTable(voteVersion);
    if (stored) return stored;
    const now = performance.now();
    const last = this.#missingAt.get(voteVersion);
    if (last === undefined || now - last >= MISSING_RETRY_MS) {
      this.#missingAt.set(voteVersion, now);
      void this.refresh(voteVersion);
    }
    return undefined;
  }

  /** The table of the copy stored in etcd, built once per stored value (builds are on the draw's path). */
  #storedTable(voteVersion: number): AgendaTable | undefined {
    const stored = this.o.store?.agendaSet(voteVersion);
    if (!stored) return undefined;
    const hit = this.#fromStore.get(voteVersion);
    if (hit?.set === stored) return hit.table;
    const table = AgendaTable.fromVoteInfo({ agendas: stored.agendas }, voteVersion);
    this.#fromStore.set(voteVersion, { set: stored, table });
    return table;
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
          this.#stored.add(voteVersion);
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

  /** Recomputes the proxies' version; true when it changed. */
  #recompute(): boolean {
    const before = this.#lastVersion;
    const v = this.voteVersion;
    if (v !== undefined) this.#lastVersion = v;
    this.#report();
    if (v !== before && before !== undefined && v !== undefined) this.o.log.info({ voteVersion: v, previous: before }, 'the vote version of this voter\'s proxies changed');
    return v !== before;
  }

  /** Updates the mismatch flag (logged when it turns on) and reports the version votes carry. */
  #report(): void {
    const committed = this.o.committed?.();
    const mismatch = this.#computeMismatch();
    if (mismatch && !this.#mismatch) {
      this.o.log.warn({ versions: Object.fromEntries(this.#proxyVersion), committed, proxiesLowest: this.voteVersion },
        'the connected proxies report different vote versions, or one other than the committed version (their dcrd releases differ); votes carry the committed version');
    }
    this.#mismatch = mismatch;
    const v = this.effectiveVersion;
    if (v !== undefined) this.o.onVersion?.(v, mismatch);
  }

  /** Proposes the version every connected proxy agrees on when it is above the committed one (see the module comment). */
  async #maybePropose(): Promise<void> {
    const { propose, committed } = this.o;
    if (!propose || !committed || this.#proposing) return;
    const vs = new Set(this.#proxyVersion.values());
    if (vs.size !== 1) return;
    const v = [...vs][0] as number;
    const current = committed();
    if (current !== undefined && v <= current) return;
    // The agendas first: a voter that sees no proxy of version v must find them in etcd.
    if (!this.#stored.has(v) && !this.o.store?.agendaSet(v)) return;
    const now = performance.now();
    if (this.#proposedAt !== undefined && now - this.#proposedAt < (this.o.proposeIntervalMs ?? DEFAULT_PROPOSE_INTERVAL_MS)) return;
    this.#proposedAt = now;
    this.#proposing = true;
    try {
      if (await propose(v)) this.o.log.info({ voteVersion: v, previous: current }, 'vote version committed: votes carry it from the cluster tip + 2 on');
    } catch (err) {
      this.o.log.warn({ err, voteVersion: v }, 'vote version not committed (proposed again later)');
    } finally {
      this.#proposing = false;
    }
  }
}
