/**
 * An unreadable cluster tip, against real etcd (RBAC on: voters advance and repair the tip, the
 * admin writes vote inputs, hostile values are written as etcd's root): a corrupt or deleted
 * `config/chain-tip` refuses every write that changes vote inputs with ChainTipCorruptError
 * naming the key (nothing written, no blind retries); the caches stop claiming a height; a
 * voter's next advance repairs the tip to the highest height in use, never lower (the valid
 * markers, what the voter itself applied, the votes it holds), in one txn compared on what it
 * read; guarded writes work again and apply from the repaired tip + 2, so what applied to a
 * draw already built never changes.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ChainTipCorruptError, ConcurrentUpdateError, generateClusterKey, openCluster, padHeight, type Cluster, type CorruptValueError, type TipRepairReason,
} from '../../services/cluster/index.ts';
import { createMetrics } from '../../services/telemetry/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';
import { hashOf, filledKey } from '../harness/cluster-fixtures.ts';

const clusterKey = generateClusterKey().expose().slice();

let etcd: TestEtcd;
let root: Etcd3;
let admin: Cluster;
let voter: Cluster;
const opened: Cluster[] = [];
const corrupt: CorruptValueError[] = [];
const repairs: TipRepairReason[] = [];
const metrics = createMetrics({ service: 'voter', components: ['cluster'], processMetrics: false });

function cfg(nodeId: string, who: 'admin' | 'voter') {
  return { endpoints: etcd.endpoints, etcdAccess: etcd.access(who), network: 'simnet' as const, nodeId, region: 'a', clusterKey, join: false };
}

/** A voter handle opened now (its caches load the keyspace as it is). */
async function openVoter(nodeId: string): Promise<Cluster> {
  const c = await openCluster(cfg(nodeId, 'voter'), { onCorrupt: (e) => corrupt.push(e), hooks: { observeChainTipRepair: (r) => repairs.push(r) } });
  opened.push(c);
  return c;
}

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
  root = new Etcd3(etcd.clientOptions('root'));
  admin = await openCluster(cfg('admin-1', 'admin'), { onCorrupt: (e) => corrupt.push(e) });
  voter = await openCluster(cfg('voter-1', 'voter'), { metrics, onCorrupt: (e) => corrupt.push(e), hooks: { observeChainTipRepair: (r) => repairs.push(r) } });
  // Every draw here needs a committed vote version (config/vote-version) to be canonical.
  await voter.advanceTip(10);
  await voter.config.proposeVoteVersion(10);
});
afterAll(async () => {
  for (const c of opened) await c.close();
  await admin?.close();
  await voter?.close();
  root?.close();
  await etcd?.stop();
});
beforeEach(() => {
  repairs.length = 0;
});

const tipKeys = (): string[] => [voter.keyspace.chainTip(), voter.keyspace.ticketsTipMarker(), voter.keyspace.tspendsTipMarker()];
async function tipValues(): Promise<Array<string | undefined>> {
  return Promise.all(tipKeys().map(async (k) => (await root.get(k).string()) ?? undefined));
}

/** Advances the tip to `h` and waits until every handle's caches show it. */
async function tipTo(h: number, ...others: Cluster[]): Promise<void> {
  await voter.advanceTip(h);
  for (const c of [admin, voter, ...others]) {
    await waitFor(() => (c.voteView.viewHeight() >= h ? true : undefined), { timeoutMs: 5_000, message: `views at ${h}` });
  }
}

/** Writes `value` to the tip key as etcd's root and waits until both handles' config caches lost the tip. */
async function corruptTip(value: string | null): Promise<void> {
  const k = voter.keyspace.chainTip();
  if (value === null) await root.delete().key(k).exec();
  else await root.put(k).value(value).exec();
  for (const c of [admin, voter]) {
    await waitFor(() => (c.config.markerCache.markerProblem ? true : undefined), { timeoutMs: 5_000, message: 'tip seen unreadable' });
  }
}

