/**
 * A rolling dcrd upgrade end to end (real etcd, devnet, node proxies, gRPC, the default lease
 * strategy): one devnet node answers as dcrd 2.0.6 (its wallets write vote version 11), the other
 * as 2.1.6 (12); voter a1 (region a) reaches only the first node's proxy, b1 (region b) only the
 * second's. Each is its region's signer of every canonical draw and sends to its own dcrd, so
 * without a committed vote version they would send two different valid votes for one (ticket,
 * block) (dcrd accepts a vote of any version: decred/dcrd blockchain/stake/staketx.go
 * SSGenVersion only reads it). The cluster commits one version (only ever raised, so 12), every
 * vote from its `from` height on carries it, and the devnet, judging every vote sent to either
 * node, sees no ticket with two different votes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait-for.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

describe('voters whose proxies report different vote versions', () => {
  let world: VoterWorld;
  beforeAll(async () => {
    world = await startVoterWorld({ devnet: { nodes: 2, tickets: 64, nodeReleases: ['2.0.6', '2.1.6'] } });
  });
  afterAll(() => world?.stop());

  it('commit one vote version, sign it in both regions from its height on, and never two different votes for one draw', async () => {
    const [p0, p1] = world.proxyAddresses as [string, string];
    const a = world.makeVoter('a1', 'a', { proxies: [{ address: p0, region: 'a' }] });
    const b = world.makeVoter('b1', 'b', { proxies: [{ address: p1, region: 'b' }] });
    await Promise.all([a.start(), b.start()]);
    const committed = () => {
      const e = world.admin.config.voteVersionEntry();
      return 'corrupt' in e ? undefined : e.value;
    };
    // Each voter's proxies agree on their own version: a1 proposes 11, b1 12; only the raise sticks.
    await waitFor(() => (committed()?.voteVersion === 12 ? true : undefined), { timeoutMs: 20_000, message: 'vote version 12 committed' });
    const from = committed()?.from as number;
    for (let i = 0; i < 12; i++) await world.mineAndAwaitVotes();
    await world.devnet.generate(1);

    const report = world.managedReport();
    expect(report.drawn).toBeGreaterThanOrEqual(50);
    expect(report.missed).toBe(0);
    expect(report.conflicting).toBe(0);
    // Every vote recorded for a draw at or above the committed version's height carries it.
    const records = await world.voteRecords();
    const after = records.filter((r) => r.height >= from);
    expect(after.length).toBeGreaterThanOrEqual(50);
    expect(new Set(after.map((r) => r.voteVersion))).toEqual(new Set([12]));
    // Both regions signed canonical draws (region signers), not only the single-signer paths.
    expect(a.stats().outcomes['region-sent'] ?? 0).toBeGreaterThan(0);
    expect(b.stats().outcomes['region-sent'] ?? 0).toBeGreaterThan(0);
    // The committed version never went back to 11.
    expect(committed()?.voteVersion).toBe(12);
  });
});
