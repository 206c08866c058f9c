/**
 * One signer per ticket (strategy single-signer: the claim holder's fast path, hedged backups;
 * the path every non-canonical draw takes under the default lease strategy) end to end with real
 * etcd, devnet, node proxies and gRPC (region signers: voter-region-signers.test.ts):
 * 3 voters, 50 blocks, every draw voted (devnet: missed 0, conflicting 0) and
 * one signer per ticket (distinct signers in the vote records), with the
 * production hedge (250 ms, the ceiling of the hedge each voter learns) and no takeover once
 * the voters are up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEDGE_ESTIMATE } from '../../services/voter/hedge.ts';
import { waitFor } from '../harness/wait-for.ts';
import { awaitStableOwnership, startVoterWorld, type VoterWorld } from './voter-harness.ts';

describe('voter: one signer per ticket, no faults', () => {
  let world: VoterWorld;
  beforeAll(async () => {
    world = await startVoterWorld({ devnet: { nodes: 2, tickets: 300 } });
  });
  afterAll(() => world?.stop());

  it('3 voters vote every draw of 50 blocks exactly once, one signer per ticket', async () => {
    // The production hedge. Root cause of the 'takeovers 2' this test once saw with a 1.5 s hedge
    // in loaded parallel runs: start-up, not the steady state. The draw open when the voters start
    // is replayed to each voter when ITS proxy streams start; started side by side on a loaded box,
    // the last voter's streams open seconds after the first's, while it already held claims (it
    // claimed before watching) or ranked first for still unclaimed tickets (it joined membership
    // before watching). Backups that heard the draw earlier raced it after their hedge (identical
    // bytes, harmless). Voters now claim only once a stream is up; the start-up draw's duties are
    // left out of the count below (their ranking is legitimately in flux).
    const opts = { hedgeMs: Number(process.env['VOTER_LEASE_HEDGE_MS'] ?? 250), strategy: 'single-signer' as const };
    const voters = [world.makeVoter('a1', 'a', opts), world.makeVoter('b1', 'b', opts), world.makeVoter('c1', 'c', opts)];
    await Promise.all(voters.map((v) => v.start()));
    await awaitStableOwnership(world, voters);
    // Every start-up duty finished (duties = outcomes), then count from here.
    const finished = (): boolean => voters.every((v) => {
      const s = v.stats();
      return Object.values(s.outcomes).reduce((a, b) => a + b, 0) === s.duties;
    });
    await waitFor(finished, { timeoutMs: 20_000, message: 'start-up duties finished' });
    const startupTakeovers = voters.reduce((n, v) => n + v.stats().takeovers, 0);
    for (let i = 0; i < 50; i++) await world.mineAndAwaitVotes();
    await world.devnet.generate(1);
    const report = world.devnet.report();
    expect(report.drawn).toBeGreaterThanOrEqual(250);
    expect(report.missed).toBe(0);
    expect(report.conflicting).toBe(0);

    const records = await world.voteRecords();
    const signersByTicket = new Map<string, Set<string>>();
    for (const r of records) {
      const s = signersByTicket.get(r.ticketHash) ?? new Set();
      s.add(r.signer);
      signersByTicket.set(r.ticketHash, s);
    }
    expect(records.length).toBeGreaterThanOrEqual(250);
    for (const s of signersByTicket.values()) expect(s.size).toBe(1);
    // Work is spread: every voter signed something, no takeovers without faults.
    expect(new Set(records.map((r) => r.signer))).toEqual(new Set(['a1', 'b1', 'c1']));
    const stats = voters.map((v) => v.stats());
    expect(stats.reduce((n, s) => n + s.takeovers, 0) - startupTakeovers).toBe(0);
    // ~1 broadcast per vote per proxy: sends by all voters / (records × proxies).
    const sends = stats.reduce((n, s) => n + s.delivery.sends, 0);
    const perVotePerProxy = sends / (records.length * world.proxyAddresses.length);
    expect(perVotePerProxy).toBeLessThan(1.5);
    // Each voter learned its hedge from the other signers' records (services/voter hedge.ts), never above the configured one.
    for (const st of stats) {
      expect(st.hedge.samples).toBeGreaterThanOrEqual(HEDGE_ESTIMATE.minSamples);
      expect(st.hedge.defaultMs).toBeLessThanOrEqual(opts.hedgeMs);
      for (const r of Object.values(st.hedge.regions)) expect(r.hedgeMs).toBeLessThanOrEqual(opts.hedgeMs);
    }
    console.log(JSON.stringify({
      test: 'lease-50-blocks', hedgeMs: opts.hedgeMs, startupTakeovers, outcomes: stats.map((st) => st.outcomes), drawn: report.drawn, missed: report.missed, conflicting: report.conflicting,
      latencyMs: report.latencyMs, sendsPerVotePerProxy: Number(perVotePerProxy.toFixed(3)),
      learnedHedge: stats.map((st) => Object.fromEntries(Object.entries(st.hedge.regions).map(([r, h]) => [r, { hedgeMs: h.hedgeMs, p99Ms: h.quantileMs, n: h.samples }]))),
    }));
  });
});
