/**
 * The vote version as a vote input committed before the draw (`config/vote-version`), against
 * real etcd with RBAC on: two voters whose proxies report different vote versions build the
 * same bytes for one (ticket, block) on every path (canonical from the view, record-first from
 * etcd); a proposed version applies from the tip it committed under + 2 and only ever rises;
 * with no version committed for a height no draw is canonical; an unreadable value is a clear
 * error and nothing is signed from it.
 *
 * Why the version must be committed: dcrd accepts a vote of any version (it only reads the
 * version: decred/dcrd blockchain/stake/staketx.go SSGenVersion; CheckSSGenVotes checks only
 * the size and prefix of the vote-bits push; a vote counts toward an agenda only when its version
 * is the agenda's,
 * internal/blockchain/thresholdstate.go), so two votes that differ only in version are two
 * different valid votes for one (ticket, block).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  CorruptValueError, generateClusterKey, openCluster, type Cluster, type StoredAgendaSet,
} from '../../services/cluster/index.ts';
import { SIMNET, blake256, checkVote, decodeTx, encodeTx, hashToHex, toHex, voteSubsidy } from '../../services/decred/index.ts';
import { SecretKey } from '../../services/telemetry/index.ts';
import { clusterTicketStore, currentAgendas } from '../../services/admin/index.ts';
import { AgendaBook } from '../../services/voter/agenda-book.ts';
import type { WinningTicketsEvent } from '../../services/voter/chain-event.ts';
import { ClusterVoteFactory } from '../../services/voter/cluster-vote-factory.ts';
import { VoterVoteVersionCorruptError } from '../../services/voter/errors.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';
import { simnetTicket } from '../harness/cluster-fixtures.ts';

const log = pino({ level: 'silent' });
const clusterKey = generateClusterKey().expose().slice();

// One real ticket and its voting key (simnet).
const { votingKey, ticket, ticketHex: TICKET } = simnetTicket('vote version test voting key', 31, 32);

/** The agenda set of a version as the chain reports it (one agenda each, so the bits differ too). */
const agendaSet = (voteVersion: number, id: string): StoredAgendaSet => ({
  voteVersion,
  agendas: [{
    id, description: `${id} agenda`, mask: 0x06, choices: [
      { id: 'abstain', description: 'abstain', bits: 0, isAbstain: true, isNo: false },
      { id: 'no', description: 'no', bits: 0x02, isAbstain: false, isNo: true },
      { id: 'yes', description: 'yes', bits: 0x04, isAbstain: false, isNo: false },
    ],
  }],
});

let etcd: TestEtcd;
let admin: Cluster;
const voters: Cluster[] = [];

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
  const cfg = (nodeId: string, who: 'admin' | 'voter') => ({
    endpoints: etcd.endpoints, etcdAccess: etcd.access(who), network: 'simnet' as const, nodeId, region: nodeId, clusterKey, join: false,
  });
  admin = await openCluster(cfg('admin-1', 'admin'));
  voters.push(await openCluster(cfg('voter-a', 'voter')), await openCluster(cfg('voter-b', 'voter')));
  await admin.tickets.importTicket({
    ticketHash: TICKET, ticketHex: toHex(encodeTx(ticket)), votingKey: new SecretKey(votingKey.slice()),
    voteChoices: { blake3pow: 'yes', maxtreasuryspend: 'no' },
  });
  // The chain's agendas of both versions are stored (a voter stores those its proxies read).
  const [a] = voters as [Cluster];
  await a.config.putAgendaSet(agendaSet(11, 'blake3pow'));
  await a.config.putAgendaSet(agendaSet(12, 'maxtreasuryspend'));
  for (const c of [admin, ...voters]) {
    await waitFor(() => (c.tickets.has(TICKET) && c.config.agendaSet(12) ? true : undefined), { timeoutMs: 5_000, message: 'ticket and agendas cached' });
  }
});
afterAll(async () => {
  for (const c of voters) await c.close();
  await admin?.close();
  await etcd?.stop();
});

