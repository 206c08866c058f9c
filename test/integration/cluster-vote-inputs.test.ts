/**
 * The cluster tip and vote inputs effective from a height, against real etcd (RBAC on: the
 * voter handle advances the tip and records tspends, the admin handle writes vote inputs):
 * the three tip keys land at one revision; caches take their marker as a height, not an entry;
 * a guarded write racing a moving tip is never lost and applies from the tip it committed
 * under + 2; a view behind the marker is not canonical; late imports and records of an older
 * version are not canonical until migrated (idempotently); recorded tspends are checked when
 * read and a corrupt one is refused; freshInputs computes what a current view computes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CorruptValueError, generateClusterKey, openCluster, padHeight, type Cluster,
} from '../../services/cluster/index.ts';
import { SIMNET, encodeTx, hashToHex, txHash } from '../../services/decred/index.ts';
import { createTestTSpend } from '../../services/sim/devnet/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';
import { hashOf, filledKey } from '../harness/cluster-fixtures.ts';

const clusterKey = generateClusterKey().expose().slice();

let etcd: TestEtcd;
let admin: Cluster;
let voter: Cluster;
const corrupt: CorruptValueError[] = [];

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
  const cfg = (nodeId: string, who: 'admin' | 'voter') => ({
    endpoints: etcd.endpoints, etcdAccess: etcd.access(who), network: 'simnet' as const, nodeId, region: 'a', clusterKey, join: false,
  });
  admin = await openCluster(cfg('admin-1', 'admin'), { onCorrupt: (e) => corrupt.push(e) });
  voter = await openCluster(cfg('voter-1', 'voter'), { onCorrupt: (e) => corrupt.push(e) });
  // The vote version is an input too: committed before any tip (it applies from height 2).
  expect(await voter.config.proposeVoteVersion(11)).toBe(true);
  await waitFor(() => (admin.config.voteVersionEntry() as { value?: unknown }).value, { timeoutMs: 5_000, message: 'vote version cached' });
});
afterAll(async () => {
  await admin?.close();
  await voter?.close();
  await etcd?.stop();
});

/** Advances the tip and waits until both handles' caches show it. */
async function tipTo(h: number): Promise<void> {
  await voter.advanceTip(h);
  await waitFor(() => (admin.voteView.viewHeight() >= h && voter.voteView.viewHeight() >= h ? true : undefined), { timeoutMs: 5_000, message: `views at ${h}` });
}

describe('cluster tip', () => {
  it('creates the tip when absent, puts the three keys at one revision, only ever raises it', async () => {
    expect(await voter.tip.read()).toBeUndefined();
    expect(await voter.advanceTip(100)).toBe(true);
    const ks = voter.keyspace;
    const kvs = await Promise.all([ks.chainTip(), ks.ticketsTipMarker(), ks.tspendsTipMarker()].map((k) => voter.client.get(k).exec()));
    expect(kvs.map((r) => r.kvs[0]?.value.toString())).toEqual([padHeight(100), padHeight(100), padHeight(100)]);
    expect(new Set(kvs.map((r) => r.kvs[0]?.mod_revision)).size).toBe(1);
    await waitFor(() => (voter.voteView.viewHeight() === 100 ? true : undefined), { timeoutMs: 5_000, message: 'markers seen' });
    // Lower or equal: nothing written (the cache already shows it: no I/O either).
    expect(await voter.advanceTip(99)).toBe(false);
    expect(await voter.advanceTip(100)).toBe(false);
    expect(await voter.tip.read()).toBe(100);
    await tipTo(101);
    const rev101 = Number((await voter.client.get(ks.chainTip()).exec()).kvs[0]?.mod_revision);
    // Each cache recorded R(h) for the heights it saw rise.
    expect(voter.tickets.markerCache.markerRevisionAt(101)).toBe(rev101);
    expect(voter.config.markerCache.markerRevisionAt(101)).toBe(rev101);
    expect(voter.tspends.markerCache.markerRevisionAt(101)).toBe(rev101);
  });

  it('the markers are not entries: no ticket, no tspend, no corrupt value reported', async () => {
    expect(voter.tickets.hashes()).not.toContain('chain-tip');
    expect(voter.tickets.size).toBe(admin.tickets.size);
    expect(voter.tspends.all()).toEqual([]);
    expect(corrupt.map((e) => e.key)).toEqual([]);
    expect([...voter.tickets.corruptKeys().keys()]).toEqual([]);
    expect(voter.config.cachedTip()).toBe(101);
  });

  it('parallel advances from many callers end at the highest height, markers equal', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => voter.advanceTip(110 + (i % 7))));
    expect(await voter.tip.read()).toBe(116);
    await tipTo(116);
    expect(voter.tickets.markerCache.markerHeight).toBe(116);
    expect(voter.tspends.markerCache.markerHeight).toBe(116);
  });
});

