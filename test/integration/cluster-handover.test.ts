/**
 * Guarded claim hand-over against real etcd (services/cluster/batch-txn.ts
 * handOverIfUnchangedMany): a key is rewritten to its recipient's value, bound to
 * the recipient's lease, only while it still has the revision read AND the
 * recipient's witness key is bound to that lease; a dead recipient lease makes
 * that item come back false (never a failed batch); batches past the nested-txn
 * op limit (126 two-compare nested txns) are split.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handOverIfUnchangedMany } from '../../services/cluster/batch-txn.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';

let etcd: TestEtcd;
let client: Etcd3;

beforeAll(async () => {
  etcd = await startTestEtcd();
  // The cluster module's whole API through one handle: etcd's root user (the service roles are etcd-auth.test.ts's).
  client = new Etcd3(etcd.clientOptions('root'));
});
afterAll(async () => {
  client?.close();
  await etcd?.stop();
});

async function modRevision(key: string): Promise<number> {
  const kv = (await client.get(key).exec()).kvs[0];
  if (!kv) throw new Error(`${key} is absent`);
  return Number(kv.mod_revision);
}

describe('handOverIfUnchangedMany', () => {
  it('rewrites only unchanged keys to a live recipient lease, in batches past the nested-op limit', async () => {
    const from = client.lease(30, { autoKeepAlive: false });
    const to = client.lease(30, { autoKeepAlive: false });
    const fromId = await from.grant();
    const toId = await to.grant();
    await client.put('ho/nodes/to').value('{}').lease(toId);
    const keys = Array.from({ length: 300 }, (_, i) => `ho/owners/${String(i).padStart(3, '0')}`);
    for (const k of keys) await client.put(k).value('from').lease(fromId);
    const revs = await Promise.all(keys.map(modRevision));
    // One key changed after it was read: it must be left alone.
    await client.put(keys[7]!).value('from-again').lease(fromId);
    const res = await handOverIfUnchangedMany(
      client,
      keys.map((key, i) => ({ key, modRevision: revs[i]!, value: 'to', lease: toId, leaseWitness: 'ho/nodes/to' })),
      { op: 'test', batchSize: 127 },
    );
    expect(res.filter((x) => !x)).toHaveLength(1);
    expect(res[7]).toBe(false);
    const after = await client.getAll().prefix('ho/owners/').exec();
    const byKey = new Map(after.kvs.map((kv) => [kv.key.toString(), kv]));
    expect(byKey.size).toBe(300);
    for (const [i, k] of keys.entries()) {
      const kv = byKey.get(k)!;
      expect(kv.value.toString()).toBe(i === 7 ? 'from-again' : 'to');
      expect(String(kv.lease)).toBe(i === 7 ? fromId : toId);
    }
    // Revoking the recipient's lease takes the handed-over keys with it (they were bound to it).
    await to.revoke();
    expect((await client.getAll().prefix('ho/owners/').keys()).length).toBe(1);
    await from.revoke();
  });

  it('a recipient whose lease is gone gets nothing, and the batch still decides the other items', async () => {
    const from = client.lease(30, { autoKeepAlive: false });
    const live = client.lease(30, { autoKeepAlive: false });
    const dead = client.lease(30, { autoKeepAlive: false });
    const [fromId, liveId, deadId] = await Promise.all([from.grant(), live.grant(), dead.grant()]);
    await client.put('hd/nodes/live').value('{}').lease(liveId);
    await client.put('hd/nodes/dead').value('{}').lease(deadId);
    await client.put('hd/owners/a').value('from').lease(fromId);
    await client.put('hd/owners/b').value('from').lease(fromId);
    const [ra, rb] = [await modRevision('hd/owners/a'), await modRevision('hd/owners/b')];
    await dead.revoke();
    const res = await handOverIfUnchangedMany(client, [
      { key: 'hd/owners/a', modRevision: ra, value: 'dead', lease: deadId, leaseWitness: 'hd/nodes/dead' },
      { key: 'hd/owners/b', modRevision: rb, value: 'live', lease: liveId, leaseWitness: 'hd/nodes/live' },
    ], { op: 'test' });
    expect(res).toEqual([false, true]);
    expect((await client.get('hd/owners/a').exec()).kvs[0]!.value.toString()).toBe('from');
    expect(String((await client.get('hd/owners/b').exec()).kvs[0]!.lease)).toBe(liveId);
    await Promise.all([from.revoke(), live.revoke()]);
  });
});
