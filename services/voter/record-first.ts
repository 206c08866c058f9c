/**
 * The record-first path of a single-signer draw: a backup (rank k waits k × hedge for the
 * signer's record, at once when every voter ranked ahead is known gone; a silent failure is
 * waited out), or an owner whose lease or watch is stale or whose view is not provably current
 * (inputs read fresh from etcd first). No record by the deadline: a backup asks its nearest dcrd
 * whether its exact vote is out (vote-check.ts; yes: standby), else it races create-if-absent:
 * the winner sends its own vote, a loser holds the STORED bytes on standby. While etcd does not
 * answer nobody takes over; the hedge starts again once etcd is back, longer, so the owner's
 * queued record lands first. The states and transitions are on {@link RecordFirst}.
 */
import type { Span } from '@opentelemetry/api';
import { JitteredBackoff, isRetryable, sleep } from '../base/index.ts';
import { ATTR, SPAN, contextWithSpan, startSpan, withSpan } from '../telemetry/index.ts';
import type { VoteRecord } from '../cluster/index.ts';
import type { WinningTicketsEvent } from './chain-event.ts';
import type { DutyPlan } from './duty-plan.ts';
import {
  broadcast, buildAndSign, ownerFast, recordOf, storedVote, toDeliver,
  type DutyDeps, type DutyOutcome, type DutyResult,
} from './duty-common.ts';
import type { SignedVote } from './vote-factory.ts';
import { voteAlreadyOut, voteCheckAtMs, type VoteCheck } from './vote-check.ts';

/**
 * Whether etcd answered recently enough that the hedge's final linearizable read can be left to
 * the create-if-absent txn itself (which returns the stored record when it loses): our lease was
 * confirmed lately, the votes watch is up and no failure was seen since before this hedge began.
 */
function etcdHealthySince(deps: DutyDeps, sinceMs: number): boolean {
  return deps.reach?.isCurrentSince(sinceMs) ?? false;
}

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

/** Runs the record-first path of one duty (see {@link RecordFirst}) to its first send, standby or abort. */
export function recordFirst(
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
