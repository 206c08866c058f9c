/**
 * Region signers for a canonical draw (region-plan.ts, duty.ts): each region's best-ranked live
 * voter signs the same bytes (a real ClusterVoteFactory, real secp256k1 signatures, checked by
 * consensus rules) and sends only to its own region's proxies (plus regions with no live voter);
 * rank k of a region waits k × hedge and stands by when its dcrd already holds the vote; once every
 * voter ahead is gone it signs and sends at once, without asking. Records are create-if-absent in one shared store; a stored
 * record with another txid is an alarm, never a second send. Hedges here are a minute long
 * unless a test needs one to end: a duty that finishes early did not wait it out.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { SIMNET, blake256, checkVote, decodeTx, encodeTx, hashToHex, toHex, txHash, voteSubsidy } from '../../../services/decred/index.ts';
import { createMetrics } from '../../../services/telemetry/index.ts';
import { EtcdUnavailableError, type VoteRecord } from '../../../services/cluster/index.ts';
import { AgendaTable } from '../../../services/voter/agenda-table.ts';
import type { WinningTicketsEvent } from '../../../services/voter/chain-event.ts';
import { ClusterVoteFactory, type TicketSource } from '../../../services/voter/cluster-vote-factory.ts';
import { runDuty } from '../../../services/voter/duty.ts';
import type { DutyDeps } from '../../../services/voter/duty-common.ts';
import type { DutyRecords } from '../../../services/voter/cluster-records.ts';
import { MemoryRecords } from './memory-records.ts';
import { planDuty } from '../../../services/voter/duty-plan.ts';
import { EtcdReach } from '../../../services/voter/etcd-reach.ts';
import { PeerPresence } from '../../../services/voter/peer-presence.ts';
import { RecordQueue } from '../../../services/voter/record-queue.ts';
import { coveringRegion, planRegion, regionOrder, uncoveredRegions } from '../../../services/voter/region-plan.ts';
import { VoteDelivery } from '../../../services/voter/vote-delivery.ts';
import { simnetTicket } from '../../harness/cluster-fixtures.ts';

const log = pino({ level: 'silent' });
const LONG_HEDGE_MS = 60_000;

// One real ticket and its voting key (simnet).
const { votingKey, ticket, ticketHex: TICKET } = simnetTicket('region signer test voting key', 9, 8);
const tickets: TicketSource = {
  get: (h) => (h === TICKET ? { record: { ticketHex: toHex(encodeTx(ticket)), voteChoices: {} }, modRevision: 11 } : undefined),
  getVotingKey: () => {
    const k = votingKey.slice();
    return { expose: () => k, wipe: () => k.fill(0) };
  },
};
const HEIGHT = 300;
const ev: WinningTicketsEvent = {
  kind: 'winning-tickets', blockHashHex: hashToHex(blake256(Uint8Array.of(1, 2, 3))), height: HEIGHT, ticketsHex: [TICKET],
  voteSubsidy: voteSubsidy(HEIGHT, SIMNET, 'dcp0012'), voteVersion: 0, proxy: 'pa', receivedAtMs: Date.now(),
};

const PROXIES = [{ address: 'pa', region: 'a' }, { address: 'pb', region: 'b' }, { address: 'pc', region: 'c' }];
const LIVE = [
  { nodeId: 'a1', region: 'a' }, { nodeId: 'a2', region: 'a' }, { nodeId: 'a3', region: 'a' },
  { nodeId: 'b1', region: 'b' }, { nodeId: 'b2', region: 'b' },
  { nodeId: 'c1', region: 'c' },
];

/** Create-if-absent in memory, shared by every voter of a test (etcd's votes/ keys); waitFor answers at once. */
class SharedRecords extends MemoryRecords {
  async waitFor(): Promise<VoteRecord | null> {
    return this.stored.get(TICKET) ?? null;
  }
}

/** What each proxy received (hex), shared by every voter of a test: the dcrds' view. */
type Wire = Map<string, string[]>;

