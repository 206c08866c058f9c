/**
 * The chain's verdict on every managed ticket drawn, independent of the voters.
 *
 * A ticket drawn in block B (height h) is voted when its vote is mined in the main-chain
 * block at height h+1 whose parent is B; otherwise dcrd counts it missed. The judge
 * watches the proxies' WatchChain streams: at each draw it notes which drawn tickets the
 * cluster manages (and whether each had an owner then). It judges every main-chain block,
 * not only the draws it heard: it walks the main chain forward from the last block it
 * judged, and once the chain has grown `confirmations` blocks past h+1 it asks a proxy what
 * the child of B redeems (GetBlockVotes: the votes on B mined in the block at h+1 and the
 * tickets that block revokes). With automatic ticket revocations (DCP-0009, decred/dcrd:
 * internal/blockchain/validate.go checkTicketRedeemers) that child revokes every winner of
 * B it holds no vote for, so B's winners are its votes plus its revocations: a draw the
 * proxies never streamed (their dcrd was cut off, or it caught up on reconnect without
 * notifying) is judged exactly all the same. A gap longer than `maxBackfill` blocks is not
 * walked: its blocks are counted in `votecluster_chain_unjudged_blocks_total` and logged.
 * Waiting for a confirmation keeps a one-block reorg from counting a draw twice. Nothing
 * here needs a voter to be alive: a ticket nobody could vote is counted like any other miss.
 *
 * The reason of a miss is what the cluster knew: `unvotable` (its record cannot be used),
 * `no-owner` (no voter held it at the draw), `late` (a voter recorded a vote that did not
 * make the next block), `unseen-draw` (the judge never heard the draw: no proxy streamed
 * it), `unknown` otherwise.
 */
import type { Counter } from 'prom-client';
import type { NetParams } from '../decred/index.ts';
import type { ChainEvent, NodeProxyClient, StreamStartInfo } from '../nodeproxy/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { TicketStore } from './ports.ts';

/** Why a managed ticket's vote did not make the next block, as far as the cluster knows. */
export type MissReason = 'unvotable' | 'no-owner' | 'late' | 'unseen-draw' | 'unknown';

/** The chain's verdict on one managed ticket drawn in one main-chain block. */
export interface ChainVerdict {
  ticketHash: string;
  /** The block whose lottery drew the ticket, and its height. */
  blockHash: string;
  height: number;
  outcome: 'voted' | 'missed';
  reason?: MissReason;
  /** The block at height + 1 that holds (or lacks) the vote. */
  judgedIn: string;
  /** The txid of the mined vote (voted only). */
  voteTxid?: string;
  judgedAtMs: number;
}

/** What the judge asks the cluster about a ticket. */
export interface ChainJudgeLookups {
  /** Is the ticket managed by the cluster (has a tickets/ record)? */
  isManaged(ticketHash: string): Promise<boolean>;
  /** The node holding owners/<ticket> now, if any. */
  ownerOf(ticketHash: string): Promise<string | undefined>;
  /** Has a voter recorded a vote for (ticket, block)? */
  voteRecorded(ticketHash: string, blockHash: string): Promise<boolean>;
  /** Is the ticket's record unusable (another cluster key, corrupt)? */
  isUnvotable?(ticketHash: string): Promise<boolean>;
  /** The height of the block in which the ticket expires, when its record says where it was mined. */
  expiryHeight?(ticketHash: string): Promise<number | undefined>;
}

/** Options of {@link createChainJudge}. */
export interface ChainJudgeOptions {
  /** Proxies to watch (every draw is judged once, whichever proxy told it first). */
  proxies: readonly NodeProxyClient[];
  lookups: ChainJudgeLookups;
  network: string;
  log: Logger;
  /** `votecluster_chain_voted_tickets_total` / `votecluster_chain_missed_tickets_total`. */
  metrics?: { voted: Counter<'network'>; missed: Counter<'network' | 'reason'>; unjudged?: Counter<'network'> };
  /** Blocks past h+1 before a draw at h is judged (default 1). */
  confirmations?: number;
  /** Most blocks walked to close one gap in the heights heard (default 2,016); a longer gap is counted unjudged. */
  maxBackfill?: number;
  /** Verdicts kept for {@link ChainJudge.recent} (default 10,000). */
  keep?: number;
  /** Called with each verdict. */
  onVerdict?(v: ChainVerdict): void;
  now?: () => number;
}

