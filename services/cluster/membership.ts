/**
 * Membership: this node's session lease and `nodes/<nodeId>` record, and the
 * set of live nodes (a watch cache of `nodes/`).
 *
 * Invariant: every key this node writes that must die with it (`nodes/<id>`,
 * `owners/<t>`) is attached to the current session lease, so if the process
 * dies or is partitioned for longer than the TTL, etcd removes them and the
 * backups take over. `isLeaseFresh()` is how the voter decides whether it may
 * use the fast path (docs/architecture.md, invariant 5): it is false unless a keepalive
 * sent less than `freshWindowMs` ago succeeded, i.e. etcd surely still holds
 * the lease. When etcd reports the lease lost, a rejoin loop (owned here,
 * awaited by `stop()`) grants a new lease and re-creates `nodes/<id>`.
 */
import type { Etcd3, Lease } from 'etcd3';
import { z } from 'zod';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ClusterClosedError, CorruptValueError, LeaseLostError, NodeIdInUseError } from './errors.ts';
import type { Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { PrefixCache, parseJsonValue, type CacheChange } from './watch-cache.ts';
import { JitteredBackoff, STOP_BUDGET_MS, rejectAfter, sleep } from '../base/index.ts';

/** Default session lease TTL (s). etcd needs >= ~1.5 x election timeout; keep >= 2 s. */
export const DEFAULT_LEASE_TTL_SEC = 5;

/** The value of `nodes/<nodeId>`. */
export const NodeValueSchema = z.object({
  region: z.string().min(1).max(64),
  proxies: z.array(z.string().max(256)).max(64),
  version: z.string().max(64),
  /** ISO 8601 time the node (process) started. */
  startedAt: z.string().max(40),
  /**
   * True once the node is ready to own tickets (a voter whose proxy streams are up): other
   * nodes hand claims straight to it only then, and stop when it turns false (leaving).
   * Absent = false (a node that is not a voter, or one from before hand-over existed).
   */
  acceptsClaims: z.boolean().optional(),
  /** Fingerprints of the cluster keys the node holds (`votecluster key rotate` waits for the new one). */
  keys: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(4).optional(),
  /**
   * True: the node builds votes from the inputs that apply at the draw's height (the cluster tip,
   * vote-inputs.ts). Absent: an older version that builds from the latest inputs; while one is
   * live, voters sign no draw as canonical (their bytes could differ from its).
   */
  heightInputs: z.boolean().optional(),
  /**
   * True: the node builds every vote with the vote version committed for the draw's height
   * (`config/vote-version`, vote-version.ts). Absent: an older version that writes the version of
   * its own proxies; while one is live, voters sign no draw as canonical.
   */
  committedVoteVersion: z.boolean().optional(),
});
export type NodeValue = z.infer<typeof NodeValueSchema>;

/** A live node as seen in `nodes/`. */
export interface NodeInfo extends NodeValue {
  nodeId: string;
  /** The node's session lease id (decimal string). */
  leaseId: string;
}

/** Options of {@link Membership}. */
export interface MembershipOptions {
  client: Etcd3;
  keyspace: Keyspace;
  nodeId: string;
  region: string;
  proxies?: readonly string[];
  version: string;
  leaseTtlSec?: number;
  /** A lease is fresh while its last successful keepalive was sent less than this ago (default 2/3 TTL). */
  freshWindowMs?: number;
  /** How long `join()` waits for a previous session of the same nodeId to expire (default TTL + 2 s). */
  joinWaitMs?: number;
  /**
   * Extra lease confirmations: every this many ms a one-shot keepalive is sent besides etcd3's
   * own (which fire every TTL/3), so `leaseAgeMs()` stays within ~this interval of the truth and a
   * fresh-window check survives an etcd outage almost as long as the window itself (voter: 1 s).
   * Default: off.
   */
  confirmIntervalMs?: number;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  onCorrupt?: (err: CorruptValueError) => void;
}

type LeaseListener = (ev: { type: 'joined' | 'lost'; leaseId: string }) => void;

/** How long stop() waits for the lease revoke before leaving it to expire by its TTL. */
export const LEASE_REVOKE_AT_STOP_MS = STOP_BUDGET_MS.leaseRevoke;
/** Join: how often a nodeId still held by a dead process's lease is checked again. */
const NODE_ID_RECHECK_MS = 200;
/** Rejoin after a lost lease: backoff between failed joins. */
const REJOIN_RETRY_BASE_MS = 100;
const REJOIN_RETRY_MAX_MS = 2_000;

/** See the module comment. */
export class Membership {
  readonly nodeId: string;
  readonly leaseTtlSec: number;
  private readonly freshWindowMs: number;
  private readonly nodes: PrefixCache<NodeInfo>;
  private readonly startedAt = new Date().toISOString();
  private readonly log: ClusterLogger;
  private lease: Lease | undefined;
  private currentLeaseId: string | undefined;
  /** Send time of the last keepalive (or grant) that etcd confirmed. */
  private lastConfirmedAt: number | undefined;
  private lastFiredAt: number | undefined;
  private joined = false;
  private stopped = false;
  /** Whether `nodes/<id>` says this node accepts claims (kept across rejoins). */
  private acceptsClaims = false;
  /** Fingerprints of the cluster keys this node holds (see {@link setKeyFingerprints}). */
  private keyFingerprints: string[] = [];
  private rejoinLoop: Promise<void> | undefined;
  private confirmTimer: NodeJS.Timeout | undefined;
  /** The one-shot keepalive in flight (at most one; it may hang while etcd has no quorum). */
  private confirming: Promise<void> | undefined;
  private readonly leaseListeners = new Set<LeaseListener>();
  /** Sorted live nodes, rebuilt after any change of `nodes/` (ranking 100k tickets reads it per ticket). */
  private live: readonly NodeInfo[] | undefined;
  private liveVersion = 0;
  /** nodeId -> session lease id of the live nodes (rebuilt with `live`). */
  private liveLeases: ReadonlyMap<string, string> | undefined;
  /** True between the nodes cache's load in start() and stop(). */
  private cacheRunning = false;

  constructor(private readonly opts: MembershipOptions) {
    this.nodeId = opts.nodeId;
    opts.keyspace.node(opts.nodeId); // validates the id
    this.leaseTtlSec = opts.leaseTtlSec ?? DEFAULT_LEASE_TTL_SEC;
    this.freshWindowMs = opts.freshWindowMs ?? Math.floor((this.leaseTtlSec * 1000 * 2) / 3);
    this.log = opts.log ?? SILENT_LOGGER;
    const ks = opts.keyspace;
    this.nodes = new PrefixCache<NodeInfo>({
      client: opts.client,
      prefix: ks.nodesPrefix(),
      name: 'nodes',
      hooks: opts.hooks,
      parse: (key, raw) => {
        const nodeId = ks.nodeIdOf(key);
        if (!nodeId) throw new CorruptValueError(key, 'not a valid node key');
        return { nodeId, leaseId: '0', ...parseJsonValue(key, raw, NodeValueSchema) };
      },
      onCorrupt: (err) => {
        this.log.warn({ err, key: err.key }, 'corrupt node record skipped');
        opts.onCorrupt?.(err);
      },
      onError: (err) => this.log.warn({ err }, 'nodes watch error'),
    });
    this.nodes.onChange(() => {
      this.live = undefined;
      this.liveLeases = undefined;
      this.liveVersion++;
    });
  }

  /** Loads the live-node cache and joins (grants the lease, writes `nodes/<id>`). */
  async start(): Promise<void> {
    await this.nodes.start();
    this.cacheRunning = true;
    await this.join();
    const every = this.opts.confirmIntervalMs;
    if (every !== undefined && every > 0) {
      // Owned by this object: cleared in stop().
      this.confirmTimer = setInterval(() => this.confirmOnce(), every);
      this.confirmTimer.unref();
    }
  }

  /** One extra keepalive; on success the lease age restarts from its send time. */
  private confirmOnce(): void {
    const lease = this.lease;
    if (!lease || this.stopped || this.confirming) return;
    const sentAt = Date.now();
    this.confirming = lease.keepaliveOnce().then(
      () => {
        if (lease === this.lease && this.joined && (this.lastConfirmedAt ?? 0) < sentAt) this.lastConfirmedAt = sentAt;
      },
      () => undefined, // etcd unreachable: etcd3's own keepalive loop reports and recovers
    ).finally(() => {
      this.confirming = undefined;
    });
  }

  /**
   * Grants a session lease and creates `nodes/<id>` bound to it (create-if-absent).
   * If a previous session of this nodeId still holds the key, waits up to `joinWaitMs`
   * for it to expire, then throws {@link NodeIdInUseError} (another live process uses this id).
   */
  async join(): Promise<void> {
    if (this.stopped) throw new ClusterClosedError();
    const { client, keyspace } = this.opts;
    const key = keyspace.node(this.nodeId);
    const lease = client.lease(this.leaseTtlSec, { autoKeepAlive: true });
    const grantSentAt = Date.now();
    let leaseId: string;
    try {
      leaseId = await timed(this.opts.hooks, 'lease_grant', () => lease.grant());
    } catch (err) {
      lease.release();
      throw err;
    }
    this.watchLease(lease);
    const value = this.nodeValue();
    const deadline = Date.now() + (this.opts.joinWaitMs ?? this.leaseTtlSec * 1000 + 2_000);
    try {
      await this.createNodeKey(key, value, leaseId, deadline);
    } catch (err) {
      await lease.revoke().catch((e: unknown) => this.log.warn({ err: e }, 'lease revoke failed'));
      throw err;
    }
    if (lease.revoked()) throw new LeaseLostError(`lease ${leaseId} was lost while joining`);
    this.lease = lease;
    this.currentLeaseId = leaseId;
    this.lastConfirmedAt = grantSentAt;
    this.joined = true;
    this.log.info({ leaseId, ttlSec: this.leaseTtlSec }, 'joined cluster');
    this.emitLease({ type: 'joined', leaseId });
  }

  /**
   * Announces whether this node accepts claims (see {@link NodeValue.acceptsClaims}): rewrites
   * `nodes/<id>` with the flag, bound to the current lease and only while the key is bound to it
   * (a rejoin writes the flag with its new key). Rejects when etcd does not answer; the caller retries.
   */
  /**
   * The fingerprints of the cluster keys this node holds, published in `nodes/<id>` (`keys`):
   * `votecluster key rotate` re-seals only once every live node holds the new key. Before
   * joining it only sets what the join writes; afterwards it rewrites the node key.
   */
  async setKeyFingerprints(fingerprints: readonly string[]): Promise<void> {
    this.keyFingerprints = [...fingerprints];
    await this.setAcceptsClaims(this.acceptsClaims);
  }

  async setAcceptsClaims(accepts: boolean): Promise<void> {
    this.acceptsClaims = accepts;
    const leaseId = this.currentLeaseId;
    if (!this.joined || leaseId === undefined || this.stopped) return;
    const { client, keyspace } = this.opts;
    const key = keyspace.node(this.nodeId);
    await timed(this.opts.hooks, 'announce', () =>
      client.if(key, 'Lease', '==', leaseId).then(client.put(key).value(JSON.stringify(this.nodeValue())).lease(leaseId)).commit(),
    );
  }

  /** The value of this node's `nodes/<id>` key now. */
  private nodeValue(): NodeValue {
    return {
      region: this.opts.region,
      proxies: [...(this.opts.proxies ?? [])],
      version: this.opts.version,
      startedAt: this.startedAt,
      ...(this.acceptsClaims ? { acceptsClaims: true } : {}),
      ...(this.keyFingerprints.length > 0 ? { keys: [...this.keyFingerprints] } : {}),
      heightInputs: true,
      committedVoteVersion: true,
    };
  }

  private async createNodeKey(key: string, value: NodeValue, leaseId: string, deadline: number): Promise<void> {
    const { client } = this.opts;
    for (;;) {
      if (this.stopped) throw new ClusterClosedError();
      const res = await timed(this.opts.hooks, 'join', () =>
        client
          .if(key, 'Create', '==', 0)
          .then(client.put(key).value(JSON.stringify(value)).lease(leaseId))
          .else(client.get(key))
          .commit(),
      );
      if (res.succeeded) return;
      const holder = res.responses[0]?.response_range?.kvs[0];
      if (holder && String(holder.lease) === leaseId) return; // a retried txn that did commit
      if (Date.now() > deadline) {
        throw new NodeIdInUseError(
          `nodeId ${this.nodeId} is held by another live session (lease ${String(holder?.lease)}); two processes must not share a nodeId`,
        );
      }
      // A previous process with this id died less than a TTL ago: wait for etcd to expire its lease.
      await sleep(NODE_ID_RECHECK_MS);
    }
  }

  private watchLease(lease: Lease): void {
    lease.on('keepaliveFired', () => {
      this.lastFiredAt = Date.now();
    });
    lease.on('keepaliveSucceeded', () => {
      if (lease === this.lease) this.lastConfirmedAt = this.lastFiredAt ?? Date.now();
    });
    lease.on('keepaliveFailed', (err) => this.log.warn({ err }, 'lease keepalive failed'));
    lease.on('lost', (err) => {
      if (lease !== this.lease || this.stopped) return;
      const leaseId = this.currentLeaseId ?? '0';
      this.log.warn({ err, leaseId }, 'session lease lost; rejoining');
      this.lease = undefined;
      this.currentLeaseId = undefined;
      this.joined = false;
      this.emitLease({ type: 'lost', leaseId });
      this.rejoinLoop ??= this.rejoin().finally(() => (this.rejoinLoop = undefined));
    });
  }

  private async rejoin(): Promise<void> {
    const backoff = new JitteredBackoff(REJOIN_RETRY_BASE_MS, REJOIN_RETRY_MAX_MS);
    while (!this.stopped && !this.joined) {
      try {
        await this.join();
        return;
      } catch (err) {
        if (this.stopped) return;
        this.log.warn({ err }, 'rejoin failed; retrying');
        await sleep(backoff.nextMs());
      }
    }
  }

  /** The current session lease id, or undefined while not joined. */
  leaseId(): string | undefined {
    return this.currentLeaseId;
  }

  /** ms since the send time of the last keepalive (or grant) etcd confirmed; Infinity if none. */
  leaseAgeMs(now = Date.now()): number {
    return this.joined && this.lastConfirmedAt !== undefined ? now - this.lastConfirmedAt : Number.POSITIVE_INFINITY;
  }

  /** True while joined and the lease was confirmed within the fresh window (safe to use the fast path). */
  isLeaseFresh(now = Date.now()): boolean {
    return this.leaseAgeMs(now) < this.freshWindowMs;
  }

  /** Live nodes from the watch cache, sorted by nodeId (a fresh array of frozen node objects). */
  liveNodes(): NodeInfo[] {
    return this.liveShared().slice();
  }

  /** The cached sorted live-node array (do not mutate) and a version that changes whenever it does. */
  liveSnapshot(): { nodes: readonly NodeInfo[]; version: number } {
    return { nodes: this.liveShared(), version: this.liveVersion };
  }

  private liveShared(): readonly NodeInfo[] {
    this.live ??= Object.freeze(
      [...this.nodes.values()]
        .map((e) => Object.freeze({ ...e.value, leaseId: e.lease }))
        .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0)),
    );
    return this.live;
  }

  /**
   * The session lease id of live node `nodeId` from the watch cache, or undefined when no such
   * node is live. Only meaningful while {@link isCacheRunning}.
   */
  leaseOfNode(nodeId: string): string | undefined {
    this.liveLeases ??= new Map(this.liveShared().map((n) => [n.nodeId, n.leaseId]));
    return this.liveLeases.get(nodeId);
  }

  /** True while the live-node cache is loaded and watched (after start(), before stop()). */
  get isCacheRunning(): boolean {
    return this.cacheRunning;
  }

  /** Live nodes read from etcd now (linearizable). */
  async listNodes(): Promise<NodeInfo[]> {
    const { client, keyspace } = this.opts;
    const res = await timed(this.opts.hooks, 'list_nodes', () => client.getAll().prefix(keyspace.nodesPrefix()).exec());
    const out: NodeInfo[] = [];
    for (const kv of res.kvs) {
      const key = kv.key.toString();
      const nodeId = keyspace.nodeIdOf(key);
      if (!nodeId) continue;
      try {
        out.push({ nodeId, leaseId: String(kv.lease), ...parseJsonValue(key, kv.value, NodeValueSchema) });
      } catch (err) {
        this.log.warn({ err, key }, 'corrupt node record skipped');
      }
    }
    return out.sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  }

  /**
   * How etcd sees a session lease now: its granted TTL and the seconds since it was last
   * renewed (granted TTL minus the remaining TTL etcd reports, so 1 s resolution; a renewal
   * within the last second reads as 0 or 1). Undefined when etcd no longer holds the lease.
   * One etcd call (LeaseTimeToLive, answered by the leader).
   */
  async leaseRenewal(leaseId: string): Promise<{ grantedTtlSec: number; sinceRenewalSec: number } | undefined> {
    const res = await timed(this.opts.hooks, 'lease_ttl', () => this.opts.client.leaseClient.leaseTimeToLive({ ID: leaseId, keys: false }));
    const ttl = Number(res.TTL);
    const granted = Number(res.grantedTTL);
    if (!Number.isFinite(ttl) || ttl < 0 || !Number.isFinite(granted) || granted <= 0) return undefined;
    return { grantedTtlSec: granted, sinceRenewalSec: Math.max(0, granted - ttl) };
  }

  /** True while the nodes watch is connected. */
  get isWatchConnected(): boolean {
    return this.nodes.isWatchConnected;
  }

  /** Subscribes to live-node changes (put/delete of `nodes/` keys). */
  onNodesChange(fn: (c: CacheChange<NodeInfo>) => void): () => void {
    return this.nodes.onChange(fn);
  }

  /** Subscribes to this node's lease events (`joined` after (re)join, `lost`). */
  onLeaseChange(fn: LeaseListener): () => void {
    this.leaseListeners.add(fn);
    return () => this.leaseListeners.delete(fn);
  }

  private emitLease(ev: { type: 'joined' | 'lost'; leaseId: string }): void {
    for (const fn of this.leaseListeners) {
      try {
        fn(ev);
      } catch (err) {
        this.log.error({ err }, 'lease listener threw');
      }
    }
  }

  /** Leaves: stops the rejoin loop, revokes the lease (removing `nodes/<id>` and every owner claim) and stops the watch. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.confirmTimer) clearInterval(this.confirmTimer);
    this.confirmTimer = undefined;
    await this.rejoinLoop;
    const lease = this.lease;
    this.lease = undefined;
    this.joined = false;
    this.currentLeaseId = undefined;
    if (lease) {
      try {
        // Bounded: a shutdown must finish within the CLI's 5 s cap, and one etcd call with the
        // client's retries can take ~6 s when etcd is slow or gone; the lease then expires by its TTL.
        await timed(this.opts.hooks, 'lease_revoke', () => rejectAfter(lease.revoke(), LEASE_REVOKE_AT_STOP_MS));
      } catch (err) {
        // etcd unreachable: the lease expires by itself after the TTL; nothing else to do.
        this.log.warn({ err }, 'lease revoke failed; it will expire after its TTL');
      }
    }
    this.cacheRunning = false;
    await this.nodes.stop();
  }
}
