/**
 * Keeps this node's owner claims in line with the rendezvous ranking
 * (docs/architecture.md, invariant 1). Claims are made ahead of draws so the owner's
 * fast path needs no etcd I/O at draw time:
 * - a ticket whose rank-0 node (among live nodes) is this node and that has no
 *   claim is claimed (create-if-absent bound to our lease);
 * - a claim we hold on a ticket whose rank-0 node is ANOTHER live node is
 *   handed straight to that node (the claim is rewritten, bound to its lease, in
 *   one guarded txn) once it accepts claims, i.e. once its proxy streams are up
 *   (`nodes/<id>` acceptsClaims, set by its first sweep). Until then we keep it.
 *   So ownership rebalances when nodes join without a ticket ever being
 *   unowned: no draw falls in a release-to-claim gap (record-first, and
 *   through an etcd quorum loss no vote at all).
 * - `leave()` (graceful stop): stop accepting, then hand every claim to the
 *   ticket's best-ranked other node before the lease is revoked.
 * A sweep runs on start, whenever membership changes, a claim disappears or a
 * ticket is added (debounced), and periodically as a safety net. A sweep ranks
 * every managed ticket with `myShare` (yielding to the event loop every 1,000
 * tickets: a loop that blocks past the lease TTL loses the lease), then claims
 * its unclaimed share and hands over its surplus in batched txns (`claimMany`,
 * `handOverMany`: ~127 per etcd request), so 100,000 tickets among 6 nodes are
 * owned in well under a second of etcd time. `ready` resolves once this node
 * owns its whole share (claimed, or handed over by the others; bounded by
 * READY_HANDOVER_MAX_MS). The claimer holds no per-ticket state between sweeps.
 * The cluster-wide unowned count (gauge) is maintained from the ticket and owner
 * caches' change events (one exact count at start, then +-1 per event), not by
 * walking every ticket.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Cluster } from '../cluster/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { settledWithin } from '../base/index.ts';

/** What the claimer needs from the cluster (no call but the batched ones does I/O). */
export interface ClaimPort {
  selfId: string;
  /** True when the ticket is managed (in the ticket cache). */
  isManaged(ticketHex: string): boolean;
  /** True while this node's own `nodes/` key is in the live set (its rankings count it). */
  isSelfLive(): boolean;
  /** The managed tickets whose rank-0 live node is this node; yields to the event loop in chunks. */
  myShare(opts: { signal?: AbortSignal }): Promise<string[]>;
  /** The rank-0 live node id of the ticket, or undefined when no node is live. */
  rankFirst(ticketHex: string): string | undefined;
  ownerOf(ticketHex: string): string | undefined;
  /** Tickets this node holds a claim on (owner cache). */
  ownedByMe(): readonly string[];
  /** Batched create-if-absent claims, one result per ticket in order. */
  claimMany(ts: readonly string[]): Promise<ReadonlyArray<{ won: boolean; owner: string }>>;
  /**
   * Batched hand-overs of our own claims straight to each ticket's rank-0 node (or, `leaving`,
   * to the best-ranked other node) once that node accepts claims; one result per ticket in
   * order (true = handed over). No ticket is ever left without an owner.
   */
  handOverMany(ts: readonly string[], opts?: { leaving?: boolean }): Promise<readonly boolean[]>;
  /** Tells the other nodes whether to hand claims to this node (`nodes/<id>` acceptsClaims). */
  setAcceptsClaims(accepts: boolean): Promise<void>;
  isLeaseFresh(): boolean;
  /** Managed tickets without a claim right now (exact; synchronous, no strings built). */
  countUnowned(): number;
  /** `fn(t, true)` when a ticket becomes managed, `fn(t, false)` when it stops being managed; returns the unsubscribe. */
  onManagedChange(fn: (ticketHex: string, managed: boolean) => void): () => void;
  /** `fn(t, true)` when a claim on `t` appears, `fn(t, false)` when it disappears; returns the unsubscribe. */
  onClaimChange(fn: (ticketHex: string, claimed: boolean) => void): () => void;
}

/**
 * The claim port over an open, joined cluster handle: ticket hashes (never record views),
 * rendezvous rankings, the owner cache, and the batched claim/release txns.
 */
