import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ChainEvent, WinningTicketsEvent } from '../../../services/voter/chain-event.ts';
import { EventDedupe } from '../../../services/voter/event-dedupe.ts';

const h = (n: number): string => n.toString(16).padStart(64, '0');
const draw = (hash: string, height: number, proxy = 'p1'): WinningTicketsEvent => ({
  kind: 'winning-tickets', blockHashHex: hash, height, ticketsHex: [h(1000 + height)], voteSubsidy: 1n, voteVersion: 12, proxy, receivedAtMs: 0,
});

describe('EventDedupe', () => {
  it('admits the first arrival of a draw and drops copies from other proxies and replays', () => {
    const d = new EventDedupe(64, 2);
    expect(d.admit(draw(h(1), 10, 'p1'))).toEqual({ admitted: true });
    expect(d.admit(draw(h(1), 10, 'p2'))).toEqual({ admitted: false, reason: 'duplicate' });
    expect(d.admit(draw(h(1), 10, 'p1'))).toEqual({ admitted: false, reason: 'duplicate' });
    expect(d.dropped).toBe(2);
  });

  it('admits competing tips at one height (votes are per block hash)', () => {
    const d = new EventDedupe(64, 2);
    expect(d.admit(draw(h(1), 10)).admitted).toBe(true);
    expect(d.admit(draw(h(2), 10)).admitted).toBe(true);
  });

  it('drops draws far below the best height even after their key was evicted', () => {
    const d = new EventDedupe(16, 2);
    d.admit(draw(h(1), 10));
    for (let i = 0; i < 40; i++) d.admit(draw(h(100 + i), 11 + i));
    expect(d.size).toBeLessThanOrEqual(16);
    expect(d.admit(draw(h(1), 10))).toEqual({ admitted: false, reason: 'too-old' });
  });

  it('re-admits a connect after a disconnect of the same block (reorg back)', () => {
    const d = new EventDedupe(64, 2);
    const c: ChainEvent = { kind: 'block-connected', blockHashHex: h(5), height: 5, proxy: 'p', receivedAtMs: 0 };
    const x: ChainEvent = { kind: 'block-disconnected', blockHashHex: h(5), height: 5, proxy: 'p', receivedAtMs: 0 };
    expect(d.admit(c).admitted).toBe(true);
    expect(d.admit(c).admitted).toBe(false);
    expect(d.admit(x).admitted).toBe(true);
    expect(d.admit(x).admitted).toBe(false);
    expect(d.admit(c).admitted).toBe(true);
  });

  it('property: every distinct block hash is admitted exactly once whatever the interleaving, memory stays bounded', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.constantFrom('p1', 'p2', 'p3')), { maxLength: 300 }),
      (arrivals) => {
        const d = new EventDedupe(1000, 1000);
        const admitted = new Map<number, number>();
        for (const [b, p] of arrivals) {
          if (d.admit(draw(h(b), 100, p)).admitted) admitted.set(b, (admitted.get(b) ?? 0) + 1);
        }
        expect(new Set(admitted.keys())).toEqual(new Set(arrivals.map(([b]) => b)));
        for (const n of admitted.values()) expect(n).toBe(1);
      },
    ));
  });

  it('rejects bad construction arguments', () => {
    expect(() => new EventDedupe(0, 1)).toThrow(RangeError);
    expect(() => new EventDedupe(10, -1)).toThrow(RangeError);
  });
});
