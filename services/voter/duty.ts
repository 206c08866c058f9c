/**
 * One voting duty: a managed ticket drawn for one block hash. Invariants
 * protected (docs/architecture.md, "Invariants"):
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
 * Region signers (`lease` strategy, canonical draws only; region-plan.ts): the vote's bytes are
 * the same on every voter, so the best-ranked live voter of EACH region signs at once and sends
 * to its own region's proxies; rank k of the region waits k × hedge (at once when every voter
 * ahead is gone), asks its nearest dcrd whether the vote is out (yes: standby) and else signs
 * and sends the same bytes. Each writes the record create-if-absent after its send; a stored
 * record with a different txid is an alarm (`record_conflicts_total`), never a second send.
 * Any other draw takes the single-signer paths above.
 * The `all-vote` strategy (vspd's behaviour, for comparison) signs and sends
 * on every replica with no etcd coordination at all.
 */
import type { Span, Tracer } from '@opentelemetry/api';
import { JitteredBackoff, isRetryable, settledWithin, sleep } from '../base/index.ts';
import {
  ATTR, SPAN, contextWithSpan, injectTraceparent, recordError, startSpan, withSpan,
  type ComponentMetrics, type Logger,
} from '../telemetry/index.ts';
import type { VoteRecord } from '../cluster/index.ts';
import { fromHex, toHex } from '../decred/index.ts';
import type { WinningTicketsEvent } from './chain-event.ts';
import type { EtcdReach } from './etcd-reach.ts';
import type { DutyPlan } from './duty-plan.ts';
import { VOTER_TIMING, type VoterStrategy } from './config.ts';
import type { RegionPlan } from './region-plan.ts';
import type { RecordQueue } from './record-queue.ts';
import type { VoteDelivery, VoteToDeliver } from './vote-delivery.ts';
import type { CanonicalVerdict, PreparedVote, SignedVote, VoteFactory } from './vote-factory.ts';

/** The vote-record operations of the cluster, as the duty uses them. */
export interface DutyRecords {
  /** Create-if-absent; `stored` is ours when `created`, else the existing record. Throws when etcd is unreachable. */
  record(rec: VoteRecord): Promise<{ created: boolean; stored: VoteRecord }>;
  /**
   * Waits up to `timeoutMs` for a record to appear (watch-fed); null on timeout. With `finalRead`
   * (default true) it reads etcd once more at the deadline and throws when that read fails.
   */
  waitFor(
    height: number, blockHashHex: string, ticketHex: string,
    opts: { timeoutMs: number; signal?: AbortSignal; finalRead?: boolean },
  ): Promise<VoteRecord | null>;
}

/** Everything a duty needs; built once by the voter. */
export interface DutyDeps {
  selfId: string;
  strategy: VoterStrategy;
  plan(ticketHex: string): DutyPlan;
  /**
   * Whether the vote for (ticket, draw) is canonical: built from inputs every voter holds the
   * same for that height (the chain and cluster state committed before the draw, with this
   * voter's view provably current for it). Only then do region signers sign (`lease` strategy).
   * Absent: never canonical (every draw takes the single-signer paths).
   */
  canonical?: (ticketHex: string, ev: WinningTicketsEvent) => CanonicalVerdict | Promise<CanonicalVerdict>;
  /** This voter's place among its region's signers for a ticket (region-plan.ts); needed with `canonical`. */
  regionPlan?: (ticketHex: string) => RegionPlan;
  factory: VoteFactory;
  records: DutyRecords;
  delivery: VoteDelivery;
  recordQueue: RecordQueue;
  log: Logger;
  metrics: ComponentMetrics<'voter'>;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Shared etcd reachability: after a failed record a backup waits for etcd, then hedges again from that moment. */
  reach?: EtcdReach;
  /** A signed vote this duty could not record before it ended (etcd unreachable): for record-repair.ts. */
  onUnrecorded?: (rec: VoteRecord) => void;
  /** Tracer of the voter's spans (telemetry `serviceTracer('votecluster-voter', ...)`); default the process tracer. */
  tracer?: Tracer;
  /**
   * Whether a dcrd already holds the transaction `txidHex` (the voter's nearest proxy, short deadline).
   * A backup asks it at the hedge deadline about its own pinned vote: known means the owner sent
   * exactly these bytes (its record is late, not missing), so the backup stands by instead of racing.
   * Rejects when no answer came in time (the backup then races as usual).
   */
  voteKnown?: (txidHex: string) => Promise<boolean>;
  /**
   * Resolves true once every voter in `nodeIds` is known gone (a proxy saw its streams end:
   * peer-presence.ts), false when `signal` aborts first. A backup whose every voter ranked
   * ahead is gone stops hedging and races at once (invariant 4); a silent failure still waits.
   */
  whenGone?: (nodeIds: readonly string[], signal: AbortSignal) => Promise<boolean>;
}