/** One voter: the cluster handle, its agenda book (its proxies report `proxyVersion`) and its vote factory. */
function voterOf(c: Cluster, proxy: string, o: { propose?: boolean } = {}) {
  const book = new AgendaBook({
    // No proxy to read agendas through: the copies stored in etcd serve.
    proxies: [], store: c.config, log, deadlineMs: 1_000,
    committed: () => {
      const e = c.config.voteVersionEntry();
      return 'corrupt' in e ? undefined : e.value?.voteVersion;
    },
    ...(o.propose === false ? {} : { propose: (v: number) => c.config.proposeVoteVersion(v) }),
  });
  const factory = new ClusterVoteFactory(
    c.tickets, () => c.config.voteDefaults().voteChoices, () => book.current(), SIMNET, log, () => c.config.voteDefaultsRevision(),
    undefined,
    {
      canonicalInputs: (t, h) => c.canonicalInputs(t, h),
      freshInputs: (t, h) => c.freshInputs(t, h),
      viewInputs: (t, h) => c.voteView.viewInputs(t, h),
      whenCurrentFor: (h, ms, signal) => c.voteView.whenCurrentFor(h, ms, signal),
    },
    () => 2_000,
    (v) => book.forVersion(v),
  );
  return { c, book, factory, proxy };
}

const drawAt = (height: number, proxy: string, voteVersion: number): WinningTicketsEvent => ({
  kind: 'winning-tickets', blockHashHex: hashToHex(blake256(Uint8Array.of(height & 0xff, height >> 8, 77))), height, ticketsHex: [TICKET],
  voteSubsidy: voteSubsidy(height, SIMNET, 'dcp0012'), voteVersion, proxy, receivedAtMs: 0,
});

/** Advances the tip and waits until every handle's caches show it. */
async function tipTo(h: number): Promise<void> {
  await (voters[0] as Cluster).advanceTip(h);
  await waitFor(() => ([admin, ...voters].every((c) => c.voteView.viewHeight() >= h) ? true : undefined), { timeoutMs: 5_000, message: `views at ${h}` });
}

const committedValue = (c: Cluster) => {
  const e = c.config.voteVersionEntry();
  return 'corrupt' in e ? undefined : e.value;
};

