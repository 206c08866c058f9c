/**
 * `votecluster_voter_votes_total{outcome}` counts a vote's first success at a
 * dcrd by what that dcrd said: `accepted` (it took our bytes) or `duplicate`
 * (it already held these exact bytes, sent by another voter: success too).
 *
 * World: real etcd, a real one-node devnet behind one real node proxy, two
 * in-process voters with the all-vote strategy (each signs and sends every
 * draw; votes are deterministic, so both send identical bytes). With one dcrd,
 * exactly one of the two is first for each draw (ACCEPTED) and the other gets
 * DUPLICATE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

const BLOCKS = 2;

async function outcomes(m: Metrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await m.get('voter').votes.get()).values) {
    const k = String(v.labels['outcome']);
    out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

describe('votes_total by outcome', () => {
  let world: VoterWorld;
  const metrics = [createMetrics({ service: 'voter', components: ['voter', 'cluster'], processMetrics: false }),
    createMetrics({ service: 'voter', components: ['voter', 'cluster'], processMetrics: false })];

  beforeAll(async () => {
    world = await startVoterWorld({ devnet: { tickets: 24 } });
    const voters = metrics.map((m, i) => world.makeVoter(`o${i}`, 'a', { strategy: 'all-vote' }, { metrics: m }));
    await Promise.all(voters.map((v) => v.start()));
  }, 60_000);

  afterAll(async () => {
    await world?.stop();
  });

  it('counts a DUPLICATE answer as outcome="duplicate", once per vote and voter', async () => {
    const total = async (): Promise<Record<string, number>> => {
      const [a, b] = await Promise.all(metrics.map(outcomes));
      const out: Record<string, number> = {};
      for (const [k, v] of [...Object.entries(a!), ...Object.entries(b!)]) out[k] = (out[k] ?? 0) + v;
      return out;
    };
    for (let i = 0; i < BLOCKS; i++) await world.mineAndAwaitVotes();
    // Every draw of a managed ticket that has a vote at dcrd (the start-up tip's included).
    const draws = world.devnet.report().tickets.filter((t) => world.isManaged(t.ticketHash) && t.firstVoteAt !== undefined).length;
    expect(draws).toBeGreaterThanOrEqual(BLOCKS * 5);
    await waitFor(async () => {
      const t = await total();
      return (t['accepted'] ?? 0) + (t['duplicate'] ?? 0) >= 2 * draws;
    }, { timeoutMs: 15_000, message: 'both voters counted every draw' });
    const t = await total();
    // One dcrd: per draw, one voter's bytes are accepted, the other's are a duplicate.
    expect(t['accepted']).toBe(draws);
    expect(t['duplicate']).toBe(draws);
    expect(t['conflict'] ?? 0).toBe(0);
    expect(t['rejected'] ?? 0).toBe(0);
  }, 60_000);
});
