/**
 * The base service: the small vocabulary every other service shares and that
 * belongs to none of them. It imports no other service.
 * - {@link CodedError}: the typed-error base (code, name, cause, retryable); {@link isRetryable}.
 * - Bounded waits: {@link settledWithin}, {@link valueWithin}, {@link rejectAfter}, {@link waitUntil}, {@link sleep}.
 * - {@link JitteredBackoff}: retry delays (cockatiel's exponential backoff with half jitter).
 * - {@link nearestRank}: the nearest-rank percentile of sorted values.
 * - {@link SHUTDOWN_DEADLINE_MS} and its shares {@link STOP_BUDGET_MS}.
 * - {@link Lifecycle}: components started in order and stopped in reverse under one stop deadline.
 */
export { CodedError, isRetryable } from './errors.ts';
export { DEFAULT_POLL_MS, WaitTimeoutError, rejectAfter, settledWithin, sleep, valueWithin, waitUntil } from './waits.ts';
export { JitteredBackoff } from './backoff.ts';
export { nearestRank } from './percentile.ts';
export { MAX_STREAM_DRAIN_MS, SHUTDOWN_DEADLINE_MS, STOP_BUDGET_MS, VOTER_STOP_WORST_MS } from './stop-budget.ts';
export { Lifecycle } from './lifecycle.ts';
export type { Component, LifecycleLog } from './lifecycle.ts';
