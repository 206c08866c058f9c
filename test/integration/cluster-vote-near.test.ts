/**
 * Vote records through the nearest etcd member (VoteRecordsOptions.nearClient),
 * against a real 3-member etcd: with several endpoints the record txn goes to
 * the first one; when that member is down the record is still written through
 * the others, create-if-absent semantics unchanged (one stored vote, a loser
 * gets the stored bytes, an identical retry counts as ours).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClusterKey, openCluster, type Cluster, type VoteRecord } from '../../services/cluster/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { hashOf } from '../harness/cluster-fixtures.ts';

let etcd: TestEtcd;
let near: Cluster;
let other: Cluster;
const clusterKey = generateClusterKey().expose().slice();


function rec(label: string, signer: string, bytes: string): VoteRecord {
  return {
    height: 7, blockHash: hashOf(`block-${label}`), ticketHash: hashOf(`ticket-${label}`), voteTxHex: bytes,
    voteTxid: hashOf(`txid-${label}-${bytes}`), signer, choicesRevision: 1, voteBits: 1, voteVersion: 10, treasuryVotes: [],
    createdAt: new Date().toISOString(), path: 'takeover',
  };
}

beforeAll(async () => {
  etcd = await startTestEtcd({ members: 3 });
  // The cluster module's whole API through one handle: etcd's root user (the service roles are etcd-auth.test.ts's).
  const open = (nodeId: string, endpoints: string[]): Promise<Cluster> =>
    openCluster({ endpoints, etcdAccess: etcd.access('root'), network: 'simnet', nodeId, region: 'a', clusterKey, join: false, callTimeoutMs: 1_000 });
  near = await open('near', etcd.endpoints);
  // A second handle whose first endpoint is another member.
  other = await open('other', [...etcd.endpoints.slice(1), ...etcd.endpoints.slice(0, 1)]);
}, 60_000);

afterAll(async () => {
  await near?.close();
  await other?.close();
  await etcd?.stop();
});

describe('vote records through the nearest etcd member', () => {
  it('create-if-absent across handles with different nearest members', async () => {
    const a = rec('race', 'near', '0100');
    const b = rec('race', 'other', '0200');
    const [ra, rb] = await Promise.all([near.votes.recordVote(a), other.votes.recordVote(b)]);
    expect([ra.created, rb.created].filter(Boolean)).toHaveLength(1);
    const stored = ra.created ? a : b;
    expect(ra.stored.voteTxHex).toBe(stored.voteTxHex);
    expect(rb.stored.voteTxHex).toBe(stored.voteTxHex);
    // A retry of the stored record (same signer, same vote txid) is that signer's own write,
    // through whichever member; the losing record stays refused.
    expect((await near.votes.recordVote(stored)).created).toBe(true);
    expect((await other.votes.recordVote(stored)).created).toBe(true);
    expect((await near.votes.recordVote(stored === a ? b : a)).created).toBe(false);
  });

  it('the nearest member down: records are written through the others', async () => {
    const member = etcd.members[0];
    if (!member) throw new Error('local etcd members expected');
    await member.stop('SIGKILL');
    try {
      for (let i = 0; i < 3; i++) {
        const r = rec(`down-${i}`, 'near', '0300');
        const res = await near.votes.recordVote(r);
        expect(res.created).toBe(true);
        expect((await other.votes.getVote(r.height, r.blockHash, r.ticketHash))?.signer).toBe('near');
        // An identical retry is ours; different bytes lose to the stored ones.
        expect((await near.votes.recordVote(r)).created).toBe(true);
        const loser = await other.votes.recordVote(rec(`down-${i}`, 'other', '0400'));
        expect(loser).toMatchObject({ created: false, stored: { voteTxHex: '0300', signer: 'near' } });
      }
    } finally {
      await member.start();
    }
  }, 60_000);
});
