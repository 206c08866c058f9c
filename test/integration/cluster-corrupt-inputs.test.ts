/**
 * Corrupt vote inputs in etcd, against real etcd (hostile values written as etcd's root): each
 * is reported with its key, never voted from, and loses nothing that can be kept. A ticket
 * record whose input history is unreadable keeps voting (the draws below its inputsFrom take
 * the single-signer path) and the admin can still change it; an unreadable history of the
 * defaults is dropped the same way; unreadable defaults are no defaults for every reader (view
 * and etcd read agree) and the admin can set them again; a corrupt tspend record is never voted
 * on and the next voter to record that tspend replaces it.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClusterKey, openCluster, type Cluster, type CorruptValueError } from '../../services/cluster/index.ts';
import { SIMNET, encodeTx, hashToHex, txHash } from '../../services/decred/index.ts';
import { createTestTSpend } from '../../services/sim/devnet/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';
import { hashOf, filledKey } from '../harness/cluster-fixtures.ts';

const clusterKey = generateClusterKey().expose().slice();

let etcd: TestEtcd;
let root: Etcd3;
let admin: Cluster;
let voter: Cluster;
const corrupt: CorruptValueError[] = [];
const corruptKeys: string[] = [];

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
  root = new Etcd3(etcd.clientOptions('root'));
  const cfg = (nodeId: string, who: 'admin' | 'voter') => ({
    endpoints: etcd.endpoints, etcdAccess: etcd.access(who), network: 'simnet' as const, nodeId, region: 'a', clusterKey, join: false,
  });
  const deps = { onCorrupt: (e: CorruptValueError) => corrupt.push(e), hooks: { observeCorruptValue: (k: string) => corruptKeys.push(k) } };
  admin = await openCluster(cfg('admin-1', 'admin'), deps);
  voter = await openCluster(cfg('voter-1', 'voter'), deps);
  // Every draw here needs a committed vote version (config/vote-version) to be canonical.
  await voter.advanceTip(10);
  await voter.config.proposeVoteVersion(10);
});
afterAll(async () => {
  await admin?.close();
  await voter?.close();
  root?.close();
  await etcd?.stop();
});

async function tipTo(h: number): Promise<void> {
  await voter.advanceTip(h);
  for (const c of [admin, voter]) await waitFor(() => (c.voteView.viewHeight() >= h ? true : undefined), { timeoutMs: 5_000, message: `views at ${h}` });
}

/** Rewrites a stored JSON value as etcd's root and waits until `seen` holds. */
async function rewrite(k: string, edit: (v: Record<string, unknown>) => unknown, seen: () => boolean): Promise<void> {
  const v = JSON.parse((await root.get(k).string()) as string) as Record<string, unknown>;
  const next = edit(v);
  await root.put(k).value(typeof next === 'string' ? next : JSON.stringify(next)).exec();
  await waitFor(() => (seen() ? true : undefined), { timeoutMs: 5_000, message: `${k} rewritten` });
}

describe('a ticket record whose vote input history is unreadable', () => {
  it('stays managed and votable: canonical from its inputsFrom on, single-signer below; reported; the admin can still change it', async () => {
    await tipTo(20);
    const t = hashOf('history-corrupt');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(1), voteChoices: { agenda: 'yes' } });
    await tipTo(30);
    const rec = await admin.tickets.mergeVoteChoices(t, { agenda: 'no' });
    expect(rec.inputsFrom).toBe(32);
    expect(rec.earlierInputs?.[0]?.from).toBe(22);
    await tipTo(32);
    expect(voter.canonicalInputs(t, 31)).toMatchObject({ ok: true, inputs: { ticket: { voteChoices: { agenda: 'yes' } } } });

    const k = admin.keyspace.ticket(t);
    const before = corrupt.length;
    // The history's order broken (a careless hand edit): only the history is refused.
    await rewrite(k, (v) => ({ ...v, earlierInputs: [...(v.earlierInputs as unknown[]), { from: 5, voteChoices: {}, treasuryPolicy: {}, tspendPolicy: {} }] }),
      () => corrupt.slice(before).filter((e) => e.key === k).length >= 2);
    expect(corrupt.slice(before).map((e) => e.message).join(' ')).toContain('earlierInputs');
    expect(corruptKeys).toContain(k);
    for (const c of [admin, voter]) {
      expect(c.tickets.get(t)).toBeDefined();
      expect(c.tickets.corruptKeys().has(k)).toBe(false);
    }
    // From inputsFrom on: canonical, the latest state. Below: no provable state (single signer).
    expect(voter.canonicalInputs(t, 33)).toMatchObject({ ok: true, inputs: { ticket: { voteChoices: { agenda: 'no' } } } });
    expect(voter.canonicalInputs(t, 31)).toEqual({ ok: false, reason: 'late-import' });
    // The etcd read agrees with the view.
    const fresh = await voter.freshInputs(t, 31);
    expect(fresh.canonical).toBe(false);
    expect(fresh.reason).toBe('late-import');
    // A history that does not end below inputsFrom is dropped the same way.
    await rewrite(k, (v) => ({ ...v, earlierInputs: [{ from: 40, voteChoices: {}, treasuryPolicy: {}, tspendPolicy: {} }] }),
      () => corrupt.slice(before).filter((e) => e.key === k && e.message.includes('not below')).length >= 2);
    expect(voter.canonicalInputs(t, 33).ok).toBe(true);

    // The admin's next change writes a sound history again.
    const changed = await admin.tickets.mergeVoteChoices(t, { agenda: 'abstain' });
    expect(changed.inputsFrom).toBe(34);
    expect(changed.earlierInputs).toEqual([{ from: 32, voteChoices: { agenda: 'no' }, treasuryPolicy: {}, tspendPolicy: {} }]);
    await tipTo(34);
    expect(voter.canonicalInputs(t, 33)).toMatchObject({ ok: true, inputs: { ticket: { voteChoices: { agenda: 'no' } } } });
  });

  it('anything else wrong in the record still refuses the whole record (reported, never voted)', async () => {
    const t = hashOf('record-corrupt');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(2) });
    const k = admin.keyspace.ticket(t);
    await rewrite(k, (v) => ({ ...v, voteChoices: 'yes', earlierInputs: 7 }), () => voter.tickets.corruptKeys().has(k));
    expect(voter.tickets.get(t)).toBeUndefined();
    expect(voter.canonicalInputs(t, 35)).toEqual({ ok: false, reason: 'not-managed' });
  });
});