/** How a duty ended. */
export type DutyOutcome =
  | 'fast-sent' // owner: signed, sent, record written or queued
  | 'all-vote-sent' // all-vote strategy
  | 'region-sent' // region signer (canonical draw): signed and sent to its region, record written after
  | 'took-over' // backup (or stale owner) won the record race and sent its own vote
  | 'lost-race' // the race was lost: the stored bytes were sent
  | 'record-seen' // a record appeared while waiting: standby (sent only if its signer dies)
  | 'vote-seen' // no record yet, but a dcrd holds this exact vote (the owner sent it): standby, the record is left to the owner
  | 'aborted'; // the block was superseded or too old before anything could be sent

/** Result of {@link runDuty}. */
export interface DutyResult {
  outcome: DutyOutcome;
  rank: number;
  path: DutyPlan['path'] | 'all-vote' | 'region';
  txidHex?: string;
  /** A region backup (rank > 0) that signed: whether every voter ahead was gone, or its wait ran out. */
  cause?: 'ahead-gone' | 'deadline';
}

function toDeliver(
  ev: WinningTicketsEvent, ticketHex: string, v: { rawTx: Uint8Array; txidHex: string }, signer: string, traceparent: string | undefined,
  proxies?: readonly string[],
): VoteToDeliver {
  return {
    ticketHex, blockHashHex: ev.blockHashHex, height: ev.height, rawTx: v.rawTx, txidHex: v.txidHex, signer,
    drawnAtMs: ev.receivedAtMs, ...(traceparent ? { traceparent } : {}), ...(proxies ? { proxies } : {}),
  };
}

/** The bytes and txid of a stored record, to deliver. */
function storedVote(r: VoteRecord): { rawTx: Uint8Array; txidHex: string } {
  return { rawTx: fromHex(r.voteTxHex), txidHex: r.voteTxid };
}

/** The record of a vote this voter signed now (`createdAt` is stamped again when it is written). */
function recordOf(ev: WinningTicketsEvent, ticketHex: string, signed: SignedVote, selfId: string, path: NonNullable<VoteRecord['path']>): VoteRecord {
  const now = new Date().toISOString();
  return {
    height: ev.height, blockHash: ev.blockHashHex, ticketHash: ticketHex, voteTxHex: toHex(signed.rawTx), voteTxid: signed.txidHex,
    signer: selfId, choicesRevision: signed.meta.revision, voteBits: signed.meta.voteBits, voteVersion: signed.meta.voteVersion,
    treasuryVotes: signed.meta.treasuryVotes.map((t) => ({ tspendHash: t.tspendHashHex, vote: t.vote })),
    ...(signed.meta.defaultsRevision !== undefined ? { defaultsRevision: signed.meta.defaultsRevision } : {}),
    createdAt: now, signedAt: now, drawnAt: new Date(ev.receivedAtMs).toISOString(), path,
  };
}

/** Builds then signs, each step in its own span (voter.build, voter.sign). */
function buildAndSign(deps: DutyDeps, parent: Span, ticketHex: string, ev: WinningTicketsEvent): SignedVote {
  const attrs = { [ATTR.TICKET_HASH]: ticketHex, [ATTR.HEIGHT]: ev.height };
  const ctx = contextWithSpan(parent);
  const b = startSpan(SPAN.VOTER_BUILD, { tracer: deps.tracer, parent: ctx, attributes: attrs });
  let prepared: PreparedVote;
  try {
    prepared = deps.factory.prepare(ticketHex, ev);
    b.setAttribute(ATTR.ETCD_REVISION, prepared.meta.revision);
  } catch (err) {
    recordError(b, err);
    throw err;
  } finally {
    b.end();
  }
  const s = startSpan(SPAN.VOTER_SIGN, { tracer: deps.tracer, parent: ctx, attributes: attrs });
  try {
    const signed = deps.factory.sign(prepared);
    s.setAttribute(ATTR.VOTE_TXID, signed.txidHex);
    return signed;
  } catch (err) {
    recordError(s, err);
    throw err;
  } finally {
    s.end();
  }
}