/** A running judge. */
export interface ChainJudge {
  start(): void;
  stop(): Promise<void>;
  /** Newest last. */
  recent(): readonly ChainVerdict[];
  /** The newest verdict on a ticket among the kept ones (a ticket is drawn on the main chain once). */
  verdictOf(ticketHash: string): ChainVerdict | undefined;
  /** Totals since start; `unjudgedBlocks`: blocks skipped past the backfill bound. */
  totals(): { voted: number; missed: number; byReason: Record<MissReason, number>; unjudgedBlocks: number };
  /** Resolves once everything received so far is judged or waiting for confirmations. */
  idle(): Promise<void>;
  /**
   * Resolves once the judge follows the chain: from the best block a proxy reported when its
   * stream opened (that block's draw included), or else from the first block it heard connect.
   */
  following(): Promise<void>;
  /** When `start()` ran (the figures cover what the chain did since then). */
  readonly startedAtMs: number | undefined;
}

interface Draw {
  height: number;
  /** Managed tickets of the draw and whether each had an owner at the draw. */
  managed: Map<string, { owned: boolean }>;
}

interface BlockRef {
  height: number;
  prev: string;
}

/** How many recent blocks and draws are remembered (far past any reorg the judge waits out). */
const WINDOW_BLOCKS = 64;

