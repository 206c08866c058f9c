/**
 * The scale paths of services/cluster against real etcd: paged cache loads
 * (page boundaries, a corrupt value inside a page, no gap between the load's
 * revision and the watch), the compact ticket cache's record views, lazy
 * voting-key decryption, batched imports (idempotent, per-ticket errors) and
 * batched owner claims.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ClusterArgumentError,
  CorruptValueError,
  Keyring,
  TicketConflictError,
  generateClusterKey,
  openCluster,
  type CacheChange,
  type Cluster,
  type ClusterConfigInput,
  type ImportTicketInput,
  type Network,
  type TicketRecord,
  rankNodes,
} from '../../services/cluster/index.ts';
import { PrefixCache } from '../../services/cluster/watch-cache.ts';
import { deleteIfUnchangedMany } from '../../services/cluster/batch-txn.ts';
import { SecretKey } from '../../services/telemetry/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';

const clusterKeyBytes = generateClusterKey().expose().slice();
const key32 = (b: number): SecretKey => new SecretKey(new Uint8Array(32).fill(b));

let etcd: TestEtcd;
const open: Cluster[] = [];
// Each test uses its own network so keyspaces do not mix.
const NETS: readonly Network[] = ['simnet', 'testnet3', 'mainnet', 'regnet'];

function cfg(network: Network, nodeId: string, extra: Partial<ClusterConfigInput> = {}): ClusterConfigInput {
  // The cluster module's whole API through one handle: etcd's root user (the service roles are etcd-auth.test.ts's).
  return { endpoints: etcd.endpoints, etcdAccess: etcd.access('root'), network, nodeId, region: 'a', clusterKey: clusterKeyBytes, leaseTtlSec: 5, join: false, ...extra };
}
async function openNode(network: Network, nodeId: string, extra: Partial<ClusterConfigInput> = {}, corrupt?: CorruptValueError[]): Promise<Cluster> {
  const c = await openCluster(cfg(network, nodeId, extra), corrupt ? { onCorrupt: (e) => corrupt.push(e) } : {});
  open.push(c);
  return c;
}
/** Ticket hash for (tag, i): hex of a 32-byte label, not produced by the code under test. */
function th(tag: string, i: number): string {
  return Buffer.from(`${tag}:${i}`.padEnd(32, '.').slice(0, 32)).toString('hex');
}
function inputs(tag: string, n: number, from = 0): ImportTicketInput[] {
  return Array.from({ length: n }, (_, j) => ({
    ticketHash: th(tag, from + j),
    ticketHex: `0100${(from + j).toString(16).padStart(8, '0')}`,
    votingKey: key32((from + j) % 251),
  }));
}

beforeAll(async () => {
  etcd = await startTestEtcd();
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await etcd?.stop();
});