/** Sends through the delivery tracker inside a voter.broadcast span; the traceparent rides to the proxies. */
function broadcast(deps: DutyDeps, parent: Span, vote: Omit<VoteToDeliver, 'traceparent'>, replace = false): Promise<unknown> {
  const span = startSpan(SPAN.VOTER_BROADCAST, {
    tracer: deps.tracer,
    parent: contextWithSpan(parent),
    attributes: { [ATTR.TICKET_HASH]: vote.ticketHex, [ATTR.VOTE_TXID]: vote.txidHex, [ATTR.FANOUT]: 0 },
  });
  const traceparent = injectTraceparent(contextWithSpan(span));
  const v: VoteToDeliver = { ...vote, ...(traceparent ? { traceparent } : {}) };
  const round = replace ? deps.delivery.replaceBytes(v) : deps.delivery.deliver(v, 'active').firstRound;
  void round.then((outcomes) => {
    span.setAttribute(ATTR.FANOUT, outcomes.length);
    const ok = outcomes.some((o) => o.state === 'delivered');
    span.setAttribute(ATTR.OUTCOME, ok ? 'accepted' : outcomes.length === 0 ? 'already-sent' : outcomes[0]?.state ?? 'none');
    span.end();
  });
  return round;
}

/**
 * How long the owner's fast-path record waits for the first round's answers. Until
 * then the votes of the draw are still on their way to dcrd, and the record's etcd
 * work (encode, txn, the watch events it causes) would compete with them; backups
 * hedge for 250 ms, so a record a few ms later changes nothing for them.
 */
export const RECORD_AFTER_SEND_MAX_MS = 50;
/** A fast-path record stored later than this after the draw is logged (info) with its timeline. */
const SLOW_RECORD_LOG_MS = 200;

/**
 * Compares what was stored with what we sent: a mismatch means the choices
 * changed between revisions. From then on only the stored bytes are sent.
 */
export function onStored(deps: DutyDeps, parent: Span, ev: WinningTicketsEvent, ticketHex: string, ours: SignedVote, stored: VoteRecord): void {
  if (stored.voteTxid === ours.txidHex) return;
  deps.metrics.votes.inc({ outcome: 'record_mismatch' });
  deps.log.error(
    { ticket: ticketHex, height: ev.height, blockHashHex: ev.blockHashHex, voteTxid: ours.txidHex, storedTxid: stored.voteTxid, storedSigner: stored.signer, ourRevision: ours.meta.revision, storedRevision: stored.choicesRevision },
    'stored vote differs from the one sent; sending only the stored vote from now on',
  );
  broadcast(deps, parent, toDeliver(ev, ticketHex, storedVote(stored), stored.signer, undefined), true);
}

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
    const verdict = await deps.canonical(ticketHex, ev);
    if (verdict.ok) return regionDuty(deps, recv, ticketHex, ev, deps.regionPlan(ticketHex), signal);
    deps.log.debug({ ticket: ticketHex, height: ev.height, reason: verdict.reason }, 'vote not canonical here; single-signer path');
    return leaseDuty(deps, recv, ticketHex, ev, signal, verdict.reason);
  }
  return leaseDuty(deps, recv, ticketHex, ev, signal);
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

/** The owner's fast path once signed: sends through every proxy, then records after the first answers. */
async function ownerFast(deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, signed: SignedVote): Promise<DutyResult> {
  await sendThenRecord(deps, recv, ticketHex, ev, signed, undefined, 'fast', (stored) => onStored(deps, recv, ev, ticketHex, signed, stored));
  return { outcome: 'fast-sent', rank: 0, path: 'fast', txidHex: signed.txidHex };
}

/**
 * Sends a vote this voter signed (to `proxies`, else every proxy), then submits its record once
 * the first round's answers are in (RECORD_AFTER_SEND_MAX_MS at most): the record is never on
 * the critical path. `stored` gets the record etcd holds (ours, or one that was there first).
 */
