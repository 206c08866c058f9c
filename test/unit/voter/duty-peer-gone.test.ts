/**
 * A backup stops hedging once every voter ranked ahead of it is known gone (a proxy saw its
 * streams end) and races for the record at once; with one of them possibly alive it keeps
 * waiting. The hedge here is a minute long: a duty that finishes did not wait it out.
 * The record race still decides: a falsely "gone" owner whose vote is already out, or whose
 * record is stored, leaves the backup on standby with the owner's bytes.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, createMetrics } from '../../../services/telemetry/index.ts';
import type { VoteRecord } from '../../../services/cluster/index.ts';
import type { WinningTicketsEvent } from '../../../services/voter/chain-event.ts';
import { runDuty } from '../../../services/voter/duty.ts';
import type { DutyDeps, DutyResult } from '../../../services/voter/duty-common.ts';
import type { DutyRecords } from '../../../services/voter/cluster-records.ts';
import { MemoryRecords } from './memory-records.ts';
import { EtcdReach } from '../../../services/voter/etcd-reach.ts';
import { planDuty } from '../../../services/voter/duty-plan.ts';
import { PeerPresence } from '../../../services/voter/peer-presence.ts';
import { RecordQueue } from '../../../services/voter/record-queue.ts';
import { VoteDelivery } from '../../../services/voter/vote-delivery.ts';
import type { PreparedVote, SignedVote, VoteFactory } from '../../../services/voter/vote-factory.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const TICKET = 'aa'.repeat(32);
const BLOCK = 'bb'.repeat(32);
const HEDGE_MS = 60_000;
const ev: WinningTicketsEvent = {
  kind: 'winning-tickets', blockHashHex: BLOCK, height: 10, ticketsHex: [TICKET], voteSubsidy: 1n, voteVersion: 10, proxy: 'p', receivedAtMs: Date.now(),
};

/** Create-if-absent in memory; waitFor returns a stored record at once, else waits out its timeout (or its signal). */
class HedgeRecords extends MemoryRecords {
  waitFor(_h: number, _b: string, ticketHex: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<VoteRecord | null> {
    const have = this.stored.get(ticketHex);
    if (have) return Promise.resolve(have);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.stored.get(ticketHex) ?? null), opts.timeoutMs);
      opts.signal?.addEventListener('abort', () => {
        clearTimeout(t);
        resolve(null);
      }, { once: true });
    });
  }
}

function world(selfId: string, o: { voteKnown?: boolean } = {}) {
  const records = new HedgeRecords();
  const presence = new PeerPresence();
  const sent: string[] = [];
  const delivery = new VoteDelivery([{ address: 'p1', sendVote: async (raw) => (sent.push(Buffer.from(raw).toString('hex')), { status: 'ACCEPTED' }) }],
    { sendDeadlineMs: 500, resendIntervalMs: 50, maxVoteAgeBlocks: 2, retryBaseMs: 10, retryMaxMs: 50 }, { isNodeLive: () => true });
  const reach = new EtcdReach(async () => undefined, log, 5);
  reach.attachSession({ leaseAgeMs: () => 0, isVotesWatchConnected: () => true }, { leaseMaxAgeMs: 2_000, recentLeaseAgeMs: 2_500 });
  const factory: VoteFactory = {
    prepare: (ticketHex: string): PreparedVote => ({ ticketHex, meta: { voteBits: 1, voteVersion: 10, treasuryVotes: [], revision: 7 }, payload: 0 }),
    sign: (p: PreparedVote): SignedVote => ({ ticketHex: p.ticketHex, rawTx: new Uint8Array([7, 1, 2]), txidHex: '07'.repeat(32), meta: p.meta }),
  };
  const deps: DutyDeps = {
    selfId, strategy: 'lease',
    plan: () => planDuty({ selfId, ranked: ['a1', 'b1', 'c1'], claimHolder: 'a1', isLeaseFresh: true, isWatchFresh: true, hedgeMs: HEDGE_MS }),
    factory, records, delivery, recordQueue: new RecordQueue(records, log, { retryBaseMs: 10, retryMaxMs: 50, reach }),
    log, metrics: createMetrics({ service: 'voter', processMetrics: false }).get('voter'), retryBaseMs: 10, retryMaxMs: 50, reach,
    voteKnown: async () => o.voteKnown ?? false,
    whenGone: (ids, signal) => presence.whenAllGone(ids, signal),
  };
  const stop = async (): Promise<void> => {
    await delivery.stop();
    await reach.stop();
  };
  return { deps, records, presence, sent, stop };
}

