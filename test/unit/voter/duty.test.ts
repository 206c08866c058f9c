/**
 * The duty's backup path and the owner's record queue, without etcd or gRPC:
 * an in-memory record store (create-if-absent), a real VoteDelivery over
 * recording sinks, a real EtcdReach and real OTel spans (in-memory exporter).
 * - a backup whose hedge expired but whose nearest dcrd already holds its exact
 *   vote stands by (no record race, no broadcast); without that answer it races;
 * - with etcd known healthy the hedge makes no final read (the txn decides);
 * - a lost race holds the stored bytes on standby (its signer sent them);
 * - the fast path's `cluster.record` span ends even when the record is dropped.
 */
import { describe, expect, it } from 'vitest';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanStatusCode } from '@opentelemetry/api';
import { SPAN, createLogger, createMetrics } from '../../../services/telemetry/index.ts';
import { EtcdUnavailableError, type VoteRecord } from '../../../services/cluster/index.ts';
import type { WinningTicketsEvent } from '../../../services/voter/chain-event.ts';
import { runDuty } from '../../../services/voter/duty.ts';
import type { DutyDeps } from '../../../services/voter/duty-common.ts';
import type { DutyRecords } from '../../../services/voter/cluster-records.ts';
import { EtcdReach } from '../../../services/voter/etcd-reach.ts';
import { planDuty } from '../../../services/voter/duty-plan.ts';
import { RecordQueue } from '../../../services/voter/record-queue.ts';
import { VoteDelivery } from '../../../services/voter/vote-delivery.ts';
import type { PreparedVote, SignedVote, VoteFactory } from '../../../services/voter/vote-factory.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const TICKET = 'aa'.repeat(32);
const BLOCK = 'bb'.repeat(32);
const ev: WinningTicketsEvent = {
  kind: 'winning-tickets', blockHashHex: BLOCK, height: 10, ticketsHex: [TICKET], voteSubsidy: 1n, voteVersion: 10,
  proxy: 'p', receivedAtMs: Date.now(),
};

/** Deterministic stand-in votes: the bytes are a function of (ticket, signer tag). */
function factory(tag: number): VoteFactory & { signs: number } {
  const f = {
    signs: 0,
    prepare: (ticketHex: string): PreparedVote => ({ ticketHex, meta: { voteBits: 1, voteVersion: 10, treasuryVotes: [], revision: 7 }, payload: tag }),
    sign: (p: PreparedVote): SignedVote => {
      f.signs++;
      return { ticketHex: p.ticketHex, rawTx: new Uint8Array([tag, 1, 2]), txidHex: String(tag).padStart(64, '0'), meta: p.meta };
    },
  };
  return f;
}

/** A vote record of TICKET on BLOCK with the given fields. */
function storedRecord(o: Partial<VoteRecord> & Pick<VoteRecord, 'voteTxHex' | 'voteTxid' | 'signer' | 'choicesRevision'>): VoteRecord {
  return {
    height: ev.height, blockHash: BLOCK, ticketHash: TICKET, voteBits: 1, voteVersion: 10, treasuryVotes: [],
    createdAt: new Date(0).toISOString(), ...o,
  };
}

/** One shared create-if-absent store, as etcd's votes/ keys. */
class MemoryRecords implements DutyRecords {
  readonly stored = new Map<string, VoteRecord>();
  readonly txns: VoteRecord[] = [];
  readonly waits: Array<{ finalRead: boolean | undefined }> = [];
  recordImpl: ((rec: VoteRecord) => Promise<{ created: boolean; stored: VoteRecord }>) | undefined;
  async record(rec: VoteRecord): Promise<{ created: boolean; stored: VoteRecord }> {
    if (this.recordImpl) return this.recordImpl(rec);
    this.txns.push(rec);
    const existing = this.stored.get(rec.ticketHash);
    if (existing) return { created: existing.voteTxid === rec.voteTxid && existing.signer === rec.signer, stored: existing };
    this.stored.set(rec.ticketHash, rec);
    return { created: true, stored: rec };
  }
  async waitFor(_h: number, _b: string, ticketHex: string, opts: { timeoutMs: number; finalRead?: boolean }): Promise<VoteRecord | null> {
    this.waits.push({ finalRead: opts.finalRead });
    await new Promise((r) => setTimeout(r, opts.timeoutMs));
    return this.stored.get(ticketHex) ?? null;
  }
}

