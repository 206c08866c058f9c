/**
 * Driving blocks on a layout whose devnet mines manually: each round waits
 * (up to a vote deadline) for a vote at dcrd for every draw of the tip, runs
 * the caller's fault hook, and mines the next block, so a vote later than the
 * deadline is a miss, judged by the devnet exactly as dcrd would. Also the
 * end-of-run checks ("nothing lost").
 */
import { waitUntil } from '../../base/index.ts';
import type { HeldBlock } from '../devnet/index.ts';
import type { Layout } from './layout.ts';

export const DEFAULT_VOTE_DEADLINE_MS = 4_000;
const POLL_MS = 10;
/** How long a round waits for the 3 votes dcrd needs before a block can be mined. */
const MIN_VOTES_TIMEOUT_MS = 30_000;


/**
 * Draws of the miner's tip (main chain) and how many have a vote AT THE MINER: a vote a
 * follower accepted is in the next block only once relayed (one WAN delay later), so the
 * merged report (min over nodes) would let a round mine before the vote arrives.
 */
export function tipDraws(layout: Layout): { height: number; blockHash: string | undefined; drawn: number; voted: number } {
  const tickets = layout.devnet.minerReport().tickets;
  let height = -1;
  for (const t of tickets) if (!t.sideChain && t.height > height) height = t.height;
  const tip = tickets.filter((t) => !t.sideChain && t.height === height);
  return { height, blockHash: tip[0]?.blockHash, drawn: tip.length, voted: tip.filter((t) => t.firstVoteAt !== undefined).length };
}

/** Waits (up to `timeoutMs`) until every draw of the tip has a vote at dcrd; returns whether they all do. */
export function awaitTipVotes(layout: Layout, timeoutMs = DEFAULT_VOTE_DEADLINE_MS): Promise<boolean> {
  return waitUntil(() => {
    const d = tipDraws(layout);
    return d.drawn > 0 && d.voted === d.drawn;
  }, timeoutMs, POLL_MS);
}

