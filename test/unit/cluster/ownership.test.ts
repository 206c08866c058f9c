import { describe, expect, it } from 'vitest';
import { rankNodes, rendezvousWeight } from '../../../services/cluster/index.ts';

/** A deterministic pseudo-random ticket hash (not from our code under test). */
function ticket(i: number): string {
  return Buffer.from(`ticket-${i}`.padEnd(32, '.')).toString('hex');
}

const NODES = ['a', 'b', 'c'].flatMap((r) => [1, 2, 3].map((i) => ({ nodeId: `${r}${i}`, region: r })));

describe('rendezvous ranking', () => {
  it('is deterministic and independent of input order', () => {
    for (let i = 0; i < 200; i++) {
      const t = ticket(i);
      const shuffled = [...NODES].sort(() => (rendezvousWeight(t, 'x') % 2n === 0n ? 1 : -1)).reverse();
      expect(rankNodes(t, shuffled).map((n) => n.nodeId)).toEqual(rankNodes(t, NODES).map((n) => n.nodeId));
    }
  });

  it('returns every node exactly once', () => {
    const r = rankNodes(ticket(1), NODES);
    expect(new Set(r.map((n) => n.nodeId)).size).toBe(NODES.length);
  });

  it('spreads owners evenly (chi-square, 8 dof, p > 0.001)', () => {
    const N = 9_000;
    const counts = new Map<string, number>();
    for (let i = 0; i < N; i++) {
      const owner = rankNodes(ticket(i), NODES)[0]!.nodeId;
      counts.set(owner, (counts.get(owner) ?? 0) + 1);
    }
    const expected = N / NODES.length;
    let chi2 = 0;
    for (const n of NODES) chi2 += ((counts.get(n.nodeId) ?? 0) - expected) ** 2 / expected;
    // chi-square critical value for 8 degrees of freedom at p = 0.001 is 26.12
    expect(chi2).toBeLessThan(26.12);
    expect(Math.max(...counts.values()) / Math.min(...counts.values())).toBeLessThan(1.2);
  });

  it('puts the first backups in other regions than the owner', () => {
    for (let i = 0; i < 2_000; i++) {
      const r = rankNodes(ticket(i), NODES);
      expect(new Set(r.slice(0, 3).map((n) => n.region)).size).toBe(3);
      expect(new Set(r.slice(3, 6).map((n) => n.region)).size).toBe(3);
    }
  });

  it('falls back to the same region when no other region is live', () => {
    const one = NODES.filter((n) => n.region === 'a');
    const r = rankNodes(ticket(3), one);
    expect(r).toHaveLength(3);
    expect(r.every((n) => n.region === 'a')).toBe(true);
  });

  it('uneven regions: rank 1 is in another region whenever one exists', () => {
    const nodes = [
      { nodeId: 'a1', region: 'a' },
      { nodeId: 'a2', region: 'a' },
      { nodeId: 'a3', region: 'a' },
      { nodeId: 'b1', region: 'b' },
    ];
    for (let i = 0; i < 500; i++) {
      const r = rankNodes(ticket(i), nodes);
      expect(r[0]!.region).not.toBe(r[1]!.region);
    }
  });

  it('only moves the tickets of a node that leaves (minimal disruption)', () => {
    const without = NODES.filter((n) => n.nodeId !== 'b2');
    for (let i = 0; i < 2_000; i++) {
      const before = rankNodes(ticket(i), NODES)[0]!.nodeId;
      const after = rankNodes(ticket(i), without)[0]!.nodeId;
      if (before !== 'b2') expect(after).toBe(before);
    }
  });
});
