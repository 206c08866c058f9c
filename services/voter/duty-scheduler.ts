/**
 * Which duties run: one per (managed ticket, block hash), started when a draw
 * arrives (or when a ticket enters the cluster while one of its draws is open),
 * retired when its block is disconnected or too old, and stopped together at
 * voter stop under a bounded grace. Counts the outcomes for `stats()`.
 */
import { settledWithin } from '../base/index.ts';
import type { ComponentMetrics, Logger } from '../telemetry/index.ts';
import { dutyKey, type WinningTicketsEvent } from './chain-event.ts';
import { runDuty } from './duty.ts';
import type { DutyDeps, DutyOutcome, DutyResult } from './duty-common.ts';
import type { InputsTiming } from './vote-factory.ts';
import { VoterAgendasUnknownError, VoterError } from './errors.ts';

/** One finished duty, for observers. */
export interface DutyEvent {
  ticketHex: string;
  blockHashHex: string;
  height: number;
  outcome: DutyOutcome | 'error';
  rank: number;
  txidHex?: string;
  /** A region backup that signed: every voter ahead was gone, or its wait ran out (duty.ts). */
  cause?: 'ahead-gone' | 'deadline';
  /** The path the duty took (duty.ts). */
  path?: DutyResult['path'];
  /** How the draw's vote inputs were established (lease strategy). */
  inputs?: InputsTiming;
  /** When the draw reached this voter and when the duty ended (epoch ms). */
  receivedAtMs?: number;
  doneAtMs?: number;
  error?: unknown;
}

/** Collaborators of {@link DutyScheduler}. */
export interface DutySchedulerHooks {
  /** Whether a ticket is managed (in the ticket cache) now. */
  isManaged(ticketHex: string): boolean;
  /** A duty starts: pin the vote's inputs (those in force when the draw arrived). */
  pin(ticketHex: string, ev: WinningTicketsEvent): void;
  /** Duties of these draws are retired: drop their pinned inputs. */
  unpin(pred: (d: { height: number; blockHashHex: string }) => boolean): void;
  /** Managed tickets of a draw have duties now (record repair's view of the draw). */
  drawSeen(blockHashHex: string, height: number, ticketsHex: string[], receivedAtMs: number): void;
  /** A duty sent a vote this voter signed (the mined/missed check follows it). */
  signed(blockHashHex: string, height: number, ticketHex: string, txidHex: string): void;
  /** Every duty result (demo view, tests). Must not throw. */
  onDuty?: ((info: DutyEvent) => void) | undefined;
}

/**
 * The abort reason of a retired duty, built once: `abort()` without a reason builds a
 * DOMException with a stack trace per duty (~0.3 ms each, 10 per block on the draw's hot path).
 */
const DUTY_RETIRED = new VoterError('VOTER_DUTY_RETIRED', 'the duty\'s block was superseded or is too old');

interface RunningDuty {
  abort: AbortController;
  height: number;
  blockHashHex: string;
  done: Promise<void>;
}

/** See the module comment. */
export class DutyScheduler {
  readonly #running = new Map<string, RunningDuty>();
  readonly #outcomes: Record<string, number> = {};
  #started = 0;
  #takeovers = 0;

  constructor(
    private readonly hooks: DutySchedulerHooks,
    private readonly metrics: ComponentMetrics<'voter'>,
    private readonly log: Logger,
  ) {}

  /** Duties started since the voter started. */
  get started(): number {
    return this.#started;
  }

  /** Takeovers by this voter as a backup (rank > 0; a region signer's backup counts when it signed). */
  get takeovers(): number {
    return this.#takeovers;
  }

