/**
 * One voting duty: a managed ticket drawn for one block hash. Invariants
 * protected (DESIGN.md §3):
 * - 2: at most one distinct vote per (ticket, block). A vote is deterministic
 *   (RFC 6979; built from the ticket record at one etcd revision), the record is
 *   written create-if-absent, and whoever loses that race sends the STORED bytes.
 *   Nothing here ever sends bytes that differ from a stored record.
 * - 3: the owner with fresh state signs from its cache and sends first; the
 *   record is written right after (no etcd I/O before the first send). If etcd
 *   is unreachable the record is queued and written when it returns.
 * - 4: backup rank k waits k × hedge for the record, then races for it.
 * - 5: an owner with a stale lease or watch takes the record-first path.
 * The `all-vote` strategy (vspd's behaviour, for comparison) signs and sends
 * on every replica with no etcd coordination at all.
 */
import type { Span, Tracer } from '@opentelemetry/api';
import { setTimeout as delay } from 'node:timers/promises';
import {
  ATTR, SPAN, contextWithSpan, injectTraceparent, recordError, startSpan,
  type ComponentMetrics, type Logger,
} from '../telemetry/index.ts';
import type { WinningTicketsEvent } from './chain-event.ts';
import type { EtcdReach } from './etcd-reach.ts';
import type { DutyPlan } from './hedge.ts';
import type { RecordQueue } from './record-queue.ts';
import type { VoteDelivery, VoteToDeliver } from './resend.ts';
import type { PreparedVote, SignedVote, VoteFactory } from './vote-factory.ts';

/** A vote record as stored in etcd, reduced to what the duty needs. */
export interface StoredVote {
  rawTx: Uint8Array;
  txidHex: string;
  signer: string;
  /** etcd revision of the ticket record the stored vote was built from. */
  revision: string;
}

/** What the duty writes (create-if-absent). */
export interface VoteRecordInput {
  height: number;
  blockHashHex: string;
  ticketHex: string;
  rawTx: Uint8Array;
  txidHex: string;
  signer: string;
  voteBits: number;
  voteVersion: number;
  treasuryVotes: readonly { tspendHashHex: string; vote: 'yes' | 'no' }[];
  revision: string;
  /** etcd mod revision of `config/vote-defaults` the vote was built with (decimal), when known. */
  defaultsRevision?: string;
  drawnAtMs: number;
  signedAtMs: number;
  /** How the vote was produced: owner fast path, owner record-first (stale state), backup takeover, post-outage repair. */
  path: 'fast' | 'record-first' | 'takeover' | 'repair';
}

