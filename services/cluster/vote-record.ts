/**
 * Vote records (docs/architecture.md, invariant 2: at most one distinct vote per ticket
 * and block). `votes/<height>/<blockHash>/<ticketHash>` is written only by a
 * create-if-absent txn; whoever loses the race gets the stored record and must
 * re-broadcast its bytes instead of signing another vote. The record carries
 * everything that shaped the bytes (vote bits, version, treasury votes, the etcd
 * revision of the ticket record), so a takeover re-sends exactly what the owner
 * signed. A watch cache of `votes/` lets a hedged backup wait for the owner's
 * record without polling etcd. {@link VoteRecord} is the one shape of a vote
 * record: the voter builds, queues, repairs and compares records in it, and
 * revisions are etcd mod revisions as numbers throughout.
 */
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ClusterArgumentError, ClusterError, CorruptValueError } from './errors.ts';
import type { Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { PrefixCache, parseJsonValue, type CacheChange } from './watch-cache.ts';

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');

/** One stored vote (the value of `votes/<height>/<blockHash>/<ticketHash>`). */
export const VoteRecordSchema = z.object({
  /** Height of the block voted on. */
  height: z.number().int().min(0),
  /** Hash (display hex) of the block voted on. */
  blockHash: hash,
  ticketHash: hash,
  /** The signed vote transaction, hex. */
  voteTxHex: z.string().regex(/^(?:[0-9a-f]{2})+$/).max(20_000),
  voteTxid: hash,
  /** nodeId of the voter that signed it. */
  signer: z.string().min(1).max(64),
  /** etcd mod revision of the ticket record (choices/policies) the vote was built from. */
  choicesRevision: z.number().int().min(0),
  /** etcd mod revision of `config/vote-defaults` the vote's choices fell back to (0 = unset); absent in older records. */
  defaultsRevision: z.number().int().min(0).optional(),
  voteBits: z.number().int().min(0).max(0xffff),
  voteVersion: z.number().int().min(0).max(0xffffffff),
  /** Treasury (tspend) votes carried by the vote. */
  treasuryVotes: z.array(z.object({ tspendHash: hash, vote: z.enum(['yes', 'no']) })).max(7),
  /** ISO 8601 time the record was written. */
  createdAt: z.string().max(40),
  /** ISO 8601 time the vote was signed (before broadcast, on the fast path). */
  signedAt: z.string().max(40).optional(),
  /** ISO 8601 time the draw reached the signer (its proxy stream delivered the winning tickets): the latency origin. */
  drawnAt: z.string().max(40).optional(),
  /**
   * ISO 8601 time a dcrd first accepted these bytes, when the signer knew it as it wrote the
   * record (the owner's fast path records after its first send's answers; a takeover records
   * before it sends, so its record has none).
   */
  acceptedAt: z.string().max(40).optional(),
  /**
   * How it was produced: owner fast path, owner record-first path, backup takeover, or `repair`:
   * written after an etcd outage by a voter that found the vote (same bytes) known to dcrd while
   * no record existed (the signer's queued record was lost).
   */
  path: z.enum(['fast', 'record-first', 'takeover', 'repair']).optional(),
});
export type VoteRecord = z.infer<typeof VoteRecordSchema>;

/**
 * Whether `stored` is the record `ours` describes, written by an earlier attempt of the same
 * signer: the vote txid names the signed bytes, so the timestamps (`createdAt`, `signedAt`) are
 * left out of the comparison. The same bytes recorded by another signer are not ours.
 */
function isOwnRetry(stored: VoteRecord, ours: VoteRecord): boolean {
  return stored.voteTxid === ours.voteTxid && stored.signer === ours.signer;
}

/** Result of {@link VoteRecords.recordVote}. */
export interface RecordVoteResult {
  /** True when this call's record is the stored one (created now, or an identical retry). */
  created: boolean;
  /** The stored record: when `created` is false, broadcast `stored.voteTxHex`, never your own. */
  stored: VoteRecord;
}

/** Options of {@link VoteRecords.waitForVote}. */
export interface WaitForVoteOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Reject (with the read's error) instead of resolving null when the final read at the deadline
   * fails. A hedged backup uses it: a create-if-absent txn sent while etcd has no quorum may sit
   * in a member and commit when quorum returns, i.e. a takeover decided without seeing etcd.
   */
  rejectIfUnreadable?: boolean;
  /**
   * Read etcd once more at the deadline (default true). A caller whose next step is a
   * create-if-absent {@link VoteRecords.recordVote} (which returns the stored record when one
   * exists) can skip it and save a quorum round trip; the watch cache still answers early.
   */
  finalRead?: boolean;
}

/** Options of {@link VoteRecords}. */
export interface VoteRecordsOptions {
  client: Etcd3;
  /**
   * A client bound to the nearest etcd member (the first endpoint; `client` picks a random member
   * per request, i.e. usually a remote one with several regions). Record writes go through it first,
   * saving a WAN round trip on the owner's record and on a takeover; on any failure of that member
   * they are retried through `client` (a stored record with our signer and vote txid counts as ours, so a retry is safe).
   */
  nearClient?: Etcd3;
  keyspace: Keyspace;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  onCorrupt?: (err: CorruptValueError) => void;
}

type Waiter = (rec: VoteRecord) => void;

/** See the module comment. */
export class VoteRecords {
  private readonly cache: PrefixCache<VoteRecord>;
  private readonly waiters = new Map<string, Set<Waiter>>();
  private readonly log: ClusterLogger;

  constructor(private readonly opts: VoteRecordsOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
    const ks = opts.keyspace;
    this.cache = new PrefixCache<VoteRecord>({
      client: opts.client,
      prefix: ks.votesPrefix(),
      name: 'votes',
      hooks: opts.hooks,
      parse: (key, raw) => {
        const rec = parseJsonValue(key, raw, VoteRecordSchema);
        const parts = ks.parseVoteKey(key);
        if (!parts || parts.height !== rec.height || parts.blockHash !== rec.blockHash || parts.ticketHash !== rec.ticketHash) {
          throw new CorruptValueError(key, 'record does not match its key');
        }
        return rec;
      },
      onCorrupt: (err) => {
        this.log.warn({ err, key: err.key }, 'corrupt vote record skipped');
        opts.onCorrupt?.(err);
      },
      onError: (err) => this.log.warn({ err }, 'votes watch error'),
    });
    this.cache.onChange((c) => {
      if (c.type !== 'put') return;
      const set = this.waiters.get(c.entry.key);
      if (set) for (const w of [...set]) w(c.entry.value);
    });
  }

  /** Loads the votes cache (retained heights only) and starts its watch. */
  start(): Promise<void> {
    return this.cache.start();
  }

  /** Stops the watch; pending `waitForVote` calls resolve null. */
  async stop(): Promise<void> {
    await this.cache.stop();
  }

  /**
   * Records a vote create-if-absent. The winner gets `{ created: true }`; a loser gets
   * `{ created: false, stored }` with the record to re-broadcast. Throws
   * {@link ClusterArgumentError} for an invalid record, {@link CorruptValueError} if the
   * stored value is unreadable (nothing is overwritten), EtcdUnavailableError if etcd is down.
   */
  async recordVote(rec: VoteRecord): Promise<RecordVoteResult> {
    const parsed = VoteRecordSchema.safeParse(rec);
    if (!parsed.success) {
      throw new ClusterArgumentError(`vote record: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    const { client, nearClient, keyspace } = this.opts;
    const key = keyspace.vote(rec.height, rec.blockHash, rec.ticketHash);
    const value = JSON.stringify(parsed.data);
    const txn = (c: Etcd3) => () => c.if(key, 'Create', '==', 0).then(c.put(key).value(value)).else(c.get(key)).commit();
    let res: Awaited<ReturnType<ReturnType<typeof txn>>>;
    if (nearClient) {
      try {
        res = await timed(this.opts.hooks, 'record', txn(nearClient));
      } catch (err) {
        // Any transport failure of the one member (unavailable, deadline, its circuit breaker open):
        // the txn is safe to repeat (an identical stored value counts as ours below).
        this.log.debug({ err, key }, 'nearest etcd member failed a vote record; trying the others');
        res = await timed(this.opts.hooks, 'record', txn(client));
      }
    } else {
      res = await timed(this.opts.hooks, 'record', txn(client));
    }
    if (res.succeeded) {
      this.opts.hooks?.observeVoteRecord?.('created');
      return { created: true, stored: parsed.data };
    }
    const kv = res.responses[0]?.response_range?.kvs[0];
    if (!kv) throw new ClusterError('CLUSTER_INVARIANT', `record ${key}: txn compare failed but the key is absent`);
    const stored = parseJsonValue(key, kv.value, VoteRecordSchema);
    if (isOwnRetry(stored, parsed.data)) {
      // Our own earlier attempt committed (the txn was retried after a timeout, or the record was
      // rebuilt and re-sent): same signer, same vote; its timestamps may differ and do not count.
      this.opts.hooks?.observeVoteRecord?.('created');
      return { created: true, stored };
    }
    this.opts.hooks?.observeVoteRecord?.(stored.voteTxid === rec.voteTxid ? 'existing' : 'conflict');
    return { created: false, stored };
  }

  /** Reads the stored vote from etcd (linearizable), or null if none. */
  async getVote(height: number, blockHash: string, ticketHash: string): Promise<VoteRecord | null> {
    const key = this.opts.keyspace.vote(height, blockHash, ticketHash);
    const raw = await timed(this.opts.hooks, 'get_vote', () => this.opts.client.get(key).buffer());
    return raw === null ? null : parseJsonValue(key, raw, VoteRecordSchema);
  }

  /** The stored vote from the watch cache (no I/O), or undefined. */
  cachedVote(height: number, blockHash: string, ticketHash: string): VoteRecord | undefined {
    return this.cache.get(this.opts.keyspace.vote(height, blockHash, ticketHash))?.value;
  }

  /**
   * Waits for the vote record of (height, blockHash, ticketHash): resolves with it as soon
   * as the watch delivers it (or at once if cached), or null after `timeoutMs` or on abort.
   * At the deadline it reads etcd once more, so a lagging watch cannot cause a takeover
   * (if etcd is unreachable then, it resolves null: no record can be written either).
   */
  waitForVote(height: number, blockHash: string, ticketHash: string, opts: WaitForVoteOptions): Promise<VoteRecord | null> {
    const key = this.opts.keyspace.vote(height, blockHash, ticketHash);
    const cached = this.cache.get(key)?.value;
    if (cached) return Promise.resolve(cached);
    if (opts.signal?.aborted) return Promise.resolve(null);
    return new Promise<VoteRecord | null>((resolve, reject) => {
      let done = false;
      const finish = (rec: VoteRecord | null, err?: unknown): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        const set = this.waiters.get(key);
        set?.delete(waiter);
        if (set?.size === 0) this.waiters.delete(key);
        if (err !== undefined) reject(err);
        else resolve(rec);
      };
      const waiter: Waiter = (rec) => finish(rec);
      const onAbort = (): void => finish(null);
      const timer = setTimeout(() => {
        if (opts.finalRead === false) {
          finish(this.cache.get(key)?.value ?? null);
          return;
        }
        this.getVote(height, blockHash, ticketHash).then(
          (rec) => finish(rec),
          (err: unknown) => {
            // etcd unreachable or value corrupt at the deadline: report "no record seen"; the caller's
            // create-if-absent attempt will fail the same way and decide.
            this.log.warn({ err, key }, 'final vote read failed');
            if (opts.rejectIfUnreadable) finish(null, err);
            else finish(null);
          },
        );
      }, opts.timeoutMs);
      let set = this.waiters.get(key);
      if (!set) this.waiters.set(key, (set = new Set()));
      set.add(waiter);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The highest height of a cached vote record (-1: none). Scans the cache (used by a repair of the cluster tip only). No I/O. */
  highestHeight(): number {
    let h = -1;
    for (const e of this.cache.values()) if (e.value.height > h) h = e.value.height;
    return h;
  }

  /** Deletes every vote record below `keepFromHeight` (retention). Returns how many were deleted. */
  async cleanupBelow(keepFromHeight: number): Promise<number> {
    const ks = this.opts.keyspace;
    const end = ks.votesBelowHeightEnd(keepFromHeight);
    const res = await timed(this.opts.hooks, 'cleanup_votes', () =>
      this.opts.client.kv.deleteRange({ key: Buffer.from(ks.votesPrefix()), range_end: Buffer.from(end) }),
    );
    return Number(res.deleted);
  }

  /** Number of cached vote records. */
  get size(): number {
    return this.cache.size;
  }

  /** True while the votes watch is connected. */
  get isWatchConnected(): boolean {
    return this.cache.isWatchConnected;
  }

  /** ms the votes watch has been disconnected (0 while connected). */
  watchAgeMs(now?: number): number {
    return this.cache.watchAgeMs(now);
  }

  /** Every cached vote record (retained heights), sorted by height. No I/O. (Added for services/admin.) */
  list(): VoteRecord[] {
    return [...this.cache.values()].map((e) => e.value).sort((a, b) => a.height - b.height);
  }

  /** Subscribes to vote record changes (for services/admin WatchVotes and the status page). */
  onChange(fn: (c: CacheChange<VoteRecord>) => void): () => void {
    return this.cache.onChange(fn);
  }
}