/** Creates the judge; `start()` subscribes to the proxies. */
export function createChainJudge(o: ChainJudgeOptions): ChainJudge {
  const confirmations = o.confirmations ?? 1;
  const keep = o.keep ?? 10_000;
  const now = o.now ?? Date.now;
  const log = o.log.child({ component: 'chain-judge' });
  const blocks = new Map<string, BlockRef>();
  const draws = new Map<string, Draw>();
  const judged = new Set<string>();
  const verdicts: ChainVerdict[] = [];
  const byTicket = new Map<string, ChainVerdict>();
  const totals = { voted: 0, missed: 0, unjudgedBlocks: 0, byReason: { unvotable: 0, 'no-owner': 0, late: 0, 'unseen-draw': 0, unknown: 0 } as Record<MissReason, number> };
  const maxBackfill = o.maxBackfill ?? 2_016;
  /** The walk: the last main-chain height judged and the hash of the block after it. */
  let cursor: { height: number; next: string } | undefined;
  let setFollowing: () => void = () => {};
  const following = new Promise<void>((resolve) => {
    setFollowing = resolve;
  });
  /** Starts the walk (once): `next` at `height + 1` is the first block judged. */
  const anchor = (height: number, next: string): void => {
    if (cursor) return;
    cursor = { height, next };
    setFollowing();
  };
  const handles: Array<{ close(): void }> = [];
  let queue: Promise<void> = Promise.resolve();
  let startedAtMs: number | undefined;

  const enqueue = (what: string, fn: () => Promise<void>): void => {
    queue = queue.then(fn).catch((err: unknown) => {
      log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code }, what }, 'chain judge step failed; the draw is judged again at the next block');
    });
  };

  const prune = (tipHeight: number): void => {
    for (const [h, b] of blocks) if (b.height < tipHeight - WINDOW_BLOCKS) blocks.delete(h);
    for (const [h, d] of draws) if (d.height < tipHeight - WINDOW_BLOCKS) draws.delete(h);
    if (judged.size > 4 * WINDOW_BLOCKS) {
      const drop = judged.size - 2 * WINDOW_BLOCKS;
      let i = 0;
      for (const h of judged) {
        if (i++ >= drop) break;
        judged.delete(h);
      }
    }
  };

  const onDraw = async (blockHash: string, height: number, tickets: readonly string[]): Promise<void> => {
    if (draws.has(blockHash) || judged.has(blockHash)) return;
    const managed = new Map<string, { owned: boolean }>();
    for (const t of tickets) {
      if (await o.lookups.isManaged(t)) managed.set(t, { owned: (await o.lookups.ownerOf(t)) !== undefined });
    }
    draws.set(blockHash, { height, managed });
  };

  const reasonFor = async (ticketHash: string, blockHash: string, owned: boolean | undefined): Promise<MissReason> => {
    if (await o.lookups.isUnvotable?.(ticketHash)) return 'unvotable';
    if (await o.lookups.voteRecorded(ticketHash, blockHash)) return 'late';
    if (owned === undefined) return 'unseen-draw';
    return owned ? 'unknown' : 'no-owner';
  };

  /**
   * Judges main-chain block `blockHash` at `height` from what its child redeems; returns the
   * child's hash. A heard draw gives the managed tickets (and their owners at the draw); an
   * unheard one is read from the child: its votes on the block and its revocations.
   */
  const judgeBlock = async (blockHash: string, height: number): Promise<string> => {
    const r = await firstAnswer((p) => p.getBlockRedeemers(blockHash, height, { deadlineMs: 5_000 }));
    if (r.childHash === undefined) throw new Error(`no main-chain child of block ${blockHash} at height ${height + 1} yet`);
    const next = r.childHash;
    const heard = draws.get(blockHash);
    judged.add(blockHash);
    draws.delete(blockHash);
    const minedVotes = new Map(r.votes.filter((v) => v.minedIn === next).map((v) => [v.ticket, v] as const));
    const mined = new Set(minedVotes.keys());
    let managed: Map<string, { owned: boolean | undefined }>;
    if (heard) managed = heard.managed;
    else {
      managed = new Map();
      for (const t of new Set([...mined, ...r.revoked])) {
        if (!(await o.lookups.isManaged(t))) continue;
        // The child also revokes the tickets expiring as of it, which were not drawn (decred/dcrd:
        // blockchain/stake/tickets.go ExpiringNextBlock leaves winners out). A managed ticket that
        // expires in the child is counted as expired, not missed: the one case the revocations
        // cannot tell apart from a missed winner, logged.
        if (!mined.has(t) && (await o.lookups.expiryHeight?.(t)) === height + 1) {
          log.warn({ ticketHash: t, blockHash, height }, 'managed ticket revoked as it expires; not counted as a miss');
          continue;
        }
        managed.set(t, { owned: undefined });
      }
      if (managed.size > 0) log.warn({ blockHash, height, managed: managed.size }, 'judging a draw no proxy streamed, from the chain');
    }
    for (const [ticketHash, { owned }] of managed) {
      const minedVote = minedVotes.get(ticketHash);
      const v: ChainVerdict = {
        ticketHash, blockHash, height, outcome: minedVote ? 'voted' : 'missed', judgedIn: next, judgedAtMs: now(),
        ...(minedVote ? { voteTxid: minedVote.txid } : { reason: await reasonFor(ticketHash, blockHash, owned) }),
      };
      if (minedVote) {
        totals.voted++;
        o.metrics?.voted.inc({ network: o.network });
      } else {
        totals.missed++;
        totals.byReason[v.reason as MissReason]++;
        o.metrics?.missed.inc({ network: o.network, reason: v.reason as MissReason });
        log.error({ ticketHash, blockHash, height, reason: v.reason }, 'managed ticket missed its vote on chain');
      }
      verdicts.push(v);
      byTicket.set(ticketHash, v);
      if (verdicts.length > keep) {
        for (const old of verdicts.splice(0, verdicts.length - keep)) if (byTicket.get(old.ticketHash) === old) byTicket.delete(old.ticketHash);
      }
      o.onVerdict?.(v);
    }
    return next;
  };

  /**
   * On a main-chain connect at height H: judges every block up to H - 1 - confirmations,
   * walking forward from the last block judged (its child next), whatever the proxies streamed.
   */
  const onConnected = async (hash: string, height: number, prev: string): Promise<void> => {
    blocks.set(hash, { height, prev });
    prune(height);
    // Without a stream start's best block, the first block heard anchors the walk.
    if (!cursor) {
      anchor(height - 1, hash);
      return;
    }
    const target = height - 1 - confirmations;
    if (target - cursor.height > maxBackfill) {
      const skipped = height - 1 - cursor.height;
      totals.unjudgedBlocks += skipped;
      o.metrics?.unjudged?.inc({ network: o.network }, skipped);
      log.error({ from: cursor.height + 1, to: height - 1, maxBackfill }, 'gap in the chain heard is longer than the backfill bound; its draws are not judged');
      cursor = { height: height - 1, next: hash };
      return;
    }
    if (target > cursor.height + 1) log.warn({ from: cursor.height + 1, to: target }, 'gap in the chain heard; judging the skipped blocks from the chain');
    let at: { height: number; next: string } = cursor;
    while (at.height < target) {
      const h: number = at.height + 1;
      // The chain heard wins over the child link followed earlier: a reorg replaced that block.
      const block = heardAt(hash, h) ?? at.next;
      const next: string = judged.has(block) ? await childOf(block, h) : await judgeBlock(block, h);
      at = { height: h, next };
      cursor = at;
    }
  };

  /** The block at height `h` on the chain heard below `from`, when no hole in it hides it. */
  const heardAt = (from: string, h: number): string | undefined => {
    let b = blocks.get(from);
    while (b && b.height > h) {
      if (b.height === h + 1) return b.prev;
      b = blocks.get(b.prev);
    }
    return undefined;
  };

  const childOf = async (blockHash: string, height: number): Promise<string> => {
    const r = await firstAnswer((p) => p.getBlockRedeemers(blockHash, height, { deadlineMs: 5_000 }));
    if (r.childHash === undefined) throw new Error(`no main-chain child of block ${blockHash} at height ${height + 1} yet`);
    return r.childHash;
  };

  const firstAnswer = async <T>(fn: (p: NodeProxyClient) => Promise<T>): Promise<T> => {
    let last: unknown;
    for (const p of o.proxies) {
      try {
        return await fn(p);
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new Error('no proxy to ask');
  };

  const onEvent = (ev: ChainEvent): void => {
    switch (ev.kind) {
      case 'winning_tickets': {
        const d = ev.draw;
        enqueue('draw', () => onDraw(d.blockHash, d.height, d.tickets));
        return;
      }
      case 'block_connected': {
        const b = ev.block;
        enqueue('block', () => onConnected(b.hash, b.height, b.prevHash));
        return;
      }
      default:
        return;
    }
  };

  return {
    start() {
      startedAtMs = now();
      for (const p of o.proxies) {
        const onStreamStart = (s: StreamStartInfo): void => {
          const best = s.bestBlock;
          if (best && best.height > 0) enqueue('anchor', async () => anchor(best.height - 1, best.hash));
        };
        handles.push(p.watchChain({ autoResume: true, onStreamStart }, onEvent));
      }
    },
    async stop() {
      for (const h of handles.splice(0)) h.close();
      await queue;
    },
    recent: () => verdicts,
    verdictOf: (ticketHash) => byTicket.get(ticketHash),
    totals: () => ({ voted: totals.voted, missed: totals.missed, unjudgedBlocks: totals.unjudgedBlocks, byReason: { ...totals.byReason } }),
    idle: () => queue,
    following: () => following,
    get startedAtMs() {
      return startedAtMs;
    },
  };
}

/** The judge's lookups answered from the cluster store. */
export function storeLookups(
  store: Pick<TicketStore, 'getTicket' | 'listOwners' | 'listVotes' | 'unvotableTickets'>,
  params?: Pick<NetParams, 'ticketMaturity' | 'ticketExpiry'>,
): ChainJudgeLookups {
  const unvotable = (t: string): boolean => store.unvotableTickets?.().has(t) ?? false;
  return {
    // A record no voter can use is still a ticket the cluster manages: its misses count.
    isManaged: async (t) => unvotable(t) || (await store.getTicket(t)) !== undefined,
    isUnvotable: async (t) => unvotable(t),
    ownerOf: async (t) => (await store.listOwners()).get(t),
    voteRecorded: async (t, b) => (await store.listVotes()).some((v) => v.ticketHash === t && v.blockHash === b),
    // A ticket mined at height t goes live at t + TicketMaturity and expires TicketExpiry blocks
    // later (decred/dcrd: blockchain/stake/tickets.go connectNode and ExpiringNextBlock).
    ...(params
      ? {
          expiryHeight: async (t: string) => {
            const h = (await store.getTicket(t))?.blockHeight;
            return h === undefined ? undefined : h + params.ticketMaturity + params.ticketExpiry;
          },
        }
      : {}),
  };
}
