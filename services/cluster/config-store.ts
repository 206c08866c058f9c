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
import { GuardedUpdater } from './guarded-update.ts';
import type { Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { ClusterKeyRecordSchema, type ClusterKeyRecord } from './key-guard.ts';
import { TSpendPolicySchema, TreasuryPolicySchema, VoteChoicesSchema } from './ticket-store.ts';
import { PrefixCache, parseJsonValue } from './watch-cache.ts';

/** Default hedge delay per backup rank (docs/architecture.md, invariant 4). */
export const DEFAULT_HEDGE_MS = 250;

/** `config/vote-defaults`. */
export const VoteDefaultsSchema = z.object({
  voteChoices: VoteChoicesSchema,
  treasuryPolicy: TreasuryPolicySchema,
  tspendPolicy: TSpendPolicySchema,
});
export type VoteDefaults = z.infer<typeof VoteDefaultsSchema>;

/** `config/hedge`. */
export const HedgeConfigSchema = z.object({ hedgeMs: z.number().int().min(0).max(60_000) });

const SCHEMAS: Record<string, z.ZodType> = {
  'vote-defaults': VoteDefaultsSchema,
  hedge: HedgeConfigSchema,
  'schema-version': z.object({ version: z.number().int().min(1) }),
  'cluster-key': ClusterKeyRecordSchema,
};

const EMPTY_DEFAULTS: VoteDefaults = { voteChoices: {}, treasuryPolicy: {}, tspendPolicy: {} };

/** Options of {@link ConfigStore}. */
export interface ConfigStoreOptions {
  client: Etcd3;
  keyspace: Keyspace;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  onCorrupt?: (err: CorruptValueError) => void;
}

/** See the module comment. */
export class ConfigStore {
  private readonly cache: PrefixCache<unknown>;
  private readonly log: ClusterLogger;
  private readonly updater: GuardedUpdater;

  constructor(private readonly opts: ConfigStoreOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
    this.updater = new GuardedUpdater(opts.client, opts.hooks);
    const ks = opts.keyspace;
    this.cache = new PrefixCache<unknown>({
      client: opts.client,
      prefix: ks.configPrefix(),
      name: 'config',
      hooks: opts.hooks,
      parse: (key, raw) => {
        const schema = SCHEMAS[key.slice(ks.configPrefix().length)];
        if (!schema) throw new CorruptValueError(key, 'unknown config key');
        return parseJsonValue(key, raw, schema as z.ZodType<unknown>);
      },
      onCorrupt: (err) => {
        this.log.warn({ err, key: err.key }, 'corrupt config value skipped');
        opts.onCorrupt?.(err);
      },
      onError: (err) => this.log.warn({ err }, 'config watch error'),
    });
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

  /**
   * Replaces the default vote choices and policies as a whole. To change part of them use
   * {@link updateVoteDefaults}: a replace built from a cached read loses concurrent changes.
   */
  async setVoteDefaults(defaults: VoteDefaults): Promise<void> {
    await this.updateVoteDefaults(() => defaults);
  }

  /**
   * Read-modify-write of the defaults as one revision-guarded txn (guarded-update.ts): `fn`
   * gets the defaults as stored in etcd now (empty maps when unset) and returns the new ones.
   * Concurrent updates of different entries all land. Resolves with the defaults written.
   * @throws ClusterArgumentError (invalid result), ConcurrentUpdateError (retries exhausted)
   */
  updateVoteDefaults(fn: (current: VoteDefaults) => VoteDefaults): Promise<VoteDefaults> {
    const key = this.opts.keyspace.config('vote-defaults');
    return this.updater.update<VoteDefaults>(
      { key, op: 'update_config', parse: (k, raw) => parseJsonValue(k, raw, VoteDefaultsSchema), serialize: (d) => JSON.stringify(d) },
      (current) => {
        const r = VoteDefaultsSchema.safeParse(fn(current ?? { voteChoices: {}, treasuryPolicy: {}, tspendPolicy: {} }));
        if (!r.success) throw new ClusterArgumentError(`vote defaults: ${r.error.message}`);
        return r.data;
      },
    );
  }

  /** Sets the hedge delay (ms per backup rank). */
  async setHedgeMs(hedgeMs: number): Promise<void> {
    const r = HedgeConfigSchema.safeParse({ hedgeMs });
    if (!r.success) throw new ClusterArgumentError(`hedgeMs: ${r.error.message}`);
    const key = this.opts.keyspace.config('hedge');
    await timed(this.opts.hooks, 'set_config', () => this.opts.client.put(key).value(JSON.stringify(r.data)).exec());
  }
}