export function clusterClaimPort(c: Cluster, isLeaseFresh: () => boolean): ClaimPort {
  const selfId = c.membership.nodeId;
  const hashOf = (key: string): string | undefined => c.keyspace.ticketHashOf(key);
  return {
    selfId,
    isManaged: (t) => c.tickets.has(t),
    isSelfLive: () => c.membership.liveSnapshot().nodes.some((n) => n.nodeId === selfId),
    // By ticket id: only the share's hashes become strings (sweeps run every few seconds).
    myShare: (o) => c.owners.myShareOfIds(c.tickets.idSnapshot(), (id) => c.tickets.hasId(id), o),
    rankFirst: (t) => c.owners.ownerRankId(t),
    ownerOf: (t) => c.owners.ownerOf(t),
    ownedByMe: () => c.owners.ownedByMe(),
    claimMany: (ts) => c.owners.claimMany(ts),
    handOverMany: async (ts, o) => (await c.owners.handOverMany(ts, o)).map((to) => to !== undefined),
    setAcceptsClaims: (accepts) => c.membership.setAcceptsClaims(accepts),
    isLeaseFresh,
    countUnowned: () => {
      let n = 0;
      c.tickets.forEachId((id) => {
        if (c.owners.ownerOfId(id) === undefined) n++;
      });
      return n;
    },
    // Added = a put of a key the cache did not hold; removed = a delete of one it held.
    onManagedChange: (fn) => c.tickets.onChange((ch) => {
      const t = hashOf(ch.type === 'put' ? ch.entry.key : ch.key);
      if (t === undefined) return;
      if (ch.type === 'put' && ch.previous === undefined) fn(t, true);
      else if (ch.type === 'delete' && ch.previous !== undefined) fn(t, false);
    }),
    onClaimChange: (fn) => c.owners.onChange((ch) => {
      const t = hashOf(ch.type === 'put' ? ch.entry.key : ch.key);
      if (t === undefined) return;
      if (ch.type === 'put' && ch.previous === undefined) fn(t, true);
      else if (ch.type === 'delete' && ch.previous !== undefined) fn(t, false);
    }),
  };
}

/** Options of {@link Claimer}. */
export interface ClaimerOptions {
  /** Debounce of change-triggered sweeps. */
  debounceMs: number;
  /** Interval of the safety-net sweep. */
  periodMs: number;
  /** How long a sweep waits for its won claims to show in the owner cache (start-up: "owns"). */
  settleMs?: number;
}

/** Start-up: `ready` waits at most this long for the other nodes to hand this node its share. */
export const READY_HANDOVER_MAX_MS = 10_000;
/** Start-up: while waiting for hand-overs, re-sweep this often (a sweep is cheap; nothing pokes us on a hand-over). */
const READY_RECHECK_MS = 200;

/** Tickets checked between two yields to the event loop. */
const CHUNK = 1_000;
/** Default wait for won claims to appear in the owner cache. */
const DEFAULT_SETTLE_MS = 2_000;

/**
 * Tickets per batched claim/release call: 16 etcd txns of 127, so building the requests and
 * reading the results of one call stays a few ms of synchronous work (17k at once took ~100 ms).
 */
const BATCH_CALL = 16 * 127;

/** Runs `fn` over `ts` in calls of BATCH_CALL tickets, one after another; results in order. */
async function inChunks<R>(ts: readonly string[], fn: (ts: readonly string[]) => Promise<ReadonlyArray<R>>, signal: AbortSignal): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < ts.length && !signal.aborted; i += BATCH_CALL) out.push(...(await fn(ts.slice(i, i + BATCH_CALL))));
  return out;
}

/** Start-up: our own join is not in the live-node cache yet (the membership change pokes a new sweep). */
class NotLiveYetError extends Error {
  constructor() {
    super('this node is not in the live set yet; not claiming');
  }
}

