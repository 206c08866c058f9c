/**
 * Region signers (docs/architecture.md, invariants 2-4): for a draw whose vote is canonical (every
 * voter computes the same bytes from the chain and from cluster state committed before the draw),
 * each region's best-ranked live voter signs at once and sends to its OWN region's proxies; the
 * next voters of that region back it up. This module plans one such duty; pure.
 *
 * - The order is the rendezvous ranking (services/cluster rendezvous.ts, the same weights as
 *   ownership) of the live voters of this voter's region for the ticket; every voter of the
 *   region computes the same order from the same membership. Voters a proxy declared gone stay
 *   in the order (so the ranks do not depend on when each voter heard of it); a backup whose
 *   every voter ranked ahead is gone stops waiting (region-duty.ts, `whenGone`).
 * - Rank k waits k × hedge before it asks its nearest dcrd whether the vote is out.
 * - Targets: this region's proxies, plus the proxies of every region with no live voter (none in
 *   membership, or every one declared gone) that this region covers, so a dcrd whose region lost
 *   its voters still gets the vote from one signer: each such region is covered by ONE region
 *   with a live voter, the first in the rendezvous order of those regions for (ticket, uncovered
 *   region), which every voter computes alike from the same membership. A voter whose region has
 *   no proxy sends to every proxy.
 */
import { rankNodes, type RankableNode } from '../cluster/index.ts';

/** Input of {@link planRegion}. */
export interface RegionPlanInput {
  selfId: string;
  /** This voter's region. */
  region: string;
  ticketHex: string;
  /** Live voters (membership), any order. */
  live: readonly RankableNode[];
  /** Whether a proxy declared this voter gone (peer-presence.ts). */
  isGone(nodeId: string): boolean;
  /** Every configured proxy with its region. */
  proxies: readonly { address: string; region: string }[];
  hedgeMs: number;
}

/** The plan of one region signer duty. */
export interface RegionPlan {
  /** Position in this region's order (0 = the region's signer). */
  rank: number;
  /** This region's voters for the ticket, best first (self included, last when not in membership). */
  order: readonly string[];
  /** How long this voter waits before it checks and signs (rank × hedge; 0 for rank 0). */
  waitMs: number;
  /** Proxy addresses this voter's vote goes to. */
  targets: readonly string[];
  /** Regions without a live voter whose proxies this voter also serves. */
  covers: readonly string[];
}

/** This region's voters in rendezvous order for `ticketHex`; self appended when missing from `live`. */
export function regionOrder(selfId: string, region: string, ticketHex: string, live: readonly RankableNode[]): string[] {
  const mine = live.filter((n) => n.region === region);
  const order = rankNodes(ticketHex, mine).map((n) => n.nodeId);
  if (!order.includes(selfId)) order.push(selfId);
  return order;
}

/** Regions of `proxies` in which no live voter is left (not in `live`, or every one gone), except `region`. */
export function uncoveredRegions(region: string, live: readonly RankableNode[], isGone: (nodeId: string) => boolean, proxies: RegionPlanInput['proxies']): string[] {
  const alive = new Set(live.filter((n) => !isGone(n.nodeId)).map((n) => n.region));
  const out: string[] = [];
  for (const p of proxies) if (p.region !== region && !alive.has(p.region) && !out.includes(p.region)) out.push(p.region);
  return out;
}

/**
 * The region with a live voter that covers `uncovered` for `ticketHex`: the first of the live
 * regions in rendezvous order for the pair, so the regions that lost their voters are spread over
 * the others ticket by ticket. Undefined when no region has a live voter.
 */
export function coveringRegion(ticketHex: string, uncovered: string, live: readonly RankableNode[], isGone: (nodeId: string) => boolean): string | undefined {
  const regions = [...new Set(live.filter((n) => !isGone(n.nodeId)).map((n) => n.region))].sort();
  // One rendezvous candidate per live region, named for the pair, so each uncovered region gets its own order.
  return rankNodes(ticketHex, regions.map((r) => ({ nodeId: `${r}\u0000covers\u0000${uncovered}`, region: r })))[0]?.region;
}

/** Plans one region signer duty (see the module comment). */
export function planRegion(input: RegionPlanInput): RegionPlan {
  const order = regionOrder(input.selfId, input.region, input.ticketHex, input.live);
  const rank = order.indexOf(input.selfId);
  const own = input.proxies.filter((p) => p.region === input.region);
  const covers = uncoveredRegions(input.region, input.live, input.isGone, input.proxies)
    .filter((u) => coveringRegion(input.ticketHex, u, input.live, input.isGone) === input.region);
  const targets = own.length === 0
    ? input.proxies.map((p) => p.address)
    : input.proxies.filter((p) => p.region === input.region || covers.includes(p.region)).map((p) => p.address);
  return { rank, order, waitMs: rank * input.hedgeMs, targets, covers };
}
