import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MissedWatch } from '../../../services/voter/missed-watch.ts';

const h = (n: number): string => n.toString(16).padStart(64, '0');

function watch(where: Record<string, { blockHash?: string } | 'not-found' | Error>) {
  const missed: string[] = [];
  const voted: string[] = [];
  const w = new MissedWatch({
    locate: async (txid) => {
      const r = where[txid];
      if (r instanceof Error) throw r;
      return r ?? 'not-found';
    },
    onMissed: (t) => missed.push(t),
    onVoted: (t) => voted.push(t),
    maxAgeBlocks: 2,
    log: pino({ level: 'silent' }),
  });
  return { w, missed, voted };
}

describe('MissedWatch', () => {
  it('a signed vote found in a block (the child, or a sibling child the chain reorganised onto) is voted; mempool-only or unknown is missed', async () => {
    const { w, missed, voted } = watch({
      [h(11)]: { blockHash: h(2) }, // in the child
      [h(12)]: {}, // only in a mempool
      [h(13)]: { blockHash: h(99) }, // in a sibling of the child (competing tip, reorg): a vote commits to its block, so any block holding it is a child of it
      [h(14)]: 'not-found',
    });
    for (const i of [11, 12, 13, 14]) w.signed(h(1), 10, h(100 + i), h(i));
    w.blockConnected(h(2), h(1), 11);
    await w.idle();
    await w.stop();
    expect(voted).toEqual([h(111), h(113)]);
    expect(missed).toEqual([h(112), h(114)]);
  });

  it('no verdict when no proxy answers; nothing for a disconnected block or a child of another block', async () => {
    const { w, missed, voted } = watch({ [h(21)]: new Error('UNAVAILABLE'), [h(22)]: 'not-found' });
    w.signed(h(1), 10, h(121), h(21));
    w.signed(h(3), 10, h(122), h(22));
    w.blockDisconnected(h(3));
    w.blockConnected(h(4), h(5), 11); // child of an unrelated block
    w.blockConnected(h(2), h(1), 11);
    await w.idle();
    expect(missed).toEqual([]);
    expect(voted).toEqual([]);
    await w.stop();
  });

  it('forgets votes whose block is too far below the tip, and counts each ticket once per block', async () => {
    const { w, missed } = watch({ [h(31)]: 'not-found' });
    w.signed(h(1), 10, h(131), h(31));
    w.signed(h(1), 10, h(131), h(31));
    expect(w.stats().tracked).toBe(1);
    w.blockConnected(h(7), h(6), 13);
    expect(w.stats().tracked).toBe(0);
    w.blockConnected(h(2), h(1), 11);
    await w.stop();
    expect(missed).toEqual([]);
  });
});
