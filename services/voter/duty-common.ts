/**
 * What every duty path shares: the duty's dependencies and result, and the steps each path is
 * made of. A vote is built and signed from the inputs that apply at the draw's height
 * ({@link buildAndSign}), sent through the delivery tracker ({@link broadcast}), and its record
 * is written create-if-absent AFTER the send for a vote signed without etcd I/O first
 * ({@link sendThenRecord}: the owner's fast path, region signers). A stored record that differs
 * from what was sent is never answered with other bytes: {@link onStored} switches to the stored
 * vote (single signer). The strategies that use these steps: duty.ts (dispatch, all-vote, owner
 * fast path), region-duty.ts (region signers), record-first.ts (backups and stale owners).
 */
import type { Span, Tracer } from '@opentelemetry/api';
import { settledWithin } from '../base/index.ts';
import {
  ATTR, SPAN, contextWithSpan, injectTraceparent, recordError, startSpan, withSpan,
  type ComponentMetrics, type Logger,
} from '../telemetry/index.ts';
import type { VoteRecord } from '../cluster/index.ts';
import { fromHex, toHex } from '../decred/index.ts';
import type { WinningTicketsEvent } from './chain-event.ts';
import type { DutyRecords } from './cluster-records.ts';
import type { EtcdReach } from './etcd-reach.ts';
import type { DutyPlan } from './duty-plan.ts';
import type { VoterStrategy } from './config.ts';
import type { RegionPlan } from './region-plan.ts';
import type { RecordQueue } from './record-queue.ts';
import type { VoteDelivery, VoteToDeliver } from './vote-delivery.ts';
import type { CanonicalVerdict, InputsTiming, PreparedVote, SignedVote, VoteFactory } from './vote-factory.ts';

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

/** How one duty ended: the result of duty.ts `runDuty`. */
export interface DutyResult {
  outcome: DutyOutcome;
  rank: number;
  path: DutyPlan['path'] | 'all-vote' | 'region';
  txidHex?: string;
  /** A region backup (rank > 0) that signed: whether every voter ahead was gone, or its wait ran out. */
  cause?: 'ahead-gone' | 'deadline';
  /** How the draw's vote inputs were established (lease strategy). */
  inputs?: InputsTiming;
}

/** A vote this voter delivers for the draw: `signer` is whose vote it is, `proxies` narrows the fan-out (else every proxy). */
export function toDeliver(
  ev: WinningTicketsEvent, ticketHex: string, v: { rawTx: Uint8Array; txidHex: string }, signer: string, traceparent: string | undefined,
  proxies?: readonly string[],
): VoteToDeliver {
  return {
    ticketHex, blockHashHex: ev.blockHashHex, height: ev.height, rawTx: v.rawTx, txidHex: v.txidHex, signer,
    drawnAtMs: ev.receivedAtMs, ...(traceparent ? { traceparent } : {}), ...(proxies ? { proxies } : {}),
  };
}

/** The bytes and txid of a stored record, to deliver. */
export function storedVote(r: VoteRecord): { rawTx: Uint8Array; txidHex: string } {
  return { rawTx: fromHex(r.voteTxHex), txidHex: r.voteTxid };
}

/** The record of a vote this voter signed now (`createdAt` is stamped again when it is written). */
export function recordOf(ev: WinningTicketsEvent, ticketHex: string, signed: SignedVote, selfId: string, path: NonNullable<VoteRecord['path']>): VoteRecord {
  const now = new Date().toISOString();
  return {
    height: ev.height, blockHash: ev.blockHashHex, ticketHash: ticketHex, voteTxHex: toHex(signed.rawTx), voteTxid: signed.txidHex,
    signer: selfId, choicesRevision: signed.meta.revision, voteBits: signed.meta.voteBits, voteVersion: signed.meta.voteVersion,
    treasuryVotes: signed.meta.treasuryVotes.map((t) => ({ tspendHash: t.tspendHashHex, vote: t.vote })),
    ...(signed.meta.defaultsRevision !== undefined ? { defaultsRevision: signed.meta.defaultsRevision } : {}),
    createdAt: now, signedAt: now, drawnAt: new Date(ev.receivedAtMs).toISOString(), path,
  };
}

/** Builds then signs, each step in its own span (voter.build, voter.sign; a failure is recorded on its span and rethrown). */
export function buildAndSign(deps: DutyDeps, parent: Span, ticketHex: string, ev: WinningTicketsEvent): SignedVote {
  const attrs = { [ATTR.TICKET_HASH]: ticketHex, [ATTR.HEIGHT]: ev.height };
  const opts = { tracer: deps.tracer, parent: contextWithSpan(parent) };
  const prepared: PreparedVote = withSpan(SPAN.VOTER_BUILD, attrs, (b) => {
    const p = deps.factory.prepare(ticketHex, ev);
    b.setAttribute(ATTR.ETCD_REVISION, p.meta.revision);
    return p;
  }, opts);
  return withSpan(SPAN.VOTER_SIGN, attrs, (s) => {
    const signed = deps.factory.sign(prepared);
    s.setAttribute(ATTR.VOTE_TXID, signed.txidHex);
    return signed;
  }, opts);
}

/** Sends through the delivery tracker inside a voter.broadcast span; the traceparent rides to the proxies. */
export function broadcast(deps: DutyDeps, parent: Span, vote: Omit<VoteToDeliver, 'traceparent'>, replace = false): Promise<unknown> {
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

/** The owner's fast path once signed: sends through every proxy, then records after the first answers. */
export async function ownerFast(deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, signed: SignedVote): Promise<DutyResult> {
  await sendThenRecord(deps, recv, ticketHex, ev, signed, undefined, 'fast', (stored) => onStored(deps, recv, ev, ticketHex, signed, stored));
  return { outcome: 'fast-sent', rank: 0, path: 'fast', txidHex: signed.txidHex };
}

/**
 * Sends a vote this voter signed (to `proxies`, else every proxy), then submits its record once
 * the first round's answers are in (RECORD_AFTER_SEND_MAX_MS at most): the record is never on
 * the critical path. `stored` gets the record etcd holds (ours, or one that was there first).
 */
export async function sendThenRecord(
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
