/**
 * Ticket ownership (docs/architecture.md, invariant 1: one signer per ticket).
 *
 * The claim invariant: at every etcd revision `owners/<t>` holds at most one
 * claim, and that claim names a node together with the session lease it is
 * bound to, so it disappears the moment that node's lease ends. Every write
 * keeps this:
 * - claim (`claim`, `claimMany`): create-if-absent, bound to the claimer's own
 *   session lease;
 * - release (`release`, `releaseMany`): delete only the exact revision this node
 *   read as its own (a newer claim by anyone is never deleted);
 * - hand-over (`handOverMany`): rewrite this node's claim to the recipient's
 *   value and lease only while etcd still holds the revision read as ours AND
 *   the recipient's `nodes/<id>` is still bound to that lease (a claim is never
 *   bound to a dead lease; the ticket is never without an owner meanwhile).
 * A cached claim counts only when it is bound to the lease it names and that
 * lease is the named node's live session lease (owner-check.ts); anything else
 * (forged, stale) is ignored and reported.
 *
 * Who *should* sign is computed, not stored: rendezvous (highest-random-weight)
 * hashing of the ticket hash over the live nodes (`rendezvous.ts`) gives every
 * node the same deterministic, region-aware ranking, the owner first, then the
 * backups in hedge order. It is computed on each call (about 1-2 µs per ticket),
 * so nothing per ticket is cached.
 */
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { createIfAbsentMany, deleteIfUnchangedMany, handOverIfUnchangedMany, type HandOverItem } from './batch-txn.ts';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ClusterError, CorruptValueError, LeaseLostError } from './errors.ts';
import { assertHashHex, type Keyspace } from './keyspace.ts';
import { HashIndex } from './hash-index.ts';
import { HashKeyedStore } from './hash-keyed-store.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { assertOwnerLeaseBound, ForgedOwnerError, isLiveOwnerClaim } from './owner-check.ts';
import type { Membership } from './membership.ts';
import { PrefixCache, parseJsonValue, type CacheChange } from './watch-cache.ts';
import { RendezvousNodes, type RankableNode } from './rendezvous.ts';

/** The value of `owners/<ticketHash>`. */
export const OwnerValueSchema = z.object({
  nodeId: z.string().min(1).max(64),
  leaseId: z.string().regex(/^\d+$/),
  claimedAt: z.string().max(40),
});
export type OwnerValue = z.infer<typeof OwnerValueSchema>;

/** Result of {@link Ownership.claim}. */
export interface ClaimResult {
  /** True when this node holds the claim (newly created, or already ours). */
  won: boolean;
  /** The node id holding the claim. */
  owner: string;
}

/** Options of {@link Ownership}. */
export interface OwnershipOptions {
  client: Etcd3;
  keyspace: Keyspace;
  membership: Membership;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  onCorrupt?: (err: CorruptValueError) => void;
  /** Ticket-hash index shared with the ticket cache (default: its own). */
  hashIndex?: HashIndex;
}

/** Distinct owner values shared before the table starts over (claimMany writes one value per call). */
const MAX_SHARED_OWNER_VALUES = 4_096;

/** Owner claims and the owner cache (see the module comment). */
export class Ownership {
  private readonly cache: PrefixCache<OwnerValue>;
  private readonly index: HashIndex;
  /** The membership snapshot version the rendezvous seeds below were built from. */
  private rankVersion = -1;
  /** The live set's rendezvous seeds (rebuilt when the live set changes). */
  private rendezvous = new RendezvousNodes<RankableNode>([]);
  private readonly scratch = Buffer.alloc(32);
  private readonly log: ClusterLogger;
  /** Raw owner value (latin1 text) -> the shared parsed value (see parseOwner). */
  private readonly ownerValues = new Map<string, OwnerValue>();

  constructor(private readonly opts: OwnershipOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
    const index = (this.index = opts.hashIndex ?? new HashIndex());
    const prefix = opts.keyspace.ownersPrefix();
    this.cache = new PrefixCache<OwnerValue>({
      client: opts.client,
      prefix,
      name: 'owners',
      hooks: opts.hooks,
      createStore: () => new HashKeyedStore<OwnerValue>(prefix, index),
      parse: (key, raw, lease) => this.checkedOwner(key, this.parseOwner(key, raw), lease),
      onCorrupt: (err) => {
        if (err.cause instanceof ForgedOwnerError) {
          this.reportForged(err.cause);
          return;
        }
        this.log.warn({ err, key: err.key }, 'corrupt owner record skipped');
        opts.onCorrupt?.(err);
      },
      onError: (err) => this.log.warn({ err }, 'owners watch error'),
    });
  }