describe('guarded writes and inputs effective from a height', () => {
  it('a choice change racing a moving tip: every merge lands, each applies from the tip it committed under + 2', async () => {
    const t = hashOf('racing-tip');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(1) });
    const start = (await voter.tip.read()) as number;
    const key0 = admin.keyspace.ticket(t);
    const startRev = Number((await admin.client.get(key0).exec()).kvs[0]?.mod_revision);
    const N = 30;
    const moving = (async () => {
      for (let h = start + 1; h <= start + 15; h++) {
        await voter.advanceTip(h);
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    await Promise.all([
      moving,
      ...Array.from({ length: N }, (_, i) => admin.tickets.mergeVoteChoices(t, { [`agenda${i}`]: 'yes' })),
    ]);
    const rec = JSON.parse((await admin.client.get(key0).string()) as string) as { voteChoices: Record<string, string>; revision: number };
    expect(Object.keys(rec.voteChoices)).toHaveLength(N);
    expect(rec.revision).toBe(1 + N);
    // Every version of the record in etcd's history: inputsFrom = the tip at that revision + 2.
    let versions = 0;
    const history = await historyOf(admin, key0, startRev);
    for (const h of history) {
      const tip = await admin.client.get(admin.keyspace.chainTip()).revision(h.revision).string();
      expect(h.value.inputsFrom, `revision ${h.revision}`).toBe(Number(tip) + 2);
      versions++;
    }
    expect(versions).toBe(N);
  });

  it('what applies at a height never changes once the tip passed it; later draws see the change', async () => {
    const t = hashOf('effective-from');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(2), voteChoices: { agenda: 'a' } });
    const T0 = (await voter.tip.read()) as number;
    await tipTo(T0 + 2);
    expect(admin.canonicalInputs(t, T0 + 2)).toMatchObject({ ok: true, inputs: { ticket: { voteChoices: { agenda: 'a' } } } });
    const T = T0 + 2;
    await admin.tickets.setVoteChoices(t, { agenda: 'b' });
    // The admin API shows the latest at once.
    await waitFor(() => (admin.tickets.get(t)?.record.voteChoices['agenda'] === 'b' ? true : undefined), { timeoutMs: 5_000, message: 'latest in cache' });
    // A draw at T + 1 keeps 'a'; from T + 2 on, 'b'.
    await tipTo(T + 1);
    expect(admin.canonicalInputs(t, T + 1)).toMatchObject({ ok: true, inputs: { ticket: { voteChoices: { agenda: 'a' } } } });
    expect(admin.canonicalInputs(t, T + 2)).toMatchObject({ ok: true, inputs: { ticket: { voteChoices: { agenda: 'b' } } } });
    // The same with the defaults.
    await admin.config.updateVoteDefaults((d) => ({ ...d, voteChoices: { other: 'yes' } }));
    await waitFor(() => (admin.config.voteDefaults().voteChoices['other'] === 'yes' ? true : undefined), { timeoutMs: 5_000, message: 'defaults in cache' });
    expect(admin.canonicalInputs(t, T + 2)).toMatchObject({ ok: true, inputs: { defaults: { voteChoices: {} } } });
    await tipTo(T + 2);
    expect(admin.canonicalInputs(t, T + 3)).toMatchObject({ ok: true, inputs: { defaults: { voteChoices: { other: 'yes' } } } });
    // A status change (not an input) keeps inputsFrom and the earlier inputs.
    const before = admin.tickets.get(t)?.record;
    const after = await admin.tickets.setStatus(t, 'voted');
    expect(after.inputsFrom).toBe(before?.inputsFrom);
    expect(after.earlierInputs).toEqual(before?.earlierInputs);
  });

  it('a view behind the marker of H - 1 is not canonical; the record-first read computes what a current view does', async () => {
    const t = hashOf('view-behind');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(3), voteChoices: { agenda: 'x' } });
    const T = (await voter.tip.read()) as number;
    await tipTo(T + 2);
    const H = T + 4; // needs the markers of H - 1 = T + 3
    expect(admin.canonicalInputs(t, H)).toEqual({ ok: false, reason: 'view-behind' });
    expect(admin.voteView.isCurrentFor(H)).toBe(false);
    // freshInputs raises the tip to H - 1 first, then reads.
    const fresh = await voter.freshInputs(t, H);
    expect(await voter.tip.read()).toBe(H - 1);
    expect(fresh.canonical).toBe(true);
    expect(await admin.voteView.whenCurrentFor(H, 5_000)).toBe(true);
    const c = admin.canonicalInputs(t, H);
    expect(c.ok).toBe(true);
    if (c.ok) expect(c.inputs).toEqual(fresh.inputs);
  });

  it('a late import is not canonical for the draws open at the import', async () => {
    const T = (await voter.tip.read()) as number;
    await tipTo(T);
    const t = hashOf('late-import');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(4) });
    await waitFor(() => (admin.tickets.has(t) ? true : undefined), { timeoutMs: 5_000, message: 'imported' });
    expect(admin.tickets.get(t)?.record.inputsFrom).toBe(T + 2);
    expect(admin.canonicalInputs(t, T + 1)).toEqual({ ok: false, reason: 'late-import' });
    const fresh = await voter.freshInputs(t, T + 1);
    expect(fresh).toMatchObject({ canonical: false, reason: 'late-import' });
    expect(admin.canonicalInputs(hashOf('never-imported'), T + 1)).toEqual({ ok: false, reason: 'not-managed' });
  });

  it('a record of an older version (no inputsFrom) is never canonical until the migration, which is idempotent', async () => {
    const t = hashOf('legacy');
    const { record } = await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(5), voteChoices: { agenda: 'old' } });
    const legacy: Record<string, unknown> = { ...record };
    delete legacy['inputsFrom'];
    await admin.client.put(admin.keyspace.ticket(t)).value(JSON.stringify(legacy)).exec();
    await waitFor(() => (admin.tickets.get(t)?.record.inputsFrom === undefined ? true : undefined), { timeoutMs: 5_000, message: 'legacy in cache' });
    const T = (await voter.tip.read()) as number;
    await tipTo(T);
    expect(admin.canonicalInputs(t, T + 1)).toEqual({ ok: false, reason: 'legacy-record' });
    expect(await admin.tickets.migrateVoteInputs()).toBeGreaterThanOrEqual(1);
    await waitFor(() => (admin.tickets.get(t)?.record.inputsFrom === 0 ? true : undefined), { timeoutMs: 5_000, message: 'migrated in cache' });
    const rev = admin.tickets.get(t)?.modRevision;
    expect(admin.canonicalInputs(t, T + 1)).toMatchObject({ ok: true, inputs: { ticket: { voteChoices: { agenda: 'old' } } } });
    // Again: nothing to do, nothing written.
    expect(await admin.tickets.migrateVoteInputs()).toBe(0);
    expect(Number((await admin.client.get(admin.keyspace.ticket(t)).exec()).kvs[0]?.mod_revision)).toBe(rev);
    // The defaults likewise.
    await admin.client.put(admin.keyspace.config('vote-defaults')).value(JSON.stringify({ voteChoices: { d: 'yes' }, tspendPolicy: {}, treasuryPolicy: {} })).exec();
    await waitFor(() => (admin.config.voteDefaultsEntry()?.value.from === undefined ? true : undefined), { timeoutMs: 5_000, message: 'legacy defaults' });
    expect(admin.canonicalInputs(t, T + 1)).toEqual({ ok: false, reason: 'legacy-record' });
    expect(await admin.config.migrateVoteDefaults()).toBe(true);
    expect(await admin.config.migrateVoteDefaults()).toBe(false);
    await waitFor(() => (admin.canonicalInputs(t, T + 1).ok ? true : undefined), { timeoutMs: 5_000, message: 'defaults migrated' });
  });
});

