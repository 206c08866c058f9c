/**
 * The ticket store: the etcd operations on `tickets/<ticketHash>` (schema in
 * ticket-record.ts). Built on the ticket cache (ticket-cache.ts) so one handle,
 * `cluster.tickets`, both writes and reads; the voter only reads, through
 * {@link TicketCache}.
 *
 * Import is idempotent: the same ticket with the same key changes nothing; the
 * same ticket with a different key or different transaction is refused.
 * Updates are read-modify-write txns guarded by the record's mod revision
 * (guarded-update.ts), applied to the record as stored in etcd, never to the
 * cached copy, so concurrent changes of different fields all land.
 */
import { z } from 'zod';
import type { SecretKey } from '../telemetry/index.ts';
import { timed } from './etcd-client.ts';
import { createIfAbsentManyGuarded, type CreateIfAbsentItem, type CreateIfAbsentResult } from './batch-txn.ts';
import { guardTip, readGuardTip, tipCompare, tipFloor, tipKvsOf, tipReads, type TipKnowledge } from './chain-tip.ts';
import { DEFAULT_UPDATE_ATTEMPTS, GuardedUpdater } from './guarded-update.ts';
import { ChainTipCorruptError, ClusterArgumentError, ClusterError, ConcurrentUpdateError, CorruptValueError, TicketConflictError, TicketNotFoundError } from './errors.ts';
import { assertHashHex } from './keyspace.ts';
import { TicketRecordCache, type TicketCache, type TicketCacheOptions } from './ticket-cache.ts';
import {
  PolicySchema, TSpendPolicySchema, TicketStatusSchema, parseTicketRecord, TreasuryPolicySchema, VoteChoicesSchema, hash,
  type Policy, type TicketRecord, type TicketStatus,
} from './ticket-record.ts';
import { effectiveFrom, nextVersion, ticketInputs } from './vote-inputs.ts';
import { parseJsonValue } from './watch-cache.ts';

/** Thrown inside an update function to write nothing (the migration of a record already migrated). */
const NO_CHANGE = Symbol('no change');

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

/**
 * The outcome of one ticket of {@link TicketStore.importTickets}: `imported` true (created now)
 * or false (already stored, identical); or `error` (TicketConflictError, ClusterArgumentError)
 * for that ticket only.
 */
export type ImportTicketsResult =
  | { ticketHash: string; imported: boolean; error?: undefined }
  | { ticketHash: string; imported?: undefined; error: ClusterError };

/** Options of {@link TicketStore.importTickets}. */
export interface ImportTicketsOptions {
  /** Tickets per etcd txn (1..127, default 127). */
  batchSize?: number;
  /** Txns in flight (default 4). */
  concurrency?: number;
}

/** Options of {@link TicketStore}. */
export type TicketStoreOptions = TicketCacheOptions & {
  /** What this process knows of the heights in use (its caches): a lower or missing tip refuses guarded writes. */
  tipKnowledge?: TipKnowledge;
};

/** See the module comment. */
export class TicketStore extends TicketRecordCache implements TicketCache {
  private readonly updater: GuardedUpdater;

  private readonly known: TipKnowledge | undefined;

  constructor(opts: TicketStoreOptions) {
    super(opts);
    this.known = opts.tipKnowledge;
    this.updater = new GuardedUpdater(opts.client, opts.hooks, undefined, this.known);
  }

  private buildRecord(input: ImportTicketInput, now: string): TicketRecord {
    const { keyspace } = this.opts;
    const keyring = this.ring();
    assertHashHex(input.ticketHash, 'ticketHash');
    if (typeof input.ticketHex !== 'string' || !/^(?:[0-9a-f]{2})+$/.test(input.ticketHex) || input.ticketHex.length > 200_000) {
      throw new ClusterArgumentError('ticketHex: expected lowercase even-length hex (at most 100,000 bytes)');
    }
    if (input.votingKey.length !== 32) throw new ClusterArgumentError(`votingKey: expected 32 bytes, got ${input.votingKey.length}`);
    const field = <T>(name: string, schema: z.ZodType<T>, v: unknown): T => {
      const r = schema.safeParse(v);
      if (!r.success) throw new ClusterArgumentError(`${name}: ${r.error.issues.map((i) => i.message).join('; ')}`);
      return r.data;
    };
    const record: TicketRecord = {
      ticketHash: input.ticketHash,
      ticketHex: input.ticketHex,
      network: keyspace.network,
      votingKey: keyring.sealVotingKey(keyspace.network, input.ticketHash, input.votingKey),
      voteChoices: field('voteChoices', VoteChoicesSchema, input.voteChoices ?? {}),
      treasuryPolicy: field('treasuryPolicy', TreasuryPolicySchema, input.treasuryPolicy ?? {}),
      tspendPolicy: field('tspendPolicy', TSpendPolicySchema, input.tspendPolicy ?? {}),
      status: field('status', TicketStatusSchema, input.status ?? 'live'),
      importedAt: now,
      updatedAt: now,
      revision: 1,
    };
    if (input.blockHash !== undefined) record.blockHash = field('blockHash', hash, input.blockHash);
    if (input.blockHeight !== undefined) record.blockHeight = field('blockHeight', z.number().int().min(0), input.blockHeight);
    return record;
  }