  /**
   * Parses an owner value, sharing one frozen object among claims with identical bytes: a
   * `claimMany` writes one value for all its tickets, so 100k cached claims are a handful of
   * objects instead of 100k objects with three strings each.
   */
  private parseOwner(key: string, raw: Buffer): OwnerValue {
    const text = raw.toString('latin1');
    const hit = this.ownerValues.get(text);
    if (hit) return hit;
    const v = Object.freeze(parseJsonValue(key, raw, OwnerValueSchema));
    // Bounded: when full, start over (entries keep the objects they got; only sharing restarts).
    if (this.ownerValues.size >= MAX_SHARED_OWNER_VALUES) this.ownerValues.clear();
    this.ownerValues.set(text, v);
    return v;
  }

  /**
   * The claim checks etcd's RBAC cannot make (owner-check.ts): a value not bound to the lease
   * it names is thrown out (ignored, reported); one naming a node that is live under another
   * lease is reported here and ignored by every read ({@link isCounted}).
   */
  private checkedOwner(key: string, v: OwnerValue, lease: string): OwnerValue {
    assertOwnerLeaseBound(key, v, lease);
    const m = this.opts.membership;
    const live = m.isCacheRunning ? m.leaseOfNode(v.nodeId) : undefined;
    if (live !== undefined && live !== v.leaseId) {
      this.reportForged(new ForgedOwnerError(key, 'node', `claims node ${v.nodeId} with lease ${v.leaseId}, but that node is live with lease ${live}`));
    }
    return v;
  }

  private reportForged(err: ForgedOwnerError): void {
    this.log.warn({ err, key: err.key, reason: err.reason }, 'forged owner record ignored');
    this.opts.hooks?.observeForgedOwner?.(err.key, err.reason);
  }

  /**
   * Whether a cached claim counts: it names a live node under the lease it is bound to. Checked
   * while this process watches the live nodes (a joined node); a process that does not (tools
   * opened without joining) has the lease-binding check only.
   */
  private isCounted(v: OwnerValue): boolean {
    const m = this.opts.membership;
    return !m.isCacheRunning || isLiveOwnerClaim(v, (id) => m.leaseOfNode(id));
  }

  /** Loads the owner cache and starts its watch. */
  start(): Promise<void> {
    return this.cache.start();
  }

  /** Stops the watch (claims are released by revoking the lease in `membership.stop()`). */
  stop(): Promise<void> {
    return this.cache.stop();
  }

  /**
   * Ranks the currently live nodes (membership cache) for `ticketHash` by rendezvous weight
   * (a fresh array; about 1-2 µs, so nothing is cached: a sweep over 100k tickets ranks only
   * the owner, see {@link myShareOfIds}).
   */
  rank(ticketHash: string): RankableNode[] {
    this.liveForRanking();
    return this.rendezvous.rankAt(this.bytesOf(ticketHash), 0);
  }

  /** The 32 bytes of `ticketHash` (a scratch buffer). @throws ClusterArgumentError unless a 64-char lowercase hex hash. */
  private bytesOf(ticketHash: string): Buffer {
    assertHashHex(ticketHash, 'ticketHash');
    this.scratch.write(ticketHash, 0, 'hex');
    return this.scratch;
  }

  /** The live snapshot's nodes; rebuilds the rendezvous seeds when the live set changed. */
  private liveForRanking(): readonly RankableNode[] {
    const { nodes, version } = this.opts.membership.liveSnapshot();
    if (version !== this.rankVersion) {
      this.rankVersion = version;
      this.rendezvous = new RendezvousNodes(nodes);
    }
    return nodes;
  }

  /**
   * The node id of the rank-0 live node for `ticketHash` (`rank(t)[0]?.nodeId`), or undefined
   * when no node is live, without building the ranking array.
   */
  ownerRankId(ticketHash: string): string | undefined {
    const nodes = this.liveForRanking();
    return nodes[this.rendezvous.ownerIndexAt(this.bytesOf(ticketHash), 0)]?.nodeId;
  }