describe('recorded tspends', () => {
  it('a voter records a tspend (guarded, create-if-absent); votes carry it from its from height; a corrupt value is refused', async () => {
    const T = (await voter.tip.read()) as number;
    await tipTo(T);
    const tx = createTestTSpend(SIMNET, { nextHeight: 144, tag: 9, expiry: 194 });
    const raw = encodeTx(tx);
    const hashHex = hashToHex(txHash(tx));
    const r = await voter.tspends.record(raw);
    expect(r).toEqual({ hashHex, created: true, from: T + 2 });
    expect(await voter.tspends.record(raw)).toMatchObject({ created: false, from: T + 2 });
    await waitFor(() => (admin.tspends.get(hashHex) ? true : undefined), { timeoutMs: 5_000, message: 'recorded in cache' });
    // Expiry 194: the voting window on simnet is [48, 192]; the tip here is inside it.
    const votableAt = (h: number) => admin.tspends.at(h).map((x) => x.hashHex);
    expect(T + 2).toBeLessThan(190);
    expect(votableAt(T + 1)).toEqual([]);
    expect(votableAt(T + 2)).toEqual([hashHex]);
    expect(votableAt(190)).toEqual([hashHex]);
    expect(votableAt(200)).toEqual([]);

    // A corrupt value (a valid record shape, a transaction that is not this tspend) is refused.
    const bad = hashOf('bad-tspend');
    await voter.client.put(voter.keyspace.tspend(bad)).value(JSON.stringify({ txHex: '01000000', expiry: 194, piKeyHex: `02${'0'.repeat(64)}`, from: 0 })).exec();
    await waitFor(() => (admin.tspends.corruptKeys().has(admin.keyspace.tspend(bad)) ? true : undefined), { timeoutMs: 5_000, message: 'corrupt tspend reported' });
    expect(admin.tspends.get(bad)).toBeUndefined();
    expect(corrupt.map((e) => e.key)).toContain(admin.keyspace.tspend(bad));
    const t = hashOf('tspend-ticket');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(6) });
    const fresh = await voter.freshInputs(t, T + 2);
    expect(fresh.inputs.tspends.map((x) => x.hashHex)).toEqual([hashHex]);
  });
});

/** Every version of `key` after `afterRevision`, oldest first, from etcd's history. */
async function historyOf(c: Cluster, key: string, afterRevision: number): Promise<Array<{ revision: number; value: { inputsFrom?: number } }>> {
  const out: Array<{ revision: number; value: { inputsFrom?: number } }> = [];
  const head = Number((await c.client.get(key).exec()).kvs[0]?.mod_revision);
  let rev = head;
  // Walk back: a key's previous version is the value at (its mod revision - 1).
  while (rev > afterRevision) {
    const kv = (await c.client.get(key).revision(rev).exec()).kvs[0];
    if (!kv) break;
    const mod = Number(kv.mod_revision);
    if (mod <= afterRevision) break;
    out.unshift({ revision: mod, value: JSON.parse(kv.value.toString()) as { inputsFrom?: number } });
    rev = mod - 1;
  }
  return out;
}
