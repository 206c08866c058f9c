/**
 * One voting duty: a managed ticket drawn for one block hash, from the draw's arrival to its
 * first send (or standby). The entry point ({@link runDuty}) and the choice of path:
 * - `all-vote` (vspd's behaviour, for comparison): every replica signs and sends, no etcd coordination.
 * - `lease`, canonical draw: region signers (region-duty.ts).
 * - otherwise single signer: the owner with fresh state takes the fast path (sign from its cache,
 *   send first, record right after: duty-common.ts `ownerFast`); backups and stale owners take
 *   the record-first path (record-first.ts).
 * Invariants protected (docs/architecture.md, "Invariants"):
 * - 2: at most one distinct vote per (ticket, block). A vote is deterministic
 *   (RFC 6979; built from the ticket record at one etcd revision), the record is
 *   written create-if-absent, and whoever loses that race sends the STORED bytes.
 *   Nothing here ever sends bytes that differ from a stored record.
 * - 3: the owner with fresh state signs from its cache and sends first; the
 *   record is written right after (no etcd I/O before the first send). If etcd
 *   is unreachable the record is queued and written when it returns.
 * - 4: backup rank k waits k × hedge for the record, then races for it; at once
 *   when every voter ranked ahead is known gone (its streams ended at a proxy).
 * - 5: an owner with a stale lease or watch takes the record-first path.
 */
import type { Span } from '@opentelemetry/api';
import { ATTR, SPAN, contextWithSpan, recordError, startSpan, withSpan } from '../telemetry/index.ts';
import type { WinningTicketsEvent } from './chain-event.ts';
import { VOTER_TIMING } from './config.ts';
import { broadcast, buildAndSign, ownerFast, toDeliver, type DutyDeps, type DutyResult } from './duty-common.ts';
import { recordFirst } from './record-first.ts';
import type { CanonicalVerdict } from './vote-factory.ts';
import { regionDuty } from './region-duty.ts';

/**
 * The trace a duty continues: the `proxy.notify` span the proxy started for
 * this (block, ticket) (`ticketTraceparents[i]`), else the draw-level context
 * of an older proxy, else none (a new root). The event is the FIRST arrival of
 * the draw (event-dedupe.ts): when several proxies announce the same draw, each
 * starts its own notify trace and the voter continues the one that reached it
 * first; the other proxies' notify traces stay single-span roots.
 */
export function ticketTraceparent(ev: WinningTicketsEvent, ticketHex: string): string | undefined {
  const i = ev.ticketsHex.indexOf(ticketHex);
  const perTicket = i >= 0 ? ev.ticketTraceparents?.[i] : undefined;
  return perTicket || ev.traceparent || undefined;
}

/**
 * Runs one duty to its first send (or standby). Never throws for expected
 * conditions; an unmanaged ticket or a build failure is logged and rethrown
 * as the duty's error.
 */
export async function runDuty(deps: DutyDeps, ticketHex: string, ev: WinningTicketsEvent, signal: AbortSignal): Promise<DutyResult> {
  const recv = startSpan(SPAN.VOTER_RECEIVE, {
    tracer: deps.tracer,
    parent: ticketTraceparent(ev, ticketHex) ?? null,
    startTime: ev.receivedAtMs,
    attributes: {
      [ATTR.TICKET_HASH]: ticketHex, [ATTR.BLOCK_HASH]: ev.blockHashHex, [ATTR.HEIGHT]: ev.height,
      [ATTR.NODE_ID]: deps.selfId, [ATTR.STRATEGY]: deps.strategy, [ATTR.PROXY]: ev.proxy,
    },
  });
  try {
    const r = deps.strategy === 'all-vote'
      ? allVote(deps, recv, ticketHex, ev)
      : await regionOrLease(deps, recv, ticketHex, ev, signal);
    recv.setAttribute(ATTR.OUTCOME, r.outcome);
    recv.setAttribute(ATTR.RANK, r.rank);
    return r;
  } catch (err) {
    recordError(recv, err);
    throw err;
  } finally {
    recv.end();
  }
}

function allVote(deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent): DutyResult {
  const signed = buildAndSign(deps, recv, ticketHex, ev);
  broadcast(deps, recv, toDeliver(ev, ticketHex, signed, deps.selfId, undefined));
  return { outcome: 'all-vote-sent', rank: 0, path: 'all-vote', txidHex: signed.txidHex };
}

/** `lease` strategy: region signers for a canonical draw, else the single-signer paths. */
async function regionOrLease(deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, signal: AbortSignal): Promise<DutyResult> {
  if (deps.strategy === 'lease' && deps.canonical && deps.regionPlan) {
    const verdict = await canonicalVerdict(deps, recv, ticketHex, ev);
    const inputs = verdict.timing ? { inputs: verdict.timing } : {};
    if (verdict.ok) return { ...(await regionDuty(deps, recv, ticketHex, ev, deps.regionPlan(ticketHex), signal)), ...inputs };
    deps.log.debug({ ticket: ticketHex, height: ev.height, reason: verdict.reason }, 'vote not canonical here; single-signer path');
    return { ...(await leaseDuty(deps, recv, ticketHex, ev, signal, verdict.reason)), ...inputs };
  }
  return leaseDuty(deps, recv, ticketHex, ev, signal);
}

/** The factory's canonical verdict inside a voter.inputs span, timed by how it was reached (metric voteInputs). */
function canonicalVerdict(deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent): Promise<CanonicalVerdict> {
  const canonical = deps.canonical as NonNullable<DutyDeps['canonical']>;
  return withSpan(SPAN.VOTER_INPUTS, { [ATTR.TICKET_HASH]: ticketHex, [ATTR.HEIGHT]: ev.height }, async (span) => {
    const verdict = await canonical(ticketHex, ev);
    const t = verdict.timing;
    if (t) {
      deps.metrics.voteInputs.observe({ how: t.how }, t.ms / 1000);
      span.setAttribute(ATTR.INPUTS, t.how);
      if (t.viewHeight !== undefined) span.setAttribute(ATTR.VIEW_HEIGHT, t.viewHeight);
    }
    span.setAttribute(ATTR.OUTCOME, verdict.ok ? 'canonical' : verdict.reason);
    return verdict;
  }, { tracer: deps.tracer, parent: contextWithSpan(recv) });
}

async function leaseDuty(
  deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, signal: AbortSignal, notCanonical?: string,
): Promise<DutyResult> {
  let plan = deps.plan(ticketHex);
  // Other voters may sign this draw's canonical vote at once: an owner whose own view is not
  // provably current builds from fresh inputs, record first (their bytes exactly). Only while
  // etcd does not answer (no tip can advance, so nobody is canonical) does the owner keep the
  // outage fast path (invariant 5).
  if (plan.path === 'fast' && notCanonical !== undefined && deps.reach?.answersNow(VOTER_TIMING.freshInputsLeaseAgeMs) !== false) {
    plan = { ...plan, path: 'record-first', waitMs: 0, reason: 'not-canonical' };
  }
  if (plan.path === 'fast') return ownerFast(deps, recv, ticketHex, ev, buildAndSign(deps, recv, ticketHex, ev));
  if (plan.reason !== 'backup') {
    deps.log.info({ ticket: ticketHex, height: ev.height, reason: plan.reason, notCanonical }, 'owner takes the record-first path');
  }
  return recordFirst(deps, recv, ticketHex, ev, plan, signal);
}