function world(o: { selfId: string; rank: number; records: DutyRecords; voteKnown?: DutyDeps['voteKnown']; healthy?: boolean; tag?: number }) {
  const sent: string[] = [];
  const delivery = new VoteDelivery([{
    address: 'p1',
    sendVote: async (raw) => {
      sent.push(Buffer.from(raw).toString('hex'));
      return { status: 'ACCEPTED' };
    },
  }], { sendDeadlineMs: 500, resendIntervalMs: 50, maxVoteAgeBlocks: 2, retryBaseMs: 10, retryMaxMs: 50 }, { isNodeLive: () => true });
  const exporter = new InMemorySpanExporter();
  const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).getTracer('t');
  const reach = new EtcdReach(async () => undefined, log, 5);
  reach.attachSession({ leaseAgeMs: () => ((o.healthy ?? true) ? 0 : Infinity), isVotesWatchConnected: () => true }, { leaseMaxAgeMs: 2_000, recentLeaseAgeMs: 2_500 });
  const f = factory(o.tag ?? 7);
  const order = ['a1', 'b1', 'c1'];
  const deps: DutyDeps = {
    selfId: o.selfId, strategy: 'lease',
    plan: () => planDuty({
      selfId: o.selfId, ranked: order, claimHolder: 'a1', isLeaseFresh: true, isWatchFresh: true, hedgeMs: 40,
    }),
    factory: f, records: o.records, delivery, recordQueue: new RecordQueue(o.records, log, { retryBaseMs: 10, retryMaxMs: 50, reach }),
    log, metrics: createMetrics({ service: 'voter', processMetrics: false }).get('voter'), retryBaseMs: 10, retryMaxMs: 50,
    reach, tracer,
    ...(o.voteKnown ? { voteKnown: o.voteKnown } : {}),
  };
  expect(deps.plan(TICKET).rank).toBe(o.rank);
  return { deps, delivery, sent, exporter, factory: f, reach };
}

describe('backup duty at the hedge deadline', () => {
  it('stands by without a record race when its nearest dcrd already holds the exact vote', async () => {
    const records = new MemoryRecords();
    const asked: string[] = [];
    const w = world({ selfId: 'b1', rank: 1, records, voteKnown: async (txid) => (asked.push(txid), true) });
    const r = await runDuty(w.deps, TICKET, ev, new AbortController().signal);
    expect(r.outcome).toBe('vote-seen');
    expect(asked).toEqual([r.txidHex]);
    expect(records.txns).toHaveLength(0); // no create-if-absent race
    expect(records.waits).toEqual([{ finalRead: false }]); // etcd healthy: no extra read at the deadline
    await w.delivery.tick();
    expect(w.sent).toHaveLength(0); // standby: the owner (live) sent it
    expect(w.delivery.txidOf(TICKET, BLOCK)).toBe(r.txidHex);
    await w.delivery.stop();
    await w.reach.stop();
  });

  it('races when the dcrd does not know the vote or does not answer, and signs only once (rank 1 signs during the hedge)', async () => {
    for (const voteKnown of [async () => false, async () => { throw new Error('deadline'); }]) {
      const records = new MemoryRecords();
      const w = world({ selfId: 'b1', rank: 1, records, voteKnown });
      const r = await runDuty(w.deps, TICKET, ev, new AbortController().signal);
      expect(r.outcome).toBe('took-over');
      expect(records.txns.map((t) => [t.signer, t.path])).toEqual([['b1', 'takeover']]);
      expect(w.factory.signs).toBe(1);
      await w.delivery.stop();
      expect(w.sent).toEqual([Buffer.from([7, 1, 2]).toString('hex')]);
      await w.reach.stop();
    }
  });

  it('keeps the final read at the deadline while etcd health is unknown', async () => {
    const records = new MemoryRecords();
    const w = world({ selfId: 'b1', rank: 1, records, healthy: false });
    await runDuty(w.deps, TICKET, ev, new AbortController().signal);
    expect(records.waits).toEqual([{ finalRead: true }]);
    await w.delivery.stop();
    await w.reach.stop();
  });

  it('a lost race holds the stored bytes on standby, never its own', async () => {
    const records = new MemoryRecords();
    // The owner's record lands between this backup's hedge deadline and its txn (a lagging watch).
    records.stored.set(TICKET, storedRecord({ voteTxHex: '0909', voteTxid: '9'.padStart(64, '0'), signer: 'a1', choicesRevision: 7 }));
    records.waitFor = async (_h, _b, _t, opts) => {
      records.waits.push({ finalRead: opts.finalRead });
      return null;
    };
    const w = world({ selfId: 'c1', rank: 2, records, voteKnown: async () => false });
    const r = await runDuty(w.deps, TICKET, ev, new AbortController().signal);
    expect(r.outcome).toBe('lost-race');
    expect(r.txidHex).toBe('9'.padStart(64, '0'));
    await w.delivery.tick();
    expect(w.sent).toHaveLength(0); // a1 is live: it sent them
    expect(w.delivery.txidOf(TICKET, BLOCK)).toBe('9'.padStart(64, '0'));
    await w.delivery.stop();
    await w.reach.stop();
  });
});

