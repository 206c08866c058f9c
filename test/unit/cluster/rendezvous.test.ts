import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { murmur3x86_32, rankNodes, rendezvousWeight, RENDEZVOUS_SEED_DOMAIN } from '../../../services/cluster/index.ts';
import { RendezvousNodes } from '../../../services/cluster/rendezvous.ts';

const SIX = [
  { nodeId: 'a1', region: 'a' }, { nodeId: 'a2', region: 'a' }, { nodeId: 'b1', region: 'b' },
  { nodeId: 'b2', region: 'b' }, { nodeId: 'c1', region: 'c' }, { nodeId: 'c2', region: 'c' },
];

/** Deterministic uniform 32-byte hashes (SHA-256 of a counter: not the code under test), so the statistical checks cannot flake. */
function uniform(n: number, tag = 'r'): Buffer {
  return Buffer.concat(Array.from({ length: n }, (_, i) => createHash('sha256').update(`${tag}:${i}`).digest()));
}

function mm(s: string, seed: number): number {
  const b = Buffer.from(s, 'latin1');
  return murmur3x86_32(b, 0, b.length, seed);
}

/** Chi-square of owner counts over `nodes` for `tickets` (uniform expectation). */
function chi2Of(tickets: string[], nodes: typeof SIX): { chi2: number; ratio: number } {
  const counts = new Map<string, number>(nodes.map((n) => [n.nodeId, 0]));
  for (const t of tickets) {
    const o = rankNodes(t, nodes)[0]!.nodeId;
    counts.set(o, counts.get(o)! + 1);
  }
  const e = tickets.length / nodes.length;
  let chi2 = 0;
  for (const c of counts.values()) chi2 += (c - e) ** 2 / e;
  return { chi2, ratio: Math.max(...counts.values()) / Math.min(...counts.values()) };
}

describe('rendezvous v2 (MurmurHash3 weights)', () => {
  it('murmur3x86_32 matches the published MurmurHash3_x86_32 test vectors', () => {
    // Vectors of the reference implementation (SMHasher's MurmurHash3_x86_32), as published with it.
    expect(mm('', 0)).toBe(0);
    expect(mm('', 1)).toBe(0x514e28b7);
    expect(mm('', 0xffffffff)).toBe(0x81f16f39);
    expect(mm('\0\0\0\0', 0)).toBe(0x2362f9de);
    expect(mm('aaaa', 0x9747b28c)).toBe(0x5a97808a);
    expect(mm('aaa', 0x9747b28c)).toBe(0x283e0130);
    expect(mm('aa', 0x9747b28c)).toBe(0x5d211726);
    expect(mm('a', 0x9747b28c)).toBe(0x7fa09ea6);
    expect(mm('abcd', 0x9747b28c)).toBe(0xf0478627);
    expect(mm('Hello, world!', 0x9747b28c)).toBe(0x24884cba);
    expect(mm('The quick brown fox jumps over the lazy dog', 0x9747b28c)).toBe(0x2fa826cd);
  });

  it('weight = murmur3(ticket bytes, seedHi) << 32 | murmur3(ticket bytes, seedLo), seeds from SHA-256(domain, node id)', () => {
    const t = 'aa'.repeat(16) + '0123456789abcdef'.repeat(2);
    const d = createHash('sha256').update(`${RENDEZVOUS_SEED_DOMAIN}\u0000b2`).digest();
    const tb = Buffer.from(t, 'hex');
    const want = (BigInt(murmur3x86_32(tb, 0, 32, d.readUInt32BE(0))) << 32n) | BigInt(murmur3x86_32(tb, 0, 32, d.readUInt32BE(4)));
    expect(rendezvousWeight(t, 'b2')).toBe(want);
    expect(RENDEZVOUS_SEED_DOMAIN).toBe('votecluster/rendezvous/v2');
  });

  it('ranks by descending weight for the owner, deterministically and independent of input order', () => {
    const hashes = uniform(300, 'order');
    for (let i = 0; i < 300; i++) {
      const t = hashes.subarray(i * 32, i * 32 + 32).toString('hex');
      const byWeight = [...SIX].sort((a, b) => (rendezvousWeight(t, b.nodeId) > rendezvousWeight(t, a.nodeId) ? 1 : -1));
      const r = rankNodes(t, SIX);
      expect(r[0]!.nodeId).toBe(byWeight[0]!.nodeId);
      expect(rankNodes(t, [...SIX].reverse())).toEqual(r);
      expect(rankNodes(t, SIX)).toEqual(r);
      // Region-aware: the first three ranks cover all three regions.
      expect(new Set(r.slice(0, 3).map((n) => n.region)).size).toBe(3);
    }
  });

  it('the owner fast path (ownerIndexAt over raw bytes) agrees with rankNodes', () => {
    const rv = new RendezvousNodes(SIX);
    const bytes = uniform(2_000, 'fast');
    for (let i = 0; i < 2_000; i++) {
      const t = bytes.subarray(i * 32, i * 32 + 32).toString('hex');
      expect(SIX[rv.ownerIndexAt(bytes, i * 32)]!.nodeId).toBe(rankNodes(t, SIX)[0]!.nodeId);
    }
    expect(new RendezvousNodes([]).ownerIndexAt(bytes, 0)).toBe(-1);
  });

  it('spreads owners uniformly over 6 nodes: random hashes and structured (ASCII) hashes, chi-square 5 dof p > 0.001', () => {
    const u = uniform(30_000, 'spread');
    const random = Array.from({ length: 30_000 }, (_, i) => u.subarray(i * 32, i * 32 + 32).toString('hex'));
    // The benches' and tests' hashes: mostly equal bytes (a weak mix would bunch them).
    const ascii = Array.from({ length: 30_000 }, (_, i) => Buffer.from(`ticket:${i}`.padEnd(32, '.')).toString('hex'));
    for (const set of [random, ascii]) {
      const { chi2, ratio } = chi2Of(set, SIX);
      expect(chi2).toBeLessThan(20.52); // chi-square critical value, 5 dof, p = 0.001
      expect(ratio).toBeLessThan(1.1);
    }
  });

  it('refuses a ticket hash that is not 64 lowercase hex characters', () => {
    expect(() => rankNodes('xyz', SIX)).toThrow(expect.objectContaining({ code: 'CLUSTER_INVALID_ARGUMENT' }));
    expect(() => rendezvousWeight('AB'.repeat(32), 'a1')).toThrow(expect.objectContaining({ code: 'CLUSTER_INVALID_ARGUMENT' }));
  });

  it('gives each of 6 nodes about a sixth of 100k tickets, ranked from the hash bytes', () => {
    // How long the ranking takes at this size is part of the voter start-up the voter-scale bench measures.
    const rv = new RendezvousNodes(SIX);
    const bytes = uniform(100_000, 'time');
    let n = 0;
    for (let i = 0; i < 100_000; i++) if (rv.ownerIndexAt(bytes, i * 32) === 0) n++;
    expect(n).toBeGreaterThan(15_000);
    expect(n).toBeLessThan(18_500);
  });
});
