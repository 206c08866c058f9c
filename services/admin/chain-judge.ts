/**
 * The chain's verdict on every managed ticket drawn, independent of the voters.
 *
 * A ticket drawn in block B (height h) is voted when its vote is mined in the main-chain
 * block at height h+1 whose parent is B; otherwise dcrd counts it missed. The judge
 * watches the proxies' WatchChain streams: at each draw it notes which drawn tickets the
 * cluster manages (and whether each had an owner then); once the main chain has grown
 * `confirmations` blocks past h+1 it asks a proxy for B's votes (GetBlockVotes: the ones
 * mined in the block at h+1) and gives each managed ticket its verdict. Waiting for a
 * confirmation keeps a one-block reorg from counting a draw twice. Nothing here needs a
 * voter to be alive: a ticket nobody could vote is counted like any other miss.
 *
 * The reason of a miss is what the cluster knew: `unvotable` (its record cannot be used),
 * `no-owner` (no voter held it at the draw), `late` (a voter recorded a vote that did not
 * make the next block), `unknown` otherwise.
 */
import type { Counter } from 'prom-client';
import type { ChainEvent, NodeProxyClient } from '../nodeproxy/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { TicketStore } from './ports.ts';

/** Why a managed ticket's vote did not make the next block, as far as the cluster knows. */
export type MissReason = 'unvotable' | 'no-owner' | 'late' | 'unknown';

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
}

/** Options of {@link createChainJudge}. */
export interface ChainJudgeOptions {
  /** Proxies to watch (every draw is judged once, whichever proxy told it first). */
  proxies: readonly NodeProxyClient[];
  lookups: ChainJudgeLookups;
  network: string;
  log: Logger;
  /** `votecluster_chain_voted_tickets_total` / `votecluster_chain_missed_tickets_total`. */
  metrics?: { voted: Counter<'network'>; missed: Counter<'network' | 'reason'> };
  /** Blocks past h+1 before a draw at h is judged (default 1). */
  confirmations?: number;
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
  /** Totals since start. */
  totals(): { voted: number; missed: number; byReason: Record<MissReason, number> };
  /** Resolves once everything received so far is judged or waiting for confirmations. */
  idle(): Promise<void>;
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
  const totals = { voted: 0, missed: 0, byReason: { unvotable: 0, 'no-owner': 0, late: 0, unknown: 0 } as Record<MissReason, number> };
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

  const reasonFor = async (ticketHash: string, blockHash: string, owned: boolean): Promise<MissReason> => {
    if (await o.lookups.isUnvotable?.(ticketHash)) return 'unvotable';
    if (await o.lookups.voteRecorded(ticketHash, blockHash)) return 'late';
    return owned ? 'unknown' : 'no-owner';
  };

  const judge = async (blockHash: string, draw: Draw, next: string): Promise<void> => {
    judged.add(blockHash);
    draws.delete(blockHash);
    if (draw.managed.size === 0) return;
    const votes = await firstAnswer((p) => p.getBlockVotes(blockHash, draw.height, { deadlineMs: 5_000 }));
    const mined = new Set(votes.filter((v) => v.minedIn === next).map((v) => v.ticket));
    for (const [ticketHash, { owned }] of draw.managed) {
      const voted = mined.has(ticketHash);
      const v: ChainVerdict = {
        ticketHash, blockHash, height: draw.height, outcome: voted ? 'voted' : 'missed', judgedIn: next, judgedAtMs: now(),
        ...(voted ? {} : { reason: await reasonFor(ticketHash, blockHash, owned) }),
      };
      if (voted) {
        totals.voted++;
        o.metrics?.voted.inc({ network: o.network });
      } else {
        totals.missed++;
        totals.byReason[v.reason as MissReason]++;
        o.metrics?.missed.inc({ network: o.network, reason: v.reason as MissReason });
        log.error({ ticketHash, blockHash, height: draw.height, reason: v.reason }, 'managed ticket missed its vote on chain');
      }
      verdicts.push(v);
      if (verdicts.length > keep) verdicts.splice(0, verdicts.length - keep);
      o.onVerdict?.(v);
    }
  };

  /** On a main-chain connect at height H: judges the draw at H - 1 - confirmations on this chain. */
  const onConnected = async (hash: string, height: number, prev: string): Promise<void> => {
    blocks.set(hash, { height, prev });
    prune(height);
    // Walk back `confirmations` blocks to the judging block (the one at h+1), then one more to the drawn block.
    let cursor = hash;
    for (let i = 0; i < confirmations; i++) {
      const b = blocks.get(cursor);
      if (!b) return;
      cursor = b.prev;
    }
    const next = cursor;
    const drawn = blocks.get(next)?.prev;
    if (drawn === undefined || judged.has(drawn)) return;
    const draw = draws.get(drawn);
    if (!draw) return; // drawn before the judge started, or no draw (below stake validation height)
    await judge(drawn, draw, next);
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
      for (const p of o.proxies) handles.push(p.watchChain({ autoResume: true }, onEvent));
    },
    async stop() {
      for (const h of handles.splice(0)) h.close();
      await queue;
    },
    recent: () => verdicts,
    totals: () => ({ voted: totals.voted, missed: totals.missed, byReason: { ...totals.byReason } }),
    idle: () => queue,
    get startedAtMs() {
      return startedAtMs;
    },
  };
}

/** The judge's lookups answered from the cluster store. */
export function storeLookups(store: Pick<TicketStore, 'getTicket' | 'listOwners' | 'listVotes' | 'unvotableTickets'>): ChainJudgeLookups {
  const unvotable = (t: string): boolean => store.unvotableTickets?.().has(t) ?? false;
  return {
    // A record no voter can use is still a ticket the cluster manages: its misses count.
    isManaged: async (t) => unvotable(t) || (await store.getTicket(t)) !== undefined,
    isUnvotable: async (t) => unvotable(t),
    ownerOf: async (t) => (await store.listOwners()).get(t),
    voteRecorded: async (t, b) => (await store.listVotes()).some((v) => v.ticketHash === t && v.blockHash === b),
  };
}