describe('config/vote-defaults', () => {
  it('an unreadable history is dropped (reported), the latest defaults are kept', async () => {
    await tipTo(50);
    await admin.config.updateVoteDefaults((d) => ({ ...d, voteChoices: { agenda: 'yes' } }));
    await tipTo(60);
    await admin.config.updateVoteDefaults((d) => ({ ...d, voteChoices: { agenda: 'no' } }));
    await tipTo(62);
    const t = hashOf('defaults-history');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(3) });
    await tipTo(64);
    const k = admin.keyspace.config('vote-defaults');
    await rewrite(k, (v) => ({ ...v, earlier: [{ from: 'yesterday' }] }), () => corrupt.some((e) => e.key === k && e.message.includes('earlier')));
    expect(voter.config.voteDefaults().voteChoices).toEqual({ agenda: 'no' });
    expect(voter.canonicalInputs(t, 65)).toMatchObject({ ok: true, inputs: { defaults: { voteChoices: { agenda: 'no' } } } });
    expect((await voter.freshInputs(t, 65)).inputs.defaults.voteChoices).toEqual({ agenda: 'no' });
  });

  it('unreadable defaults are no defaults for the view and the etcd read alike (reported); the admin sets them again', async () => {
    const k = admin.keyspace.config('vote-defaults');
    const t = hashOf('defaults-history');
    await root.put(k).value('{"voteChoices":').exec();
    await waitFor(() => (voter.config.voteDefaults().voteChoices.agenda === undefined ? true : undefined), { timeoutMs: 5_000, message: 'defaults dropped' });
    const view = voter.canonicalInputs(t, 65);
    expect(view).toMatchObject({ ok: true, inputs: { defaults: { voteChoices: {} } } });
    const fresh = await voter.freshInputs(t, 65);
    expect(fresh.canonical).toBe(true);
    expect(fresh.inputs).toEqual(view.ok ? view.inputs : undefined);
    expect(corrupt.some((e) => e.key === k && e.message.includes('not valid JSON'))).toBe(true);
    // The admin writes new defaults over the unreadable value (guarded by the tip as always).
    const d = await admin.config.updateVoteDefaults((cur) => ({ ...cur, voteChoices: { agenda: 'yes' } }));
    expect(d.from).toBe(66);
    expect(d.earlier).toEqual([{ from: 0, voteChoices: {}, treasuryPolicy: {}, tspendPolicy: {} }]);
    expect(await admin.config.migrateVoteDefaults()).toBe(false);
  });
});

describe('a corrupt tspend record', () => {
  it('is never voted on; the next voter to record that tspend replaces it and votes carry it from the tip + 2', async () => {
    await tipTo(100);
    const tx = createTestTSpend(SIMNET, { nextHeight: 144, tag: 21, expiry: 194 });
    const raw = encodeTx(tx);
    const hashHex = hashToHex(txHash(tx));
    const k = voter.keyspace.tspend(hashHex);
    const t = hashOf('tspend-corrupt');
    await admin.tickets.importTicket({ ticketHash: t, ticketHex: '01000000', votingKey: filledKey(4) });
    // A record of this hash whose transaction is not a valid tspend (truncated by hand).
    await root.put(k).value(JSON.stringify({ txHex: Buffer.from(raw).toString('hex').slice(0, 200), expiry: 194, piKeyHex: `02${'1'.repeat(64)}`, from: 0 })).exec();
    await waitFor(() => (voter.tspends.corruptKeys().has(k) ? true : undefined), { timeoutMs: 5_000, message: 'corrupt tspend seen' });
    await tipTo(146);
    expect(voter.tspends.at(150)).toEqual([]);
    const fresh = await voter.freshInputs(t, 150);
    expect(fresh.inputs.tspends).toEqual([]);

    // The etcd read raised the tip to 149 first: the replacement applies from 151.
    const r = await voter.tspends.record(raw);
    expect(r).toEqual({ hashHex, created: true, from: 151 });
    await waitFor(() => (admin.tspends.get(hashHex) ? true : undefined), { timeoutMs: 5_000, message: 'replaced record seen' });
    expect(admin.tspends.corruptKeys().has(k)).toBe(false);
    expect(admin.tspends.at(150)).toEqual([]);
    expect(admin.tspends.at(151).map((x) => x.hashHex)).toEqual([hashHex]);
    // A valid record is kept as it is.
    expect(await voter.tspends.record(raw)).toEqual({ hashHex, created: false, from: 151 });
  });
});
