/**
 * Invariants 1 and 2 under contention, against real etcd: 50 independent
 * cluster handles (50 etcd clients, 50 leases) race to claim the same ticket
 * and to record a vote for the same (height, block, ticket).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClusterKey, openCluster, type Cluster, type VoteRecord } from '../../services/cluster/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';

const N = 50;
let etcd: TestEtcd;
let clusters: Cluster[] = [];
const clusterKey = generateClusterKey().expose().slice();

beforeAll(async () => {
  etcd = await startTestEtcd();
  clusters = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      openCluster({ endpoints: etcd.endpoints, etcdAccess: etcd.access('voter'), network: 'simnet', nodeId: `n${i}`, region: ['a', 'b', 'c'][i % 3] as string, clusterKey, leaseTtlSec: 5 }),
    ),
  );
});

afterAll(async () => {
  await Promise.all(clusters.map((c) => c.close()));
  await etcd?.stop();
});

function hashOf(label: string): string {
  return Buffer.from(label.padEnd(32, '#').slice(0, 32)).toString('hex');
}

describe('50 concurrent claim races', () => {
  it.each([0, 1, 2, 3, 4])('round %i: exactly one owner, everyone agrees who', async (round) => {
    const t = hashOf(`claim-race-${round}`);
    const results = await Promise.all(clusters.map((c) => c.owners.claim(t)));
    const winners = results.filter((r) => r.won);
    expect(winners).toHaveLength(1);
    const owner = results.find((r) => r.won)!.owner;
    expect(new Set(results.map((r) => r.owner))).toEqual(new Set([owner]));
    // The stored claim is bound to the winner's lease.
    const kv = (await clusters[0]!.client.getAll().prefix(clusters[0]!.keyspace.owner(t)).exec()).kvs;
    expect(kv).toHaveLength(1);
    const winner = clusters.find((c) => c.membership.nodeId === owner)!;
    expect(String(kv[0]!.lease)).toBe(winner.membership.leaseId());
    // A second claim by the winner is idempotent; by anyone else it still loses.
    expect(await winner.owners.claim(t)).toEqual({ won: true, owner });
    const loser = clusters.find((c) => c.membership.nodeId !== owner)!;
    expect(await loser.owners.claim(t)).toEqual({ won: false, owner });
  });
});

describe('50 concurrent vote-record races', () => {
  it.each([0, 1, 2])('round %i: exactly one stored vote; every loser gets the stored bytes', async (round) => {
    const ticketHash = hashOf(`vote-race-${round}`);
    const blockHash = hashOf(`block-${round}`);
    const recs: VoteRecord[] = clusters.map((c, i) => ({
      height: 100 + round,
      blockHash,
      ticketHash,
      // Each racer has different bytes so a loser re-broadcasting its own would be visible.
      voteTxHex: `01000000${i.toString(16).padStart(4, '0')}`,
      voteTxid: hashOf(`txid-${round}-${i}`),
      signer: c.membership.nodeId,
      choicesRevision: 1,
      voteBits: 1,
      voteVersion: 10,
      treasuryVotes: [],
      createdAt: new Date().toISOString(),
      path: 'takeover',
    }));
    const results = await Promise.all(clusters.map((c, i) => c.votes.recordVote(recs[i]!)));
    const created = results.filter((r) => r.created);
    expect(created).toHaveLength(1);
    const stored = created[0]!.stored;
    for (const r of results) {
      expect(r.stored.voteTxHex).toBe(stored.voteTxHex);
      expect(r.stored.signer).toBe(stored.signer);
    }
    const fromEtcd = await clusters[7]!.votes.getVote(100 + round, blockHash, ticketHash);
    expect(fromEtcd?.voteTxHex).toBe(stored.voteTxHex);
  });

  it('the same vote twice is success both times (identical retry)', async () => {
    const rec: VoteRecord = {
      height: 7, blockHash: hashOf('b7'), ticketHash: hashOf('t7'), voteTxHex: 'abcd', voteTxid: hashOf('x7'),
      signer: 'n0', choicesRevision: 3, voteBits: 1, voteVersion: 10, treasuryVotes: [], createdAt: new Date().toISOString(),
    };
    expect((await clusters[0]!.votes.recordVote(rec)).created).toBe(true);
    expect((await clusters[0]!.votes.recordVote(rec)).created).toBe(true);
  });

  it('a retry rebuilt later (new timestamps, same signer and vote) is success; the same vote by another signer is not ours', async () => {
    const first: VoteRecord = {
      height: 8, blockHash: hashOf('b8'), ticketHash: hashOf('t8'), voteTxHex: 'abce', voteTxid: hashOf('x8'),
      signer: 'n0', choicesRevision: 3, voteBits: 1, voteVersion: 10, treasuryVotes: [],
      createdAt: '2026-01-01T00:00:00.000Z', signedAt: '2026-01-01T00:00:00.000Z',
    };
    expect((await clusters[0]!.votes.recordVote(first)).created).toBe(true);
    const retry = { ...first, createdAt: '2026-01-01T00:00:01.000Z', signedAt: '2026-01-01T00:00:00.500Z' };
    const again = await clusters[0]!.votes.recordVote(retry);
    expect(again.created).toBe(true);
    expect(again.stored.createdAt).toBe(first.createdAt);
    const other = await clusters[1]!.votes.recordVote({ ...first, signer: 'n1' });
    expect(other.created).toBe(false);
    expect(other.stored.signer).toBe('n0');
  });

  it('rejects a malformed record with CLUSTER_INVALID_ARGUMENT', async () => {
    const bad = { height: -1 } as unknown as VoteRecord;
    await expect(clusters[0]!.votes.recordVote(bad)).rejects.toMatchObject({ code: 'CLUSTER_INVALID_ARGUMENT' });
  });
});