async function sendThenRecord(
  deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, signed: SignedVote, proxies: readonly string[] | undefined,
  path: NonNullable<VoteRecord['path']>, stored: (rec: VoteRecord) => void,
): Promise<void> {
  const sentAtMs = Date.now();
  const firstRound = broadcast(deps, recv, toDeliver(ev, ticketHex, signed, deps.selfId, undefined, proxies));
  const rec = recordOf(ev, ticketHex, signed, deps.selfId, path);
  await settledWithin(firstRound, RECORD_AFTER_SEND_MAX_MS);
  const acceptedAtMs = deps.delivery.firstDeliveredAtMs(ticketHex, ev.blockHashHex, signed.txidHex);
  if (acceptedAtMs !== undefined) rec.acceptedAt = new Date(acceptedAtMs).toISOString();
  const submitAtMs = Date.now();
  // cluster.record spans the time until the record is stored (queued while etcd is down).
  const recSpan = startSpan(SPAN.CLUSTER_RECORD, {
    tracer: deps.tracer,
    parent: contextWithSpan(recv),
    attributes: { [ATTR.TICKET_HASH]: ticketHex, [ATTR.VOTE_TXID]: signed.txidHex, [ATTR.ATTEMPT]: 1 },
  });
  deps.recordQueue.submit(rec, (rs) => {
    const storedAtMs = Date.now();
    if (storedAtMs - ev.receivedAtMs > SLOW_RECORD_LOG_MS) {
      deps.log.info({
        ticket: ticketHex, height: ev.height, sentAfterMs: sentAtMs - ev.receivedAtMs, submitAfterMs: submitAtMs - ev.receivedAtMs,
        storedAfterMs: storedAtMs - ev.receivedAtMs,
      }, 'vote record landed late (ms after the draw reached the proxy)');
    }
    recSpan.setAttribute(ATTR.OUTCOME, rs.voteTxid === signed.txidHex && rs.signer === deps.selfId ? 'recorded' : 'existing');
    recSpan.end();
    stored(rs);
  }, (err) => {
    // Never written (queue full, or the voter stopped first): the span still ends, with the reason.
    recordError(recSpan, err);
    recSpan.setAttribute(ATTR.OUTCOME, 'dropped');
    recSpan.end();
  });
}

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