describe('paged loads', () => {
  it.each([
    [8, 4],
    [9, 4],
    [7, 4],
    [1, 1],
  ])('%i tickets with %i keys per page: all loaded, values and revisions equal etcd', async (n, pageSize) => {
    const net = NETS[0] as Network;
    const tag = `page-${n}-${pageSize}`;
    const writer = await openNode(net, `w-${n}-${pageSize}`);
    const res = await writer.tickets.importTickets(inputs(tag, n));
    expect(res.every((r) => r.imported === true)).toBe(true);
    const reader = await openNode(net, `r-${n}-${pageSize}`, { ticketPageSize: pageSize });
    for (let i = 0; i < n; i++) {
      const t = th(tag, i);
      const kv = (await writer.client.getAll().prefix(writer.keyspace.ticket(t)).exec()).kvs[0]!;
      const got = reader.tickets.get(t)!;
      expect(got.modRevision).toBe(Number(kv.mod_revision));
      // The record view built from the compact cache equals the stored JSON, field for field.
      expect(JSON.parse(JSON.stringify(got.record))).toEqual(JSON.parse(kv.value.toString()));
      expect({ ...got.record }).toEqual(JSON.parse(kv.value.toString()));
      expect(Buffer.from(reader.tickets.getVotingKey(t).expose())).toEqual(Buffer.alloc(32, i % 251));
      expect(Buffer.from(reader.tickets.ticketBytes(t)!).toString('hex')).toBe(inputs(tag, 1, i)[0]!.ticketHex);
    }
    const mine = reader.tickets.hashes().filter((h) => Buffer.from(h, 'hex').toString().startsWith(`${tag}:`));
    expect(mine).toHaveLength(n);
    expect(mine).toEqual([...mine].sort());
  });

  it('import and update times round-trip exactly through the compact cache, shared or not, canonical ISO or not', async () => {
    const net = NETS[2] as Network;
    const w = await openNode(net, 'times-w');
    await w.tickets.importTickets(inputs('times', 6));
    // Operators' records may carry times in other forms: kept as written (only canonical ISO is packed).
    const forms = ['2026-01-01T00:00:00Z', '2026-01-01T00:00:00.000Z', 'yesterday', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00Z'];
    for (let i = 0; i < forms.length; i++) {
      const key = w.keyspace.ticket(th('times', i));
      const rec = JSON.parse((await w.client.get(key).string())!) as TicketRecord;
      await w.client.put(key).value(JSON.stringify({ ...rec, importedAt: forms[i], updatedAt: forms[(i + 1) % forms.length] }));
    }
    const r = await openNode(net, 'times-r', { ticketPageSize: 2 });
    for (let i = 0; i < 6; i++) {
      const stored = JSON.parse((await w.client.get(w.keyspace.ticket(th('times', i))).string())!) as TicketRecord;
      const got = r.tickets.get(th('times', i))!.record;
      expect([got.importedAt, got.updatedAt]).toEqual([stored.importedAt, stored.updatedAt]);
    }
    // This network is shared with a later test that counts every ticket: leave nothing behind.
    for (let i = 0; i < 6; i++) await w.client.delete().key(w.keyspace.ticket(th('times', i)));
  });

  it('watch updates: unchanged bytes are kept, changed ticket bytes and keys are replaced', async () => {
    const net = NETS[3] as Network;
    const w = await openNode(net, 'up-w');
    const r = await openNode(net, 'up-r');
    const t = th('up', 0);
    await w.tickets.importTickets(inputs('up', 1));
    await waitFor(() => r.tickets.has(t), { timeoutMs: 3_000 });
    const before = r.tickets.get(t)!;
    await w.tickets.setVoteChoices(t, { treasury: 'yes' });
    const after = await waitFor(() => (r.tickets.get(t)!.record.revision === 2 ? r.tickets.get(t) : undefined), { timeoutMs: 3_000 });
    expect(after.record.voteChoices).toEqual({ treasury: 'yes' });
    expect(after.record.ticketHex).toBe(before.record.ticketHex);
    expect(after.record.votingKey).toEqual(before.record.votingKey);
    expect(Buffer.from(r.tickets.getVotingKey(t).expose())).toEqual(Buffer.alloc(32, 0));
    // An operator rewrites the record with other ticket bytes and another key.
    const ring = new Keyring([new SecretKey(clusterKeyBytes)]);
    const rec = { ...after.record, ticketHex: 'ab'.repeat(40), votingKey: ring.sealVotingKey(net, t, key32(77)), revision: 3 };
    await w.client.put(w.keyspace.ticket(t)).value(JSON.stringify(rec));
    const third = await waitFor(() => (r.tickets.get(t)!.record.revision === 3 ? r.tickets.get(t) : undefined), { timeoutMs: 3_000 });
    expect(third.record.ticketHex).toBe('ab'.repeat(40));
    expect(Buffer.from(r.tickets.ticketBytes(t)!)).toEqual(Buffer.from('ab'.repeat(40), 'hex'));
    expect(Buffer.from(r.tickets.getVotingKey(t).expose())).toEqual(Buffer.alloc(32, 77));
    expect(third.record.voteChoices).toEqual({ treasury: 'yes' });
  });

  it('a write between the load revision and the watch is delivered (no gap)', async () => {
    const net = NETS[1] as Network;
    const c = await openNode(net, 'gap-w');
    await c.tickets.importTickets(inputs('gap', 6));
    const prefix = c.keyspace.ticketsPrefix();
    const lateKey = `${prefix}${th('gap', 99)}`;
    const updatedKey = `${prefix}${th('gap', 0)}`;
    let fired = false;
    const writes: Array<Promise<unknown>> = [];
    const cache = new PrefixCache<string>({
      client: c.client,
      prefix,
      name: 'gap-test',
      pageSize: 2,
      parse: (key, raw) => {
        if (!fired) {
          // While the first page is being parsed: a new key (sorting after every page) and an
          // update of a key already read. Neither is in the snapshot; the watch must bring both.
          fired = true;
          writes.push(c.client.put(lateKey).value('late').exec(), c.client.put(updatedKey).value('updated').exec());
        }
        return raw.toString();
      },
    });
    try {
      await cache.start();
      await Promise.all(writes);
      const snapshotRev = cache.revision;
      await waitFor(() => cache.get(lateKey)?.value === 'late', { timeoutMs: 3_000, message: 'late key via watch' });
      await waitFor(() => cache.get(updatedKey)?.value === 'updated', { timeoutMs: 3_000, message: 'update via watch' });
      expect(cache.get(lateKey)!.modRevision).toBeGreaterThan(snapshotRev - 2);
      expect(cache.size).toBe(7);
    } finally {
      await cache.stop();
    }
  });
});

describe('corrupt values and lazy decryption', () => {
  it('corrupt values inside a page are reported with their key, skipped and kept; the rest of the page loads', async () => {
    const net = NETS[2] as Network;
    const c = await openNode(net, 'cp-w');
    const ks = c.keyspace;
    await c.tickets.importTickets(inputs('cp', 9));
    // Overwrite two records in the middle of a 3-key page: bad JSON, and a record sealed with
    // another cluster key (detected on load without decrypting: its key id is unknown here).
    const badJson = ks.ticket(th('cp', 4));
    await c.client.put(badJson).value('{"ticketHash":');
    const foreign = th('cp', 5);
    const rec = JSON.parse((await c.client.get(ks.ticket(foreign)).string())!) as TicketRecord;
    const otherRing = new Keyring([generateClusterKey()]);
    rec.votingKey = otherRing.sealVotingKey(net, foreign, key32(5));
    await c.client.put(ks.ticket(foreign)).value(JSON.stringify(rec));

    const reported: CorruptValueError[] = [];
    const r = await openNode(net, 'cp-r', { ticketPageSize: 3 }, reported);
    expect(r.tickets.size).toBe(7);
    expect(reported.map((e) => e.key).sort()).toEqual([badJson, ks.ticket(foreign)].sort());
    for (const e of reported) {
      expect(e.code).toBe('CLUSTER_CORRUPT_VALUE');
      expect(e.message).toContain(e.key);
    }
    expect(reported.find((e) => e.key === ks.ticket(foreign))!.message).toMatch(/cluster key id/);
    expect(r.tickets.has(th('cp', 3))).toBe(true);
    expect(r.tickets.has(th('cp', 6))).toBe(true);
    expect(r.tickets.has(th('cp', 4))).toBe(false);
    expect([...r.tickets.corruptKeys().keys()].sort()).toEqual([badJson, ks.ticket(foreign)].sort());
    // Never deleted.
    expect(await c.client.get(badJson).string()).toBe('{"ticketHash":');
  });

  it('voting keys are decrypted at sign time: a tampered ciphertext loads, then is reported once and dropped', async () => {
    const net = NETS[3] as Network;
    const c = await openNode(net, 'lz-w');
    const ks = c.keyspace;
    await c.tickets.importTickets(inputs('lz', 3));
    const bad = th('lz', 1);
    const rec = JSON.parse((await c.client.get(ks.ticket(bad)).string())!) as TicketRecord;
    const ct = Buffer.from(rec.votingKey.ct, 'hex');
    ct[0] = (ct[0] as number) ^ 0x01;
    rec.votingKey.ct = ct.toString('hex');
    await c.client.put(ks.ticket(bad)).value(JSON.stringify(rec));

    const reported: CorruptValueError[] = [];
    const r = await openNode(net, 'lz-r', {}, reported);
    const changes: Array<CacheChange<TicketRecord>> = [];
    r.tickets.onChange((ch) => changes.push(ch));
    // Schema-valid and sealed with our key id: loaded (no decryption on load by default).
    expect(r.tickets.has(bad)).toBe(true);
    expect(reported).toHaveLength(0);
    expect(Buffer.from(r.tickets.getVotingKey(th('lz', 0)).expose())).toEqual(Buffer.alloc(32, 0));

    let thrown: unknown;
    try {
      r.tickets.getVotingKey(bad);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CorruptValueError);
    expect((thrown as CorruptValueError).key).toBe(ks.ticket(bad));
    expect((thrown as Error).message).toMatch(/authentication failed/);
    expect(reported.map((e) => e.key)).toEqual([ks.ticket(bad)]);
    expect(r.tickets.has(bad)).toBe(false);
    expect(r.tickets.corruptKeys().has(ks.ticket(bad))).toBe(true);
    expect(changes).toEqual([expect.objectContaining({ type: 'delete', key: ks.ticket(bad) })]);
    // Reported once; etcd keeps the value.
    expect(() => r.tickets.getVotingKey(bad)).toThrow(/not in the ticket cache/);
    expect(reported).toHaveLength(1);
    expect(await c.client.get(ks.ticket(bad)).string()).toBe(JSON.stringify(rec));
    // verifyVotingKeys finds nothing else wrong; verifyKeysOnLoad catches it at once.
    expect(await r.tickets.verifyVotingKeys()).toBe(0);
    const eager: CorruptValueError[] = [];
    const r2 = await openNode(net, 'lz-r2', { verifyKeysOnLoad: true }, eager);
    expect(eager.map((e) => e.key)).toEqual([ks.ticket(bad)]);
    expect(r2.tickets.has(bad)).toBe(false);
  });
});

describe('batched writes', () => {
  it('importTickets across batch boundaries is idempotent and reports per-ticket errors', async () => {
    const net = NETS[0] as Network;
    const c = await openNode(net, 'bi-w');
    const batch = inputs('bi', 300);
    const first = await c.tickets.importTickets(batch, { batchSize: 127, concurrency: 2 });
    expect(first.map((r) => r.ticketHash)).toEqual(batch.map((b) => b.ticketHash));
    expect(first.every((r) => r.imported === true)).toBe(true);
    const rev = (await c.client.get(c.keyspace.ticket(th('bi', 150))).exec()).kvs[0]!.mod_revision;

    const again = await c.tickets.importTickets(batch, { batchSize: 50 });
    expect(again.every((r) => r.imported === false && r.error === undefined)).toBe(true);
    expect((await c.client.get(c.keyspace.ticket(th('bi', 150))).exec()).kvs[0]!.mod_revision).toBe(rev);

    const mixed: ImportTicketInput[] = [
      ...inputs('bi', 1, 300), // new
      ...inputs('bi', 1, 10), // identical
      { ...inputs('bi', 1, 11)[0]!, votingKey: key32(250) }, // another key
      { ...inputs('bi', 1, 12)[0]!, ticketHex: 'ff' }, // another tx
      { ticketHash: 'not-a-hash', ticketHex: '00', votingKey: key32(1) },
      ...inputs('bi', 1, 301), // new
      ...inputs('bi', 1, 301), // duplicate in the batch
    ];
    const res = await c.tickets.importTickets(mixed);
    expect(res.map((r) => (r.error ? r.error.constructor.name : r.imported))).toEqual([
      true, false, 'TicketConflictError', 'TicketConflictError', 'ClusterArgumentError', true, 'ClusterArgumentError',
    ]);
    expect(res[2]!.error).toBeInstanceOf(TicketConflictError);
    expect(res[4]!.error).toBeInstanceOf(ClusterArgumentError);
    const all = await c.client.getAll().prefix(c.keyspace.ticketsPrefix()).keys();
    expect(all.filter((k) => Buffer.from(k.slice(c.keyspace.ticketsPrefix().length), 'hex').toString().startsWith('bi:'))).toHaveLength(302);
    // The stored key of the conflicting ticket is unchanged.
    await waitFor(() => c.tickets.has(th('bi', 301)), { timeoutMs: 3_000 });
    expect(Buffer.from(c.tickets.getVotingKey(th('bi', 11)).expose())).toEqual(Buffer.alloc(32, 11));
  });

  it('claimMany: one result per ticket with claim() semantics, bound to the lease', async () => {
    const net = NETS[1] as Network;
    const a = await openNode(net, 'cm-a', { join: true });
    const b = await openNode(net, 'cm-b', { join: true });
    const ts = Array.from({ length: 200 }, (_, i) => th('cm', i));
    const aFirst = await a.owners.claimMany(ts.slice(0, 50));
    expect(aFirst.every((r) => r.won && r.owner === 'cm-a')).toBe(true);
    const bRes = await b.owners.claimMany(ts, { batchSize: 64 });
    expect(bRes.slice(0, 50).every((r) => !r.won && r.owner === 'cm-a')).toBe(true);
    expect(bRes.slice(50).every((r) => r.won && r.owner === 'cm-b')).toBe(true);
    // Repeating is idempotent (already ours -> won), duplicates answered alike.
    const rep = await b.owners.claimMany([ts[60]!, ts[60]!, ts[1]!]);
    expect(rep).toEqual([{ won: true, owner: 'cm-b' }, { won: true, owner: 'cm-b' }, { won: false, owner: 'cm-a' }]);
    const kv = (await b.client.getAll().prefix(b.keyspace.owner(ts[120]!)).exec()).kvs[0]!;
    expect(String(kv.lease)).toBe(b.membership.leaseId());
    await waitFor(() => b.owners.ownedByMe().length === 150, { timeoutMs: 3_000, message: 'owner cache sees the claims' });
    // Single claims agree with the batch.
    expect(await a.owners.claim(ts[199]!)).toEqual({ won: false, owner: 'cm-b' });
  });

  it('releaseMany: deletes only our own claims at the revision the cache shows, in batches', async () => {
    const net = NETS[3] as Network;
    const a = await openNode(net, 'rm-a', { join: true });
    const b = await openNode(net, 'rm-b', { join: true });
    const ts = Array.from({ length: 300 }, (_, i) => th('rm', i));
    expect((await a.owners.claimMany(ts.slice(0, 200))).every((r) => r.won)).toBe(true);
    expect((await b.owners.claimMany(ts.slice(200))).every((r) => r.won)).toBe(true);
    await waitFor(() => a.owners.ownedByMe().length === 200 && a.owners.size === 300, { timeoutMs: 3_000, message: 'claims cached' });
    // Ours (0..149, across two batches of 100), b's (250..259, skipped), unclaimed (none), a duplicate.
    const asked = [...ts.slice(0, 150), ...ts.slice(250, 260), ts[0]!];
    const res = await a.owners.releaseMany(asked, { batchSize: 100 });
    expect(res.slice(0, 150).every((d) => d)).toBe(true);
    expect(res.slice(150, 160).some((d) => d)).toBe(false);
    expect(res[160]).toBe(false); // the duplicate is released once
    await waitFor(() => a.owners.ownedByMe().length === 50, { timeoutMs: 3_000, message: 'releases seen' });
    expect(b.owners.ownedByMe()).toHaveLength(100);
    expect((await a.client.getAll().prefix(a.keyspace.ownersPrefix()).keys()).length).toBe(150);
    // A claim re-written after it was read (a newer revision) is not deleted.
    const key = a.keyspace.owner(ts[199]!);
    const readRev = Number((await a.client.get(key).exec()).kvs[0]!.mod_revision);
    await a.client.put(key).value(JSON.stringify({ nodeId: 'rm-a', leaseId: a.membership.leaseId(), claimedAt: 'x' })).lease(a.membership.leaseId()!);
    expect(await deleteIfUnchangedMany(a.client, [{ key, modRevision: readRev }], { op: 'test' })).toEqual([false]);
    expect((await a.client.get(key).exec()).kvs).toHaveLength(1);
    const newRev = Number((await a.client.get(key).exec()).kvs[0]!.mod_revision);
    expect(await deleteIfUnchangedMany(a.client, [{ key, modRevision: newRev }], { op: 'test' })).toEqual([true]);
  });

  it('owners.rank: rankings equal rankNodes over the live set, and follow membership changes', async () => {
    const net = NETS[2] as Network;
    const nodes = await Promise.all(
      ['ra1', 'rb1', 'rc1', 'rc2'].map((id) => openNode(net, id, { join: true, region: id.slice(1, 2) })),
    );
    const a = nodes[0]!;
    await waitFor(() => a.membership.liveNodes().length === 4, { timeoutMs: 3_000, message: 'four live nodes' });
    const ts = Array.from({ length: 300 }, (_, i) => th('rk', i));
    const ids = (xs: Array<{ nodeId: string }>): string[] => xs.map((n) => n.nodeId);
    for (const t of ts) {
      const fresh = ids(rankNodes(t, a.membership.liveNodes()));
      expect(ids(a.owners.rank(t))).toEqual(fresh);
      expect(ids(a.owners.rank(t))).toEqual(fresh); // the same again
      expect(a.owners.ownerRankId(t)).toBe(fresh[0]); // the owner alone
    }
    // myShare: the tickets whose rank 0 is this node (computed in chunks, here of 7).
    const share = await a.owners.myShare(ts, { chunk: 7 });
    expect(share).toEqual(ts.filter((t) => rankNodes(t, a.membership.liveNodes())[0]!.nodeId === 'ra1'));
    expect(share.length).toBeGreaterThan(30);
    // A caller changing the returned array does not change later rankings.
    a.owners.rank(ts[0]!).reverse();
    expect(ids(a.owners.rank(ts[0]!))).toEqual(ids(rankNodes(ts[0]!, a.membership.liveNodes())));
    await nodes[3]!.close();
    await waitFor(() => a.membership.liveNodes().length === 3, { timeoutMs: 3_000, message: 'rc2 left' });
    for (const t of ts) {
      const r = ids(a.owners.rank(t));
      expect(r).toHaveLength(3);
      expect(r).toEqual(ids(rankNodes(t, a.membership.liveNodes())));
      expect(a.owners.ownerRankId(t)).toBe(r[0]);
    }
    expect(() => a.owners.rank('zz')).toThrow(ClusterArgumentError);
  });
});
