/**
 * The voter's etcd-outage pieces, without etcd: EtcdReach (one probe loop,
 * waiters resume when etcd is back) and RecordRepair (after an outage, a vote
 * with no record is recorded only if a dcrd knows its exact txid).
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/telemetry/index.ts';
import { EtcdReach } from '../../../services/voter/etcd-reach.ts';
import { RecordRepair } from '../../../services/voter/record-repair.ts';
import type { VoteRecord } from '../../../services/cluster/index.ts';

const log = createLogger({ service: 'test', level: 'silent' });

async function waitFor(cond: () => boolean, timeoutMs = 2_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
}

function rec(ticket: string, txid: string): VoteRecord {
  return {
    height: 10, blockHash: 'bb'.repeat(32), ticketHash: ticket, voteTxHex: '010203', voteTxid: txid,
    signer: 'b1', voteBits: 1, voteVersion: 10, treasuryVotes: [], choicesRevision: 7, defaultsRevision: 3,
    createdAt: new Date(0).toISOString(), path: 'takeover',
  };
}

describe('EtcdReach', () => {
  it('probes only while unreachable, resumes every waiter and listener once etcd answers', async () => {
    let up = false;
    let probes = 0;
    const reach = new EtcdReach(async () => {
      probes++;
      if (!up) throw new Error('unavailable');
    }, log, 5);
    expect(await reach.whenReachable()).toBe(true);
    expect(probes).toBe(0);
    let backs = 0;
    reach.onReachable(() => backs++);
    reach.noteFailure();
    reach.noteFailure(); // one outage, one loop
    expect(reach.isReachable).toBe(false);
    const waiters = Array.from({ length: 20 }, () => reach.whenReachable());
    const aborted = new AbortController();
    const cancelled = reach.whenReachable(aborted.signal);
    aborted.abort();
    expect(await cancelled).toBe(false);
    await waitFor(() => probes >= 2);
    up = true;
    expect(await Promise.all(waiters)).toEqual(Array(20).fill(true));
    expect(reach.isReachable).toBe(true);
    expect(backs).toBe(1);
    expect(reach.outages).toBe(1);
    expect(reach.backAtMs).toBeGreaterThan(0);
    await reach.stop();
  });

  it('stop() releases waiters with false', async () => {
    const reach = new EtcdReach(() => Promise.reject(new Error('down')), log, 5);
    reach.noteFailure();
    const w = reach.whenReachable();
    await reach.stop();
    expect(await w).toBe(false);
  });
});

describe('RecordRepair', () => {
  it('records a vote known to dcrd, skips recorded ones and votes no dcrd knows', async () => {
    const stored = new Map<string, VoteRecord>();
    stored.set('t2', { ...rec('t2', 'x2'), signer: 'a1' });
    const written: VoteRecord[] = [];
    let etcdUp = false;
    const reach = new EtcdReach(async () => {
      if (!etcdUp) throw new Error('down');
    }, log, 5);
    reach.noteFailure();
    const repair = new RecordRepair({
      reach,
      lookup: async (_h, _b, t) => {
        if (!etcdUp) throw new Error('down');
        return stored.get(t) ?? null;
      },
      knownToDcrd: async (txid) => txid !== 'x3',
      records: {
        record: async (r) => {
          written.push(r);
          return { created: true, stored: r };
        },
      },
    }, log, { graceMs: 10 });
    repair.start();
    repair.add(rec('t1', 'x1'));
    repair.add(rec('t2', 'x2'));
    repair.add(rec('t3', 'x3'));
    repair.add(rec('t1', 'x1')); // same (block, ticket): once
    expect(repair.stats().pending).toBe(3);
    etcdUp = true;
    await waitFor(() => repair.stats().pending === 0);
    expect(written.map((w) => [w.ticketHash, w.path, w.defaultsRevision])).toEqual([['t1', 'repair', 3]]);
    expect(repair.stats()).toMatchObject({ repaired: 1, alreadyRecorded: 1, unknownToDcrd: 1 });
    await repair.stop();
    await reach.stop();
  });
});
