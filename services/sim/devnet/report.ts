/**
 * Per-ticket vote bookkeeping of one devnet node: for every draw
 * of a managed ticket on a block, when the block connected here, when a vote for it
 * was first accepted here, every distinct valid vote seen (conflicts), and whether
 * the vote was mined in the main-chain child (voted) or not (missed).
 *
 * Bounded memory: records are listed for the draws of the last REPORT_WINDOW_BLOCKS
 * blocks (and at most MAX_RECORDS); older ones are folded into running totals
 * (drawn/voted/missed/conflicting and a latency histogram) and forgotten. Nodes
 * of one in-process devnet form a group ({@link linkLedgers}): the first ledger
 * (the miner's) folds a draw across the whole group at once, so the merged view
 * (outcome from the miner, latency min over nodes, votes unioned) is preserved.
 */
import type { BlockNode } from './chain/chain.ts';
import { hashToHex } from '../../decred/index.ts';

/** Draws of this many newest blocks are listed one by one; older ones only count in the totals. */
export const REPORT_WINDOW_BLOCKS = 512;
/** Hard cap on listed records per ledger (5 draws per block x the window, with room for side chains). */
const MAX_RECORDS = 8 * REPORT_WINDOW_BLOCKS;
/** Latencies below this many ms are counted exactly; above, in buckets 1% wide. */
const EXACT_MS = 1024;
const LOG_STEP = Math.log(1.01);
const BUCKETS = EXACT_MS + 1536; // 1% buckets up to ~4e9 ms

/**
 * Latency histogram of constant size: exact for values below 1024 ms, within 1%
 * above (a bucket reports its lower bound; the max is exact).
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  max = 0;

  private static index(ms: number): number {
    const v = Math.max(0, Math.round(ms));
    if (v < EXACT_MS) return v;
    return Math.min(BUCKETS - 1, EXACT_MS + Math.floor(Math.log(v / EXACT_MS) / LOG_STEP));
  }

  private static value(idx: number): number {
    return idx < EXACT_MS ? idx : Math.round(EXACT_MS * Math.exp((idx - EXACT_MS) * LOG_STEP));
  }

  add(ms: number, n = 1): void {
    const i = LatencyHistogram.index(ms);
    this.counts[i] = (this.counts[i] as number) + n;
    this.count += n;
    this.max = Math.max(this.max, Math.max(0, Math.round(ms)));
  }

  merge(o: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] = (this.counts[i] as number) + (o.counts[i] as number);
    this.count += o.count;
    this.max = Math.max(this.max, o.max);
  }

  clone(): LatencyHistogram {
    const c = new LatencyHistogram();
    c.merge(this);
    return c;
  }

  /** The value at rank ceil(q x count) (nearest-rank percentile); 0 when empty. */
  percentile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.min(this.count, Math.max(1, Math.ceil(q * this.count)));
    let cum = 0;
    for (let i = 0; i < BUCKETS; i++) {
      cum += this.counts[i] as number;
      if (cum >= rank) return Math.min(LatencyHistogram.value(i), this.max);
    }
    return this.max;
  }

  summary(): LatencySummary {
    return { p50: this.percentile(0.5), p90: this.percentile(0.9), p99: this.percentile(0.99), max: this.max };
  }
}

/** Running totals of draws that were folded out of the listed records. */
export class ReportTotals {
  drawn = 0;
  voted = 0;
  missed = 0;
  conflicting = 0;
  /** Draws folded (main chain and side chains). */
  folded = 0;
  readonly latency = new LatencyHistogram();

