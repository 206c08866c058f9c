/**
 * A region signer duty (`lease` strategy, canonical draws only; region-plan.ts): the vote's bytes
 * are the same on every voter, so the best-ranked live voter of EACH region signs at once and
 * sends to its own region's proxies (and those of the regions it covers); rank k of the region
 * waits k × hedge and then asks its nearest dcrd whether the vote is out (yes: standby) and else
 * signs and sends the same bytes; once every voter ahead is gone (their streams ended at a proxy)
 * it signs and sends at once, without asking. Each writes the record
 * create-if-absent after its send; a stored record with a different txid is an alarm
 * (`record_conflicts_total`), never a second send.
 */
import type { Span } from '@opentelemetry/api';
import { ATTR, SPAN, contextWithSpan, withSpan } from '../telemetry/index.ts';
import type { VoteRecord } from '../cluster/index.ts';
import type { WinningTicketsEvent } from './chain-event.ts';
import { buildAndSign, sendThenRecord, toDeliver, type DutyDeps, type DutyResult } from './duty-common.ts';
import type { RegionPlan } from './region-plan.ts';
import type { SignedVote } from './vote-factory.ts';
import { voteAlreadyOut, type VoteCheck } from './vote-check.ts';

/**
 * A region signer's record: the same txid stored (ours, or another region's signer's) is
 * success. A DIFFERENT stored txid means two voters computed different bytes for one draw: an
 * alarm (error log with both txids, `record_conflicts_total`); nothing else is sent.
 */
export function onRegionStored(deps: DutyDeps, ev: WinningTicketsEvent, ticketHex: string, ours: SignedVote, stored: VoteRecord): void {
  if (stored.voteTxid === ours.txidHex) return;
  deps.metrics.recordConflicts.inc();
  deps.log.error({
    ticket: ticketHex, height: ev.height, blockHashHex: ev.blockHashHex, voteTxid: ours.txidHex, storedTxid: stored.voteTxid,
    storedSigner: stored.signer, storedPath: stored.path, ourRevision: ours.meta.revision, storedRevision: stored.choicesRevision,
    ourDefaultsRevision: ours.meta.defaultsRevision, storedDefaultsRevision: stored.defaultsRevision,
  }, 'vote record conflict: the stored vote differs from the canonical vote this region signer sent; sending nothing else');
}

/** How a region backup's wait ended. */
type RegionWait = 'deadline' | 'ahead-gone' | 'aborted';

/** Waits `plan.waitMs` inside a voter.hedge span; ends early once every voter ranked ahead in the region is gone. */
function regionWait(deps: DutyDeps, recv: Span, ticketHex: string, plan: RegionPlan, signal: AbortSignal): Promise<RegionWait> {
  if (signal.aborted) return Promise.resolve('aborted');
  return withSpan(SPAN.VOTER_HEDGE, { [ATTR.TICKET_HASH]: ticketHex, [ATTR.RANK]: plan.rank, [ATTR.HEDGE_MS]: plan.waitMs }, async (span) => {
    const r = await waitOrGone(deps, plan, signal);
    span.setAttribute(ATTR.OUTCOME, r);
    return r;
  }, { tracer: deps.tracer, parent: contextWithSpan(recv) });
}

function waitOrGone(deps: DutyDeps, plan: RegionPlan, signal: AbortSignal): Promise<RegionWait> {
  return new Promise<RegionWait>((resolve) => {
    const cut = new AbortController();
    const done = (r: RegionWait): void => {
      if (cut.signal.aborted) return;
      cut.abort();
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onAbort = (): void => done('aborted');
    const timer = setTimeout(() => done('deadline'), plan.waitMs);
    signal.addEventListener('abort', onAbort, { once: true });
    void deps.whenGone?.(plan.order.slice(0, plan.rank), cut.signal).then((gone) => {
      if (gone) done('ahead-gone');
    });
  });
}

/**
 * A region signer duty (canonical draw, region-plan.ts). Rank 0 signs and sends to its targets
 * at once. Rank k waits k × hedge, then asks its nearest dcrd whether the vote is out: yes →
 * standby copy (sent if the region's signer leaves); no (or no answer) → signs the same canonical
 * bytes and sends them to its targets. When every voter ahead in the region is gone (a crash,
 * announced by the proxies) it signs and sends at once: nobody ahead is left to send the vote
 * for this region, and if one did before it died the copy is the same bytes (dcrd answers
 * duplicate), so waiting for dcrd's answer would only delay the takeover. Either signer records
 * after its send.
 */
export async function regionDuty(
  deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, plan: RegionPlan, signal: AbortSignal,
): Promise<DutyResult> {
  const base = { rank: plan.rank, path: 'region' as const };
  const t0 = performance.now();
  let waited: RegionWait | undefined;
  if (plan.rank > 0) {
    waited = await regionWait(deps, recv, ticketHex, plan, signal);
    if (waited === 'aborted') return { ...base, outcome: 'aborted' };
  }
  const vote = buildAndSign(deps, recv, ticketHex, ev);
  if (plan.rank > 0) {
    const out: VoteCheck = waited === 'ahead-gone' ? { answer: 'not-asked', ms: 0 } : await voteAlreadyOut(deps, vote.txidHex);
    const seconds = (performance.now() - t0) / 1000;
    if (out.answer === 'known') {
      // The region's signer (or relay) put these exact bytes in our dcrd: hold them on standby.
      deps.metrics.hedgeWait.observe({ result: 'vote_seen' }, seconds);
      deps.delivery.deliver(toDeliver(ev, ticketHex, vote, plan.order[0] ?? deps.selfId, undefined, plan.targets), 'standby');
      return { ...base, outcome: 'vote-seen', txidHex: vote.txidHex };
    }
    if (signal.aborted) return { ...base, outcome: 'aborted' };
    deps.metrics.hedgeWait.observe({ result: 'took_over' }, seconds);
    deps.metrics.takeovers.inc();
    deps.log.warn({
      ticket: ticketHex, height: ev.height, rank: plan.rank, ahead: plan.order.slice(0, plan.rank), why: waited,
      dcrdCheck: out.answer, dcrdCheckMs: out.ms, voteTxid: vote.txidHex, drawAgeMs: Date.now() - ev.receivedAtMs,
    }, 'the region signers ranked ahead did not deliver; signing the canonical vote for this region');
  }
  if (plan.covers.length > 0) {
    deps.log.info({ ticket: ticketHex, height: ev.height, covers: plan.covers }, 'regions without a live voter: sending the vote to their proxies too');
  }
  await sendThenRecord(deps, recv, ticketHex, ev, vote, plan.targets, plan.rank === 0 ? 'fast' : 'takeover',
    (stored) => onRegionStored(deps, ev, ticketHex, vote, stored));
  return { ...base, outcome: 'region-sent', txidHex: vote.txidHex, ...(waited === 'ahead-gone' || waited === 'deadline' ? { cause: waited } : {}) };
}