/** The vote-record operations of the cluster, as the duty uses them. */
export interface DutyRecords {
  /** Create-if-absent; `stored` is ours when `created`, else the existing record. Throws when etcd is unreachable. */
  record(rec: VoteRecordInput): Promise<{ created: boolean; stored: StoredVote }>;
  /** Waits up to `timeoutMs` for a record to appear; null on timeout. Throws when etcd is unreachable. */
  waitFor(
    height: number, blockHashHex: string, ticketHex: string,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<StoredVote | null>;
}

/** Everything a duty needs; built once by the voter. */
export interface DutyDeps {
  selfId: string;
  strategy: 'lease' | 'all-vote';
  plan(ticketHex: string): DutyPlan;
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
  onUnrecorded?: (rec: VoteRecordInput) => void;
  /** Tracer of the voter's spans (telemetry `serviceTracer('votecluster-voter', ...)`); default the process tracer. */
  tracer?: Tracer;
}

/** How a duty ended. */
export type DutyOutcome =
  | 'fast-sent' // owner: signed, sent, record written or queued
  | 'all-vote-sent' // all-vote strategy
  | 'took-over' // backup (or stale owner) won the record race and sent its own vote
  | 'lost-race' // the race was lost: the stored bytes were sent
  | 'record-seen' // a record appeared while waiting: standby (sent only if its signer dies)
  | 'aborted'; // the block was superseded or too old before anything could be sent

/** Result of {@link runDuty}. */
export interface DutyResult {
  outcome: DutyOutcome;
  rank: number;
  path: DutyPlan['path'] | 'all-vote';
  txidHex?: string;
}

function toDeliver(ev: WinningTicketsEvent, ticketHex: string, v: { rawTx: Uint8Array; txidHex: string }, signer: string, traceparent: string | undefined): VoteToDeliver {
  return {
    ticketHex, blockHashHex: ev.blockHashHex, height: ev.height, rawTx: v.rawTx, txidHex: v.txidHex, signer,
    drawnAtMs: ev.receivedAtMs, ...(traceparent ? { traceparent } : {}),
  };
}

function recordInput(
  ev: WinningTicketsEvent, ticketHex: string, signed: SignedVote, selfId: string, path: VoteRecordInput['path'],
): VoteRecordInput {
  return {
    height: ev.height, blockHashHex: ev.blockHashHex, ticketHex, rawTx: signed.rawTx, txidHex: signed.txidHex,
    signer: selfId, voteBits: signed.meta.voteBits, voteVersion: signed.meta.voteVersion,
    treasuryVotes: signed.meta.treasuryVotes, revision: signed.meta.revision,
    ...(signed.meta.defaultsRevision !== undefined ? { defaultsRevision: signed.meta.defaultsRevision } : {}),
    drawnAtMs: ev.receivedAtMs, signedAtMs: Date.now(), path,
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

/** Resolves when `p` settles or after `ms`, whichever is first (never rejects). */
function settledOrAfter(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => undefined, () => undefined),
    new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Compares what was stored with what we sent: a mismatch means the choices
 * changed between revisions. From then on only the stored bytes are sent.
 */
export function onStored(deps: DutyDeps, parent: Span, ev: WinningTicketsEvent, ticketHex: string, ours: SignedVote, stored: StoredVote): void {
  if (stored.txidHex === ours.txidHex) return;
  deps.metrics.votes.inc({ outcome: 'record_mismatch' });
  deps.log.error(
    { ticket: ticketHex, height: ev.height, blockHashHex: ev.blockHashHex, voteTxid: ours.txidHex, storedTxid: stored.txidHex, storedSigner: stored.signer, ourRevision: ours.meta.revision, storedRevision: stored.revision },
    'stored vote differs from the one sent; sending only the stored vote from now on',
  );
  broadcast(deps, parent, toDeliver(ev, ticketHex, stored, stored.signer, undefined), true);
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
      : await leaseDuty(deps, recv, ticketHex, ev, signal);
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

async function leaseDuty(deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, signal: AbortSignal): Promise<DutyResult> {
  const plan = deps.plan(ticketHex);
  if (plan.path === 'fast') {
    const signed = buildAndSign(deps, recv, ticketHex, ev);
    const firstRound = broadcast(deps, recv, toDeliver(ev, ticketHex, signed, deps.selfId, undefined));
    // Recording follows the first send's answers (RECORD_AFTER_SEND_MAX_MS at most); it is never on the critical path.
    const rec = recordInput(ev, ticketHex, signed, deps.selfId, 'fast');
    await settledOrAfter(firstRound, RECORD_AFTER_SEND_MAX_MS);
    // cluster.record spans the time until the record is stored (queued while etcd is down).
    const recSpan = startSpan(SPAN.CLUSTER_RECORD, {
      tracer: deps.tracer,
      parent: contextWithSpan(recv),
      attributes: { [ATTR.TICKET_HASH]: ticketHex, [ATTR.VOTE_TXID]: signed.txidHex, [ATTR.ATTEMPT]: 1 },
    });
    deps.recordQueue.submit(rec, (stored) => {
      recSpan.setAttribute(ATTR.OUTCOME, stored.txidHex === signed.txidHex && stored.signer === deps.selfId ? 'recorded' : 'existing');
      recSpan.end();
      onStored(deps, recv, ev, ticketHex, signed, stored);
    });
    return { outcome: 'fast-sent', rank: 0, path: 'fast', txidHex: signed.txidHex };
  }
  if (plan.reason !== 'backup') {
    deps.log.info({ ticket: ticketHex, height: ev.height, reason: plan.reason }, 'owner takes the record-first path');
  }
  return recordFirst(deps, recv, ticketHex, ev, plan, signal);
}

async function recordFirst(
  deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, plan: DutyPlan, signal: AbortSignal,
): Promise<DutyResult> {
  const base = { rank: plan.rank, path: plan.path } as const;
  let waitMs = plan.waitMs;
  // A vote signed here whose record write failed (etcd unreachable) and not yet recorded.
  let unrecorded: VoteRecordInput | undefined;
  for (let attempt = 1; !signal.aborted; attempt++) {
    const hedgeStart = performance.now();
    const hedgeStartMs = Date.now();
    try {
      if (waitMs > 0) {
        const seen = await hedgeWait(deps, recv, ticketHex, ev, waitMs, plan.rank, signal);
        if (seen) {
          deps.metrics.hedgeWait.observe({ result: 'record_seen' }, (performance.now() - hedgeStart) / 1000);
          deps.delivery.deliver(toDeliver(ev, ticketHex, seen, seen.signer, undefined), 'standby');
          return { ...base, outcome: 'record-seen', txidHex: seen.txidHex };
        }
        // etcd was away during (part of) this hedge: a read that hung through the outage and
        // answered "none" as quorum returned says nothing about the owner's queued record.
        // Hedge again from the moment etcd is back.
        const backAt = deps.reach?.backAtMs;
        if (deps.reach && (!deps.reach.isReachable || (backAt !== undefined && backAt >= hedgeStartMs))) {
          if (!(await deps.reach.whenReachable(signal))) break;
          waitMs = plan.waitMs + deps.retryMaxMs;
          continue;
        }
      }
      if (signal.aborted) break;
      const signed = buildAndSign(deps, recv, ticketHex, ev);
      const rec = recordInput(ev, ticketHex, signed, deps.selfId, plan.rank === 0 ? 'record-first' : 'takeover');
      unrecorded = rec;
      const { created, stored } = await recordSpan(deps, recv, rec, attempt);
      unrecorded = undefined;
      deps.reach?.noteSuccess();
      const waited = (performance.now() - hedgeStart) / 1000;
      if (created) {
        if (plan.rank > 0) {
          deps.metrics.takeovers.inc();
          deps.metrics.hedgeWait.observe({ result: 'took_over' }, waited);
          const t = startSpan(SPAN.CLUSTER_TAKEOVER, {
    tracer: deps.tracer,
            parent: contextWithSpan(recv),
            attributes: { [ATTR.TICKET_HASH]: ticketHex, [ATTR.RANK]: plan.rank, [ATTR.HEDGE_MS]: plan.waitMs },
          });
          t.end();
          deps.log.warn({ ticket: ticketHex, height: ev.height, blockHashHex: ev.blockHashHex, rank: plan.rank, voteTxid: signed.txidHex }, 'took over a vote as backup');
        }
        broadcast(deps, recv, toDeliver(ev, ticketHex, signed, deps.selfId, undefined));
        return { ...base, outcome: 'took-over', txidHex: signed.txidHex };
      }
      // Lost the race: the stored vote is the vote. Send it, never our own bytes.
      deps.metrics.hedgeWait.observe({ result: 'lost_race' }, waited);
      if (stored.txidHex !== signed.txidHex) {
        deps.log.warn({ ticket: ticketHex, height: ev.height, voteTxid: signed.txidHex, storedTxid: stored.txidHex, storedRevision: stored.revision }, 'lost the record race to a different vote; sending the stored one');
      }
      broadcast(deps, recv, toDeliver(ev, ticketHex, stored, stored.signer, undefined));
      return { ...base, outcome: 'lost-race', txidHex: stored.txidHex };
    } catch (err) {
      // etcd unreachable (or a transient error): a backup cannot take over without a
      // record, by design. Retry, bounded by the duty's lifetime (signal), backed off.
      if (signal.aborted) break;
      if ((err as { retryable?: unknown } | undefined)?.retryable === true) {
        deps.reach?.noteFailure();
        // Keep the vote this backup would record (inputs pinned at the draw): if the duty ends before
        // etcd returns, record-repair.ts records it once a dcrd shows these bytes went out.
        if (!unrecorded && deps.onUnrecorded) {
          try {
            unrecorded = recordInput(ev, ticketHex, buildAndSign(deps, recv, ticketHex, ev), deps.selfId, plan.rank === 0 ? 'record-first' : 'takeover');
          } catch {
            // cannot build (ticket removed): nothing to repair
          }
        }
      }
      const backoff = Math.min(deps.retryMaxMs, deps.retryBaseMs * 2 ** Math.min(attempt - 1, 16));
      if (attempt === 1 || attempt % 10 === 0) {
        deps.log.warn({ ticket: ticketHex, height: ev.height, attempt, err }, 'vote record unavailable; cannot take over yet, retrying');
      }
      try {
        await delay(backoff / 2 + Math.random() * (backoff / 2), undefined, { signal });
      } catch {
        break; // aborted: the block is superseded or too old
      }
      // No takeover is possible without a record (fault table: etcd quorum lost). Wait until
      // etcd answers again, then hedge anew FROM THAT MOMENT, with extra time for the owner's
      // queued record (written as soon as etcd answers) to land first.
      if (deps.reach && !(await deps.reach.whenReachable(signal))) break;
      waitMs = plan.rank === 0 ? 0 : plan.waitMs + deps.retryMaxMs;
    }
  }
  if (unrecorded) deps.onUnrecorded?.(unrecorded);
  return { ...base, outcome: 'aborted' };
}

async function hedgeWait(
  deps: DutyDeps, recv: Span, ticketHex: string, ev: WinningTicketsEvent, waitMs: number, rank: number, signal: AbortSignal,
): Promise<StoredVote | null> {
  const span = startSpan(SPAN.VOTER_HEDGE, {
    tracer: deps.tracer,
    parent: contextWithSpan(recv),
    attributes: { [ATTR.TICKET_HASH]: ticketHex, [ATTR.RANK]: rank, [ATTR.HEDGE_MS]: waitMs },
  });
  try {
    const seen = await deps.records.waitFor(ev.height, ev.blockHashHex, ticketHex, { timeoutMs: waitMs, signal });
    span.setAttribute(ATTR.OUTCOME, seen ? 'record_seen' : 'timeout');
    return seen;
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}

async function recordSpan(deps: DutyDeps, recv: Span, rec: VoteRecordInput, attempt: number): Promise<{ created: boolean; stored: StoredVote }> {
  const span = startSpan(SPAN.CLUSTER_RECORD, {
    tracer: deps.tracer,
    parent: contextWithSpan(recv),
    attributes: { [ATTR.TICKET_HASH]: rec.ticketHex, [ATTR.VOTE_TXID]: rec.txidHex, [ATTR.ATTEMPT]: attempt },
  });
  try {
    const r = await deps.records.record(rec);
    span.setAttribute(ATTR.OUTCOME, r.created ? 'recorded' : 'existing');
    return r;
  } catch (err) {
    recordError(span, err);
    throw err;
  } finally {
    span.end();
  }
}