interface VoterWorld {
  deps: DutyDeps;
  presence: PeerPresence;
  delivery: VoteDelivery;
  queue: RecordQueue;
  metrics: ReturnType<typeof createMetrics>;
  errors: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * One voter of the layout above (`selfId` in `LIVE`), region signer deps as voter.ts wires them.
 * `voteKnown` answers from the shared wire: whether its region's proxy received the txid's bytes.
 */
function voter(selfId: string, o: {
  wire: Wire; records: DutyRecords; hedgeMs?: number; canonical?: boolean; live?: typeof LIVE; voteKnown?: (txid: string) => Promise<boolean>;
  /** etcd's reachability probe (default: answers). */
  probe?: () => Promise<unknown>;
}): VoterWorld {
  const region = selfId.slice(0, 1);
  const live = o.live ?? LIVE;
  const presence = new PeerPresence();
  const sinks = PROXIES.map((p) => ({
    address: p.address,
    sendVote: async (raw: Uint8Array) => {
      const hex = Buffer.from(raw).toString('hex');
      const got = o.wire.get(p.address) ?? [];
      o.wire.set(p.address, got);
      const dup = got.includes(hex);
      got.push(hex);
      return { status: dup ? 'DUPLICATE' as const : 'ACCEPTED' as const };
    },
  }));
  const delivery = new VoteDelivery(sinks, { sendDeadlineMs: 500, resendIntervalMs: 50, maxVoteAgeBlocks: 2, retryBaseMs: 10, retryMaxMs: 50 }, { isNodeLive: () => true });
  const reach = new EtcdReach(o.probe ?? (async () => undefined), log, 5);
  reach.attachSession({ leaseAgeMs: () => 0, isVotesWatchConnected: () => true }, { leaseMaxAgeMs: 2_000, recentLeaseAgeMs: 2_500 });
  const factory = new ClusterVoteFactory(tickets, () => ({}), () => new AgendaTable(), SIMNET, log, () => 3);
  factory.pin(TICKET, ev);
  const errors: Array<Record<string, unknown>> = [];
  const dutyLog = pino({ level: 'error' }, { write: (line: string) => errors.push(JSON.parse(line) as Record<string, unknown>) });
  const metrics = createMetrics({ service: 'voter', processMetrics: false });
  const queue = new RecordQueue(o.records, log, { retryBaseMs: 10, retryMaxMs: 50, reach });
  const hedgeMs = o.hedgeMs ?? LONG_HEDGE_MS;
  const ownRegionProxy = PROXIES.find((p) => p.region === region)?.address ?? 'pa';
  const deps: DutyDeps = {
    selfId, strategy: 'lease',
    plan: () => planDuty({ selfId, ranked: live.map((n) => n.nodeId), claimHolder: 'a1', isLeaseFresh: true, isWatchFresh: true, hedgeMs }),
    factory, records: o.records, delivery, recordQueue: queue, log: dutyLog, metrics: metrics.get('voter'),
    retryBaseMs: 10, retryMaxMs: 50, reach,
    voteKnown: o.voteKnown ?? (async (txid) => {
      const raw = (o.wire.get(ownRegionProxy) ?? []);
      return raw.some((hex) => hashToHex(txHash(decodeTx(Buffer.from(hex, 'hex')))) === txid);
    }),
    whenGone: (ids, signal) => presence.whenAllGone(ids, signal),
    ...(o.canonical === false ? {} : {
      canonical: () => ({ ok: true as const }),
      regionPlan: (t: string) => planRegion({ selfId, region, ticketHex: t, live, isGone: (id) => presence.isGone(id), proxies: PROXIES, hedgeMs }),
    }),
  };
  queue.start();
  return {
    deps, presence, delivery, queue, metrics, errors,
    stop: async () => {
      await delivery.stop();
      await queue.stop(1_000);
      await reach.stop();
    },
  };
}

/** The voter of `region` at `rank` for TICKET (the ranking is the ticket's, computed here as the voters do). */
function ranked(region: string, rank: number): string {
  return regionOrder('none', region, TICKET, LIVE)[rank] as string;
}

const run = (w: VoterWorld) => runDuty(w.deps, TICKET, ev, new AbortController().signal);

async function counterValue(m: ReturnType<typeof createMetrics>, name: string): Promise<number> {
  const metric = m.registry.getSingleMetric(name);
  return (await metric?.get())?.values.reduce((n, v) => n + v.value, 0) ?? 0;
}

describe('region order and targets', () => {
  it('every voter of a region computes the same order of only that region\'s live voters', () => {
    const orders = ['a1', 'a2', 'a3'].map((self) => regionOrder(self, 'a', TICKET, LIVE));
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
    expect([...(orders[0] as string[])].sort()).toEqual(['a1', 'a2', 'a3']);
    // Independent of membership's order.
    expect(regionOrder('a1', 'a', TICKET, [...LIVE].reverse())).toEqual(orders[0]);
    // A voter missing from membership ranks last.
    expect(regionOrder('a9', 'a', TICKET, LIVE)).toEqual([...(orders[0] as string[]), 'a9']);
  });

  it('ranks k wait k × hedge; rank 0 targets its own region\'s proxies only', () => {
    for (const [k, self] of regionOrder('x', 'a', TICKET, LIVE).entries()) {
      const p = planRegion({ selfId: self, region: 'a', ticketHex: TICKET, live: LIVE, isGone: () => false, proxies: PROXIES, hedgeMs: 250 });
      expect(p).toMatchObject({ rank: k, waitMs: k * 250, targets: ['pa'], covers: [] });
    }
  });

  it('adds the proxies of regions with no live voter: none in membership, or every one declared gone', () => {
    const noC = LIVE.filter((n) => n.region !== 'c');
    expect(uncoveredRegions('a', noC, () => false, PROXIES)).toEqual(['c']);
    // Exactly one of the live regions covers c, and only its signers add c's proxy.
    const coverOfC = coveringRegion(TICKET, 'c', noC, () => false);
    expect(['a', 'b']).toContain(coverOfC);
    for (const [self, region] of [['a1', 'a'], ['b1', 'b']] as const) {
      const p = planRegion({ selfId: self, region, ticketHex: TICKET, live: noC, isGone: () => false, proxies: PROXIES, hedgeMs: 250 });
      expect(p.targets).toEqual(region === coverOfC ? [`p${region}`, 'pc'].sort() : [`p${region}`]);
    }
    const bGone = (id: string): boolean => id.startsWith('b');
    const coverOfB = coveringRegion(TICKET, 'b', LIVE, bGone);
    expect(['a', 'c']).toContain(coverOfB);
    for (const [self, region] of [['a1', 'a'], ['c1', 'c']] as const) {
      const p = planRegion({ selfId: self, region, ticketHex: TICKET, live: LIVE, isGone: bGone, proxies: PROXIES, hedgeMs: 250 });
      expect(p.targets).toEqual(region === coverOfB ? [`p${region}`, 'pb'].sort() : [`p${region}`]);
    }
    // Over many tickets the uncovered region's draws are spread over the live regions.
    const cover = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const t = createHash('sha256').update(String(i)).digest('hex');
      const r = coveringRegion(t, 'c', noC, () => false) as string;
      cover.set(r, (cover.get(r) ?? 0) + 1);
    }
    expect([...cover.keys()].sort()).toEqual(['a', 'b']);
    for (const n of cover.values()) expect(n).toBeGreaterThan(140);
    // A voter whose region has no proxy sends through every proxy.
    expect(planRegion({ selfId: 'd1', region: 'd', ticketHex: TICKET, live: [...LIVE, { nodeId: 'd1', region: 'd' }], isGone: () => false, proxies: PROXIES, hedgeMs: 250 }).targets)
      .toEqual(['pa', 'pb', 'pc']);
  });
});