  /**
   * The tickets of `ticketHashes` whose rank-0 live node is this node: the share it should
   * claim. Yields to the event loop every `chunk` tickets (default 1,000), so the lease
   * keepalive and watches keep running while 100k tickets are ranked (a loop that blocks
   * longer than the lease TTL loses the lease).
   */
  async myShare(ticketHashes: Iterable<string>, opts: { chunk?: number; signal?: AbortSignal } = {}): Promise<string[]> {
    const me = this.opts.membership.nodeId;
    const chunk = Math.max(1, opts.chunk ?? 1_000);
    const out: string[] = [];
    let i = 0;
    for (const t of ticketHashes) {
      if (this.ownerRankId(t) === me) out.push(t);
      if (++i % chunk === 0) {
        await new Promise((r) => setImmediate(r));
        if (opts.signal?.aborted) break;
      }
    }
    return out;
  }

  /**
   * {@link myShare} over ticket ids of the shared hash index (`TicketStore.forEachId`): the same
   * result, but only the share's hashes become strings (a periodic sweep over 100k tickets then
   * allocates ~1 MB instead of ~8 MB). Ids no longer held when reached are skipped.
   */
  async myShareOfIds(ids: Int32Array, isHeld: (id: number) => boolean, opts: { chunk?: number; signal?: AbortSignal } = {}): Promise<string[]> {
    const me = this.opts.membership.nodeId;
    const chunk = Math.max(1, opts.chunk ?? 1_000);
    const out: string[] = [];
    // Ranked from the index's bytes (no hex string per ticket): only rank 0
    // is needed, the highest weight. The live set is re-read after every yield.
    let nodes = this.liveForRanking();
    let rv = this.rendezvous;
    let keys = this.index.keyBytes();
    let mine = nodes.findIndex((n) => n.nodeId === me);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i] as number;
      if (mine >= 0 && isHeld(id) && rv.ownerIndexAt(keys, id * 32) === mine) out.push(this.index.hexAt(id));
      if ((i + 1) % chunk === 0) {
        await new Promise((r) => setImmediate(r));
        if (opts.signal?.aborted) break;
        nodes = this.liveForRanking();
        rv = this.rendezvous;
        keys = this.index.keyBytes();
        mine = nodes.findIndex((n) => n.nodeId === me);
      }
    }
    return out;
  }

  /** This node's rank for `ticketHash` among live nodes (0 = owner), or -1 if this node is not live. */
  myRank(ticketHash: string): number {
    return this.rank(ticketHash).findIndex((n) => n.nodeId === this.opts.membership.nodeId);
  }

  /**
   * Claims `ticketHash` for this node: create-if-absent on `owners/<t>` bound to the
   * session lease. Returns `{ won, owner }`; `won` is also true when the claim is already
   * ours (e.g. a retried txn that did commit). Throws {@link LeaseLostError} when not joined.
   */
  async claim(ticketHash: string): Promise<ClaimResult> {
    const { client, keyspace, membership } = this.opts;
    const key = keyspace.owner(ticketHash);
    const leaseId = membership.leaseId();
    if (!leaseId) throw new LeaseLostError(`cannot claim ${ticketHash}: no session lease (not joined)`);
    const value: OwnerValue = { nodeId: membership.nodeId, leaseId, claimedAt: new Date().toISOString() };
    const res = await timed(this.opts.hooks, 'claim', () =>
      client
        .if(key, 'Create', '==', 0)
        .then(client.put(key).value(JSON.stringify(value)).lease(leaseId))
        .else(client.get(key))
        .commit(),
    );
    if (res.succeeded) return { won: true, owner: membership.nodeId };
    const kv = res.responses[0]?.response_range?.kvs[0];
    // The compare and the else-branch read run at one revision inside the txn: the key exists.
    if (!kv) throw new ClusterError('CLUSTER_INVARIANT', `claim ${ticketHash}: txn compare failed but the key is absent`);
    const stored = parseJsonValue(key, kv.value, OwnerValueSchema);
    return { won: stored.nodeId === membership.nodeId && String(kv.lease) === leaseId, owner: stored.nodeId };
  }

  /**
   * Claims many tickets for this node in batched txns (up to 127 nested create-if-absent txns
   * per etcd request, a few requests in flight): per ticket exactly the semantics of
   * {@link claim}, one result per input in order. For start-up, when a node owns ~1/n of
   * 100k tickets. Throws {@link LeaseLostError} when not joined; duplicate hashes are claimed once.
   */
  async claimMany(ticketHashes: readonly string[], opts: { batchSize?: number; concurrency?: number } = {}): Promise<ClaimResult[]> {
    const { client, keyspace, membership } = this.opts;
    const leaseId = membership.leaseId();
    if (!leaseId) throw new LeaseLostError(`cannot claim ${ticketHashes.length} tickets: no session lease (not joined)`);
    const me = membership.nodeId;
    const value = JSON.stringify({ nodeId: me, leaseId, claimedAt: new Date().toISOString() } satisfies OwnerValue);
    const unique = [...new Set(ticketHashes)];
    const results = await createIfAbsentMany(
      client,
      unique.map((t) => ({ key: keyspace.owner(t), value, lease: leaseId })),
      { hooks: this.opts.hooks, op: 'claim_many', ...opts },
    );
    const byHash = new Map<string, ClaimResult>();
    results.forEach((r, i) => {
      const t = unique[i] as string;
      if (r.created) {
        byHash.set(t, { won: true, owner: me });
        return;
      }
      const stored = parseJsonValue(keyspace.owner(t), r.existing.value, OwnerValueSchema);
      byHash.set(t, { won: stored.nodeId === me && String(r.existing.lease) === leaseId, owner: stored.nodeId });
    });
    return ticketHashes.map((t) => byHash.get(t) as ClaimResult);
  }

  /**
   * Releases this node's claim on `ticketHash` (deletes `owners/<t>` only if it is ours,
   * in one txn). Returns true if a claim was deleted.
   */
  async release(ticketHash: string): Promise<boolean> {
    const { client, keyspace, membership } = this.opts;
    const key = keyspace.owner(ticketHash);
    const res = await timed(this.opts.hooks, 'release', async () => {
      const cur = await client.get(key).exec();
      const kv = cur.kvs[0];
      if (!kv) return { succeeded: false };
      const v = parseJsonValue(key, kv.value, OwnerValueSchema);
      if (v.nodeId !== membership.nodeId) return { succeeded: false };
      // Compare the exact revision we read, so a newer claim by someone else is never deleted.
      return client.if(key, 'Mod', '==', Number(kv.mod_revision)).then(client.delete().key(key)).commit();
    });
    return res.succeeded;
  }

  /**
   * Releases this node's claims on many tickets in batched txns: a claim is deleted only if the
   * owner cache shows it as ours and etcd still holds exactly that revision of it (a newer claim
   * by anyone else is never deleted). One boolean per input, in order: true when deleted.
   * Tickets whose claim the cache does not show as ours are skipped (false).
   */
  async releaseMany(ticketHashes: readonly string[], opts: { batchSize?: number; concurrency?: number } = {}): Promise<boolean[]> {
    const { client, keyspace, membership } = this.opts;
    const items: Array<{ key: string; modRevision: number }> = [];
    const itemOf: number[] = [];
    const seen = new Set<string>();
    ticketHashes.forEach((t, i) => {
      const key = keyspace.owner(t);
      const e = this.cache.get(key);
      if (!e || e.value.nodeId !== membership.nodeId || seen.has(key)) return;
      seen.add(key);
      items.push({ key, modRevision: e.modRevision });
      itemOf.push(i);
    });
    const out = new Array<boolean>(ticketHashes.length).fill(false);
    if (items.length === 0) return out;
    const deleted = await deleteIfUnchangedMany(client, items, { hooks: this.opts.hooks, op: 'release_many', ...opts });
    deleted.forEach((d, j) => {
      out[itemOf[j] as number] = d;
    });
    return out;
  }

  /**
   * Hands this node's claims on many tickets straight to each ticket's rank-0 live node, so a
   * rebalanced ticket is never without an owner. (A release followed by the new owner's claim
   * leaves a window, a debounce and a sweep long, in which the ticket has no owner: its draws
   * take the record-first path, and through an etcd quorum loss they could not vote at all.)
   * `owners/<t>` is rewritten with the recipient's value, bound to the recipient's session lease,
   * only while etcd still holds the revision the cache shows as ours AND the recipient's
   * `nodes/<id>` is still bound to that lease: a claim is never bound to a dead lease, and there
   * is one claim per ticket at every revision (invariant 1). The recipient must accept claims
   * (`acceptsClaims` in its `nodes/` value: a voter whose proxy streams are up), so a ticket
   * stays with its current owner until the new one can hear draws. Tickets not ours in the
   * cache, or whose recipient is this node, unknown or not accepting, are skipped.
   * `leaving`: hand to the best-ranked OTHER accepting node (a graceful stop), not to rank 0.
   * One result per input, in order: the recipient's node id, or undefined when not handed over
   * (the next sweep retries).
   */
  async handOverMany(
    ticketHashes: readonly string[], opts: { batchSize?: number; concurrency?: number; leaving?: boolean } = {},
  ): Promise<Array<string | undefined>> {
    const { client, keyspace, membership } = this.opts;
    const me = membership.nodeId;
    const live = new Map(membership.liveSnapshot().nodes.map((n) => [n.nodeId, n]));
    const claimedAt = new Date().toISOString();
    const values = new Map<string, string>();
    const items: HandOverItem[] = [];
    const itemOf: number[] = [];
    const recipients: string[] = [];
    const seen = new Set<string>();
    ticketHashes.forEach((t, i) => {
      const key = keyspace.owner(t);
      const e = this.cache.get(key);
      if (!e || e.value.nodeId !== me || seen.has(key)) return;
      const toId = opts.leaving
        ? this.rank(t).find((n) => n.nodeId !== me && live.get(n.nodeId)?.acceptsClaims === true)?.nodeId
        : this.ownerRankId(t);
      const to = live.get(toId ?? '');
      if (!to || to.nodeId === me || to.leaseId === '0' || to.acceptsClaims !== true) return;
      seen.add(key);
      let value = values.get(to.nodeId);
      if (value === undefined) {
        value = JSON.stringify({ nodeId: to.nodeId, leaseId: to.leaseId, claimedAt } satisfies OwnerValue);
        values.set(to.nodeId, value);
      }
      items.push({ key, modRevision: e.modRevision, value, lease: to.leaseId, leaseWitness: keyspace.node(to.nodeId) });
      itemOf.push(i);
      recipients.push(to.nodeId);
    });
    const out = new Array<string | undefined>(ticketHashes.length).fill(undefined);
    if (items.length === 0) return out;
    const { leaving: _leaving, ...batch } = opts;
    const done = await handOverIfUnchangedMany(client, items, { hooks: this.opts.hooks, op: 'hand_over_many', ...batch });
    done.forEach((d, j) => {
      if (d) out[itemOf[j] as number] = recipients[j];
    });
    return out;
  }

  /** The owner node id of `ticketHash` from the watch cache, or undefined if unclaimed. */
  ownerOf(ticketHash: string): string | undefined {
    const st = this.store;
    const id = st.idOf(ticketHash);
    return id < 0 ? undefined : this.counted(st.valueAt(id));
  }

  private counted(v: OwnerValue): string | undefined {
    return this.isCounted(v) ? v.nodeId : undefined;
  }

  /** The owner node id of the ticket with hash-index id `id` (see TicketStore.forEachId), or undefined if unclaimed. */
  ownerOfId(id: number): string | undefined {
    const st = this.store;
    return st.has(id) ? this.counted(st.valueAt(id)) : undefined;
  }

  private get store(): HashKeyedStore<OwnerValue> {
    return this.cache.store as HashKeyedStore<OwnerValue>;
  }

  /** Ticket hashes this node holds a claim on (from the cache). */
  ownedByMe(): string[] {
    const me = this.opts.membership.nodeId;
    const out: string[] = [];
    this.store.forEachId((id, v) => {
      if (v.nodeId === me && this.isCounted(v)) out.push(this.index.hexAt(id));
    });
    return out;
  }

  /** How many claims this node holds (from the cache; no array built, for gauges). */
  ownedCount(): number {
    const me = this.opts.membership.nodeId;
    let n = 0;
    this.store.forEachId((_id, v) => {
      if (v.nodeId === me && this.isCounted(v)) n++;
    });
    return n;
  }

  /** Number of claims in the cache. */
  get size(): number {
    return this.cache.size;
  }

  /** True while the owners watch is connected. */
  get isWatchConnected(): boolean {
    return this.cache.isWatchConnected;
  }

  /** Subscribes to owner changes. */
  onChange(fn: (c: CacheChange<OwnerValue>) => void): () => void {
    return this.cache.onChange(fn);
  }
}