/** Waits until the voter's view holds the ticket's latest record, then checks the inputs at `height` are still `before`'s. */
async function sameInputsAfterChange(t: string, height: number, before: ReturnType<Cluster['canonicalInputs']>): Promise<void> {
  const rev = await revisionOf(voter.keyspace.ticket(t));
  await waitFor(() => (voter.tickets.voteInputsOf(t)?.modRevision === rev ? true : undefined), { timeoutMs: 5_000, message: 'change seen' });
  const after = voter.canonicalInputs(t, height);
  expect(after.ok && before.ok).toBe(true);
  if (after.ok && before.ok) expect({ ...after.inputs, ticketRevision: 0 }).toEqual({ ...before.inputs, ticketRevision: 0 });
}

async function revisionOf(k: string): Promise<number> {
  return Number((await root.get(k).exec()).kvs[0]?.mod_revision ?? 0);
}

describe('a corrupt config/chain-tip', () => {
  it('refuses every write that changes vote inputs, naming the key; nothing is written; the caches claim no height', async () => {
    await tipTo(100);
    const t = hashOf('corrupt-tip-refused');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(1) });
    await tipTo(101);
    expect(voter.canonicalInputs(t, 102).ok).toBe(true);
    const ticketRev = await revisionOf(admin.keyspace.ticket(t));
    const defaultsRev = await revisionOf(admin.keyspace.config('vote-defaults'));

    await corruptTip('{"height":100}');
    expect(voter.config.markerCache.markerHeight).toBe(-1);
    expect(voter.config.markerCache.highestMarkerSeen).toBe(101);
    expect(voter.voteView.isCurrentFor(102)).toBe(false);
    expect(voter.canonicalInputs(t, 102)).toEqual({ ok: false, reason: 'view-behind' });
    expect(corrupt.map((e) => e.key)).toContain(voter.keyspace.chainTip());
    // The operator's gauge says so (refreshed every second).
    await waitFor(async () => ((await metrics.registry.getSingleMetric('votecluster_cluster_chain_tip_unreadable')?.get())?.values[0]?.value === 1 ? true : undefined),
      { timeoutMs: 5_000, message: 'gauge votecluster_cluster_chain_tip_unreadable = 1' });

    const refused = async (p: Promise<unknown>): Promise<ChainTipCorruptError> => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(ChainTipCorruptError);
      const e = err as ChainTipCorruptError;
      expect(e.code).toBe('CLUSTER_CHAIN_TIP_CORRUPT');
      expect(e.key).toBe(admin.keyspace.chainTip());
      expect(e.message).toContain(admin.keyspace.chainTip());
      expect(e.message).toContain('nothing was written');
      return e;
    };
    await refused(admin.tickets.mergeVoteChoices(t, { agenda: 'yes' }));
    await refused(admin.tickets.setTSpendPolicy(t, hashOf('some-tspend'), 'yes'));
    await refused(admin.config.updateVoteDefaults((d) => ({ ...d, voteChoices: { agenda: 'no' } })));
    await refused(admin.tickets.importTicket({ ticketHash: hashOf('corrupt-tip-import'), ticketHex: '01000000', votingKey: filledKey(2) }));
    const batch = await admin.tickets.importTickets([{ ticketHash: hashOf('corrupt-tip-batch'), ticketHex: '01000000', votingKey: filledKey(3) }]);
    expect(batch[0]?.error).toBeInstanceOf(ChainTipCorruptError);

    expect(await revisionOf(admin.keyspace.ticket(t))).toBe(ticketRev);
    expect(await revisionOf(admin.keyspace.config('vote-defaults'))).toBe(defaultsRev);
    expect(await root.get(admin.keyspace.ticket(hashOf('corrupt-tip-import'))).string()).toBeNull();
    expect(await root.get(admin.keyspace.ticket(hashOf('corrupt-tip-batch'))).string()).toBeNull();
    // The tip is still the corrupt value: a writer does not repair (only voters do).
    expect((await tipValues())[0]).toBe('{"height":100}');
  });

  it('a voter hearing an older block repairs it to the markers\' height, never lower; writes apply from it + 2 again', async () => {
    // A voter that opened after the corruption: its own caches never applied a tip.
    const late = await openVoter('voter-late');
    expect(late.config.markerCache.highestMarkerSeen).toBe(-1);
    // Its dcrd is behind: the block it hears is below the tip in use.
    expect(await late.advanceTip(95)).toBe(true);
    expect(await tipValues()).toEqual([padHeight(101), padHeight(101), padHeight(101)]);
    expect(repairs).toEqual(['corrupt']);
    await tipTo(101, late);

    const t = hashOf('corrupt-tip-refused');
    const before = voter.canonicalInputs(t, 102);
    expect(before.ok).toBe(true);
    const rec = await admin.tickets.mergeVoteChoices(t, { agenda: 'yes' });
    expect(rec.inputsFrom).toBe(103);
    // The draw at 102, current before the corruption, keeps its inputs once the view has the change.
    await sameInputsAfterChange(t, 102, before);
    // This process's gauge clears once its caches have the repaired tip.
    await waitFor(async () => ((await metrics.registry.getSingleMetric('votecluster_cluster_chain_tip_unreadable')?.get())?.values[0]?.value === 0 ? true : undefined),
      { timeoutMs: 5_000, message: 'gauge votecluster_cluster_chain_tip_unreadable = 0' });
    // A repair by this process counts in its metric.
    await root.put(voter.keyspace.chainTip()).value('x').exec();
    await waitFor(() => (voter.config.markerCache.markerProblem ? true : undefined), { timeoutMs: 5_000, message: 'tip lost' });
    expect(await voter.advanceTip(101)).toBe(true);
    const m = (await metrics.registry.getSingleMetric('votecluster_cluster_chain_tip_repairs_total')?.get())?.values ?? [];
    expect(m.find((x) => x.labels['reason'] === 'corrupt')?.value).toBe(1);
    const c = (await metrics.registry.getSingleMetric('votecluster_cluster_corrupt_values_total')?.get())?.values ?? [];
    expect(c.find((x) => x.labels['range'] === 'chain-tip')?.value).toBeGreaterThanOrEqual(2);
  });

  it('a deleted config/chain-tip (the key removed by hand) refuses writes instead of applying them from height 2', async () => {
    await tipTo(110);
    const t = hashOf('deleted-tip');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(4) });
    await tipTo(112);
    const before = voter.canonicalInputs(t, 113);
    expect(before.ok).toBe(true);
    await corruptTip(null);
    const err = await admin.tickets.mergeVoteChoices(t, { agenda: 'no' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ChainTipCorruptError);
    expect((err as Error).message).toContain('missing while its markers exist');
    // A voter's next advance (any height) brings it back at the markers' height.
    expect(await voter.advanceTip(3)).toBe(true);
    expect(repairs).toEqual(['missing']);
    expect(await tipValues()).toEqual([padHeight(112), padHeight(112), padHeight(112)]);
    await tipTo(112);
    const rec = await admin.tickets.mergeVoteChoices(t, { agenda: 'no' });
    expect(rec.inputsFrom).toBe(114);
    // The draw at 113 (built before) keeps its inputs.
    await sameInputsAfterChange(t, 113, before);
  });

  it('markers corrupt too: repaired to the highest height the voter applied or holds a vote for', async () => {
    await tipTo(120);
    for (const k of tipKeys()) await root.put(k).value('garbage').exec();
    await waitFor(() => (voter.voteView.viewHeight() === -1 ? true : undefined), { timeoutMs: 5_000, message: 'markers lost' });
    // This voter applied 120: a block at 118 does not lower the tip.
    expect(await voter.advanceTip(118)).toBe(true);
    expect(await tipValues()).toEqual([padHeight(120), padHeight(120), padHeight(120)]);
    await tipTo(120);

    // A voter that never applied a tip but holds a vote record at 125 (a vote at H was built
    // while the tip was >= H - 1) repairs to 125 when it hears 121.
    const rec = {
      height: 125, blockHash: hashOf('block-125'), ticketHash: hashOf('voted-125'), voteTxHex: '01000000', voteTxid: hashOf('txid-125'),
      signer: 'voter-x', choicesRevision: 1, voteBits: 1, voteVersion: 10, treasuryVotes: [], createdAt: new Date().toISOString(),
    };
    await root.put(voter.keyspace.vote(125, rec.blockHash, rec.ticketHash)).value(JSON.stringify(rec)).exec();
    for (const k of tipKeys()) await root.put(k).value('').exec();
    const fresh = await openVoter('voter-votes');
    expect(fresh.config.markerCache.highestMarkerSeen).toBe(-1);
    expect(await fresh.advanceTip(121)).toBe(true);
    expect(await tipValues()).toEqual([padHeight(125), padHeight(125), padHeight(125)]);
  });

  it('concurrent repairs and advances: one txn each on what it read, the tip ends at the highest height any of them knew', async () => {
    await tipTo(130);
    await root.put(voter.keyspace.chainTip()).value('0x82').exec();
    await waitFor(() => (voter.config.markerCache.markerProblem ? true : undefined), { timeoutMs: 5_000, message: 'tip lost' });
    const others = [await openVoter('voter-r1'), await openVoter('voter-r2')];
    await Promise.all([
      voter.advanceTip(129), others[0]!.advanceTip(131), others[1]!.advanceTip(133), voter.advanceTip(132), others[0]!.advanceTip(128),
    ]);
    expect(await tipValues()).toEqual([padHeight(133), padHeight(133), padHeight(133)]);
    expect(repairs.filter((r) => r === 'corrupt').length).toBeGreaterThanOrEqual(1);
  });

  it('the record-first read on a corrupt tip repairs it first, so no later write can reach the draw it reads for', async () => {
    await tipTo(140);
    const t = hashOf('fresh-on-corrupt');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(5) });
    await tipTo(141);
    await corruptTip('9');
    // A draw at 150 (this voter's proxy is ahead): the read raises the tip to 149 first.
    const f = await voter.freshInputs(t, 150);
    expect(f.canonical).toBe(true);
    expect(Number((await tipValues())[0])).toBeGreaterThanOrEqual(149);
    await tipTo(149);
    const rec = await admin.tickets.mergeVoteChoices(t, { agenda: 'abstain' });
    expect(rec.inputsFrom).toBeGreaterThan(150);
    expect((await voter.freshInputs(t, 150)).inputs.ticket).toEqual(f.inputs.ticket);
  });

  it('a voter records a tspend on a corrupt tip by repairing it first', async () => {
    await tipTo(160);
    await corruptTip('zzzz');
    const { createTestTSpend } = await import('../../services/sim/devnet/index.ts');
    const { SIMNET, encodeTx } = await import('../../services/decred/index.ts');
    const r = await voter.tspends.record(encodeTx(createTestTSpend(SIMNET, { nextHeight: 144, tag: 3, expiry: 194 })));
    expect(r).toMatchObject({ created: true, from: 162 });
    expect(await tipValues()).toEqual([padHeight(160), padHeight(160), padHeight(160)]);
  });
});

