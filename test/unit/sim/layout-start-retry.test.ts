/**
 * The layout's voter start retry (services/sim/layout/voter-handle.ts startWithRetry): a start
 * that fails retryably while etcd cannot commit (it elects, or a starved machine keeps it from
 * answering) is not charged to the retry window, and the next attempt waits for etcd; failures
 * while etcd is ready use the window up and the error says how the time went.
 */
import { describe, expect, it, vi } from 'vitest';
import { startWithRetry, VoterStartError } from '../../../services/sim/layout/voter-handle.ts';
import { createLogger } from '../../../services/telemetry/index.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const retryable = (): Error => Object.assign(new Error('etcd join: DEADLINE_EXCEEDED'), { retryable: true });
const attemptMs = 20;
const slowFail = (): Promise<never> => new Promise((_, reject) => setTimeout(() => reject(retryable()), attemptMs));

describe('layout voter start retry', () => {
  it('failures while etcd is not ready are not charged, and the retry waits until it is', async () => {
    let ready = false;
    const electing = setTimeout(() => { ready = true; }, 400); // etcd elects for 400 ms
    /** Per attempt: whether etcd was ready when it started. */
    const startedReady: boolean[] = [];
    await startWithRetry(log, 'a1', async () => {
      startedReady.push(ready);
      if (startedReady.length <= 3) return slowFail(); // the first while electing, two more after
    }, {
      etcdReady: async () => ready,
      windowMs: 300, // less than the election alone: a window counting all the time would have run out
      pauseMs: 1,
    });
    clearTimeout(electing);
    expect(startedReady.length).toBe(4);
    // The second attempt waited for etcd instead of hammering it while it elected.
    expect(startedReady.slice(1)).toEqual([true, true, true]);
  });

  it('failures while etcd is ready use the window up; the error says how the time went', async () => {
    let attempts = 0;
    const err = await startWithRetry(log, 'b1', async () => {
      attempts++;
      return slowFail();
    }, { etcdReady: async () => true, windowMs: attemptMs * 3, pauseMs: 1 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(VoterStartError);
    expect((err as VoterStartError).code).toBe('LAYOUT_VOTER_START');
    expect((err as Error).message).toMatch(/start failed \d+ times in \d+ ms \(\d+ ms of it while etcd was ready, 0 ms while it was not\): etcd join: DEADLINE_EXCEEDED/);
    expect(attempts).toBeLessThan(10);
  });

  it('the cap bounds a start whose etcd never becomes ready', async () => {
    vi.useFakeTimers();
    try {
      let settled = false;
      const result = startWithRetry(log, 'c1', slowFail, { etcdReady: async () => false, windowMs: 10, capMs: 300, pauseMs: 1 })
        .then(() => undefined, (e: unknown) => e as Error)
        .finally(() => { settled = true; });
      // Before the cap it keeps waiting for etcd; once the cap has passed (plus one poll and one
      // failed attempt) it has given up.
      await vi.advanceTimersByTimeAsync(250);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(settled).toBe(true);
      expect((await result)?.message).toMatch(/while it was not/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a non-retryable failure is thrown at once', async () => {
    let attempts = 0;
    const boom = new Error('nodeId a1 is held by another live session');
    await expect(startWithRetry(log, 'a1', async () => {
      attempts++;
      throw boom;
    }, { etcdReady: async () => true })).rejects.toBe(boom);
    expect(attempts).toBe(1);
  });
});