  /** A stored record as an update reads it: an unreadable history is dropped (reported), the rest kept. */
  private parseStored(key: string, raw: Buffer): TicketRecord {
    return parseTicketRecord(key, raw, (err) => {
      this.log.error({ err, key }, 'ticket record\'s vote input history unreadable: dropped; this write gives it a new one');
      this.opts.onCorrupt?.(err);
    });
  }

  /** Compares an existing stored value with an import request: identical -> the stored record; else throws. */
  private checkExisting(key: string, raw: Buffer, input: ImportTicketInput): TicketRecord {
    const { keyspace } = this.opts;
    const keyring = this.ring();
    const stored = this.parseStored(key, raw);
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
    return stored;
  }

  /**
   * Imports a ticket (create-if-absent), guarded by the cluster tip T (chain-tip.ts): its vote
   * inputs apply from T + 2 (`inputsFrom`; a draw open at the import is a late import). Same
   * ticket + same key + same tx again: returns `{ imported: false }` and changes nothing. Same
   * ticket with another key or tx: throws {@link TicketConflictError}. Bad hash/hex:
   * {@link ClusterArgumentError}. A tip that keeps moving: ConcurrentUpdateError; an unreadable
   * tip: ChainTipCorruptError (nothing written either way).
   */
  async importTicket(input: ImportTicketInput): Promise<{ imported: boolean; record: TicketRecord }> {
    const { client, keyspace } = this.opts;
    const record = this.buildRecord(input, new Date().toISOString());
    const key = Buffer.from(keyspace.ticket(input.ticketHash));
    let tip = await this.readTip();
    for (let attempt = 1; ; attempt++) {
      record.inputsFrom = effectiveFrom(tip);
      const value = Buffer.from(JSON.stringify(record));
      const floor = tipFloor(this.known);
      const res = await timed(this.opts.hooks, 'import_ticket', () =>
        client.kv.txn({
          compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }, tipCompare(keyspace, tip)],
          success: [{ request_put: { key, value } }],
          failure: [{ request_range: { key } }, ...tipReads(keyspace)],
        }),
      );
      if (res.succeeded) return { imported: true, record };
      const kv = res.responses[0]?.response_range?.kvs[0];
      if (kv) return { imported: false, record: this.checkExisting(key.toString(), kv.value, input) };
      if (attempt >= DEFAULT_UPDATE_ATTEMPTS) throw new ConcurrentUpdateError(`ticket ${input.ticketHash}: the cluster tip moved ${attempt} times during the import; nothing was written, retry`);
      tip = guardTip(keyspace, tipKvsOf(res.responses, 1), floor);
    }
  }

  /**
   * The cluster tip etcd holds now (undefined: none yet).
   * @throws ChainTipCorruptError (unreadable tip: nothing may be imported until a voter repairs it)
   */
  private readTip(): Promise<number | undefined> {
    return readGuardTip(this.opts.client, this.opts.keyspace, this.opts.hooks, this.known);
  }

  /**
   * Imports many tickets: per ticket the same create-if-absent semantics as
   * {@link importTicket}, written in batched etcd txns (up to 127 tickets each, a few in
   * flight). Returns one result per input, in order; a bad or conflicting ticket gets an
   * `error` and does not affect the others (an unreadable cluster tip: ChainTipCorruptError for
   * every ticket not yet written). Rejects only when etcd is unreachable (typed
   * EtcdUnavailableError); batches already written stay written and a repeat is idempotent.
   */
  async importTickets(inputs: readonly ImportTicketInput[], opts: ImportTicketsOptions = {}): Promise<ImportTicketsResult[]> {
    const { client, keyspace } = this.opts;
    const now = new Date().toISOString();
    const out: ImportTicketsResult[] = new Array<ImportTicketsResult>(inputs.length);
    const items: CreateIfAbsentItem[] = [];
    const records: TicketRecord[] = [];
    const itemOf: number[] = [];
    const seen = new Set<string>();
    inputs.forEach((input, i) => {
      const ticketHash = String(input?.ticketHash);
      try {
        if (seen.has(ticketHash)) throw new ClusterArgumentError(`ticket ${ticketHash} appears more than once in the batch`);
        const record = this.buildRecord(input, now);
        seen.add(ticketHash);
        items.push({ key: keyspace.ticket(ticketHash), value: '' });
        records.push(record);
        itemOf.push(i);
      } catch (err) {
        out[i] = { ticketHash, error: err instanceof ClusterError ? err : new ClusterArgumentError(String((err as Error)?.message ?? err)) };
      }
    });
    // Guarded by the cluster tip like importTicket: items whose guard failed (a block arrived
    // between the tip read and their batch) are written again with the new tip, a few times.
    const results: Array<CreateIfAbsentResult | undefined> = new Array<CreateIfAbsentResult | undefined>(items.length);
    let pending = items.map((_, j) => j);
    for (let attempt = 1; pending.length > 0; attempt++) {
      let tip: number | undefined;
      try {
        tip = await this.readTip();
      } catch (err) {
        if (!(err instanceof ChainTipCorruptError)) throw err;
        // The tip is unreadable: every ticket not yet written is refused with the reason (nothing written for it).
        for (const j of pending) {
          const i = itemOf[j] as number;
          out[i] = { ticketHash: (inputs[i] as ImportTicketInput).ticketHash, error: err };
        }
        break;
      }
      const from = effectiveFrom(tip);
      const batch = pending.map((j) => ({ key: (items[j] as CreateIfAbsentItem).key, value: JSON.stringify({ ...records[j], inputsFrom: from }) }));
      const got = await createIfAbsentManyGuarded(client, batch, tipCompare(keyspace, tip), {
        hooks: this.opts.hooks,
        op: 'import_tickets',
        ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
      });
      const next: number[] = [];
      got.forEach((r, k) => {
        const j = pending[k] as number;
        if (r) results[j] = r;
        else next.push(j);
      });
      pending = next;
      if (pending.length > 0 && attempt >= DEFAULT_UPDATE_ATTEMPTS) {
        for (const j of pending) {
          const i = itemOf[j] as number;
          out[i] = { ticketHash: (inputs[i] as ImportTicketInput).ticketHash, error: new ConcurrentUpdateError(`the cluster tip moved ${attempt} times during the import; nothing was written for this ticket, retry`) };
        }
        break;
      }
    }
    results.forEach((r, j) => {
      const i = itemOf[j] as number;
      const input = inputs[i] as ImportTicketInput;
      if (!r) return; // refused above (the tip kept moving)
      if (r.created) {
        out[i] = { ticketHash: input.ticketHash, imported: true };
        return;
      }
      try {
        this.checkExisting(items[j]?.key as string, r.existing.value, input);
        out[i] = { ticketHash: input.ticketHash, imported: false };
      } catch (err) {
        out[i] = { ticketHash: input.ticketHash, error: err instanceof ClusterError ? err : new ClusterError('CLUSTER_IMPORT', String(err)) };
      }
    });
    return out;
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
    return this.update(ticketHash, (r) => ({ ...r, voteChoices: parsed.data }), true);
  }

  /**
   * Merges `patch` (agenda id -> choice id) into the ticket's vote choices as stored in etcd,
   * in one revision-guarded txn: concurrent merges for different agendas all land.
   */
  mergeVoteChoices(ticketHash: string, patch: Readonly<Record<string, string>>): Promise<TicketRecord> {
    const parsed = VoteChoicesSchema.safeParse(patch);
    if (!parsed.success) throw new ClusterArgumentError(`voteChoices: ${parsed.error.message}`);
    return this.update(ticketHash, (r) => ({ ...r, voteChoices: { ...r.voteChoices, ...parsed.data } }), true);
  }

  /** Sets (or with `undefined`, clears) the treasury policy for a Pi key. */
  setTreasuryPolicy(ticketHash: string, piKeyHex: string, policy: Policy | undefined): Promise<TicketRecord> {
    if (!/^[0-9a-f]{66}$/.test(piKeyHex)) throw new ClusterArgumentError('piKey: expected 33-byte compressed pubkey hex');
    return this.update(ticketHash, (r) => {
      const next = { ...r.treasuryPolicy };
      if (policy === undefined) delete next[piKeyHex];
      else next[piKeyHex] = PolicySchema.parse(policy);
      return { ...r, treasuryPolicy: next };
    }, true);
  }

  /** Sets (or with `undefined`, clears) the policy for one tspend hash. */
  setTSpendPolicy(ticketHash: string, tspendHash: string, policy: Policy | undefined): Promise<TicketRecord> {
    assertHashHex(tspendHash, 'tspendHash');
    return this.update(ticketHash, (r) => {
      const next = { ...r.tspendPolicy };
      if (policy === undefined) delete next[tspendHash];
      else next[tspendHash] = PolicySchema.parse(policy);
      return { ...r, tspendPolicy: next };
    }, true);
  }

  /** Sets the ticket's status. */
  setStatus(ticketHash: string, status: TicketStatus): Promise<TicketRecord> {
    const s = TicketStatusSchema.parse(status);
    return this.update(ticketHash, (r) => ({ ...r, status: s }));
  }

  /**
   * Gives every record without `inputsFrom` (written by an older version) one: 0, since the
   * inputs it holds are the ones every earlier vote was built from; nothing else changes.
   * Each record in its own revision-guarded txn (a record changed meanwhile is read again);
   * idempotent. Returns the number of records written.
   */
  async migrateVoteInputs(): Promise<number> {
    let n = 0;
    for (const ticketHash of this.legacyInputHashes()) {
      const key = this.opts.keyspace.ticket(ticketHash);
      try {
        await this.updater.update<TicketRecord>(
          { key, op: 'update_ticket', parse: (k, raw) => this.parseStored(k, raw), serialize: (r) => JSON.stringify(r) },
          (stored) => {
            if (!stored || stored.inputsFrom !== undefined) throw NO_CHANGE;
            return { ...stored, inputsFrom: 0 };
          },
        );
        n++;
      } catch (err) {
        if (err instanceof CorruptValueError) {
          // One unreadable record does not stop the others (it stays as it is, reported).
          this.log.error({ err, key }, 'ticket record unreadable: not migrated');
          continue;
        }
        if (err !== NO_CHANGE) throw err;
      }
    }
    return n;
  }

  /**
   * Read-modify-write of one record as a revision-guarded txn (guarded-update.ts): `fn` gets
   * the record as stored in etcd now, never the cache's copy; bumps the application revision.
   * With `inputs` (a change of choices or policies) the txn is guarded by the cluster tip T too
   * and the new inputs apply from T + 2 (vote-inputs.ts `nextVersion`: the previous ones stay
   * in `earlierInputs` for the draws below). Other fields (status, a re-sealed key) keep
   * `inputsFrom` and `earlierInputs` as stored.
   * @throws TicketNotFoundError, ConcurrentUpdateError (retries exhausted), CorruptValueError
   */
  private update(ticketHash: string, fn: (r: TicketRecord) => TicketRecord, inputs = false): Promise<TicketRecord> {
    const key = this.opts.keyspace.ticket(ticketHash);
    return this.updater.update<TicketRecord>(
      {
        key, op: 'update_ticket', parse: (k, raw) => this.parseStored(k, raw), serialize: (r) => JSON.stringify(r),
        ...(inputs ? { tipGuard: this.opts.keyspace } : {}),
      },
      (stored, tip) => {
        if (!stored) throw new TicketNotFoundError(`ticket ${ticketHash} is not managed by the cluster`);
        const next: TicketRecord = { ...fn(stored), revision: stored.revision + 1, updatedAt: new Date().toISOString() };
        if (!inputs) return { ...next, inputsFrom: stored.inputsFrom, earlierInputs: stored.earlierInputs };
        const v = nextVersion(ticketInputs(stored), ticketInputs(next).latest, tip);
        next.inputsFrom = v.from;
        if (v.earlier.length > 0) next.earlierInputs = v.earlier;
        else delete next.earlierInputs;
        return next;
      },
    );
  }
}