const gone = (p: PeerPresence, nodeId: string): void => p.note({ kind: 'gone', nodeId, proxy: 'p1' });

/** Lets pending promise callbacks and immediate timers run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('backup duty when the voters ahead of it are gone', () => {
  it('rank 1 races at once when the owner was declared gone before the draw', async () => {
    const w = world('b1');
    gone(w.presence, 'a1');
    const r = await runDuty(w.deps, TICKET, ev, new AbortController().signal);
    expect(r.outcome).toBe('took-over');
    expect(w.records.txns.map((t) => [t.signer, t.path])).toEqual([['b1', 'takeover']]);
    await w.stop();
    expect(w.sent).toEqual(['070102']);
  });

  it('rank 1 races as soon as the owner is declared gone during its hedge', async () => {
    const w = world('b1');
    let result: DutyResult | undefined;
    const duty = runDuty(w.deps, TICKET, ev, new AbortController().signal).then((r) => (result = r));
    await settle();
    expect(result).toBeUndefined();
    gone(w.presence, 'b9'); // not ahead of b1: no effect
    await settle();
    expect(result).toBeUndefined();
    gone(w.presence, 'a1');
    await duty;
    expect(result?.outcome).toBe('took-over');
    await w.stop();
  });

  it('rank 2 keeps hedging while rank 1 may be alive, and races once both ahead are gone', async () => {
    const w = world('c1');
    gone(w.presence, 'a1');
    let result: DutyResult | undefined;
    const duty = runDuty(w.deps, TICKET, ev, new AbortController().signal).then((r) => (result = r));
    await settle();
    expect(result).toBeUndefined();
    expect(w.records.txns).toHaveLength(0);
    gone(w.presence, 'b1');
    await duty;
    expect(result?.outcome).toBe('took-over');
    await w.stop();
  });

  it("a falsely gone owner's vote already at dcrd, or its record stored, leaves the backup on standby with the owner's bytes", async () => {
    const seen = world('b1', { voteKnown: true });
    gone(seen.presence, 'a1');
    expect((await runDuty(seen.deps, TICKET, ev, new AbortController().signal)).outcome).toBe('vote-seen');
    expect(seen.records.txns).toHaveLength(0);
    await seen.stop();
    expect(seen.sent).toEqual([]);

    const raced = world('b1');
    const ownerRec: VoteRecord = {
      height: ev.height, blockHash: BLOCK, ticketHash: TICKET, voteTxHex: '090909', voteTxid: '09'.repeat(32), signer: 'a1', choicesRevision: 7,
      voteBits: 1, voteVersion: 10, treasuryVotes: [], createdAt: new Date(0).toISOString(), path: 'fast',
    };
    // The owner's record lands first: the backup's txn loses and it holds the stored bytes.
    raced.deps.records = { record: async (rec) => (raced.records.stored.set(TICKET, ownerRec), raced.records.record(rec)), waitFor: raced.records.waitFor.bind(raced.records) };
    gone(raced.presence, 'a1');
    const r = await runDuty(raced.deps, TICKET, ev, new AbortController().signal);
    expect(r).toMatchObject({ outcome: 'lost-race', txidHex: ownerRec.voteTxid });
    await raced.stop();
    expect(raced.sent).toEqual([]); // standby: the stored bytes go out only if their signer leaves
  });
});