/** Waits `plan.waitMs`; ends early once every voter ranked ahead in the region is gone. */
function regionWait(deps: DutyDeps, plan: RegionPlan, signal: AbortSignal): Promise<RegionWait> {
  if (signal.aborted) return Promise.resolve('aborted');
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
 * at once. Rank k waits k × hedge (cut short when every voter ahead in the region is gone), asks
 * its nearest dcrd whether the vote is out: yes → standby copy (sent if the region's signer
 * leaves); no (or no answer) → signs the same canonical bytes and sends them to its targets.
 * Either signer records after its send.
 */
async function regionDuty(
  deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, plan: RegionPlan, signal: AbortSignal,
): Promise<DutyResult> {
  const base = { rank: plan.rank, path: 'region' as const };
  const t0 = performance.now();
  let waited: RegionWait | undefined;
  if (plan.rank > 0) {
    waited = await regionWait(deps, plan, signal);
    if (waited === 'aborted') return { ...base, outcome: 'aborted' };
  }
  const vote = buildAndSign(deps, recv, ticketHex, ev);
  if (plan.rank > 0) {
    const out = await voteAlreadyOut(deps, vote.txidHex);
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

/**
 * A backup asks its nearest dcrd "is this vote already out?" this long before its hedge ends, so
 * the answer is in when the hedge ends (no added latency on a healthy box)...
 */
export const VOTE_CHECK_LEAD_MS = 100;
/** ...and gives the answer at most this long from the question (i.e. up to 100 ms past the hedge on a starved box); then it races. */
export const VOTE_KNOWN_DEADLINE_MS = 200;
/**
 * When, into a hedge of `waitMs`, the backup asks: VOTE_CHECK_LEAD_MS before its end, but never in
 * its first half (a short learned hedge would otherwise ask at once, before the signer could send).
 */
export const voteCheckAtMs = (waitMs: number): number => Math.max(waitMs - VOTE_CHECK_LEAD_MS, Math.floor(waitMs / 2));

/**
 * Whether etcd answered recently enough that the hedge's final linearizable read can be left to
 * the create-if-absent txn itself (which returns the stored record when it loses): our lease was
 * confirmed lately, the votes watch is up and no failure was seen since before this hedge began.
 */
function etcdHealthySince(deps: DutyDeps, sinceMs: number): boolean {
  return deps.reach?.isCurrentSince(sinceMs) ?? false;
}

/** `voteKnown` (bounded by its deadline): 'known', 'unknown', or 'no-answer' (then the backup races); with how long it took. */
async function voteAlreadyOut(deps: DutyDeps, txidHex: string): Promise<VoteCheck> {
  if (!deps.voteKnown) return { answer: 'not-asked', ms: 0 };
  const t0 = performance.now();
  try {
    const known = await deps.voteKnown(txidHex);
    return { answer: known ? 'known' : 'unknown', ms: Math.round(performance.now() - t0) };
  } catch (err) {
    deps.log.debug({ err, voteTxid: txidHex }, 'nearest dcrd did not say whether the vote is out; racing for the record');
    return { answer: 'no-answer', ms: Math.round(performance.now() - t0) };
  }
}

/** The answer to "is this vote already out?" at the hedge deadline, and how long it took. */
interface VoteCheck { answer: 'known' | 'unknown' | 'no-answer' | 'not-asked'; ms: number }

/** A step of the record-first machine: the next state, or the duty's result. */
type Step =
  | { to: 'hedge'; waitMs: number }
  | { to: 'check' }
  | { to: 'race'; vote: SignedVote; rec: VoteRecord; out: VoteCheck }
  | { to: 'retry'; err: unknown }
  | { to: 'done'; result: DutyResult }
  | { to: 'aborted' };

/** The duty's signal fired (block superseded or too old) before anything could be sent. */
const ABORT: Step = { to: 'aborted' };

/**
 * The record-first path (a backup, or an owner with stale state), as a state machine:
 *
 *     hedge ── a record appears ───────────────────────────▶ standby  (record-seen)
 *       │   └─ etcd was away during the hedge ─▶ hedge again, from when etcd is back
 *       ▼ no record by the deadline
 *     check ── our nearest dcrd holds this exact vote ─────▶ standby  (vote-seen)
 *       ▼ not known, no answer, or we are the owner
 *     race ─── create-if-absent won ───────────────────────▶ sent     (took-over)
 *       │   └─ lost: the stored vote is the vote ──────────▶ standby  (lost-race)
 *       ▼ etcd unavailable (any failure of hedge, check or race)
 *     retry ── backoff, wait until etcd answers ───────────▶ hedge (longer: the owner's queued record goes first)
 *
 *     any state, once the duty is aborted (block superseded or too old) ─▶ aborted
 *
 * The vote is built and signed once (from the inputs that apply at the draw's height), VOTE_CHECK_LEAD_MS
 * before the hedge ends. Nothing but the stored record's bytes is sent after a lost race.
 */
class RecordFirst {
  readonly #backoff: JitteredBackoff;
  readonly #base: Pick<DutyResult, 'rank' | 'path'>;
  readonly #path: NonNullable<VoteRecord['path']>;
  /** The pinned vote, once built and signed (from fresh inputs when the factory refreshes them). */
  #signed: SignedVote | undefined;
  /** The factory's fresh inputs for this draw (`VoteFactory.refresh`): in flight or done; reset on failure. */
  #fresh: Promise<void> | undefined;
  #freshDone = false;
  /** A vote signed here whose record write failed (etcd unreachable) and is not yet recorded. */
  #unrecorded: VoteRecord | undefined;
  /** The current attempt (one per hedge started) and when its hedge began. */
  #attempt = 0;
  #hedgeStart = 0;
  #hedgeStartMs = 0;
  /** The "already out?" question, asked VOTE_CHECK_LEAD_MS before the hedge ends (backups only). */
  #check: Promise<VoteCheck> | undefined;
  #checkTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deps: DutyDeps, private readonly recv: Span, private readonly ticketHex: string,
    private readonly ev: WinningTicketsEvent, private readonly plan: DutyPlan, private readonly signal: AbortSignal,
  ) {
    this.#backoff = new JitteredBackoff(deps.retryBaseMs, deps.retryMaxMs);
    this.#base = { rank: plan.rank, path: plan.path };
    this.#path = plan.rank === 0 ? 'record-first' : 'takeover';
  }

  async run(): Promise<DutyResult> {
    let step: Step = { to: 'hedge', waitMs: this.plan.waitMs };
    try {
      while (step.to !== 'aborted') {
        if (step.to === 'done') return step.result;
        try {
          if (step.to === 'hedge') step = await this.#hedge(step.waitMs);
          else if (step.to === 'check') step = await this.#checkVote();
          else if (step.to === 'race') step = await this.#race(step.vote, step.rec, step.out);
          else step = await this.#retry(step.err);
        } catch (err) {
          step = { to: 'retry', err };
        }
      }
    } finally {
      this.#disarmCheck();
    }
    if (this.#unrecorded) this.deps.onUnrecorded?.(this.#unrecorded);
    return { ...this.#base, outcome: 'aborted' };
  }

  /**
   * Builds and signs the pinned vote; kept once its inputs are final (fresh, or a factory
   * without `refresh`). Before that (an etcd outage kept them from being read) the vote is built
   * from the draw's pinned inputs for record repair only, which records nothing a dcrd does not hold.
   */
  #sign(): SignedVote {
    if (this.#signed) return this.#signed;
    const v = buildAndSign(this.deps, this.recv, this.ticketHex, this.ev);
    if (this.#freshDone || !this.deps.factory.refresh) this.#signed = v;
    return v;
  }

  /**
   * The record-first path's inputs: the factory's `refresh` (the cluster tip advanced to the
   * draw's height - 1, then linearizable reads), once; throws when etcd does not answer.
   */
  #refresh(): Promise<void> {
    const f = this.deps.factory;
    if (!f.refresh || this.#freshDone) return Promise.resolve();
    this.#fresh ??= f.refresh.call(f, this.ticketHex, this.ev).then(() => {
      this.#freshDone = true;
    }, (err: unknown) => {
      this.#fresh = undefined;
      throw err;
    });
    return this.#fresh;
  }

  /** Signs from fresh inputs (see {@link #refresh}). */
  async #signFresh(): Promise<SignedVote> {
    await this.#refresh();
    return this.#sign();
  }

  #done(outcome: DutyOutcome, txidHex: string): Step {
    return { to: 'done', result: { ...this.#base, outcome, txidHex } };
  }

  #disarmCheck(): void {
    clearTimeout(this.#checkTimer);
    this.#checkTimer = undefined;
  }

  /** hedge: wait up to `waitMs` for the signer's record; sign and ask dcrd shortly before the deadline. */
  async #hedge(waitMs: number): Promise<Step> {
    const { deps, plan, ev, ticketHex } = this;
    this.#disarmCheck();
    if (this.signal.aborted) return ABORT;
    this.#check = undefined;
    this.#attempt++;
    this.#hedgeStart = performance.now();
    this.#hedgeStartMs = Date.now();
    if (waitMs <= 0) return { to: 'check' };
    // VOTE_CHECK_LEAD_MS before the deadline (outside the draw's own burst of sends): sign the
    // pinned vote, so a takeover does no CPU work at the deadline, and ask whether it is out.
    this.#checkTimer = setTimeout(() => {
      const signed = this.#signFresh();
      const ask = plan.rank > 0 && deps.voteKnown;
      const check = signed.then((v) => (ask ? voteAlreadyOut(deps, v.txidHex) : undefined), (err: unknown) => {
        // Handled: the check step builds again at the deadline and reports the failure there.
        deps.log.debug({ err, ticket: ticketHex }, 'vote not built ahead of the hedge deadline');
        return undefined;
      });
      if (ask) this.#check = check.then((c): VoteCheck => c ?? { answer: 'no-answer', ms: 0 });
    }, voteCheckAtMs(waitMs));
    // etcd healthy: no separate read at the deadline (a quorum round trip, across the WAN with
    // remote members); the create-if-absent txn of the race returns the stored record if one exists.
    const finalRead = !etcdHealthySince(deps, this.#hedgeStartMs);
    const cut = this.#cutWhenAheadGone();
    let seen: VoteRecord | null;
    try {
      seen = await hedgeWait(deps, this.recv, ticketHex, ev, waitMs, plan.rank, cut ? AbortSignal.any([this.signal, cut.signal]) : this.signal, finalRead);
    } finally {
      cut?.abort();
    }
    if (seen) {
      deps.metrics.hedgeWait.observe({ result: 'record_seen' }, (performance.now() - this.#hedgeStart) / 1000);
      deps.delivery.deliver(toDeliver(ev, ticketHex, storedVote(seen), seen.signer, undefined), 'standby');
      return this.#done('record-seen', seen.voteTxid);
    }
    // etcd was away during (part of) this hedge: a read that hung through the outage and
    // answered "none" as quorum returned says nothing about the owner's queued record.
    // Hedge again from the moment etcd is back.
    if (deps.reach?.wasAwaySince(this.#hedgeStartMs)) {
      if (!(await deps.reach.whenReachable(this.signal))) return ABORT;
      return { to: 'hedge', waitMs: plan.waitMs + deps.retryMaxMs };
    }
    if (cut?.gone) {
      deps.log.info({ ticket: ticketHex, height: ev.height, rank: plan.rank, ahead: plan.order.slice(0, plan.rank), drawAgeMs: Date.now() - ev.receivedAtMs }, 'every voter ranked ahead is gone; racing for the record now');
    }
    return { to: 'check' };
  }

  /**
   * On the first hedge of a backup: a controller aborted as soon as every voter ranked ahead is
   * known gone (`gone` is then true), so the hedge ends early; undefined when not applicable.
   * A re-hedge after an etcd outage does not cut short (the owner's queued records go first).
   * Abort it when the hedge ends to drop the listener.
   */
  #cutWhenAheadGone(): (AbortController & { gone?: boolean }) | undefined {
    const { deps, plan } = this;
    if (!deps.whenGone || plan.rank === 0 || this.#attempt !== 1) return undefined;
    const cut: AbortController & { gone?: boolean } = new AbortController();
    void deps.whenGone(plan.order.slice(0, plan.rank), cut.signal).then((gone) => {
      if (!gone || cut.signal.aborted) return;
      cut.gone = true;
      cut.abort();
    });
    return cut;
  }

  /** check: no record by the deadline; a backup stands by if its nearest dcrd already holds this vote. */
  async #checkVote(): Promise<Step> {
    const { deps, plan, ev, ticketHex } = this;
    if (this.signal.aborted) return ABORT;
    const vote = await this.#signFresh();
    if (this.signal.aborted) return ABORT;
    const rec = recordOf(ev, ticketHex, vote, deps.selfId, this.#path);
    this.#disarmCheck();
    const out: VoteCheck = plan.rank === 0 ? { answer: 'not-asked', ms: 0 } : await (this.#check ?? voteAlreadyOut(deps, vote.txidHex));
    if (out.answer !== 'known') return { to: 'race', vote, rec, out };
    // Our nearest dcrd already holds these exact bytes: the owner signed and sent them and
    // only its record is late (a loaded etcd or event loop). Racing would only add broadcasts.
    // Stand by as for a record; if no record ever shows, record-repair.ts writes this one.
    deps.metrics.hedgeWait.observe({ result: 'vote_seen' }, (performance.now() - this.#hedgeStart) / 1000);
    deps.log.info({ ticket: ticketHex, height: ev.height, owner: plan.order[0], voteTxid: vote.txidHex, drawAgeMs: Date.now() - ev.receivedAtMs }, 'hedge expired but the vote is already out; standing by');
    deps.delivery.deliver(toDeliver(ev, ticketHex, vote, plan.order[0] ?? deps.selfId, undefined), 'standby');
    deps.onUnrecorded?.(rec);
    return this.#done('vote-seen', vote.txidHex);
  }

  /** race: create-if-absent; the winner sends its vote, a loser holds the stored one on standby. */
  async #race(vote: SignedVote, rec: VoteRecord, out: VoteCheck): Promise<Step> {
    const { deps, plan, ev, ticketHex, recv } = this;
    this.#unrecorded = rec;
    const { created, stored } = await recordSpan(deps, recv, rec, this.#attempt);
    this.#unrecorded = undefined;
    deps.reach?.noteSuccess();
    const waited = (performance.now() - this.#hedgeStart) / 1000;
    if (created) {
      if (plan.rank > 0) {
        deps.metrics.takeovers.inc();
        deps.metrics.hedgeWait.observe({ result: 'took_over' }, waited);
        startSpan(SPAN.CLUSTER_TAKEOVER, {
          tracer: deps.tracer,
          parent: contextWithSpan(recv),
          attributes: { [ATTR.TICKET_HASH]: ticketHex, [ATTR.RANK]: plan.rank, [ATTR.HEDGE_MS]: plan.waitMs },
        }).end();
      }
      broadcast(deps, recv, toDeliver(ev, ticketHex, vote, deps.selfId, undefined));
      if (plan.rank > 0) {
        deps.log.warn({
          ticket: ticketHex, height: ev.height, blockHashHex: ev.blockHashHex, rank: plan.rank, voteTxid: vote.txidHex,
          owner: plan.order[0], hedgeStartAfterMs: this.#hedgeStartMs - ev.receivedAtMs, sentAfterMs: Date.now() - ev.receivedAtMs,
          dcrdCheck: out.answer, dcrdCheckMs: out.ms,
        }, 'took over a vote as backup');
      }
      return this.#done('took-over', vote.txidHex);
    }
    // Lost the race: the stored vote is the vote, never our own bytes. Its signer sent it
    // before (owner fast path) or right after (takeover, record-first) storing it, so hold it
    // on standby as for a record seen while waiting: sent if that signer leaves.
    deps.metrics.hedgeWait.observe({ result: 'lost_race' }, waited);
    deps.log.info({ ticket: ticketHex, height: ev.height, storedSigner: stored.signer, dcrdCheck: out.answer, dcrdCheckMs: out.ms, drawAgeMs: Date.now() - ev.receivedAtMs }, 'lost the record race (the record landed after the hedge); holding the stored vote');
    if (stored.voteTxid !== vote.txidHex) {
      deps.log.warn({ ticket: ticketHex, height: ev.height, voteTxid: vote.txidHex, storedTxid: stored.voteTxid, storedRevision: stored.choicesRevision }, 'lost the record race to a different vote; holding the stored one');
    }
    deps.delivery.deliver(toDeliver(ev, ticketHex, storedVote(stored), stored.signer, undefined), 'standby');
    return this.#done('lost-race', stored.voteTxid);
  }

  /** The owner's outage fast path from the record-first path: signs from its view, sends, records when etcd returns. */
  async #outageFast(): Promise<Step> {
    const { deps, ev, ticketHex, recv } = this;
    this.#unrecorded = undefined;
    const signed = this.#sign();
    deps.log.warn({ ticket: ticketHex, height: ev.height, drawAgeMs: Date.now() - ev.receivedAtMs }, 'etcd stopped answering before the fresh inputs were read; owner signs on the outage fast path');
    return { to: 'done', result: await ownerFast(deps, recv, ticketHex, ev, signed) };
  }

  /**
   * retry: etcd unreachable (or a transient error). A backup cannot take over without a record, by
   * design: back off, wait until etcd answers again, then hedge anew FROM THAT MOMENT, with extra
   * time for the owner's queued record (written as soon as etcd answers) to land first.
   */
  async #retry(err: unknown): Promise<Step> {
    const { deps, plan, ev, ticketHex } = this;
    this.#disarmCheck();
    if (this.signal.aborted) return ABORT;
    if (isRetryable(err)) {
      deps.reach?.noteFailure();
      // Keep the vote this backup would record (the inputs at the draw's height): if the duty ends before
      // etcd returns, record-repair.ts records it once a dcrd shows these bytes went out.
      if (!this.#unrecorded && deps.onUnrecorded) {
        try {
          this.#unrecorded = recordOf(ev, ticketHex, this.#sign(), deps.selfId, this.#path);
        } catch (buildErr) {
          // Handled: a vote that cannot be built (ticket removed) leaves nothing to repair.
          deps.log.debug({ err: buildErr, ticket: ticketHex }, 'no vote to keep for record repair');
        }
      }
    }
    if (this.#attempt === 1 || this.#attempt % 10 === 0) {
      deps.log.warn({ ticket: ticketHex, height: ev.height, attempt: this.#attempt, err }, 'vote record unavailable; cannot take over yet, retrying');
    }
    if (!(await sleep(this.#backoff.nextMs(), this.signal))) return ABORT;
    // An owner sent here only because its view was not provably current, and etcd still does not
    // answer after the backoff, before the fresh inputs could be read: no tip can advance while
    // etcd is away, so nobody signs this draw canonically, and the owner keeps the outage fast
    // path (invariant 5) while its claim still plans it, rather than waiting out the outage.
    if (plan.reason === 'not-canonical' && !this.#freshDone && deps.reach?.answersNow() === false && deps.plan(ticketHex).path === 'fast') {
      return this.#outageFast();
    }
    if (deps.reach && !(await deps.reach.whenReachable(this.signal))) return ABORT;
    return { to: 'hedge', waitMs: plan.rank === 0 ? 0 : plan.waitMs + deps.retryMaxMs };
  }
}

function recordFirst(
  deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, plan: DutyPlan, signal: AbortSignal,
): Promise<DutyResult> {
  return new RecordFirst(deps, recv, ticketHex, ev, plan, signal).run();
}

function hedgeWait(
  deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, waitMs: number, rank: number, signal: AbortSignal, finalRead: boolean,
): Promise<VoteRecord | null> {
  return withSpan(SPAN.VOTER_HEDGE, { [ATTR.TICKET_HASH]: ticketHex, [ATTR.RANK]: rank, [ATTR.HEDGE_MS]: waitMs }, async (span) => {
    const seen = await deps.records.waitFor(ev.height, ev.blockHashHex, ticketHex, { timeoutMs: waitMs, signal, finalRead });
    span.setAttribute(ATTR.OUTCOME, seen ? 'record_seen' : 'timeout');
    return seen;
  }, { tracer: deps.tracer, parent: contextWithSpan(recv) });
}

function recordSpan(deps: DutyDeps, recv: Span, rec: VoteRecord, attempt: number): Promise<{ created: boolean; stored: VoteRecord }> {
  return withSpan(SPAN.CLUSTER_RECORD, { [ATTR.TICKET_HASH]: rec.ticketHash, [ATTR.VOTE_TXID]: rec.voteTxid, [ATTR.ATTEMPT]: attempt }, async (span) => {
    const r = await deps.records.record(rec);
    span.setAttribute(ATTR.OUTCOME, r.created ? 'recorded' : 'existing');
    return r;
  }, { tracer: deps.tracer, parent: contextWithSpan(recv) });
}