/** Yields to the event loop (timers and I/O callbacks run). */
function yieldLoop(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

export class Claimer {
  readonly #port: ClaimPort;
  readonly #log: Logger;
  readonly #opts: ClaimerOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #dirty = true;
  #wake: (() => void) | undefined;
  #sweeps = 0;
  #claimed = 0;
  #released = 0;
  /** Share tickets held by another node at the last sweep (hand-overs still to come). */
  #awaiting = 0;
  #accepting = false;
  #firstSweepAt: number | undefined;
  /** `ready` has resolved (the share is ours, or the start-up wait ran out). */
  #ready = false;
  #unowned: number | undefined;
  #unsubscribe: Array<() => void> = [];
  #firstSweepDone: Promise<void>;
  #resolveFirst!: () => void;

  constructor(port: ClaimPort, log: Logger, opts: ClaimerOptions) {
    this.#port = port;
    this.#log = log;
    this.#opts = opts;
    this.#firstSweepDone = new Promise((r) => { this.#resolveFirst = r; });
  }

  /** Resolves once this node owns its share: claimed, or handed over by the others (start-up: "owns its share"). */
  get ready(): Promise<void> {
    return this.#firstSweepDone;
  }

  /**
   * Managed tickets without a claim (any node's) right now, or undefined before `start()`:
   * counted once at start, then kept current from the caches' change events.
   */
  get unowned(): number | undefined {
    return this.#unowned;
  }

  /** `released` counts claims this node handed over to other nodes. */
  stats(): { sweeps: number; claimed: number; released: number } {
    return { sweeps: this.#sweeps, claimed: this.#claimed, released: this.#released };
  }

  /**
   * Claims this node holds on managed tickets whose rank-0 live node is another node: the
   * releases a sweep still has to make (0 once ownership has settled). O(owned); for
   * diagnosis and readiness checks, not for a hot path.
   */
  surplus(): number {
    let n = 0;
    for (const t of this.#port.ownedByMe()) if (this.#isSurplus(t)) n++;
    return n;
  }

  /** A claim of ours on a managed ticket whose rank-0 live node is another node (to hand over). */
  #isSurplus(t: string): boolean {
    const first = this.#port.rankFirst(t);
    return first !== undefined && first !== this.#port.selfId && this.#port.isManaged(t);
  }

  /** Asks for a sweep soon (membership, owners or tickets changed). */
  poke(): void {
    this.#dirty = true;
    this.#wake?.();
  }

  start(): void {
    if (this.#loop) return;
    const port = this.#port;
    // Subscribe first, then count: both run in this tick, so no event falls between them.
    this.#unsubscribe.push(
      port.onManagedChange((t, managed) => {
        if (this.#unowned !== undefined && port.ownerOf(t) === undefined) this.#unowned += managed ? 1 : -1;
      }),
      port.onClaimChange((t, claimed) => {
        if (this.#unowned !== undefined && port.isManaged(t)) this.#unowned += claimed ? -1 : 1;
      }),
    );
    this.#unowned = port.countUnowned();
    this.#loop = this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    for (const u of this.#unsubscribe.splice(0)) u();
    await this.#loop;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.#dirty) {
        this.#dirty = false;
        try {
          await this.sweep(signal);
        } catch (err) {
          // etcd unreachable or lease lost: claims wait for the next sweep; draws meanwhile
          // take the record-first path, which is safe.
          this.#dirty = true;
          if (err instanceof NotLiveYetError) this.#log.debug({}, err.message);
          else this.#log.warn({ err }, 'claim sweep failed; will retry');
        }
        this.#checkReady();
      }
      // Start-up, share not all ours yet: look again soon (a hand-over to us pokes nothing).
      const starting = this.#firstSweepAt !== undefined && !this.#ready;
      if (starting && this.#awaiting > 0) this.#dirty = true;
      // Sleep until poked or the period passes; the timer is cleared on wake so no
      // abort listeners pile up on the voter's signal.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, starting ? READY_RECHECK_MS : this.#dirty ? this.#opts.periodMs / 4 : this.#opts.periodMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
      if (signal.aborted) break;
      if (!this.#dirty) this.#dirty = true; // periodic sweep
      // Debounce bursts of changes into one sweep.
      try {
        await delay(this.#opts.debounceMs, undefined, { signal });
      } catch {
        break;
      }
    }
    this.#resolveFirst();
  }

  /** Resolves `ready` once the share is all ours, or READY_HANDOVER_MAX_MS after the first sweep. */
  #checkReady(): void {
    if (this.#ready || this.#firstSweepAt === undefined) return;
    const waited = Date.now() - this.#firstSweepAt;
    if (this.#awaiting > 0 && waited < READY_HANDOVER_MAX_MS) return;
    if (this.#awaiting > 0) this.#log.warn({ awaiting: this.#awaiting, waitedMs: waited }, 'share not all handed over yet; ready anyway (the rest follows)');
    this.#ready = true;
    this.#resolveFirst();
  }

  /**
   * Graceful stop (after `stop()`, before the lease is revoked): tells the other nodes to stop
   * handing claims here, then hands every claim this node holds to each ticket's best-ranked
   * other accepting node, so none of them is unowned when the lease goes. Bounded by
   * `timeoutMs`; claims not handed over vanish with the lease as before. Returns how many
   * were handed over.
   */
  async leave(timeoutMs: number): Promise<number> {
    const port = this.#port;
    const work = (async (): Promise<number> => {
      await port.setAcceptsClaims(false);
      const mine = port.ownedByMe();
      if (mine.length === 0) return 0;
      const res = await inChunks(mine, (ts) => port.handOverMany(ts, { leaving: true }), new AbortController().signal);
      const n = res.filter(Boolean).length;
      this.#released += n;
      return n;
    })();
    work.catch(() => undefined); // awaited below when it settles in time; else it finishes on its own
    if (!(await settledWithin(work, timeoutMs))) {
      this.#log.warn({ timeoutMs }, 'claim hand-over at stop timed out; the rest vanish with the lease');
      return 0;
    }
    try {
      const n = await work;
      this.#log.info({ handedOver: n }, 'claims handed over before leaving');
      return n;
    } catch (err) {
      this.#log.warn({ err }, 'claim hand-over at stop failed; the claims vanish with the lease');
      return 0;
    }
  }

  /**
   * One pass over every managed ticket: claim the unclaimed share, hand over claims where
   * another live node is rank 0. Never blocks the event loop for more than one chunk.
   */
  async sweep(signal: AbortSignal): Promise<void> {
    const port = this.#port;
    if (!port.isLeaseFresh()) throw new Error('lease not fresh; not claiming');
    // Until our own join shows in the live set, every ranking would leave us out (and tell us
    // to release everything): wait for the membership change that pokes us.
    if (!port.isSelfLive()) throw new NotLiveYetError();
    // Our streams are up (the voter starts the claimer only then): let the others hand us our share.
    if (!this.#accepting) {
      await port.setAcceptsClaims(true);
      this.#accepting = true;
    }
    const t0 = performance.now();
    const share = await port.myShare({ signal });
    const shareMs = Math.round(performance.now() - t0);
    if (signal.aborted) return;
    const toClaim: string[] = [];
    let awaiting = 0;
    for (let i = 0; i < share.length; i++) {
      const t = share[i] as string;
      const owner = port.ownerOf(t);
      if (owner === undefined) toClaim.push(t);
      else if (owner !== port.selfId) awaiting++;
      if (i % CHUNK === CHUNK - 1) await yieldLoop();
    }
    this.#awaiting = awaiting;
    const toRelease: string[] = [];
    const mine = port.ownedByMe();
    for (let i = 0; i < mine.length; i++) {
      const t = mine[i] as string;
      if (this.#isSurplus(t)) toRelease.push(t);
      if (i % CHUNK === CHUNK - 1) await yieldLoop();
    }
    if (signal.aborted) return;
    const t1 = performance.now();
    let firstErr: unknown;
    const won: string[] = [];
    const [claimed, released] = await Promise.all([
      inChunks(toClaim, (ts) => port.claimMany(ts), signal).catch((err: unknown) => { firstErr ??= err; return []; }),
      inChunks(toRelease, (ts) => port.handOverMany(ts), signal).catch((err: unknown) => { firstErr ??= err; return []; }),
    ]);
    claimed.forEach((r, i) => {
      if (r.won) won.push(toClaim[i] as string);
    });
    this.#claimed += won.length;
    for (const r of released) if (r) this.#released++;
    this.#sweeps++;
    this.#firstSweepAt ??= Date.now();
    const claimMs = Math.round(performance.now() - t1);
    if (firstErr !== undefined) throw firstErr;
    const t2 = performance.now();
    await this.#settle(won, signal);
    if (toClaim.length + toRelease.length > 0) {
      const settleMs = Math.round(performance.now() - t2);
      this.#log.info({ claims: toClaim.length, won: won.length, handOvers: toRelease.length, handedOver: released.filter(Boolean).length, awaiting, sweep: this.#sweeps, shareMs, claimMs, settleMs }, 'ownership sweep');
    }
  }

  /** Waits (bounded) until the owner cache shows the claims we won: the fast path reads it. */
  async #settle(won: readonly string[], signal: AbortSignal): Promise<void> {
    const port = this.#port;
    const deadline = Date.now() + (this.#opts.settleMs ?? DEFAULT_SETTLE_MS);
    let i = 0;
    while (i < won.length && !signal.aborted) {
      const stop = Math.min(won.length, i + CHUNK);
      while (i < stop && port.ownerOf(won[i] as string) === port.selfId) i++;
      if (i < stop) {
        if (Date.now() > deadline) {
          this.#log.warn({ visible: i, won: won.length }, 'won claims not yet visible in the owner cache');
          return;
        }
        await delay(10);
      } else {
        await yieldLoop();
      }
    }
  }
}
