/**
 * Cluster-wide settings under `config/`: default vote choices and policies
 * (used when a ticket has none for an agenda / tspend / Pi key, dcrwallet's
 * lookup order: per ticket, then default) and the hedge delay. Cached by a
 * watch so readers need no I/O; changes to the defaults are revision-guarded
 * read-modify-write txns on etcd's value, never on the cached copy.
 */
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ClusterArgumentError, CorruptValueError } from './errors.ts';
import type { TipKnowledge } from './chain-tip.ts';
import { GuardedUpdater } from './guarded-update.ts';
import type { Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { ClusterKeyRecordSchema, type ClusterKeyRecord } from './key-guard.ts';
import { EarlierInputsSchema, parseWithHistory, TSpendPolicySchema, TreasuryPolicySchema, VoteChoicesSchema } from './ticket-record.ts';
import { defaultsInputs, nextVersion } from './vote-inputs.ts';
import { VoteVersionSchema, nextVoteVersion, type VoteVersionValue } from './vote-version.ts';
import { PrefixCache, parseJsonValue } from './watch-cache.ts';

/** Default hedge delay per backup rank (docs/architecture.md, invariant 4). */
export const DEFAULT_HEDGE_MS = 250;

/**
 * `config/vote-defaults`: the latest defaults, the height they apply from (`from`, the cluster
 * tip when written + 2) and the earlier defaults with theirs (vote-inputs.ts). Written by
 * {@link ConfigStore.updateVoteDefaults} only (guarded by the cluster tip).
 */
export const VoteDefaultsSchema = z.object({
  voteChoices: VoteChoicesSchema,
  treasuryPolicy: TreasuryPolicySchema,
  tspendPolicy: TSpendPolicySchema,
  /** Absent on a value of an older version: not canonical until the admin's migration writes one. */
  from: z.number().int().min(0).optional(),
  earlier: EarlierInputsSchema.optional(),
});
export type VoteDefaults = z.infer<typeof VoteDefaultsSchema>;

/**
 * `config/vote-defaults` from etcd: an unreadable `earlier` is dropped and reported through
 * `onHistoryDropped`, the rest kept (ticket-record.ts {@link parseWithHistory}).
 * @throws CorruptValueError naming `key`
 */
export function parseVoteDefaults(key: string, raw: Buffer, onHistoryDropped?: (err: CorruptValueError) => void): VoteDefaults {
  return parseWithHistory(key, raw, VoteDefaultsSchema, { history: 'earlier', from: 'from' }, onHistoryDropped);
}

/**
 * `config/agendas-v<N>`: the consensus agendas of vote version N as the chain
 * reported them (dcrd `getvoteinfo N` through a node proxy). Written by voters
 * whenever they read a set that differs from the stored one, so a voter or an
 * admin that starts while no proxy answers still knows them.
 */
export const AgendaSetSchema = z.object({
  voteVersion: z.number().int().min(0).max(0xffffffff),
  agendas: z.array(z.object({
    id: z.string().min(1).max(256),
    description: z.string().max(1024),
    mask: z.number().int().min(0).max(0xffff),
    choices: z.array(z.object({
      id: z.string().min(1).max(256),
      description: z.string().max(1024),
      bits: z.number().int().min(0).max(0xffff),
      isAbstain: z.boolean(),
      isNo: z.boolean(),
    })).max(64),
  })).max(64),
});
export type StoredAgendaSet = z.infer<typeof AgendaSetSchema>;

const AGENDAS_PREFIX = 'agendas-v';

/** `config/hedge`. */
export const HedgeConfigSchema = z.object({ hedgeMs: z.number().int().min(0).max(60_000) });

const SCHEMAS: Record<string, z.ZodType> = {
  'vote-defaults': VoteDefaultsSchema,
  hedge: HedgeConfigSchema,
  'schema-version': z.object({ version: z.number().int().min(1) }),
  'cluster-key': ClusterKeyRecordSchema,
  'vote-version': VoteVersionSchema,
};

const EMPTY_DEFAULTS: VoteDefaults = { voteChoices: {}, treasuryPolicy: {}, tspendPolicy: {} };

/** Options of {@link ConfigStore}. */
export interface ConfigStoreOptions {
  client: Etcd3;
  keyspace: Keyspace;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  onCorrupt?: (err: CorruptValueError) => void;
  /** What this process knows of the heights in use (default: this cache's tip): a lower or missing tip refuses guarded writes. */
  tipKnowledge?: TipKnowledge;
}

/** See the module comment. */
export class ConfigStore {
  private readonly cache: PrefixCache<unknown>;
  private readonly log: ClusterLogger;
  private readonly updater: GuardedUpdater;

  constructor(private readonly opts: ConfigStoreOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
    this.updater = new GuardedUpdater(opts.client, opts.hooks, undefined, opts.tipKnowledge ?? { highestTipSeen: () => this.cache.highestMarkerSeen });
    const ks = opts.keyspace;
    this.cache = new PrefixCache<unknown>({
      client: opts.client,
      prefix: ks.configPrefix(),
      name: 'config',
      // config/chain-tip is the tip itself and this range's marker (vote-defaults live here).
      marker: ks.chainTip(),
      hooks: opts.hooks,
      parse: (key, raw) => {
        const name = key.slice(ks.configPrefix().length);
        const schema = SCHEMAS[name] ?? (/^agendas-v\d{1,10}$/.test(name) ? AgendaSetSchema : undefined);
        if (!schema) throw new CorruptValueError(key, 'unknown config key');
        if (name === 'vote-defaults') return parseVoteDefaults(key, raw, (e) => this.#historyDropped(e));
        return parseJsonValue(key, raw, schema as z.ZodType<unknown>);
      },
      onCorrupt: (err) => {
        this.log.warn({ err, key: err.key }, 'corrupt config value skipped');
        opts.onCorrupt?.(err);
      },
      onError: (err) => this.log.warn({ err }, 'config watch error'),
    });
  }

  /** A readable value whose vote-input history was not: reported like a corrupt value (it is kept otherwise). */
  #historyDropped(err: CorruptValueError): void {
    this.log.error({ err, key: err.key }, 'vote input history unreadable: dropped, the rest of the value is used');
    this.opts.hooks?.observeCorruptValue?.(err.key);
    this.opts.onCorrupt?.(err);
  }

  /** `config/vote-defaults` as a guarded write reads it: an unreadable value is reported and treated as absent (replaced). */
  #parseDefaultsForWrite(key: string, raw: Buffer): VoteDefaults | undefined {
    try {
      return parseVoteDefaults(key, raw, (e) => this.#historyDropped(e));
    } catch (err) {
      if (!(err instanceof CorruptValueError)) throw err;
      this.log.error({ err, key }, 'config/vote-defaults is unreadable (votes use no defaults meanwhile): the new defaults replace it');
      return undefined;
    }
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }

  /** Default vote choices and policies (empty when unset). No I/O. */
  voteDefaults(): VoteDefaults {
    return (this.cache.get(this.opts.keyspace.config('vote-defaults'))?.value as VoteDefaults | undefined) ?? EMPTY_DEFAULTS;
  }

  /**
   * etcd mod revision of `config/vote-defaults` as cached (0 when unset). A vote built from the
   * defaults records it, so the vote's inputs are fixed by recorded revisions. No I/O.
   */
  voteDefaultsRevision(): number {
    return this.cache.get(this.opts.keyspace.config('vote-defaults'))?.modRevision ?? 0;
  }

  /** `config/vote-defaults` as cached with its mod revision (undefined: unset). No I/O. */
  voteDefaultsEntry(): { value: VoteDefaults; modRevision: number } | undefined {
    const e = this.cache.get(this.opts.keyspace.config('vote-defaults'));
    return e ? { value: e.value as VoteDefaults, modRevision: e.modRevision } : undefined;
  }

  /**
   * `config/vote-version` as cached with its mod revision: `{ value }` (undefined: none committed
   * yet), or `{ corrupt }` when the stored value is unreadable (nothing may be signed from it).
   * No I/O.
   */
  voteVersionEntry(): { value: VoteVersionValue | undefined; modRevision: number } | { corrupt: CorruptValueError } {
    const key = this.opts.keyspace.voteVersion();
    const bad = this.cache.corruptKeys().get(key);
    if (bad) return { corrupt: bad };
    const e = this.cache.get(key);
    return { value: e?.value as VoteVersionValue | undefined, modRevision: e?.modRevision ?? 0 };
  }

  /**
   * Proposes `voteVersion` as the version of the cluster's votes: a write guarded by the value's
   * revision AND the cluster tip (guarded-update.ts, chain-tip.ts), that only raises it
   * (vote-version.ts {@link nextVoteVersion}); it applies from the cluster tip + 2. Resolves true
   * when it wrote, false when the committed version is already that high.
   *
   * An unreadable stored value (reported) is replaced: the proposal then applies from the tip + 2
   * with no earlier versions, so draws below that have no committed version (not canonical: one
   * signer each) and nothing is ever signed from the unreadable value.
   * @throws ClusterArgumentError (not a version), ConcurrentUpdateError, EtcdUnavailableError
   */
  async proposeVoteVersion(voteVersion: number): Promise<boolean> {
    if (!Number.isInteger(voteVersion) || voteVersion < 1 || voteVersion > 0xffffffff) {
      throw new ClusterArgumentError(`vote version: expected an integer in [1, 4294967295], got ${voteVersion}`);
    }
    let wrote = false;
    await this.updater.update<VoteVersionValue | undefined>(
      {
        key: this.opts.keyspace.voteVersion(), op: 'update_config', tipGuard: this.opts.keyspace,
        parse: (k, raw) => {
          try {
            return parseJsonValue(k, raw, VoteVersionSchema);
          } catch (err) {
            if (!(err instanceof CorruptValueError)) throw err;
            this.log.error({ err, key: k, voteVersion }, 'config/vote-version is unreadable: replaced by this proposal, from the cluster tip + 2 on');
            this.opts.onCorrupt?.(err);
            return undefined;
          }
        },
        serialize: (v) => JSON.stringify(v),
        unchanged: (_current, next) => next === undefined,
      },
      (current, tip) => {
        const next = nextVoteVersion(current, voteVersion, tip);
        wrote = next !== undefined;
        return next;
      },
    );
    return wrote;
  }

  /** The cluster tip as this cache shows it (`config/chain-tip`; undefined: none yet). No I/O. */
  cachedTip(): number | undefined {
    const h = this.cache.markerHeight;
    return h < 0 ? undefined : h;
  }

  /** The config cache (its marker is the cluster tip): chain-tip.ts and the canonical view read it. */
  get markerCache(): PrefixCache<unknown> {
    return this.cache;
  }

  /** Hedge delay per backup rank in ms (DEFAULT_HEDGE_MS when unset). No I/O. */
  hedgeMs(): number {
    const v = this.cache.get(this.opts.keyspace.config('hedge'))?.value as { hedgeMs: number } | undefined;
    return v?.hedgeMs ?? DEFAULT_HEDGE_MS;
  }

  /** The cluster key record (`config/cluster-key`) as cached, with its mod revision; undefined when unset. No I/O. */
  clusterKeyRecord(): { record: ClusterKeyRecord; modRevision: number } | undefined {
    const e = this.cache.get(this.opts.keyspace.clusterKey());
    return e ? { record: e.value as ClusterKeyRecord, modRevision: e.modRevision } : undefined;
  }

  /** Calls `fn` whenever `config/cluster-key` changes (put or delete). Returns the unsubscribe function. */
  onClusterKeyChange(fn: () => void): () => void {
    const key = this.opts.keyspace.clusterKey();
    return this.cache.onChange((c) => {
      if ((c.type === 'put' ? c.entry.key : c.key) === key) fn();
    });
  }

  /** The stored agendas of a vote version (undefined when none were stored). No I/O. */
  agendaSet(voteVersion: number): StoredAgendaSet | undefined {
    return this.cache.get(this.opts.keyspace.config(`${AGENDAS_PREFIX}${voteVersion}`))?.value as StoredAgendaSet | undefined;
  }

  /** The vote versions with stored agendas, ascending. No I/O. */
  agendaVersions(): number[] {
    const p = `${this.opts.keyspace.configPrefix()}${AGENDAS_PREFIX}`;
    const out: number[] = [];
    for (const e of this.cache.values()) if (e.key.startsWith(p)) out.push(Number(e.key.slice(p.length)));
    return out.sort((a, b) => a - b);
  }

  /**
   * Stores the agendas of a vote version when they differ from the cached value
   * (every voter reads the same consensus data, so concurrent identical writes are harmless).
   * Returns true when it wrote.
   */
  async putAgendaSet(set: StoredAgendaSet): Promise<boolean> {
    const r = AgendaSetSchema.safeParse(set);
    if (!r.success) throw new ClusterArgumentError(`agenda set: ${r.error.message}`);
    const current = this.agendaSet(r.data.voteVersion);
    if (current && JSON.stringify(current) === JSON.stringify(r.data)) return false;
    const key = this.opts.keyspace.config(`${AGENDAS_PREFIX}${r.data.voteVersion}`);
    await timed(this.opts.hooks, 'set_config', () => this.opts.client.put(key).value(JSON.stringify(r.data)).exec());
    return true;
  }

  /**
   * Replaces the default vote choices and policies as a whole. To change part of them use
   * {@link updateVoteDefaults}: a replace built from a cached read loses concurrent changes.
   */
  async setVoteDefaults(defaults: VoteDefaults): Promise<void> {
    await this.updateVoteDefaults(() => defaults);
  }

  /**
   * Read-modify-write of the defaults as one txn guarded by the value's revision AND the cluster
   * tip (guarded-update.ts, chain-tip.ts): `fn` gets the defaults as stored in etcd now (empty
   * maps when unset) and returns the new ones. Concurrent updates of different entries all land.
   * The new defaults apply to votes from the cluster tip + 2 on; the previous ones stay in
   * `earlier` for the draws below. Resolves with the value written.
   * @throws ClusterArgumentError (invalid result), ConcurrentUpdateError (retries exhausted)
   */
  updateVoteDefaults(fn: (current: VoteDefaults) => VoteDefaults): Promise<VoteDefaults> {
    const key = this.opts.keyspace.config('vote-defaults');
    return this.updater.update<VoteDefaults>(
      { key, op: 'update_config', parse: (k, raw) => this.#parseDefaultsForWrite(k, raw), serialize: (d) => JSON.stringify(d), tipGuard: this.opts.keyspace },
      (current, tip) => {
        const r = VoteDefaultsSchema.safeParse(fn(current ?? { voteChoices: {}, treasuryPolicy: {}, tspendPolicy: {} }));
        if (!r.success) throw new ClusterArgumentError(`vote defaults: ${r.error.message}`);
        const { voteChoices, treasuryPolicy, tspendPolicy } = r.data;
        // An absent value applied to every height as "no defaults".
        const prev = current ? defaultsInputs(current) : defaultsInputs(undefined);
        const v = nextVersion(prev, { voteChoices, treasuryPolicy, tspendPolicy }, tip);
        return { voteChoices, treasuryPolicy, tspendPolicy, from: v.from, ...(v.earlier.length > 0 ? { earlier: v.earlier } : {}) };
      },
    );
  }

  /**
   * Gives a `config/vote-defaults` of an older version (no `from`) one, unchanged otherwise
   * (from 0: the defaults it holds are what every earlier vote used). Idempotent; a no-op when
   * the value is absent or already has one. Returns true when it wrote.
   */
  async migrateVoteDefaults(): Promise<boolean> {
    const key = this.opts.keyspace.config('vote-defaults');
    let wrote = false;
    const res = await timed(this.opts.hooks, 'update_config_read', () => this.opts.client.get(key).exec());
    const kv = res.kvs[0];
    // An unreadable value is not migrated (reported; the operator sets the defaults again).
    if (!kv || this.#parseDefaultsForWrite(key, kv.value)?.from !== undefined) return false;
    await this.updater.update<VoteDefaults>(
      { key, op: 'update_config', parse: (k, raw) => this.#parseDefaultsForWrite(k, raw), serialize: (d) => JSON.stringify(d) },
      (current) => {
        if (!current) throw new ClusterArgumentError('vote defaults vanished (or became unreadable) during migration');
        wrote = current.from === undefined;
        return current.from === undefined ? { ...current, from: 0 } : current;
      },
    );
    return wrote;
  }

  /** Sets the hedge delay (ms per backup rank). */
  async setHedgeMs(hedgeMs: number): Promise<void> {
    const r = HedgeConfigSchema.safeParse({ hedgeMs });
    if (!r.success) throw new ClusterArgumentError(`hedgeMs: ${r.error.message}`);
    const key = this.opts.keyspace.config('hedge');
    await timed(this.opts.hooks, 'set_config', () => this.opts.client.put(key).value(JSON.stringify(r.data)).exec());
  }
}
