/**
 * The mining clock's template rules (real timers) and the report's merge across nodes.
 */
import { describe, expect, it } from 'vitest';
import { MinerClock, sampleInterval } from '../../../services/sim/devnet/miner.ts';
import { VoteLedger, mergeReports } from '../../../services/sim/devnet/report.ts';
import { waitFor } from '../../harness/wait-for.ts';
import type { BlockNode } from '../../../services/sim/devnet/chain/chain.ts';

describe('sampleInterval', () => {
  it('is fixed, exponential with the given mean, or never', () => {
    expect(sampleInterval({ mode: 'fixed', ms: 7 })).toBe(7);
    expect(sampleInterval({ mode: 'manual' })).toBe(Number.POSITIVE_INFINITY);
    let sum = 0;
    let seed = 1;
    const rnd = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let i = 0; i < 20_000; i++) sum += sampleInterval({ mode: 'exponential', meanMs: 100 }, rnd);
    expect(sum / 20_000).toBeGreaterThan(95);
    expect(sum / 20_000).toBeLessThan(105);
  });
});

describe('MinerClock', () => {
  function clock(votes: { n: number }, waitMs: number) {
    const mined: number[] = [];
    const c = new MinerClock({ mode: 'fixed', ms: 1 }, waitMs, { votesForTip: () => votes.n, needsVotes: () => true, mine: () => mined.push(Date.now()), onError: (e) => { throw e; } });
    return { c, mined };
  }

  it('does not mine with fewer than 3 votes', async () => {
    const votes = { n: 2 };
    const { c, mined } = clock(votes, 0);
    c.onNewTip();
    c.onVote();
    votes.n = 3;
    c.onVote();
    await waitFor(() => mined.length === 1, { message: 'mined after the 3rd vote' });
    c.stop();
  });

  it('mines at once with all 5 votes, not waiting for the vote window', async () => {
    const votes = { n: 3 };
    const { c, mined } = clock(votes, 60_000);
    c.onNewTip();
    c.onVote();
    votes.n = 5;
    c.onVote();
    await waitFor(() => mined.length === 1, { message: 'mined with 5 votes' });
    c.stop();
  });
});

describe('VoteLedger and mergeReports', () => {
  it('takes the min latency over nodes and unions distinct votes', async () => {
    // Minimal block nodes: the parent's winners are settled by its main-chain child.
    const fakeNode = (hashHex: string, winners: Uint8Array[], parent?: BlockNode): BlockNode => ({ hashHex, winners, parent, onMainChain: true, height: 1 }) as unknown as BlockNode;
    const w = [Uint8Array.from({ length: 32 }, (_, i) => i)];
    const ticketHex = Buffer.from(w[0]!).reverse().toString('hex');
    const mk = () => new VoteLedger(() => true);
    const a = mk();
    const b = mk();
    const parent = fakeNode('p', w);
    a.onDraw(parent, 1000);
    b.onDraw(parent, 1010);
    a.onVote('p', ticketHex, 'v1', true, 1100);
    b.onVote('p', ticketHex, 'v1', true, 1030);
    b.onVote('p', ticketHex, 'v2', false, 1040);
    a.onConnected(fakeNode('c', [], parent), [{ ticketHex, txidHex: 't1' }]);
    const r = mergeReports([a, b]);
    expect(r.tickets).toHaveLength(1);
    expect(r.tickets[0]).toMatchObject({ outcome: 'voted', minedVoteTxid: 't1', distinctVotes: 2, latencyMs: 20 });
    expect(r).toMatchObject({ drawn: 1, voted: 1, missed: 0, conflicting: 1 });
    expect(r.latencyMs.max).toBe(20);
  });
});