describe('owner fast path: the cluster.record span', () => {
  it('ends with an error status when the record is never written (voter stopped with it queued)', async () => {
    const records = new MemoryRecords();
    records.recordImpl = () => Promise.reject(new EtcdUnavailableError('etcd unavailable'));
    const w = world({ selfId: 'a1', rank: 0, records });
    const r = await runDuty(w.deps, TICKET, ev, new AbortController().signal);
    expect(r.outcome).toBe('fast-sent');
    w.deps.recordQueue.start();
    const spans = (): string[] => w.exporter.getFinishedSpans().map((s) => s.name);
    expect(spans()).not.toContain(SPAN.CLUSTER_RECORD);
    await w.deps.recordQueue.stop();
    const rec = w.exporter.getFinishedSpans().find((s) => s.name === SPAN.CLUSTER_RECORD);
    expect(rec?.status.code).toBe(SpanStatusCode.ERROR);
    expect(rec?.attributes['votecluster.error_code']).toBe('VOTER_RECORD_DROPPED');
    await w.delivery.stop();
    await w.reach.stop();
  });
});

describe('RecordQueue drops', () => {
  it('calls onDropped for the oldest record pushed out of a full queue, for records left at stop, and after stop', async () => {
    const records = new MemoryRecords();
    records.recordImpl = () => Promise.reject(new Error('down'));
    const q = new RecordQueue(records, log, { retryBaseMs: 1_000, retryMaxMs: 1_000, maxPending: 2 });
    const dropped: string[] = [];
    const stored: string[] = [];
    const rec = (t: string): VoteRecord => storedRecord({ height: 1, ticketHash: t, voteTxHex: '01', voteTxid: t, signer: 'a1', choicesRevision: 1, path: 'fast' });
    for (const t of ['t1', 't2', 't3']) {
      q.submit(rec(t), () => stored.push(t), (err) => dropped.push(`${t}:${err.code}:${err.message.endsWith('queue full') ? 'full' : 'stop'}`));
      await new Promise((r) => setImmediate(r));
    }
    expect(dropped).toEqual(['t1:VOTER_RECORD_DROPPED:full']);
    await q.stop();
    expect(dropped).toEqual(['t1:VOTER_RECORD_DROPPED:full', 't2:VOTER_RECORD_DROPPED:stop', 't3:VOTER_RECORD_DROPPED:stop']);
    q.submit(rec('t4'), () => stored.push('t4'), () => dropped.push('t4'));
    expect(dropped.at(-1)).toBe('t4');
    expect(stored).toEqual([]);
  });
});
