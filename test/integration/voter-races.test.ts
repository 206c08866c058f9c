/**
 * Invariant 2 under contention, with real etcd, real tickets and real signing:
 * 50 voters race the create-if-absent record for one (ticket, block); exactly
 * one record is stored, one racer wins, the 49 losers send the stored bytes.
 * And the all-vote strategy (vspd's behaviour) side by side: every replica
 * votes, the votes are byte-identical (deterministic), so nothing conflicts,
 * at the price of N broadcasts per vote per proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { netParams } from '../../services/decred/index.ts';
import { AgendaTable } from '../../services/voter/agenda-table.ts';
import type { WinningTicketsEvent } from '../../services/voter/chain-event.ts';
import { clusterRecords } from '../../services/voter/cluster-records.ts';
import { ClusterVoteFactory } from '../../services/voter/cluster-vote-factory.ts';
import { runDuty } from '../../services/voter/duty.ts';
import type { DutyDeps } from '../../services/voter/duty-common.ts';
import { RecordQueue } from '../../services/voter/record-queue.ts';
import { VoteDelivery } from '../../services/voter/vote-delivery.ts';
import { createMetrics } from '../../services/telemetry/index.ts';
import { openCluster } from '../../services/cluster/index.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

describe('voter races', () => {
  let world: VoterWorld;
  beforeAll(async () => {
    world = await startVoterWorld({ devnet: { nodes: 1, tickets: 64 } });
  });
  afterAll(() => world?.stop());

  it('50 concurrent record races for one vote: one stored, losers send the stored bytes', async () => {
    const client = world.proxyClient(world.proxyAddresses[0] as string);
    const cleanups: Array<() => Promise<void>> = [];
    try {
      const best = await client.getBestBlock();
      const ticket = world.devnet.exportTickets()[0];
      if (!ticket) throw new Error('no ticket');
      const ev: WinningTicketsEvent = {
        kind: 'winning-tickets', blockHashHex: best.hash, height: best.height, ticketsHex: [ticket.ticketHash],
        voteSubsidy: 1_000n, voteVersion: 0, proxy: 'test', receivedAtMs: Date.now(),
      };
      // The racers write vote records as voters do (etcd role votecluster-voter: votes/ is theirs).
      const asVoter = await openCluster({
        endpoints: world.etcd.endpoints, etcdAccess: world.etcd.access('voter'), network: 'simnet', nodeId: 'racers', region: 'a', join: false,
        clusterKey: new Uint8Array(world.clusterKey.expose()),
      });
      cleanups.push(() => asVoter.close());
      const records = clusterRecords(asVoter);
      const metrics = createMetrics({ service: 'voter', processMetrics: false }).get('voter');
      const sent: string[] = [];
      const sink = { address: world.proxyAddresses[0] as string, sendVote: async (raw: Uint8Array) => {
        sent.push(Buffer.from(raw).toString('hex'));
        return client.sendVote(raw, { deadlineMs: 2_000 });
      } };
      const racers: DutyDeps[] = Array.from({ length: 50 }, (_, i) => ({
        selfId: `r${i}`,
        strategy: 'lease',
        plan: () => ({ path: 'record-first', rank: 0, waitMs: 0, reason: 'lease-stale', order: [`r${i}`] }),
        factory: new ClusterVoteFactory(world.admin.tickets, () => ({}), () => new AgendaTable(), netParams('simnet'), world.log),
        records,
        delivery: new VoteDelivery([sink], { sendDeadlineMs: 2_000, resendIntervalMs: 60_000, maxVoteAgeBlocks: 2, retryBaseMs: 50, retryMaxMs: 200 }, { isNodeLive: () => true }),
        recordQueue: new RecordQueue(records, world.log, { retryBaseMs: 50, retryMaxMs: 200 }),
        log: world.log, metrics, retryBaseMs: 50, retryMaxMs: 200,
      }));
      const results = await Promise.all(racers.map((d) => runDuty(d, ticket.ticketHash, ev, new AbortController().signal)));
      const winners = results.filter((r) => r.outcome === 'took-over');
      expect(winners.length).toBe(1);
      expect(results.filter((r) => r.outcome === 'lost-race').length).toBe(49);
      const recs = (await world.voteRecords()).filter((r) => r.ticketHash === ticket.ticketHash && r.blockHash === best.hash);
      expect(recs.length).toBe(1);
      expect(new Set(results.map((r) => r.txidHex))).toEqual(new Set([recs[0]?.voteTxid]));
      await Promise.all(racers.map((d) => d.delivery.stop()));
      expect(new Set(sent).size).toBe(1); // only the stored bytes ever went out
    } finally {
      client.close();
      for (const c of cleanups) await c();
    }
  });

  it('all-vote strategy: every replica votes, identical bytes, no conflicts, N broadcasts per vote per proxy', async () => {
    const voters = [world.makeVoter('v1', 'a', { strategy: 'all-vote' }), world.makeVoter('v2', 'b', { strategy: 'all-vote' })];
    await Promise.all(voters.map((v) => v.start()));
    const before = (await world.voteRecords()).length;
    for (let i = 0; i < 5; i++) await world.mineAndAwaitVotes();
    const r = world.managedReport();
    expect(r.missed).toBe(0);
    expect(r.conflicting).toBe(0);
    expect((await world.voteRecords()).length).toBe(before); // no etcd coordination
    const votes = voters.map((v) => v.stats().delivery.votesSent);
    expect(votes[0]).toBeGreaterThanOrEqual(25);
    expect(votes[0]).toBe(votes[1]);
  });
});