describe('markers in the watch caches', () => {
  it('a garbage tickets/chain-tip: the cache claims no height (not current) until a voter writes a valid one', async () => {
    await tipTo(170);
    const marker = voter.keyspace.ticketsTipMarker();
    await root.put(marker).value('not-a-height').exec();
    await waitFor(() => (voter.tickets.markerCache.markerProblem ? true : undefined), { timeoutMs: 5_000, message: 'marker lost' });
    expect(voter.tickets.markerCache.markerHeight).toBe(-1);
    expect(voter.tickets.markerCache.highestMarkerSeen).toBe(170);
    expect(voter.voteView.isCurrentFor(171)).toBe(false);
    expect(corrupt.map((e) => e.key)).toContain(marker);
    // Writes guarded by the (valid) tip are not stopped by a marker.
    const t = hashOf('marker-garbage');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(6) });
    // The next advance, even of a height the tip already has, finds the marker unreadable and
    // writes all three back at once (no block needed).
    expect(await voter.advanceTip(170)).toBe(true);
    expect(repairs).toEqual(['corrupt']);
    expect(await tipValues()).toEqual([padHeight(170), padHeight(170), padHeight(170)]);
    await tipTo(171);
    expect(voter.tickets.markerCache.markerProblem).toBeUndefined();
    expect(voter.voteView.isCurrentFor(172)).toBe(true);
  });

  it('a marker lowered by hand is applied as it is (no claim above it) and raised back by the next advance', async () => {
    await tipTo(180);
    await root.put(voter.keyspace.tspendsTipMarker()).value(padHeight(150)).exec();
    await waitFor(() => (voter.tspends.markerCache.markerHeight === 150 ? true : undefined), { timeoutMs: 5_000, message: 'lowered marker applied' });
    expect(voter.voteView.isCurrentFor(181)).toBe(false);
    expect(voter.voteView.isCurrentFor(151)).toBe(true);
    expect(await voter.advanceTip(181)).toBe(true);
    await tipTo(181);
    expect(await tipValues()).toEqual([padHeight(181), padHeight(181), padHeight(181)]);
  });

  it('a tip lowered by hand is raised back to the highest tip the voter applied', async () => {
    await tipTo(190);
    for (const k of tipKeys()) await root.put(k).value(padHeight(20)).exec();
    for (const c of [admin, voter]) {
      await waitFor(() => (c.config.markerCache.markerHeight === 20 ? true : undefined), { timeoutMs: 5_000, message: 'lowered tip applied' });
    }
    // A writer that applied 190 refuses to write under 20: the change would apply from 22.
    const t = hashOf('lowered-tip');
    const err = await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(7) }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ChainTipCorruptError);
    expect((err as Error).message).toContain('below');
    expect(await root.get(admin.keyspace.ticket(t)).string()).toBeNull();
    expect(await voter.advanceTip(21)).toBe(true);
    expect(await tipValues()).toEqual([padHeight(190), padHeight(190), padHeight(190)]);
    expect(repairs).toContain('lowered');
    await tipTo(190);
    expect((await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(7) })).record.inputsFrom).toBe(192);
  });
});

