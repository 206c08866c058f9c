import { describe, expect, it } from 'vitest';
import type { WinningTicketsEvent } from '../../../services/voter/chain-event.ts';
import { MAX_OPEN_DRAWS, OpenDraws } from '../../../services/voter/open-draws.ts';

const h = (n: number): string => n.toString(16).padStart(64, '0');
function draw(height: number, block: number, tickets: number[]): WinningTicketsEvent {
  return {
    kind: 'winning-tickets', blockHashHex: h(block), height, ticketsHex: tickets.map((t) => h(1000 + t)),
    voteSubsidy: 0n, voteVersion: 0, proxy: 'p', receivedAtMs: 0,
  };
}

describe('OpenDraws', () => {
  it('a draw is open until a block at the next height connects', () => {
    const o = new OpenDraws();
    o.blockConnected(10);
    o.add(draw(10, 1, [1, 2, 3, 4, 5]));
    expect(o.drawsOf(h(1003)).map((d) => d.blockHashHex)).toEqual([h(1)]);
    expect(o.drawsOf(h(1009))).toEqual([]);
    o.blockConnected(10); // the same height again (another proxy): still open
    expect(o.isOpen(h(1))).toBe(true);
    o.blockConnected(11);
    expect(o.isOpen(h(1))).toBe(false);
    expect(o.drawsOf(h(1003))).toEqual([]);
  });

  it('competing tips at one height are both open; a disconnected block closes its draw only', () => {
    const o = new OpenDraws();
    o.blockConnected(10);
    o.add(draw(10, 1, [1, 2]));
    o.add(draw(10, 2, [2, 3]));
    expect(o.drawsOf(h(1002)).map((d) => d.blockHashHex).sort()).toEqual([h(1), h(2)]);
    o.blockDisconnected(h(1));
    expect(o.drawsOf(h(1002)).map((d) => d.blockHashHex)).toEqual([h(2)]);
    expect(o.draw(h(2))?.height).toBe(10);
  });

  it('a draw that arrives after the next block (a replay) is not open', () => {
    const o = new OpenDraws();
    o.blockConnected(12);
    o.add(draw(11, 1, [1]));
    expect(o.size).toBe(0);
  });

  it('keeps at most MAX_OPEN_DRAWS, dropping the lowest', () => {
    const o = new OpenDraws();
    for (let i = 0; i <= MAX_OPEN_DRAWS; i++) o.add(draw(100 + i, i + 1, [i]));
    expect(o.size).toBe(MAX_OPEN_DRAWS);
    expect(o.isOpen(h(1))).toBe(false);
    expect(o.isOpen(h(MAX_OPEN_DRAWS + 1))).toBe(true);
  });
});
