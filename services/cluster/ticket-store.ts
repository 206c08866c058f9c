/**
 * Ticket records: `tickets/<ticketHash>` holds the ticket transaction, its
 * voting key sealed with the cluster key (envelope.ts), vote choices, treasury
 * and tspend policies and a status. A watch cache keeps every record in memory
 * with its etcd mod revision, so the voter builds a vote with no I/O and can
 * name exactly which record revision shaped it (vote-record `choicesRevision`).
 *
 * Import is idempotent: the same ticket with the same key changes nothing; the
 * same ticket with a different key or different transaction is refused.
 * Updates are read-modify-write txns guarded by the record's mod revision.
 * A record that is unreadable (JSON, schema, key mismatch, decryption) is
 * reported with its key, skipped, and never deleted automatically.
 */
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import type { SecretKey } from '../telemetry/index.ts';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { EnvelopeSchema, type Keyring } from './envelope.ts';
import { ClusterArgumentError, ConcurrentUpdateError, CorruptValueError, TicketConflictError, TicketNotFoundError } from './errors.ts';
import { assertHashHex, type Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { PrefixCache, parseJsonValue, type CacheChange, type CacheEntry } from './watch-cache.ts';

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');
/** yes/no/abstain, as dcrwallet's treasury and tspend policies. */
export const PolicySchema = z.enum(['yes', 'no', 'abstain']);
export type Policy = z.infer<typeof PolicySchema>;
/** Agenda id -> choice id (validated against the chain's agendas by the caller). */
export const VoteChoicesSchema = z.record(z.string().min(1).max(64), z.string().min(1).max(64));
/** Treasury policy per Pi key (33-byte compressed pubkey hex). */
export const TreasuryPolicySchema = z.record(z.string().regex(/^[0-9a-f]{66}$/), PolicySchema);
/** Policy per tspend transaction hash. */
export const TSpendPolicySchema = z.record(hash, PolicySchema);
export const TicketStatusSchema = z.enum(['live', 'immature', 'voted', 'missed', 'expired', 'revoked', 'unknown']);
export type TicketStatus = z.infer<typeof TicketStatusSchema>;

/** The value of `tickets/<ticketHash>`. */
export const TicketRecordSchema = z.object({
  ticketHash: hash,
  /** The raw ticket (SStx) transaction, hex. */
  ticketHex: z.string().regex(/^(?:[0-9a-f]{2})+$/).max(200_000),
  network: z.string(),
  /** Voting private key sealed with the cluster key, bound to this ticket. */
  votingKey: EnvelopeSchema,
  voteChoices: VoteChoicesSchema,
  treasuryPolicy: TreasuryPolicySchema,
  tspendPolicy: TSpendPolicySchema,
  status: TicketStatusSchema,
  importedAt: z.string().max(40),
  updatedAt: z.string().max(40),
  /** Application revision: 1 on import, +1 on every update. */
  revision: z.number().int().min(1),
  /** Block holding the ticket (display hex) and its height, when the importer knew them (services/admin). */
  blockHash: hash.optional(),
  blockHeight: z.number().int().min(0).optional(),
});
export type TicketRecord = z.infer<typeof TicketRecordSchema>;

/** A cached ticket record with the etcd mod revision it was read at. */
export interface CachedTicket {
  record: TicketRecord;
  /** etcd mod revision of the record (goes into VoteRecord.choicesRevision). */
  modRevision: number;
}

/** Input of {@link TicketStore.importTicket}. */
export interface ImportTicketInput {
  ticketHash: string;
  ticketHex: string;
  votingKey: SecretKey;
  voteChoices?: Record<string, string>;
  treasuryPolicy?: Record<string, Policy>;
  tspendPolicy?: Record<string, Policy>;
  status?: TicketStatus;
  /** Block holding the ticket (display hex) and its height, when known (stake info needs the height). */
  blockHash?: string;
  blockHeight?: number;
}

/** Options of {@link TicketStore}. */
export interface TicketStoreOptions {
  client: Etcd3;
  keyspace: Keyspace;
  keyring: Keyring;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  onCorrupt?: (err: CorruptValueError) => void;
  /** Decrypt every key when loading/watching to detect corruption early (default true). */
  verifyKeysOnLoad?: boolean;
}

const MAX_UPDATE_ATTEMPTS = 5;

/** See the module comment. */
export class TicketStore {
  private readonly cache: PrefixCache<TicketRecord>;
  private readonly log: ClusterLogger;

  constructor(private readonly opts: TicketStoreOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
    this.cache = new PrefixCache<TicketRecord>({
      client: opts.client,
      prefix: opts.keyspace.ticketsPrefix(),
      name: 'tickets',
      hooks: opts.hooks,
      parse: (key, raw) => this.parseRecord(key, raw),
      onCorrupt: (err) => {
        this.log.warn({ err, key: err.key }, 'corrupt ticket record skipped');
        opts.onCorrupt?.(err);
      },
      onError: (err) => this.log.warn({ err }, 'tickets watch error'),
    });
  }

  private parseRecord(key: string, raw: Buffer): TicketRecord {
    const rec = parseJsonValue(key, raw, TicketRecordSchema);
    const ks = this.opts.keyspace;
    if (ks.ticketHashOf(key) !== rec.ticketHash) throw new CorruptValueError(key, `record is for ticket ${rec.ticketHash}`);
    if (rec.network !== ks.network) throw new CorruptValueError(key, `record is for network ${rec.network}, keyspace is ${ks.network}`);
    if (this.opts.verifyKeysOnLoad !== false) {
      try {
        this.opts.keyring.openVotingKey(ks.network, rec.ticketHash, rec.votingKey).wipe();
      } catch (err) {
        throw new CorruptValueError(key, `voting key: ${(err as Error).message}`, { cause: err });
      }
    }
    return rec;
  }

  /** Loads every ticket record and starts the watch. */
  start(): Promise<void> {
    return this.cache.start();
  }

  /** Stops the watch. */
  stop(): Promise<void> {
    return this.cache.stop();
  }

  /**
   * Imports a ticket (create-if-absent). Same ticket + same key + same tx again: returns
   * `{ imported: false }` and changes nothing. Same ticket with another key or tx: throws
   * {@link TicketConflictError}. Bad hash/hex: {@link ClusterArgumentError}.
   */
  async importTicket(input: ImportTicketInput): Promise<{ imported: boolean; record: TicketRecord }> {
    const { client, keyspace, keyring } = this.opts;
    assertHashHex(input.ticketHash, 'ticketHash');
    if (!/^(?:[0-9a-f]{2})+$/.test(input.ticketHex)) throw new ClusterArgumentError('ticketHex: expected lowercase even-length hex');
    if (input.votingKey.length !== 32) throw new ClusterArgumentError(`votingKey: expected 32 bytes, got ${input.votingKey.length}`);
    const now = new Date().toISOString();
    const record: TicketRecord = {
      ticketHash: input.ticketHash,
      ticketHex: input.ticketHex,
      network: keyspace.network,
      votingKey: keyring.sealVotingKey(keyspace.network, input.ticketHash, input.votingKey),
      voteChoices: VoteChoicesSchema.parse(input.voteChoices ?? {}),
      treasuryPolicy: TreasuryPolicySchema.parse(input.treasuryPolicy ?? {}),
      tspendPolicy: TSpendPolicySchema.parse(input.tspendPolicy ?? {}),
      status: input.status ?? 'live',
      importedAt: now,
      updatedAt: now,
      revision: 1,
      ...(input.blockHash !== undefined ? { blockHash: input.blockHash } : {}),
      ...(input.blockHeight !== undefined ? { blockHeight: input.blockHeight } : {}),
    };
    const key = keyspace.ticket(input.ticketHash);
    const res = await timed(this.opts.hooks, 'import_ticket', () =>
      client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(record))).else(client.get(key)).commit(),
    );
    if (res.succeeded) return { imported: true, record };
    const kv = res.responses[0]?.response_range?.kvs[0];
    if (!kv) throw new TicketConflictError(`ticket ${input.ticketHash}: concurrent import/remove; retry`);
    const stored = parseJsonValue(key, kv.value, TicketRecordSchema);
    if (stored.ticketHex !== input.ticketHex) {
      throw new TicketConflictError(`ticket ${input.ticketHash} is already stored with a different ticket transaction`);
    }
    const storedKey = keyring.openVotingKey(keyspace.network, stored.ticketHash, stored.votingKey);
    try {
      if (!Buffer.from(storedKey.expose()).equals(Buffer.from(input.votingKey.expose()))) {
        throw new TicketConflictError(`ticket ${input.ticketHash} is already stored with a different voting key`);
      }
    } finally {
      storedKey.wipe();
    }
    return { imported: false, record: stored };
  }

  /** Deletes a ticket record; returns true if one existed. */
  async removeTicket(ticketHash: string): Promise<boolean> {
    const key = this.opts.keyspace.ticket(ticketHash);
    const res = await timed(this.opts.hooks, 'remove_ticket', () => this.opts.client.delete().key(key).exec());
    return Number(res.deleted) > 0;
  }

  /** Replaces the ticket's vote choices (agenda id -> choice id). */
  setVoteChoices(ticketHash: string, choices: Record<string, string>): Promise<TicketRecord> {
    const parsed = VoteChoicesSchema.safeParse(choices);
    if (!parsed.success) throw new ClusterArgumentError(`voteChoices: ${parsed.error.message}`);
    return this.update(ticketHash, (r) => ({ ...r, voteChoices: parsed.data }));
  }

  /** Sets (or with `undefined`, clears) the treasury policy for a Pi key. */
  setTreasuryPolicy(ticketHash: string, piKeyHex: string, policy: Policy | undefined): Promise<TicketRecord> {
    if (!/^[0-9a-f]{66}$/.test(piKeyHex)) throw new ClusterArgumentError('piKey: expected 33-byte compressed pubkey hex');
    return this.update(ticketHash, (r) => {
      const next = { ...r.treasuryPolicy };
      if (policy === undefined) delete next[piKeyHex];
      else next[piKeyHex] = PolicySchema.parse(policy);
      return { ...r, treasuryPolicy: next };
    });
  }

  /** Sets (or with `undefined`, clears) the policy for one tspend hash. */
  setTSpendPolicy(ticketHash: string, tspendHash: string, policy: Policy | undefined): Promise<TicketRecord> {
    assertHashHex(tspendHash, 'tspendHash');
    return this.update(ticketHash, (r) => {
      const next = { ...r.tspendPolicy };
      if (policy === undefined) delete next[tspendHash];
      else next[tspendHash] = PolicySchema.parse(policy);
      return { ...r, tspendPolicy: next };
    });
  }

  /** Sets the ticket's status. */
  setStatus(ticketHash: string, status: TicketStatus): Promise<TicketRecord> {
    const s = TicketStatusSchema.parse(status);
    return this.update(ticketHash, (r) => ({ ...r, status: s }));
  }

  /** Read-modify-write guarded by the mod revision; bounded retries with jitter. */
  private async update(ticketHash: string, fn: (r: TicketRecord) => TicketRecord): Promise<TicketRecord> {
    const { client, keyspace } = this.opts;
    const key = keyspace.ticket(ticketHash);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const cur = await timed(this.opts.hooks, 'get_ticket', () => client.get(key).exec());
      const kv = cur.kvs[0];
      if (!kv) throw new TicketNotFoundError(`ticket ${ticketHash} is not managed by the cluster`);
      const stored = parseJsonValue(key, kv.value, TicketRecordSchema);
      const next: TicketRecord = { ...fn(stored), revision: stored.revision + 1, updatedAt: new Date().toISOString() };
      const res = await timed(this.opts.hooks, 'update_ticket', () =>
        client.if(key, 'Mod', '==', Number(kv.mod_revision)).then(client.put(key).value(JSON.stringify(next))).commit(),
      );
      if (res.succeeded) return next;
      await new Promise((r) => setTimeout(r, 10 + Math.random() * 40 * (attempt + 1)));
    }
    throw new ConcurrentUpdateError(`ticket ${ticketHash}: update lost to concurrent writers ${MAX_UPDATE_ATTEMPTS} times`);
  }

  /** The cached record of `ticketHash` with its etcd mod revision, or undefined. No I/O. */
  get(ticketHash: string): CachedTicket | undefined {
    const e = this.cache.get(this.opts.keyspace.ticket(ticketHash));
    return e ? { record: e.value, modRevision: e.modRevision } : undefined;
  }

  /** Every cached record, sorted by ticket hash. No I/O. */
  list(): CachedTicket[] {
    return [...this.cache.values()]
      .map((e: CacheEntry<TicketRecord>) => ({ record: e.value, modRevision: e.modRevision }))
      .sort((a, b) => (a.record.ticketHash < b.record.ticketHash ? -1 : 1));
  }

  /** Number of cached (valid) records. */
  get size(): number {
    return this.cache.size;
  }

  /** Decrypts the voting key of `ticketHash` from the cache (no I/O). Wipe it after signing. */
  getVotingKey(ticketHash: string): SecretKey {
    const e = this.get(ticketHash);
    if (!e) throw new TicketNotFoundError(`ticket ${ticketHash} is not in the ticket cache`);
    return this.opts.keyring.openVotingKey(this.opts.keyspace.network, ticketHash, e.record.votingKey);
  }

  /** Keys whose value is corrupt (reported and skipped). */
  corruptKeys(): ReadonlyMap<string, CorruptValueError> {
    return this.cache.corruptKeys();
  }

  /** True while the tickets watch is connected. */
  get isWatchConnected(): boolean {
    return this.cache.isWatchConnected;
  }

  /** ms the tickets watch has been disconnected (0 while connected). */
  watchAgeMs(now?: number): number {
    return this.cache.watchAgeMs(now);
  }

  /** Subscribes to ticket record changes. */
  onChange(fn: (c: CacheChange<TicketRecord>) => void): () => void {
    return this.cache.onChange(fn);
  }
}
