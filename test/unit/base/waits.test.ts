import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WaitTimeoutError, isRetryable, rejectAfter, settledWithin, sleep, valueWithin, waitUntil } from '../../../services/base/index.ts';

describe('bounded waits', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('settledWithin: true for a settled promise (fulfilled or rejected), false when the time runs out', async () => {
    await expect(settledWithin(Promise.resolve(1), 100)).resolves.toBe(true);
    await expect(settledWithin(Promise.reject(new Error('x')), 100)).resolves.toBe(true);
    const never = settledWithin(new Promise(() => undefined), 100);
    await vi.advanceTimersByTimeAsync(100);
    await expect(never).resolves.toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('valueWithin: the value, or undefined on rejection or timeout', async () => {
    await expect(valueWithin(Promise.resolve('v'), 100)).resolves.toBe('v');
    await expect(valueWithin(Promise.reject(new Error('x')), 100)).resolves.toBeUndefined();
    const never = valueWithin(new Promise(() => undefined), 100);
    await vi.advanceTimersByTimeAsync(100);
    await expect(never).resolves.toBeUndefined();
  });

  it('rejectAfter: passes the outcome through, or rejects with a retryable WaitTimeoutError', async () => {
    await expect(rejectAfter(Promise.resolve(2), 100)).resolves.toBe(2);
    const late = rejectAfter(new Promise(() => undefined), 100);
    const seen = late.catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    const err = await seen;
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).code).toBe('BASE_WAIT_TIMEOUT');
    expect(isRetryable(err)).toBe(true);
  });

  it('waitUntil: true once the condition holds, false at the deadline', async () => {
    let n = 0;
    const held = waitUntil(() => ++n >= 3, 1_000, 10);
    await vi.advanceTimersByTimeAsync(30);
    await expect(held).resolves.toBe(true);
    const never = waitUntil(() => false, 100, 10);
    await vi.advanceTimersByTimeAsync(200);
    await expect(never).resolves.toBe(false);
  });

  it('sleep: true when the time passed, false at once when aborted', async () => {
    const done = sleep(50);
    await vi.advanceTimersByTimeAsync(50);
    await expect(done).resolves.toBe(true);
    const ac = new AbortController();
    const cut = sleep(10_000, ac.signal);
    ac.abort();
    await expect(cut).resolves.toBe(false);
    expect(vi.getTimerCount()).toBe(0);
    await expect(sleep(10, ac.signal)).resolves.toBe(false);
  });
});