  add(e: TicketReportEntry): void {
    this.folded++;
    if (e.distinctVotes > 1) this.conflicting++;
    if (e.sideChain) return;
    this.drawn++;
    if (e.outcome === 'voted') this.voted++;
    if (e.outcome === 'missed') this.missed++;
    if (e.latencyMs !== undefined) this.latency.add(e.latencyMs);
  }
}

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
  /** Draws counted in the totals but no longer listed in `tickets` (older than the report window). */
  folded?: number;
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
  /** Totals of folded draws merged over the group (kept by the group's first ledger). */
  readonly totals = new ReportTotals();
  /** Totals of this node's own folded records (its view alone). */
  readonly ownTotals = new ReportTotals();
  /** The ledgers of one devnet, this one included; the first folds for all. */
  group: VoteLedger[] = [this];

  constructor(
    private readonly isManaged: (ticketHex: string) => boolean,
    private readonly windowBlocks = REPORT_WINDOW_BLOCKS,
  ) {}

  /** Listed records and per-block lists (for tests of the bounds). */
  get sizes(): { records: number; blocks: number } {
    return { records: this.records.size, blocks: this.byBlock.size };
  }

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
    if (this.records.size > MAX_RECORDS) this.fold(Number.NEGATIVE_INFINITY);
  }

  private forget(k: string, r: DrawRecord): void {
    this.records.delete(k);
    const list = this.byBlock.get(r.blockHash);
    if (!list) return;
    const i = list.indexOf(r);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.byBlock.delete(r.blockHash);
  }

  /**
   * Folds draws below height `cut` (and the oldest records beyond MAX_RECORDS) of
   * the whole group into this ledger's totals and forgets them everywhere.
   */
  fold(cut: number): void {
    const leader = this.group[0] ?? this;
    for (const l of leader.group) {
      for (const [k, r] of l.records) {
        if (r.height >= cut && l.records.size <= MAX_RECORDS) break;
        leader.totals.add(mergeKey(leader.group, k));
        for (const m of leader.group) {
          const mr = m.records.get(k);
          if (!mr) continue;
          m.ownTotals.add(mergeKey([m], k));
          m.forget(k, mr);
        }
      }
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
    if (this.group[0] === this) this.fold(child.height - this.windowBlocks);
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

/** Makes `ledgers` one group: the first folds old draws of all of them into its totals. */
export function linkLedgers(ledgers: VoteLedger[]): void {
  for (const l of ledgers) l.group = ledgers;
}

/** The merged entry of one (block, ticket) key across `ledgers` (see {@link mergeReports}). */
function mergeKey(ledgers: VoteLedger[], k: string): TicketReportEntry {
  const per = ledgers.map((l): Array<[string, DrawRecord]> => {
    const r = l.records.get(k);
    return r ? [[k, r]] : [];
  });
  return mergeEntries(per).get(k) as TicketReportEntry;
}

function mergeEntries(recordMaps: Array<Iterable<[string, DrawRecord]>>): Map<string, TicketReportEntry> {
  const entries = new Map<string, TicketReportEntry & { hashes: Set<string> }>();
  for (const [li, records] of recordMaps.entries()) {
    for (const [k, r] of records) {
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
  const out = new Map<string, TicketReportEntry>();
  for (const [k, e] of entries) {
    const { hashes, ...rest } = e;
    rest.distinctVotes = hashes.size;
    out.set(k, rest);
  }
  return out;
}

/**
 * Merges the ledgers of several nodes: outcome from the first (the miner), latency
 * min over nodes of (first acceptance - draw) at the same node, distinct votes unioned.
 * Totals include draws already folded out of the listed `tickets`: the group's
 * merged totals when `ledgers` is a whole group, a node's own totals for one ledger.
 */
export function mergeReports(ledgers: VoteLedger[]): DevnetReport {
  const group = ledgers;
  const first = group[0];
  const whole = first !== undefined && first.group.length === group.length && first.group.every((l, i) => l === group[i]);
  const base = first === undefined ? new ReportTotals() : whole ? first.totals : first.ownTotals;
  const totals = { drawn: base.drawn, voted: base.voted, missed: base.missed, conflicting: base.conflicting };
  const lats = base.latency.clone();
  const tickets: TicketReportEntry[] = [];
  for (const rest of mergeEntries(group.map((l) => l.records)).values()) {
    if (rest.distinctVotes > 1) totals.conflicting++;
    if (!rest.sideChain) {
      totals.drawn++;
      if (rest.outcome === 'voted') totals.voted++;
      if (rest.outcome === 'missed') totals.missed++;
      if (rest.latencyMs !== undefined) lats.add(rest.latencyMs);
    }
    tickets.push(rest);
  }
  return {
    blocks: first?.blocks ?? 0,
    folded: base.folded,
    ...totals,
    latencyMs: lats.summary(),
    tickets,
  };
}