/** Mines one block; when dcrd cannot yet (fewer than 3 votes for the tip), waits for them. */
export async function mineOne(layout: Layout, note?: (line: string) => void): Promise<string> {
  const t0 = Date.now();
  const deadline = t0 + MIN_VOTES_TIMEOUT_MS;
  for (;;) {
    try {
      const [h] = await layout.devnet.generate(1);
      if (note && Date.now() - t0 > 1_000) note(`mined only after ${Date.now() - t0} ms (waited for the tip's 3 votes)`);
      return h as string;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Mines one block with its draw held (the devnet's test hook): `atDraw` runs with the block's
 * winners before any voter can hear of them (fault injection), then the draw is released, also
 * when `atDraw` throws. Waits for the tip's 3 votes as {@link mineOne} does.
 */
export async function mineHeld(layout: Layout, atDraw: (held: HeldBlock) => Promise<void>, note?: (line: string) => void): Promise<string> {
  const t0 = Date.now();
  const deadline = t0 + MIN_VOTES_TIMEOUT_MS;
  let held: HeldBlock;
  for (;;) {
    try {
      held = await layout.devnet.generateHeld();
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  if (note && Date.now() - t0 > 1_000) note(`mined only after ${Date.now() - t0} ms (waited for the tip's 3 votes)`);
  try {
    await atDraw(held);
  } finally {
    held.release();
  }
  return held.blockHash;
}

export interface DriveOptions {
  blocks: number;
  /** Mines the round's block (default {@link mineOne}); e.g. {@link mineHeld} to inject a fault at the draw. */
  mine?: (round: number) => Promise<string>;
  /** Per round: how long to wait for the tip's votes before mining anyway (late = missed). */
  voteDeadlineMs?: number;
  /** Each round lasts at least this long (waits before mining): a fault phase spans a minimum time. */
  minRoundMs?: number;
  /** Runs after the tip's votes are in (or the deadline passed), just before mining. */
  beforeBlock?: (round: number) => Promise<void>;
  /** Runs after a block is mined. */
  afterBlock?: (round: number, blockHash: string) => Promise<void>;
  /** Stops after the current round when aborted (Ctrl-C in the demo). */
  signal?: AbortSignal;
  /** Progress lines (slow mining). */
  note?: (line: string) => void;
  /**
   * Whether to mine one more block at the end so the last round's draws are judged (default
   * true). A phase followed by another passes false: the next phase's first block judges them.
   */
  settle?: boolean;
}

/**
 * Mines `blocks` blocks (manual devnet), one round each, then (unless `settle: false`) one more
 * whose only purpose is to judge the last round's draws. Tickets bought meanwhile are imported
 * every round.
 */
export async function driveBlocks(layout: Layout, o: DriveOptions): Promise<void> {
  const deadline = o.voteDeadlineMs ?? DEFAULT_VOTE_DEADLINE_MS;
  for (let i = 0; i < o.blocks && !o.signal?.aborted; i++) {
    const roundEnds = Date.now() + (o.minRoundMs ?? 0);
    await awaitTipVotes(layout, deadline);
    await importQuietly(layout);
    if (o.minRoundMs) await waitUntil(() => Date.now() >= roundEnds || (o.signal?.aborted ?? false), o.minRoundMs + 100, 20);
    await o.beforeBlock?.(i);
    const h = o.mine ? await o.mine(i) : await mineOne(layout, o.note);
    await o.afterBlock?.(i, h);
  }
  if (o.settle === false) return;
  await awaitTipVotes(layout, deadline);
  await mineOne(layout, o.note);
}

/** Imports new tickets; while etcd is unavailable (a fault under test) it tries again next round. */
async function importQuietly(layout: Layout): Promise<void> {
  try {
    await layout.importAllTickets();
  } catch (err) {
    layout.log.warn({ err }, 'ticket import failed; retrying next round');
  }
}

/** What a run lost: managed tickets missing from etcd, and mined votes without a record. */
export interface LossCheck {
  ticketsMissing: string[];
  votesUnrecorded: string[];
  /** Vote records whose tx differs from the vote dcrd mined for that (ticket, block). */
  recordsDiffering: string[];
  /** Vote records written by a repair (`path: 'repair'`: the signer's record was lost). */
  repaired: number;
}

/**
 * Checks "nothing lost": every imported ticket still has its record
 * in etcd, and every vote mined since the layout was ready has its vote record
 * (waits up to `timeoutMs` for records queued during an etcd outage).
 */
export async function checkNothingLost(layout: Layout, timeoutMs = 20_000): Promise<LossCheck> {
  const compute = async (): Promise<LossCheck> => {
    const kvs = await layout.admin.client.getAll().prefix(layout.admin.keyspace.ticketsPrefix()).keys();
    const present = new Set(kvs.map((k) => k.slice(layout.admin.keyspace.ticketsPrefix().length)));
    const ticketsMissing = [...layout.importedTickets()].filter((t) => !present.has(t));
    const recs = await layout.admin.client.getAll().prefix(layout.admin.keyspace.votesPrefix()).strings();
    const byKey = new Map<string, string>();
    let repaired = 0;
    for (const v of Object.values(recs)) {
      const r = JSON.parse(v) as { ticketHash: string; blockHash: string; voteTxid: string; path?: string };
      byKey.set(`${r.blockHash}:${r.ticketHash}`, r.voteTxid);
      if (r.path === 'repair') repaired++;
    }
    const votesUnrecorded: string[] = [];
    const recordsDiffering: string[] = [];
    for (const t of layout.devnet.report().tickets) {
      if (t.drawnAt < layout.readyAt || t.outcome !== 'voted' || !t.minedVoteTxid) continue;
      const k = `${t.blockHash}:${t.ticketHash}`;
      const rec = byKey.get(k);
      if (rec === undefined) votesUnrecorded.push(k);
      else if (rec !== t.minedVoteTxid) recordsDiffering.push(k);
    }
    return { ticketsMissing, votesUnrecorded, recordsDiffering, repaired };
  };
  let last = await compute();
  await waitUntil(async () => {
    last = await compute();
    return last.ticketsMissing.length === 0 && last.votesUnrecorded.length === 0 && last.recordsDiffering.length === 0;
  }, timeoutMs, 200);
  return last;
}
