/**
 * Retry delays: exponential growth from `baseMs` to `maxMs` with half jitter
 * (each delay uniform in [cap/2, cap]), which spreads reconnect and retry storms
 * while keeping a floor. The schedule is cockatiel's `ExponentialBackoff` with
 * its `halfJitterGenerator`; this class only keeps the position in it, so a
 * loop can ask for the next delay and start over after a success.
 */
import { ExponentialBackoff, halfJitterGenerator, type IBackoff } from 'cockatiel';

/** A resettable jittered exponential backoff (see the module comment). */
export class JitteredBackoff {
  readonly #factory: ExponentialBackoff<number>;
  #current: IBackoff<unknown> | undefined;

  constructor(baseMs: number, maxMs: number) {
    this.#factory = new ExponentialBackoff({ generator: halfJitterGenerator, initialDelay: baseMs, maxDelay: maxMs });
  }

  /** The delay before the next attempt, in ms; each call moves one step further. */
  nextMs(): number {
    this.#current = this.#current === undefined ? this.#factory.next() : this.#current.next(undefined);
    return this.#current.duration;
  }

  /** Back to the first step (after a success). */
  reset(): void {
    this.#current = undefined;
  }
}