describe('without a repair', () => {
  it('a writer never loops on an unreadable tip: the refusal is immediate, not a lost race', async () => {
    await tipTo(200);
    await corruptTip('corrupt');
    const err = await admin.tickets.mergeVoteChoices(hashOf('corrupt-tip-refused'), { agenda: 'no' }).then(() => undefined, (e: unknown) => e);
    expect(err).not.toBeInstanceOf(ConcurrentUpdateError);
    expect(err).toBeInstanceOf(ChainTipCorruptError);
    expect(await voter.advanceTip(200)).toBe(true);
  });
});

describe('the tip and both markers deleted by hand', () => {
  it('is not "no tip yet": a writer that applied a tip refuses, and a voter recreates them at the highest height in use', async () => {
    await tipTo(210);
    const t = hashOf('all-deleted');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(8) });
    await tipTo(212);
    const before = voter.canonicalInputs(t, 213);
    expect(before.ok).toBe(true);
    for (const k of tipKeys()) await root.delete().key(k).exec();
    await waitFor(() => (admin.config.markerCache.markerProblem && voter.voteView.viewHeight() === -1 ? true : undefined), { timeoutMs: 5_000, message: 'markers lost' });
    // Guarded as if there were no tip, the change would apply from height 2.
    const err = await admin.tickets.mergeVoteChoices(t, { agenda: 'yes' }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ChainTipCorruptError);
    expect((err as Error).message).toContain('deleted');
    expect(await voter.advanceTip(200)).toBe(true);
    expect(await tipValues()).toEqual([padHeight(212), padHeight(212), padHeight(212)]);
    expect(repairs).toEqual(['missing']);
    await tipTo(212);
    expect((await admin.tickets.mergeVoteChoices(t, { agenda: 'yes' })).inputsFrom).toBe(214);
    await sameInputsAfterChange(t, 213, before);
  });
});
