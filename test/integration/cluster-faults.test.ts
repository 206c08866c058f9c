/**
 * Lease, watch and recovery behaviour of services/cluster against real etcd:
 * a SIGKILLed node's claims vanish after its TTL and a backup can claim; the
 * watch caches follow puts and deletes; corrupt values are reported with their
 * key and skipped; a newer schema is refused; etcd stopped and restarted: the
 * client and its watches recover.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CorruptValueError,
  SchemaTooNewError,
  TicketConflictError,
  ensureSchema,
  generateClusterKey,
  openCluster,
  type Cluster,
  type ClusterConfigInput,
} from '../../services/cluster/index.ts';
import { SecretKey } from '../../services/telemetry/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';
import { hashOf } from '../harness/cluster-fixtures.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const clusterKeyBytes = generateClusterKey().expose().slice();
const key32 = (b: number): SecretKey => new SecretKey(new Uint8Array(32).fill(b));

let etcd: TestEtcd;
const open: Cluster[] = [];

function cfg(nodeId: string, region: string, extra: Partial<ClusterConfigInput> = {}): ClusterConfigInput {
  // The cluster module's whole API through one handle: etcd's root user (the service roles are etcd-auth.test.ts's).
  return { endpoints: etcd.endpoints, etcdAccess: etcd.access('root'), network: 'simnet', nodeId, region, clusterKey: clusterKeyBytes, leaseTtlSec: 2, ...extra };
}
async function openNode(nodeId: string, region: string, extra: Partial<ClusterConfigInput> = {}, corrupt?: CorruptValueError[]): Promise<Cluster> {
  const c = await openCluster(cfg(nodeId, region, extra), corrupt ? { onCorrupt: (e) => corrupt.push(e) } : {});
  open.push(c);
  return c;
}

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await etcd?.stop();
});

describe('lease expiry', () => {
  it('a SIGKILLed node: its nodes/ and owners/ keys disappear after the TTL, and a backup claims', async () => {
    const t = hashOf('killed-owner');
    const backup = await openNode('backup-b1', 'b');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/harness/cluster-node-process.ts',
        JSON.stringify({ ...cfg('victim-a1', 'a'), clusterKey: undefined, clusterKeyHex: Buffer.from(clusterKeyBytes).toString('hex') }), t],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
      expect(line).toMatch(/^ready /);
      expect(JSON.parse(line.slice(6)).claims[0]).toMatchObject({ won: true, owner: 'victim-a1' });
      await waitFor(() => backup.owners.ownerOf(t) === 'victim-a1', { timeoutMs: 3_000, message: 'backup sees the claim' });
      expect(backup.membership.liveNodes().map((n) => n.nodeId)).toContain('victim-a1');
      expect(await backup.owners.claim(t)).toEqual({ won: false, owner: 'victim-a1' });

      child.kill('SIGKILL');
      await once(child, 'exit');
      // No revoke happened: etcd expires the lease after ~TTL (2 s) and the watch reports the deletes.
      await waitFor(() => backup.owners.ownerOf(t) === undefined, { timeoutMs: 6_000, message: 'owner key expires' });
      await waitFor(() => !backup.membership.liveNodes().some((n) => n.nodeId === 'victim-a1'), { timeoutMs: 2_000, message: 'node key expires' });
      expect(await backup.owners.claim(t)).toEqual({ won: true, owner: 'backup-b1' });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('a clean close revokes the lease at once (claims released without waiting for the TTL)', async () => {
    const t = hashOf('clean-close');
    const a = await openNode('close-a1', 'a');
    const b = await openNode('close-b1', 'b');
    expect((await a.owners.claim(t)).won).toBe(true);
    await waitFor(() => b.owners.ownerOf(t) === 'close-a1', { timeoutMs: 2_000 });
    await a.close();
    // Well under the 2 s TTL: revoke deletes immediately.
    await waitFor(() => b.owners.ownerOf(t) === undefined, { timeoutMs: 1_000, message: 'released by revoke' });
    expect(a.membership.isLeaseFresh()).toBe(false);
  });

  it('the same nodeId cannot join twice while the first is alive', async () => {
    await openNode('dup-a1', 'a');
    await expect(openCluster(cfg('dup-a1', 'a', { joinWaitMs: 300 }), {}).then((c) => open.push(c))).rejects.toMatchObject({
      code: 'CLUSTER_NODE_ID_IN_USE',
    });
  }, 15_000);
});

describe('watch caches and corrupt values', () => {
  it('ticket cache follows imports, updates and removals made by another node', async () => {
    const writer = await openNode('w-a1', 'a', { join: false });
    const reader = await openNode('r-b1', 'b', { join: false });
    const t = hashOf('cache-ticket');
    expect((await writer.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: key32(9) })).imported).toBe(true);
    const first = await waitFor(() => reader.tickets.get(t), { timeoutMs: 2_000, message: 'import seen' });
    expect(Buffer.from(reader.tickets.getVotingKey(t).expose())).toEqual(Buffer.alloc(32, 9));

    // Idempotent re-import; a different key is refused and changes nothing.
    expect((await writer.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: key32(9) })).imported).toBe(false);
    await expect(writer.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: key32(8) })).rejects.toBeInstanceOf(TicketConflictError);

    await writer.tickets.setVoteChoices(t, { treasury: 'yes' });
    const updated = await waitFor(() => (reader.tickets.get(t)?.record.revision === 2 ? reader.tickets.get(t) : undefined), { timeoutMs: 2_000 });
    expect(updated.record.voteChoices).toEqual({ treasury: 'yes' });
    expect(updated.modRevision).toBeGreaterThan(first.modRevision);

    expect(await writer.tickets.removeTicket(t)).toBe(true);
    await waitFor(() => reader.tickets.get(t) === undefined, { timeoutMs: 2_000, message: 'delete seen' });
  });

  it('a corrupt value is reported with its key, skipped, kept in etcd, and the watch keeps working', async () => {
    const corrupt: CorruptValueError[] = [];
    const c = await openNode('corrupt-a1', 'a', { join: false, verifyKeysOnLoad: true }, corrupt);
    const ks = c.keyspace;
    const good = hashOf('good-after-bad');
    const badJson = ks.ticket(hashOf('bad-json'));
    const badSchema = ks.ticket(hashOf('bad-schema'));
    const badCipher = hashOf('bad-cipher');
    await c.client.put(badJson).value('{not json');
    await c.client.put(badSchema).value(JSON.stringify({ ticketHash: 'zz' }));
    // A valid record whose ciphertext belongs to another ticket (swapped): fails decryption.
    const other = hashOf('other-ticket');
    await c.tickets.importTicket({ ticketHash: other, ticketHex: '0100', votingKey: key32(1) });
    const rec = JSON.parse((await c.client.get(ks.ticket(other)).string())!);
    await c.client.put(ks.ticket(badCipher)).value(JSON.stringify({ ...rec, ticketHash: badCipher }));
    await c.tickets.importTicket({ ticketHash: good, ticketHex: '0100', votingKey: key32(2) });

    await waitFor(() => c.tickets.get(good), { timeoutMs: 2_000, message: 'good record after the bad ones' });
    await waitFor(() => corrupt.length >= 3, { timeoutMs: 2_000, message: 'three corrupt values reported' });
    const keys = corrupt.map((e) => e.key);
    expect(keys).toEqual(expect.arrayContaining([badJson, badSchema, ks.ticket(badCipher)]));
    for (const e of corrupt) {
      expect(e.code).toBe('CLUSTER_CORRUPT_VALUE');
      expect(e.message).toContain(e.key);
    }
    expect(corrupt.find((e) => e.key === ks.ticket(badCipher))?.message).toMatch(/authentication failed/);
    expect(c.tickets.get(badCipher)).toBeUndefined();
    expect(c.tickets.corruptKeys().has(badJson)).toBe(true);
    // Never deleted automatically.
    expect(await c.client.get(badJson).string()).toBe('{not json');

    // A fresh handle loading the same keyspace reports them on load and still starts.
    const loaded: CorruptValueError[] = [];
    const c2 = await openNode('corrupt-b1', 'b', { join: false, verifyKeysOnLoad: true }, loaded);
    expect(loaded.map((e) => e.key)).toEqual(expect.arrayContaining([badJson, badSchema, ks.ticket(badCipher)]));
    expect(c2.tickets.get(good)).toBeDefined();
    for (const k of [badJson, badSchema, ks.ticket(badCipher), ks.ticket(other), ks.ticket(good)]) await c.client.delete().key(k);
  });

  it('waitForVote resolves when another node records, and null on timeout', async () => {
    const a = await openNode('wv-a1', 'a', { join: false });
    const b = await openNode('wv-b1', 'b', { join: false });
    const [bh, t] = [hashOf('wv-block'), hashOf('wv-ticket')];
    const waiting = b.votes.waitForVote(500, bh, t, { timeoutMs: 5_000 });
    await a.votes.recordVote({
      height: 500, blockHash: bh, ticketHash: t, voteTxHex: 'beef', voteTxid: hashOf('wv-tx'), signer: 'wv-a1',
      choicesRevision: 1, voteBits: 1, voteVersion: 10, treasuryVotes: [], createdAt: new Date().toISOString(), path: 'fast',
    });
    expect((await waiting)?.voteTxHex).toBe('beef');
    expect(await b.votes.waitForVote(501, bh, t, { timeoutMs: 50 })).toBeNull();
    expect(await a.votes.cleanupBelow(501)).toBeGreaterThanOrEqual(1);
    expect(await a.votes.getVote(500, bh, t)).toBeNull();
  });

  it('refuses a keyspace with a newer schema version', async () => {
    const c = await openNode('schema-a1', 'a', { join: false });
    const k = c.keyspace.schemaVersion();
    const before = await c.client.get(k).string();
    await c.client.put(k).value(JSON.stringify({ version: 99 }));
    try {
      await expect(ensureSchema(c.client, c.keyspace)).rejects.toBeInstanceOf(SchemaTooNewError);
      await expect(openCluster(cfg('schema-b1', 'b', { join: false }))).rejects.toMatchObject({ code: 'CLUSTER_SCHEMA_TOO_NEW' });
    } finally {
      await c.client.put(k).value(before!);
    }
  });

  it('runs an upgrade step from an older schema, once', async () => {
    const c = await openNode('schema-up', 'a', { join: false });
    const ns = c.keyspace;
    const runs: number[] = [];
    const upgrades = [{ to: 2, description: 'test step', run: async () => void runs.push(2) }];
    // Current keyspace is at 1; with a table whose latest is 2, the step runs and the version bumps.
    expect(await ensureSchema(c.client, ns, { upgrades })).toBe(1);
    expect(runs).toEqual([2]);
    expect(JSON.parse((await c.client.get(ns.schemaVersion()).string())!)).toEqual({ version: 2 });
    expect(await ensureSchema(c.client, ns, { upgrades })).toBe(2);
    expect(runs).toEqual([2]);
    await c.client.put(ns.schemaVersion()).value(JSON.stringify({ version: 1 }));
  });
});

describe('etcd stopped and restarted', () => {
  it('membership, requests and watches recover', async () => {
    const a = await openNode('rs-a1', 'a', { leaseTtlSec: 3 });
    const b = await openNode('rs-b1', 'b', { join: false });
    const t1 = hashOf('restart-1');
    await a.tickets.importTicket({ ticketHash: t1, ticketHex: '0100', votingKey: key32(3) });
    await waitFor(() => b.tickets.get(t1), { timeoutMs: 2_000 });

    const member = etcd.members[0]!;
    await member.kill();
    await expect(a.tickets.importTicket({ ticketHash: hashOf('while-down'), ticketHex: '0100', votingKey: key32(4) }))
      .rejects.toMatchObject({ code: 'CLUSTER_ETCD_UNAVAILABLE', retryable: true });
    await waitFor(() => !b.isWatchHealthy(), { timeoutMs: 10_000, message: 'watch notices the outage' });
    // The cache keeps serving while etcd is down (owners may keep voting on the fast path).
    expect(b.tickets.get(t1)).toBeDefined();

    await member.start();
    const t2 = hashOf('restart-2');
    await waitFor(
      () => a.tickets.importTicket({ ticketHash: t2, ticketHex: '0100', votingKey: key32(5) }).then(() => true),
      { timeoutMs: 10_000, intervalMs: 100, message: 'writes succeed after restart' },
    );
    await waitFor(() => b.tickets.get(t2), { timeoutMs: 10_000, message: 'watch resumes and delivers' });
    await waitFor(() => b.isWatchHealthy(), { timeoutMs: 5_000 });
    await waitFor(() => a.membership.isLeaseFresh(), { timeoutMs: 10_000, message: 'lease fresh again (kept or re-joined)' });
    expect((await a.owners.claim(t2)).won).toBe(true);
  }, 40_000);
});
