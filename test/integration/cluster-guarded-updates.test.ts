/**
 * Read-modify-write of ticket records and the vote defaults against real etcd:
 * many concurrent changes of different entries, from two cluster handles (two
 * etcd clients, as two admin processes would be), all land in etcd; a writer
 * that keeps losing the race gives up with ConcurrentUpdateError and writes
 * nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConcurrentUpdateError, TicketNotFoundError, generateClusterKey, openCluster, type Cluster } from '../../services/cluster/index.ts';
import { GuardedUpdater } from '../../services/cluster/guarded-update.ts';
import { SecretKey } from '../../services/telemetry/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { hashOf } from '../harness/cluster-fixtures.ts';

const clusterKeyBytes = generateClusterKey().expose().slice();
const hex64 = (i: number): string => i.toString(16).padStart(64, '0');
const piKey = (i: number): string => `02${i.toString(16).padStart(64, '0')}`;
const N = 50;

let etcd: TestEtcd;
let a: Cluster;
let b: Cluster;

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
  const cfg = (nodeId: string) => ({ endpoints: etcd.endpoints, etcdAccess: etcd.access('admin'), network: 'simnet' as const, nodeId, region: 'a', clusterKey: clusterKeyBytes, join: false });
  a = await openCluster(cfg('writer-a'));
  b = await openCluster(cfg('writer-b'));
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await etcd?.stop();
});

/** The record as etcd holds it now (not a cache). */
async function stored(c: Cluster, ticketHash: string): Promise<Record<string, unknown>> {
  const raw = await c.client.get(c.keyspace.ticket(ticketHash)).string();
  if (raw === null) throw new Error(`ticket ${ticketHash} absent`);
  return JSON.parse(raw) as Record<string, unknown>;
}

describe('ticket record updates', () => {
  it(`${N} concurrent choice merges for different agendas on one ticket, from two handles, all land`, async () => {
    const t = hashOf('concurrent-choices');
    await a.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: new SecretKey(new Uint8Array(32).fill(7)) });
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => (i % 2 === 0 ? a : b).tickets.mergeVoteChoices(t, { [`agenda${i}`]: i % 3 === 0 ? 'yes' : 'no' })),
    );
    const want = Object.fromEntries(Array.from({ length: N }, (_, i) => [`agenda${i}`, i % 3 === 0 ? 'yes' : 'no']));
    const rec = await stored(a, t);
    expect(rec['voteChoices']).toEqual(want);
    expect(rec['revision']).toBe(1 + N);
    // Each caller got the record it wrote: distinct application revisions 2..N+1.
    expect(new Set(results.map((r) => r.revision)).size).toBe(N);
  });

  it(`${N} concurrent choice, tspend and treasury policy changes on one ticket, from two handles, all land`, async () => {
    const t = hashOf('concurrent-mixed');
    await b.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: new SecretKey(new Uint8Array(32).fill(8)) });
    await Promise.all(
      Array.from({ length: N }, (_, i) => {
        const c = i % 2 === 0 ? a : b;
        if (i % 3 === 0) return c.tickets.mergeVoteChoices(t, { [`agenda${i}`]: 'yes' });
        if (i % 3 === 1) return c.tickets.setTSpendPolicy(t, hex64(i), 'no');
        return c.tickets.setTreasuryPolicy(t, piKey(i), 'yes');
      }),
    );
    const rec = await stored(b, t);
    const idx = Array.from({ length: N }, (_, i) => i);
    expect(rec['voteChoices']).toEqual(Object.fromEntries(idx.filter((i) => i % 3 === 0).map((i) => [`agenda${i}`, 'yes'])));
    expect(rec['tspendPolicy']).toEqual(Object.fromEntries(idx.filter((i) => i % 3 === 1).map((i) => [hex64(i), 'no'])));
    expect(rec['treasuryPolicy']).toEqual(Object.fromEntries(idx.filter((i) => i % 3 === 2).map((i) => [piKey(i), 'yes'])));
    expect(rec['revision']).toBe(1 + N);
  });

  it('an update of an unknown ticket is TicketNotFoundError and creates nothing', async () => {
    const t = hashOf('never-imported');
    await expect(a.tickets.mergeVoteChoices(t, { x: 'yes' })).rejects.toBeInstanceOf(TicketNotFoundError);
    expect(await a.client.get(a.keyspace.ticket(t)).string()).toBeNull();
  });
});

describe('vote defaults updates', () => {
  it(`${N} concurrent changes of different default entries, from two handles, all land`, async () => {
    await Promise.all(
      Array.from({ length: N }, (_, i) =>
        (i % 2 === 0 ? a : b).config.updateVoteDefaults((d) => {
          if (i % 3 === 0) return { ...d, voteChoices: { ...d.voteChoices, [`agenda${i}`]: 'no' } };
          if (i % 3 === 1) return { ...d, tspendPolicy: { ...d.tspendPolicy, [hex64(i)]: 'yes' } };
          return { ...d, treasuryPolicy: { ...d.treasuryPolicy, [piKey(i)]: 'no' } };
        }),
      ),
    );
    const raw = await a.client.get(a.keyspace.config('vote-defaults')).string();
    const d = JSON.parse(raw ?? 'null') as Record<string, Record<string, string>>;
    const idx = Array.from({ length: N }, (_, i) => i);
    expect(d['voteChoices']).toEqual(Object.fromEntries(idx.filter((i) => i % 3 === 0).map((i) => [`agenda${i}`, 'no'])));
    expect(d['tspendPolicy']).toEqual(Object.fromEntries(idx.filter((i) => i % 3 === 1).map((i) => [hex64(i), 'yes'])));
    expect(d['treasuryPolicy']).toEqual(Object.fromEntries(idx.filter((i) => i % 3 === 2).map((i) => [piKey(i), 'no'])));
  });
});

describe('bounded retries', () => {
  it('a writer that loses every race gives up with ConcurrentUpdateError after its attempts and writes nothing', async () => {
    const key = a.keyspace.config('vote-defaults');
    const updater = new GuardedUpdater(a.client, undefined, 3);
    let calls = 0;
    const err = await updater
      .update<{ n: number }>({ key, op: 'test', parse: () => ({ n: 0 }), serialize: (v) => JSON.stringify(v) }, async () => {
        calls++;
        // Another writer changes the key between every read and the guarded write (the
        // value is theirs; ours must never be written).
        await b.client.put(key).value(JSON.stringify({ voteChoices: { other: String(calls) }, treasuryPolicy: {}, tspendPolicy: {} })).exec();
        return { n: calls };
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConcurrentUpdateError);
    expect((err as ConcurrentUpdateError).message).toContain(key);
    expect(calls).toBe(3);
    const after = JSON.parse((await a.client.get(key).string()) ?? 'null') as Record<string, unknown>;
    expect(after).not.toHaveProperty('n');
  });
});
