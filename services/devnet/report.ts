/**
 * Per-ticket vote bookkeeping of one devnet node (issue 3 "report"): for every draw
 * of a managed ticket on a block, when the block connected here, when a vote for it
 * was first accepted here, every distinct valid vote seen (conflicts), and whether
 * the vote was mined in the main-chain child (voted) or not (missed).
 *
 * Records are kept for the last MAX_RECORDS draws so memory stays bounded.
 */
import type { BlockNode } from './chain/chain.ts';
import { hashToHex } from '../decred/index.ts';

const MAX_RECORDS = 200_000;

export type TicketOutcome = 'voted' | 'missed' | 'pending';

export interface DrawRecord {
  ticketHash: string;
  blockHash: string;
  height: number;
  /** Unix ms when the block connected at this node. */
  drawnAt: number;
  /** Unix ms of the first acceptance of a vote for (ticket, block) here. */
  firstVoteAt?: number;
  outcome: TicketOutcome;
  minedVoteTxid?: string;
  /** Full hashes (display hex) of distinct valid votes seen for (ticket, block). */
  voteHashes: Set<string>;
  /** True while the block is not on the main chain. */
  sideChain: boolean;
}

export interface TicketReportEntry {
  ticketHash: string;
  blockHash: string;
  height: number;
  drawnAt: number;
  firstVoteAt?: number;
  outcome: TicketOutcome;
  minedVoteTxid?: string;
  distinctVotes: number;
  /** Milliseconds from draw to first acceptance (min over nodes). */
  latencyMs?: number;
  sideChain: boolean;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface DevnetReport {
  blocks: number;
  drawn: number;
  voted: number;
  missed: number;
  conflicting: number;
  latencyMs: LatencySummary;
  tickets: TicketReportEntry[];
}

const key = (blockHex: string, ticketHex: string): string => `${blockHex}:${ticketHex}`;

export class VoteLedger {
  readonly records = new Map<string, DrawRecord>();
  private readonly byBlock = new Map<string, DrawRecord[]>();
  /** Main-chain blocks connected after bootstrap. */
  blocks = 0;

  constructor(private readonly isManaged: (ticketHex: string) => boolean) {}

  /** Winners of `node` were drawn at `now` (block connected here). */
  onDraw(node: BlockNode, now: number): void {
    for (const w of node.winners) {
      const t = hashToHex(w);
      if (!this.isManaged(t)) continue;
      const k = key(node.hashHex, t);
      if (this.records.has(k)) continue;
      const r: DrawRecord = { ticketHash: t, blockHash: node.hashHex, height: node.height, drawnAt: now, outcome: 'pending', voteHashes: new Set(), sideChain: !node.onMainChain };
      this.records.set(k, r);
      const list = this.byBlock.get(node.hashHex);
      if (list) list.push(r);
      else this.byBlock.set(node.hashHex, [r]);
    }
    while (this.records.size > MAX_RECORDS) {
      const [k, r] = this.records.entries().next().value as [string, DrawRecord];
      this.records.delete(k);
      this.byBlock.delete(r.blockHash);
    }
  }

  /** A valid vote for (ticket, block) was seen; `accepted` = it entered the mempool here. */
  onVote(blockHex: string, ticketHex: string, fullHashHex: string, accepted: boolean, now: number): void {
    const r = this.records.get(key(blockHex, ticketHex));
    if (!r) return;
    r.voteHashes.add(fullHashHex);
    if (accepted && r.firstVoteAt === undefined) r.firstVoteAt = now;
  }

  /** `child` connected to the main chain: settles the draws of its parent. */
  onConnected(child: BlockNode, votes: Array<{ ticketHex: string; txidHex: string }>): void {
    this.blocks++;
    const parent = child.parent;
    if (parent) this.markChain(parent, true);
    this.markChain(child, true);
    if (!parent) return;
    const mined = new Map(votes.map((v) => [v.ticketHex, v.txidHex]));
    for (const w of parent.winners) {
      const r = this.records.get(key(parent.hashHex, hashToHex(w)));
      if (!r) continue;
      const txid = mined.get(r.ticketHash);
      r.outcome = txid ? 'voted' : 'missed';
      if (txid) r.minedVoteTxid = txid;
      else delete r.minedVoteTxid;
    }
  }

  /** `node` left the main chain: its parent's draws are pending again. */
  onDisconnected(node: BlockNode): void {
    this.blocks = Math.max(0, this.blocks - 1);
    this.markChain(node, false);
    const parent = node.parent;
    if (!parent) return;
    for (const r of this.byBlock.get(parent.hashHex) ?? []) {
      r.outcome = 'pending';
      delete r.minedVoteTxid;
    }
  }

  private markChain(node: BlockNode, main: boolean): void {
    for (const r of this.byBlock.get(node.hashHex) ?? []) r.sideChain = !main;
  }
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * Merges the ledgers of several nodes: outcome from the first (the miner), latency
 * min over nodes of (first acceptance - draw) at the same node, distinct votes unioned.
 */
export function mergeReports(ledgers: VoteLedger[]): DevnetReport {
  const first = ledgers[0];
  const entries = new Map<string, TicketReportEntry & { hashes: Set<string> }>();
  for (const [li, l] of ledgers.entries()) {
    for (const [k, r] of l.records) {
      let e = entries.get(k);
      if (!e) {
        e = { ticketHash: r.ticketHash, blockHash: r.blockHash, height: r.height, drawnAt: r.drawnAt, outcome: r.outcome, distinctVotes: 0, sideChain: r.sideChain, hashes: new Set() };
        if (r.minedVoteTxid) e.minedVoteTxid = r.minedVoteTxid;
        entries.set(k, e);
      }
      if (li === 0) {
        e.outcome = r.outcome;
        e.sideChain = r.sideChain;
        if (r.minedVoteTxid) e.minedVoteTxid = r.minedVoteTxid;
      }
      e.drawnAt = Math.min(e.drawnAt, r.drawnAt);
      for (const h of r.voteHashes) e.hashes.add(h);
      if (r.firstVoteAt !== undefined) {
        const lat = Math.max(0, r.firstVoteAt - r.drawnAt);
        if (e.latencyMs === undefined || lat < e.latencyMs) e.latencyMs = lat;
        if (e.firstVoteAt === undefined || r.firstVoteAt < e.firstVoteAt) e.firstVoteAt = r.firstVoteAt;
      }
    }
  }
  const tickets: TicketReportEntry[] = [];
  let voted = 0;
  let missed = 0;
  let conflicting = 0;
  let drawn = 0;
  const lats: number[] = [];
  for (const e of entries.values()) {
    const { hashes, ...rest } = e;
    rest.distinctVotes = hashes.size;
    if (hashes.size > 1) conflicting++;
    if (!rest.sideChain) {
      drawn++;
      if (rest.outcome === 'voted') voted++;
      if (rest.outcome === 'missed') missed++;
      if (rest.latencyMs !== undefined) lats.push(rest.latencyMs);
    }
    tickets.push(rest);
  }
  lats.sort((a, b) => a - b);
  return {
    blocks: first?.blocks ?? 0,
    drawn,
    voted,
    missed,
    conflicting,
    latencyMs: { p50: percentile(lats, 0.5), p90: percentile(lats, 0.9), p99: percentile(lats, 0.99), max: lats.length ? (lats[lats.length - 1] as number) : 0 },
    tickets,
  };
}