describe('the vote version committed before the draw', () => {
  it('two voters whose proxies report different vote versions never sign different bytes for one (ticket, block)', async () => {
    const a = voterOf(voters[0] as Cluster, 'proxy-a'); // its dcrd: vote version 11
    const b = voterOf(voters[1] as Cluster, 'proxy-b'); // its dcrd: vote version 12
    await tipTo(300);
    // Nothing committed yet: a draw is not canonical (single signer), and the two voters'
    // own versions WOULD build different votes: the gap this input closes.
    await a.book.noteProxy('proxy-a', 11, true);
    await b.book.noteProxy('proxy-b', 12, true);
    const early = drawAt(301, 'proxy-a', 11);
    expect(admin.canonicalInputs(TICKET, 301)).toEqual({ ok: false, reason: 'no-vote-version' });
    expect(await a.factory.canonical(TICKET, early)).toMatchObject({ ok: false, reason: 'no-vote-version' });
    const loneA = a.factory.sign(a.factory.prepare(TICKET, early));
    const loneB = b.factory.sign(b.factory.prepare(TICKET, early));
    expect(checkVote(decodeTx(loneA.rawTx), { ticket, params: SIMNET, split: 'dcp0012' }).voteVersion).toBe(11);
    expect(checkVote(decodeTx(loneB.rawTx), { ticket, params: SIMNET, split: 'dcp0012' }).voteVersion).toBe(12);
    expect(loneA.txidHex).not.toBe(loneB.txidHex);

    // The noteProxy calls above proposed: each voter's proxies agree, and only a raise is written,
    // so whichever landed first, the committed version is 12 from tip + 2 on (never back to 11).
    await waitFor(() => ([admin, ...voters].every((c) => committedValue(c)?.voteVersion === 12) ? true : undefined), { timeoutMs: 5_000, message: 'committed 12' });
    const from = committedValue(admin)?.from as number;
    expect(from).toBe(302);
    await a.book.noteProxy('proxy-a', 11, false);
    expect(committedValue(admin)?.voteVersion).toBe(12);
    expect(a.book.mismatch).toBe(true);
    expect(b.book.mismatch).toBe(false);
    expect(a.book.effectiveVersion).toBe(12);

    await tipTo(from);
    for (const h of [from, from + 1]) {
      const evA = drawAt(h, 'proxy-a', 11);
      const evB = drawAt(h, 'proxy-b', 12);
      expect(await a.factory.canonical(TICKET, evA)).toMatchObject({ ok: true });
      expect(await b.factory.canonical(TICKET, evB)).toMatchObject({ ok: true });
      const va = a.factory.sign(a.factory.prepare(TICKET, evA));
      const vb = b.factory.sign(b.factory.prepare(TICKET, evB));
      expect(va.rawTx).toEqual(vb.rawTx);
      const info = checkVote(decodeTx(va.rawTx), { ticket, params: SIMNET, split: 'dcp0012' });
      expect(info.voteVersion).toBe(12);
      // The agendas of 12 (maxtreasuryspend: no = 0x02) with bit 0 set.
      expect(info.voteBits).toBe(0x0003);
      // The record-first path (fresh read from etcd) of a third voter view builds the same bytes.
      const fresh = voterOf(voters[0] as Cluster, 'proxy-a');
      await fresh.book.noteProxy('proxy-a', 11, true);
      await fresh.factory.refresh(TICKET, evA);
      expect(fresh.factory.sign(fresh.factory.prepare(TICKET, evA)).txidHex).toBe(va.txidHex);
    }
  });

  it('a version change takes effect from T + 2: draws at T + 1 keep the version they had', async () => {
    const [a] = voters as [Cluster];
    const T = (await a.tip.read()) as number;
    await tipTo(T);
    const before = committedValue(admin);
    expect(before?.voteVersion).toBe(12);
    await a.config.putAgendaSet(agendaSet(13, 'blake3pow'));
    expect(await a.config.proposeVoteVersion(13)).toBe(true);
    await waitFor(() => (committedValue(admin)?.voteVersion === 13 ? true : undefined), { timeoutMs: 5_000, message: 'committed 13' });
    // Its from is the tip it committed under + 2, checked against etcd at the value's revision.
    const kv = (await admin.client.get(admin.keyspace.voteVersion()).exec()).kvs[0];
    const tipThen = await admin.client.get(admin.keyspace.chainTip()).revision(Number(kv?.mod_revision)).string();
    expect(committedValue(admin)).toEqual({ voteVersion: 13, from: Number(tipThen) + 2, earlier: [{ voteVersion: 12, from: before?.from }] });
    expect(Number(tipThen)).toBe(T);
    await tipTo(T + 2);
    expect(admin.canonicalInputs(TICKET, T + 1)).toMatchObject({ ok: true, inputs: { voteVersion: 12 } });
    expect(admin.canonicalInputs(TICKET, T + 2)).toMatchObject({ ok: true, inputs: { voteVersion: 13 } });
    expect((await a.freshInputs(TICKET, T + 1)).inputs.voteVersion).toBe(12);
    expect((await a.freshInputs(TICKET, T + 3)).inputs.voteVersion).toBe(13);
    // Only a raise is written: a lower or equal proposal changes nothing.
    const rev = Number(kv?.mod_revision);
    expect(await a.config.proposeVoteVersion(12)).toBe(false);
    expect(await a.config.proposeVoteVersion(13)).toBe(false);
    expect(Number((await admin.client.get(admin.keyspace.voteVersion()).exec()).kvs[0]?.mod_revision)).toBe(rev);
  });

  it('the admin checks choices against the agendas of the committed version, not the highest stored', async () => {
    // Stored: 11, 12, 13; committed: 13 (test above). A higher stored set does not change that.
    await (voters[0] as Cluster).config.putAgendaSet(agendaSet(20, 'future'));
    await waitFor(() => (admin.config.agendaSet(20) ? true : undefined), { timeoutMs: 5_000, message: 'agendas of 20' });
    const set = await currentAgendas({ store: clusterTicketStore(admin), params: SIMNET, log });
    expect(set).toMatchObject({ voteVersion: 13, source: 'stored' });
  });

  it('a committed version whose agendas this voter does not know: not canonical, and it does not sign', async () => {
    const [a, b] = voters as [Cluster, Cluster];
    const T = (await a.tip.read()) as number;
    // Version 14 committed before its agendas reached etcd (a write from elsewhere; none stored for 14).
    expect(await b.config.proposeVoteVersion(14)).toBe(true);
    await tipTo(T + 1);
    const v = voterOf(a, 'proxy-a');
    await v.book.noteProxy('proxy-a', 13, true);
    const ev = drawAt(T + 2, 'proxy-a', 13);
    expect(await v.factory.canonical(TICKET, ev)).toMatchObject({ ok: false, reason: 'agendas-unknown' });
    expect(() => v.factory.prepare(TICKET, ev)).toThrow(expect.objectContaining({ code: 'VOTER_AGENDAS_UNKNOWN' }));
    // Once the agendas of 14 are stored, it is canonical and votes carry 14.
    await a.config.putAgendaSet(agendaSet(14, 'blake3pow'));
    await waitFor(() => (a.config.agendaSet(14) ? true : undefined), { timeoutMs: 5_000, message: 'agendas of 14' });
    expect(await v.factory.canonical(TICKET, ev)).toMatchObject({ ok: true });
    expect(checkVote(decodeTx(v.factory.sign(v.factory.prepare(TICKET, ev)).rawTx), { ticket, params: SIMNET, split: 'dcp0012' }).voteVersion).toBe(14);
  });

  it('a corrupt config/vote-version is a clear error and nothing is signed from it; the next proposal replaces it', async () => {
    const [a] = voters as [Cluster];
    const T = (await a.tip.read()) as number;
    await tipTo(T);
    const key = a.keyspace.voteVersion();
    await a.client.put(key).value('{"voteVersion":"twelve"}').exec();
    await waitFor(() => ('corrupt' in a.config.voteVersionEntry() && 'corrupt' in admin.config.voteVersionEntry() ? true : undefined), { timeoutMs: 5_000, message: 'corrupt value seen' });
    const H = T + 1;
    expect(admin.canonicalInputs(TICKET, H)).toEqual({ ok: false, reason: 'vote-version-corrupt' });
    // (This voter does not propose: a proposal would replace the value, below.)
    const v = voterOf(a, 'proxy-a', { propose: false });
    await v.book.noteProxy('proxy-a', 13, true);
    const ev = drawAt(H, 'proxy-a', 13);
    expect(await v.factory.canonical(TICKET, ev)).toMatchObject({ ok: false, reason: 'vote-version-corrupt' });
    // Not from the view, not from the proxies' version: the build refuses.
    expect(() => v.factory.prepare(TICKET, ev)).toThrow(VoterVoteVersionCorruptError);
    // The record-first read refuses it too, naming the key.
    await expect(a.freshInputs(TICKET, H)).rejects.toThrow(CorruptValueError);
    await expect(a.freshInputs(TICKET, H)).rejects.toThrow(/vote-version.*unreadable/);
    await expect(v.factory.refresh(TICKET, ev)).rejects.toThrow(CorruptValueError);
    // The next proposal replaces it, from the tip + 2 on: the draw at H (= T + 1) never gets a
    // committed version (single signer, its proxies' version), later draws get the new one.
    expect(await a.config.proposeVoteVersion(14)).toBe(true);
    expect(JSON.parse((await a.client.get(key).string()) as string)).toEqual({ voteVersion: 14, from: T + 2 });
    await waitFor(() => ('value' in admin.config.voteVersionEntry() ? true : undefined), { timeoutMs: 5_000, message: 'replaced' });
    await tipTo(T + 1);
    expect(admin.canonicalInputs(TICKET, H)).toEqual({ ok: false, reason: 'no-vote-version' });
    expect(admin.canonicalInputs(TICKET, T + 2)).toMatchObject({ ok: true, inputs: { voteVersion: 14 } });
  });
});