describe('region signers of a canonical draw', () => {
  it('each region\'s rank 0 sends the same valid vote to its own dcrd only; one record, no conflict', async () => {
    const wire: Wire = new Map();
    const records = new SharedRecords();
    const signers = ['a', 'b', 'c'].map((r) => voter(ranked(r, 0), { wire, records }));
    const results = await Promise.all(signers.map(run));
    for (const r of results) expect(r).toMatchObject({ outcome: 'region-sent', rank: 0, path: 'region' });
    const txid = results[0]?.txidHex as string;
    expect(new Set(results.map((r) => r.txidHex))).toEqual(new Set([txid]));
    for (const s of signers) await s.stop();
    // Exactly one copy at each dcrd, from its own region's signer.
    expect([...wire.keys()].sort()).toEqual(['pa', 'pb', 'pc']);
    for (const [, got] of wire) expect(got).toHaveLength(1);
    const raw = wire.get('pa')?.[0] as string;
    expect(wire.get('pb')).toEqual([raw]);
    const vote = decodeTx(Buffer.from(raw, 'hex'));
    expect(hashToHex(txHash(vote))).toBe(txid);
    // decred/dcrd blockchain/stake staketx.go CheckSSGen and the signature check of the ticket's voting key.
    expect(checkVote(vote, { ticket, params: SIMNET, split: 'dcp0012' }).blockHeight).toBe(HEIGHT);
    // Every signer wrote create-if-absent; one record, the others found the same txid.
    expect(records.txns.map((t) => t.voteTxid)).toEqual([txid, txid, txid]);
    expect(records.stored.get(TICKET)?.voteTxid).toBe(txid);
    for (const s of signers) {
      expect(await counterValue(s.metrics, 'votecluster_voter_record_conflicts_total')).toBe(0);
      expect(s.errors).toEqual([]);
    }
  });

  it('rank 1 stands by when its region\'s dcrd already holds the vote, and sends nothing', async () => {
    const wire: Wire = new Map();
    const records = new SharedRecords();
    const first = voter(ranked('a', 0), { wire, records });
    const r0 = await run(first);
    const backup = voter(ranked('a', 1), { wire, records, hedgeMs: 5 });
    const r1 = await run(backup);
    expect(r1).toMatchObject({ outcome: 'vote-seen', rank: 1, txidHex: r0.txidHex });
    await backup.delivery.tick();
    expect(backup.delivery.modeOf(TICKET, ev.blockHashHex)).toBe('standby');
    await first.stop();
    await backup.stop();
    expect(wire.get('pa')).toHaveLength(1);
    expect(records.txns).toHaveLength(1);
  });

  it('rank 1 signs the same bytes for its region at once when the region\'s rank 0 is gone', async () => {
    const wire: Wire = new Map();
    const records = new SharedRecords();
    const otherRegion = voter(ranked('b', 0), { wire, records });
    const rb = await run(otherRegion);
    const backup = voter(ranked('a', 1), { wire, records });
    backup.presence.note({ kind: 'gone', nodeId: ranked('a', 0), proxy: 'pa' });
    const r = await run(backup); // the hedge is a minute: finishing means it was cut short
    expect(r).toMatchObject({ outcome: 'region-sent', rank: 1, txidHex: rb.txidHex });
    await otherRegion.stop();
    await backup.stop();
    expect(wire.get('pa')).toEqual(wire.get('pb'));
    expect(wire.get('pc')).toBeUndefined();
    expect(records.stored.get(TICKET)?.signer).toBe(ranked('b', 0));
    expect(records.txns.map((t) => [t.signer, t.path])).toEqual([[ranked('b', 0), 'fast'], [ranked('a', 1), 'takeover']]);
  });

  it('rank 1 whose region\'s rank 0 is gone sends at once, without asking its dcrd: the same bytes even if rank 0 sent before it died', async () => {
    const wire: Wire = new Map();
    const records = new SharedRecords();
    const first = voter(ranked('a', 0), { wire, records });
    const r0 = await run(first);
    await first.stop();
    // The dcrd's answer would not come (a starved proxy): a backup that waited for it would not finish.
    const asked: string[] = [];
    const backup = voter(ranked('a', 1), { wire, records, voteKnown: (txid) => (asked.push(txid), new Promise<boolean>(() => undefined)) });
    backup.presence.note({ kind: 'gone', nodeId: ranked('a', 0), proxy: 'pa' });
    const r = await run(backup); // the hedge is a minute: finishing means it was cut short
    await backup.stop();
    expect(r).toMatchObject({ outcome: 'region-sent', rank: 1, cause: 'ahead-gone', txidHex: r0.txidHex });
    expect(asked).toEqual([]);
    // One vote: the backup's copy is rank 0's bytes (dcrd answers duplicate).
    expect(wire.get('pa')).toHaveLength(2);
    expect(new Set(wire.get('pa'))).toEqual(new Set([wire.get('pa')?.[0]]));
    expect(await counterValue(backup.metrics, 'votecluster_voter_record_conflicts_total')).toBe(0);
  });

  it('rank 2 keeps waiting while rank 1 may be alive; signs once both ahead are gone', async () => {
    const wire: Wire = new Map();
    const w = voter(ranked('a', 2), { wire, records: new SharedRecords() });
    w.presence.note({ kind: 'gone', nodeId: ranked('a', 0), proxy: 'pa' });
    let done = false;
    const duty = run(w).then((r) => ((done = true), r));
    for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res));
    expect(done).toBe(false);
    expect(wire.size).toBe(0);
    w.presence.note({ kind: 'gone', nodeId: ranked('a', 1), proxy: 'pa' });
    expect((await duty).outcome).toBe('region-sent');
    await w.stop();
    expect(wire.get('pa')).toHaveLength(1);
  });

  it('rank 1 signs after its hedge when its dcrd does not hold the vote', async () => {
    const wire: Wire = new Map();
    const w = voter(ranked('b', 1), { wire, records: new SharedRecords(), hedgeMs: 5 });
    expect(await run(w)).toMatchObject({ outcome: 'region-sent', rank: 1 });
    await w.stop();
    expect(wire.get('pb')).toHaveLength(1);
    expect(wire.get('pa')).toBeUndefined();
  });

  it('the proxies of a region with no live voter get the vote from one other region\'s signer', async () => {
    const wire: Wire = new Map();
    const live = LIVE.filter((n) => n.region !== 'c');
    const signers = ['a', 'b'].map((r) => voter(ranked(r, 0), { wire, records: new SharedRecords(), live }));
    await Promise.all(signers.map(run));
    for (const s of signers) await s.stop();
    expect([...wire.keys()].sort()).toEqual(['pa', 'pb', 'pc']);
    // One copy each: c's dcrd hears it from the covering region's signer only.
    for (const p of ['pa', 'pb', 'pc']) expect(wire.get(p), p).toHaveLength(1);
  });

  it('a stored record with a different txid is an alarm: counted and logged with both txids, and nothing else is sent', async () => {
    const wire: Wire = new Map();
    const records = new SharedRecords();
    const other: VoteRecord = {
      height: HEIGHT, blockHash: ev.blockHashHex, ticketHash: TICKET, voteTxHex: '0909', voteTxid: '09'.repeat(32), signer: 'x9',
      choicesRevision: 5, voteBits: 1, voteVersion: 10, treasuryVotes: [], createdAt: new Date(0).toISOString(), path: 'fast',
    };
    records.stored.set(TICKET, other);
    const w = voter(ranked('a', 0), { wire, records });
    const r = await run(w);
    // The record is written off the critical path: wait for the queue's answer.
    for (let i = 0; i < 100 && records.txns.length === 0; i++) await new Promise((res) => setTimeout(res, 10));
    await w.stop();
    expect(await counterValue(w.metrics, 'votecluster_voter_record_conflicts_total')).toBe(1);
    expect(w.errors).toHaveLength(1);
    expect(w.errors[0]).toMatchObject({ voteTxid: r.txidHex, storedTxid: other.voteTxid });
    // Only our canonical bytes went out (once), never the stored ones.
    expect(wire.get('pa')).toHaveLength(1);
    expect(wire.get('pa')?.[0]).not.toBe(other.voteTxHex);
  });

  it('without canonical votes the claim holder keeps the fast path and sends to every proxy', async () => {
    const wire: Wire = new Map();
    const owner = voter('a1', { wire, records: new SharedRecords(), canonical: false });
    expect(await run(owner)).toMatchObject({ outcome: 'fast-sent', path: 'fast' });
    await owner.stop();
    expect([...wire.keys()].sort()).toEqual(['pa', 'pb', 'pc']);
  });

  it('a draw not canonical on the claim holder while etcd answers: fresh inputs, record first, then every proxy', async () => {
    const wire: Wire = new Map();
    const records = new SharedRecords();
    const w = voter('a1', { wire, records });
    w.deps.canonical = () => ({ ok: false, reason: 'view-behind' });
    const steps: string[] = [];
    const base = w.deps.factory;
    let refreshes = 0;
    w.deps.factory = {
      prepare: (t, e) => (steps.push('build'), base.prepare(t, e)),
      sign: (p) => base.sign(p),
      // The first read finds etcd unavailable: the duty backs off and reads again before it builds.
      refresh: async () => {
        steps.push('refresh');
        if (refreshes++ === 0) throw new EtcdUnavailableError('etcd has no leader', { cause: new Error('no leader') });
      },
    };
    const r = await run(w);
    expect(r).toMatchObject({ outcome: 'took-over', rank: 0, path: 'record-first' });
    expect(steps.slice(0, 3)).toEqual(['refresh', 'refresh', 'build']);
    expect(records.txns.map((t) => [t.signer, t.path])).toEqual([['a1', 'record-first']]);
    await w.stop();
    expect([...wire.keys()].sort()).toEqual(['pa', 'pb', 'pc']);
  });

  it('a draw not canonical on the claim holder and etcd stops answering before the fresh read: the outage fast path, to every proxy', async () => {
    const wire: Wire = new Map();
    const records = new SharedRecords();
    const down = (): Promise<never> => Promise.reject(new EtcdUnavailableError('etcd has no leader', { cause: new Error('no leader') }));
    const w = voter('a1', { wire, records, probe: down });
    w.deps.canonical = () => ({ ok: false, reason: 'view-behind' });
    const base = w.deps.factory;
    let refreshes = 0;
    w.deps.factory = { prepare: (t, e) => base.prepare(t, e), sign: (p) => base.sign(p), refresh: async () => (refreshes++, down()) };
    const r = await run(w);
    // One read failed and etcd did not come back within the backoff: the owner signed from its
    // view (no tip can advance while etcd is away, so no region signs this draw) and sent it.
    expect(r).toMatchObject({ outcome: 'fast-sent', rank: 0, path: 'fast' });
    expect(refreshes).toBe(1);
    expect([...wire.keys()].sort()).toEqual(['pa', 'pb', 'pc']);
    expect(hashToHex(txHash(decodeTx(Buffer.from(wire.get('pa')![0]!, 'hex'))))).toBe(r.txidHex);
    await w.stop();
  });
});
