/**
 * An ordered list of components started in order and stopped in reverse under
 * one stop deadline. A service's `start()` and `stop()` then read as the list:
 * what runs, in which order, and which share of the deadline each stop spends.
 *
 * A component is added to the started set before its `start()` runs, so a stop
 * that arrives mid-start also stops the component being started (its `stop`
 * must cope with a half-done start). Stop first aborts the `signal` every
 * `start()` gets (a start that waits, e.g. for readiness, gives up on it) and
 * waits (within the deadline) for the start in progress, then stops each started
 * component, last first; each stop is given the smaller of its share and what is
 * left of the deadline, and a stop still running when the deadline passes is
 * left to finish on its own (the process supervisor's cap, the shutdown
 * deadline of stop-budget.ts, is the last word).
 */
import { settledWithin } from './waits.ts';

/** One part of a service with its start and stop. */
export interface Component {
  /** Shown in logs ("stopping x timed out"). */
  readonly name: string;
  /** Starts the part; may wait for it to be ready, and should stop waiting once `signal` aborts (a stop began). */
  start(signal: AbortSignal): void | Promise<void>;
  /**
   * Stops the part within `budgetMs` (its share, or less once the deadline is near). Must not
   * throw for a part that never started or half started.
   */
  stop(budgetMs: number): void | Promise<void>;
  /** The part's share of the stop deadline, in ms (default: whatever is left). */
  readonly stopShareMs?: number;
}

/** What {@link Lifecycle} reports while stopping. */
export interface LifecycleLog {
  warn(obj: object, msg: string): void;
}

/** See the module comment. */
export class Lifecycle {
  readonly #components: readonly Component[];
  readonly #stopDeadlineMs: number;
  readonly #log: LifecycleLog;
  readonly #started: Component[] = [];
  readonly #abort = new AbortController();
  #starting: Promise<void> | undefined;

  /** `stopDeadlineMs`: the whole stop, from the call to the last component. */
  constructor(components: readonly Component[], stopDeadlineMs: number, log: LifecycleLog) {
    this.#components = components;
    this.#stopDeadlineMs = stopDeadlineMs;
    this.#log = log;
  }

  /** True once `stop()` was called (a long start checks it to give up early). */
  get stopping(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Starts each component in order; stops starting once `stop()` was called. Rejects with the first start failure. */
  start(): Promise<void> {
    this.#starting ??= (async () => {
      const signal = this.#abort.signal;
      for (const c of this.#components) {
        if (signal.aborted) return;
        this.#started.push(c);
        await c.start(signal);
      }
    })();
    return this.#starting;
  }

  /** Stops every started component, last first, within the stop deadline (see the module comment). */
  async stop(): Promise<void> {
    this.#abort.abort();
    const end = Date.now() + this.#stopDeadlineMs;
    const left = (): number => Math.max(0, end - Date.now());
    if (this.#starting && !(await settledWithin(this.#starting, left()))) {
      this.#log.warn({ deadlineMs: this.#stopDeadlineMs }, 'start still running at stop; stopping what started');
    }
    for (const c of this.#started.splice(0).reverse()) {
      const budgetMs = Math.min(c.stopShareMs ?? Infinity, left());
      const stopped = (async () => c.stop(budgetMs))();
      stopped.catch((err: unknown) => this.#log.warn({ err, component: c.name }, 'component stop failed'));
      if (!(await settledWithin(stopped, left()))) {
        this.#log.warn({ component: c.name, deadlineMs: this.#stopDeadlineMs }, 'stop deadline reached; not waiting for this component');
      }
    }
  }
}
