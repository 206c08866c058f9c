/**
 * Hedged failover (docs/architecture.md, invariants 3-5): decides, for one drawn ticket,
 * whether this voter signs on the fast path or takes the record-first path, and
 * how long it waits before racing for the vote record.
 *
 * - The signer order is the claim holder (`owners/<t>`, bound to its lease)
 *   first, then the region-aware rendezvous ranking of the live nodes. It is the
 *   same on every voter, so backup ranks never collide.
 * - Rank 0 that holds the claim, with a FRESH lease keepalive and a FRESH ticket
 *   watch, takes the fast path: sign from the cache, send, record afterwards.
 * - Anyone else is a backup of rank k and waits k × hedge for the record before
 *   racing the create-if-absent write. An owner with stale state is a backup of
 *   rank 0 (no wait, but the record comes first): invariant 5.
 * - A voter missing from the live list (its lease is gone) ranks last.
 * - A ticket that entered the cluster while its draw was open (imported late)
 *   has no claim or state from before the draw: rank 0 takes the record-first
 *   path with no wait, backups hedge as usual (one signer through the record).
 */

/** How a duty proceeds. */
export type DutyPath = 'fast' | 'record-first';

/** Why a rank-0 voter did not take the fast path (for logs and metrics). */
export type SlowPathReason = 'not-claim-holder' | 'lease-stale' | 'watch-stale' | 'late-ticket' | 'backup'
  /** The draw's vote is not canonical on this voter while etcd answers (duty.ts): fresh inputs, record first. */
  | 'not-canonical';

/** Input of {@link planDuty}. */
export interface PlanInput {
  selfId: string;
  /** Live node ids in rendezvous order for the ticket (owners.rankNodes). */
  ranked: readonly string[];
  /** Node id stored in `owners/<t>`, if any. */
  claimHolder: string | undefined;
  isLeaseFresh: boolean;
  isWatchFresh: boolean;
  hedgeMs: number;
  /**
   * The ticket entered the cluster after its draw arrived: nothing was committed for it before
   * the draw (no claim, no pinned inputs), so even its owner takes the record-first path.
   */
  lateTicket?: boolean;
}

/** The plan for one duty. */
export interface DutyPlan {
  path: DutyPath;
  /** Position in the signer order (0 = owner). */
  rank: number;
  /** How long to wait for another voter's record before racing (0 on the fast path). */
  waitMs: number;
  /** Set when the path is `record-first`. */
  reason?: SlowPathReason;
  order: readonly string[];
}

/** The deterministic signer order: claim holder first, then the rendezvous ranking; self last if missing. */
export function signerOrder(selfId: string, ranked: readonly string[], claimHolder: string | undefined): string[] {
  const order = claimHolder !== undefined && ranked.includes(claimHolder)
    ? [claimHolder, ...ranked.filter((n) => n !== claimHolder)]
    : [...ranked];
  if (!order.includes(selfId)) order.push(selfId);
  return order;
}

/** Plans one duty; pure. */
export function planDuty(input: PlanInput): DutyPlan {
  const order = signerOrder(input.selfId, input.ranked, input.claimHolder);
  const rank = order.indexOf(input.selfId);
  if (rank === 0) {
    let reason: SlowPathReason | undefined;
    if (input.lateTicket === true) reason = 'late-ticket';
    else if (input.claimHolder !== input.selfId) reason = 'not-claim-holder';
    else if (!input.isLeaseFresh) reason = 'lease-stale';
    else if (!input.isWatchFresh) reason = 'watch-stale';
    if (reason === undefined) return { path: 'fast', rank, waitMs: 0, order };
    return { path: 'record-first', rank, waitMs: 0, reason, order };
  }
  return { path: 'record-first', rank, waitMs: rank * input.hedgeMs, reason: 'backup', order };
}