  /** Outcome → count. */
  outcomes(): Record<string, number> {
    return { ...this.#outcomes };
  }

  /** Whether the duty of `ticketHex` on `blockHashHex` runs (or ran and was not retired). */
  has(ticketHex: string, blockHashHex: string): boolean {
    return this.#running.has(dutyKey(ticketHex, blockHashHex));
  }

  /** A draw arrived: starts the duty of every managed ticket it names. */
  startDraw(ev: WinningTicketsEvent, deps: DutyDeps): void {
    const managed = ev.ticketsHex.filter((t) => this.hooks.isManaged(t));
    for (const t of managed) this.#start(t, ev, deps);
    if (managed.length > 0) {
      this.hooks.drawSeen(ev.blockHashHex, ev.height, managed, ev.receivedAtMs);
      this.log.debug({ height: ev.height, blockHashHex: ev.blockHashHex, managed: managed.length }, 'draw received');
    }
  }

  /**
   * A ticket that entered the cluster after its draw arrived (imported late; or named again by a
   * re-delivered draw it was not managed at): voted at once on each open draw that names it, on
   * the record-first path (`lateDeps`: nothing was committed for it before the draw).
   */
  startLate(ticketHex: string, draws: readonly WinningTicketsEvent[], lateDeps: DutyDeps): void {
    if (!this.hooks.isManaged(ticketHex)) return;
    for (const ev of draws) {
      if (!this.#start(ticketHex, ev, lateDeps)) continue;
      this.hooks.drawSeen(ev.blockHashHex, ev.height, [ticketHex], ev.receivedAtMs);
      this.metrics.lateTickets.inc();
      this.log.info({ ticket: ticketHex, height: ev.height, blockHashHex: ev.blockHashHex, drawAgeMs: Date.now() - ev.receivedAtMs },
        'ticket entered the cluster while its draw is open; voting it now');
    }
  }

  /** Aborts and forgets the duties `pred` selects (block superseded or too old). */
  retire(pred: (d: { height: number; blockHashHex: string }) => boolean): void {
    this.hooks.unpin(pred);
    for (const [key, d] of this.#running) {
      if (pred(d)) {
        d.abort.abort(DUTY_RETIRED);
        this.#running.delete(key);
      }
    }
  }

  /**
   * Aborts every duty and waits up to `graceMs` for them to end. Aborted duties end at their next
   * await, except one inside an etcd txn or a proxy query (seconds with the etcd client's retries
   * under load): one still running can only finish its own step (its record is create-if-absent
   * and recorded-before-sent; the clients close under it).
   */
  async stop(graceMs: number): Promise<void> {
    for (const d of this.#running.values()) d.abort.abort(DUTY_RETIRED);
    const pending = [...this.#running.values()].map((d) => d.done);
    if (!(await settledWithin(Promise.allSettled(pending), graceMs))) {
      this.log.warn({ duties: pending.length, graceMs }, 'duties still in an etcd or proxy call at stop; not waiting longer');
    }
    this.#running.clear();
  }

  /** Starts the duty unless it has one already; false when it had one. */
  #start(ticketHex: string, ev: WinningTicketsEvent, deps: DutyDeps): boolean {
    const key = dutyKey(ticketHex, ev.blockHashHex);
    if (this.#running.has(key)) return false;
    this.#started++;
    this.metrics.draws.inc();
    // The vote's inputs are those in force when the draw arrived (or, for a ticket that entered
    // the cluster later, when it entered), whatever path the duty takes.
    this.hooks.pin(ticketHex, ev);
    const abort = new AbortController();
    const base = { ticketHex, blockHashHex: ev.blockHashHex, height: ev.height };
    const done = runDuty(deps, ticketHex, ev, abort.signal).then(
      (r) => {
        this.#count(r.outcome);
        if ((r.outcome === 'took-over' || r.outcome === 'region-sent') && r.rank > 0) this.#takeovers++;
        if (r.txidHex && (r.outcome === 'fast-sent' || r.outcome === 'took-over' || r.outcome === 'all-vote-sent' || r.outcome === 'region-sent')) {
          this.hooks.signed(ev.blockHashHex, ev.height, ticketHex, r.txidHex);
        }
        this.log.info({ ticket: ticketHex, height: ev.height, blockHashHex: ev.blockHashHex, outcome: r.outcome, rank: r.rank, voteTxid: r.txidHex }, 'duty done');
        this.hooks.onDuty?.({
          ...base, outcome: r.outcome, rank: r.rank, path: r.path, receivedAtMs: ev.receivedAtMs, doneAtMs: Date.now(),
          ...(r.txidHex ? { txidHex: r.txidHex } : {}), ...(r.cause ? { cause: r.cause } : {}), ...(r.inputs ? { inputs: r.inputs } : {}),
        });
      },
      (err: unknown) => {
        // A duty that cannot build (ticket removed meanwhile, corrupt record, wrong key):
        // logged as an operator problem; the other duties are unaffected.
        this.#count('error');
        if (err instanceof VoterAgendasUnknownError) this.metrics.agendasUnknown.inc();
        this.log.error({ err, ticket: ticketHex, height: ev.height }, 'duty failed');
        this.hooks.onDuty?.({ ...base, outcome: 'error', rank: -1, error: err });
      },
    );
    this.#running.set(key, { abort, height: ev.height, blockHashHex: ev.blockHashHex, done });
    return true;
  }

  #count(outcome: string): void {
    this.#outcomes[outcome] = (this.#outcomes[outcome] ?? 0) + 1;
  }
}
