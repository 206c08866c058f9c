import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { MissedWatch } from '../../../services/voter/missed-watch.ts';

const h = (n: number): string => n.toString(16).padStart(64, '0');

/** checkDelayMs keeps the mined/missed lookups out of the child's vote window (voter.ts uses 1 s). */
describe('MissedWatch checkDelayMs', () => {
  function delayed(checkDelayMs: number) {
    const looked: Array<{ txid: string; at: number }> = [];
    const voted: string[] = [];
    const w = new MissedWatch({
      locate: async (txid) => {
        looked.push({ txid, at: performance.now() });
        return { blockHash: h(2) };
      },
      onMissed: () => undefined,
      onVoted: (t) => voted.push(t),
      maxAgeBlocks: 2,
      log: pino({ level: 'silent' }),
      checkDelayMs,
    });
    return { w, looked, voted };
  }

  it('looks the votes up only after the delay, then judges them as without it', async () => {
    vi.useFakeTimers();
    try {
      const { w, looked, voted } = delayed(150);
      w.signed(h(1), 10, h(101), h(11));
      w.blockConnected(h(2), h(1), 11);
      expect(looked).toHaveLength(0); // not in the same tick as the child's draw
      await vi.advanceTimersByTimeAsync(149);
      expect(looked).toHaveLength(0); // nor before the delay
      await vi.advanceTimersByTimeAsync(1);
      await w.idle();
      expect(looked.map((l) => l.txid)).toEqual([h(11)]);
      expect(voted).toEqual([h(101)]);
      await w.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('stop() during the delay ends at once and looks nothing up', async () => {
    const { w, looked } = delayed(60_000);
    w.signed(h(1), 10, h(101), h(11));
    w.blockConnected(h(2), h(1), 11);
    await w.stop(); // would hang for the 60 s delay (past the test timeout) if stop() did not abort it
    expect(looked).toHaveLength(0);
  });

  it('many checks waiting at once raise no listener warning, and stop() ends them all', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(w.name); };
    process.on('warning', onWarning);
    try {
      const { w, looked } = delayed(60_000);
      for (let b = 1; b <= 30; b++) {
        w.signed(h(b), 10 + b, h(100 + b), h(1000 + b));
        w.blockConnected(h(b + 1), h(b), 11 + b);
      }
      await w.stop();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(looked).toHaveLength(0);
      expect(warnings.filter((n) => n === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
