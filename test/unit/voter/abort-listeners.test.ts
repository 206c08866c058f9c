/**
 * Abort-listener hygiene of the voter's long-lived loops: a voter runs for months, so a
 * listener left on one of its AbortSignals per outage or per wake-up is a leak (Node warns
 * at 11: MaxListenersExceededWarning, seen in the cluster-e2e bench). Every abort signal
 * that services/voter code adds a listener to is collected (the EventTarget method is
 * wrapped only to see which signals get listeners, from the caller's stack), and its live
 * listener count is read with events.getEventListeners after many outages / wake-ups.
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../services/telemetry/index.ts';
import type { VoteRecord } from '../../../services/cluster/index.ts';
import { EtcdReach } from '../../../services/voter/etcd-reach.ts';
import { RecordRepair } from '../../../services/voter/record-repair.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const ROUNDS = 50;

const signals = new Set<AbortSignal>();
const originalAdd = EventTarget.prototype.addEventListener;
beforeEach(() => {
  signals.clear();
  EventTarget.prototype.addEventListener = function (this: EventTarget, type: string, ...rest: unknown[]) {
    // Only signals the voter's code listens on (not the test runner's own).
    if (type === 'abort' && this instanceof AbortSignal && /services\/voter\//.test(new Error().stack ?? '')) signals.add(this);
    return (originalAdd as (...a: unknown[]) => void).call(this, type, ...rest);
  } as typeof EventTarget.prototype.addEventListener;
});
afterEach(() => {
  EventTarget.prototype.addEventListener = originalAdd;
});

/** The most abort listeners live on any one signal the code under test listened on. */
function maxAbortListeners(): number {
  return Math.max(0, ...[...signals].map((s) => getEventListeners(s, 'abort').length));
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

function rec(i: number): VoteRecord {
  return {
    height: 10, blockHash: 'bb'.repeat(32), ticketHash: i.toString(16).padStart(64, '0'), voteTxHex: '010203',
    voteTxid: 'cc'.repeat(32), signer: 'b1', voteBits: 1, voteVersion: 10, treasuryVotes: [], choicesRevision: 7, defaultsRevision: 3,
    createdAt: new Date(0).toISOString(), path: 'takeover',
  };
}

describe('abort listeners stay bounded', () => {
  it(`EtcdReach: ${ROUNDS} outages leave no listener behind on the voter's signal`, async () => {
    let failNext = false;
    const reach = new EtcdReach(async () => {
      if (failNext) {
        failNext = false;
        throw new Error('unavailable');
      }
    }, log, 1);
    for (let i = 0; i < ROUNDS; i++) {
      failNext = i % 2 === 0; // every other outage needs a second probe (the delay path)
      reach.noteFailure();
      expect(await reach.whenReachable()).toBe(true);
      await turns(2); // the probing run's finally
    }
    expect(reach.outages).toBe(ROUNDS);
    expect(signals.size, 'the probing runs listen on the voter\'s signal').toBeGreaterThan(0);
    expect(maxAbortListeners(), 'abort listeners left on one signal after the outages ended').toBe(0);
    await reach.stop();
  });

  it(`RecordRepair: ${ROUNDS} wake-ups of a sleeping repairer hold at most one listener`, async () => {
    const reach = new EtcdReach(async () => undefined, log, 5);
    const stored = new Map<string, VoteRecord>();
    const repair = new RecordRepair({
      reach,
      lookup: async (_h, b, t) => stored.get(`${b}:${t}`) ?? null,
      knownToDcrd: async () => false,
      records: { record: async (r) => ({ created: true, stored: r }) },
    }, log, { graceMs: 60_000 }); // the pass is a minute away: the loop sleeps through every wake-up
    repair.start();
    let most = 0;
    for (let i = 0; i < ROUNDS; i++) {
      repair.add(rec(i)); // wakes the sleeping loop, which goes back to sleep
      await turns(3);
      most = Math.max(most, maxAbortListeners());
    }
    expect(signals.size, 'the repairer sleeps on its signal').toBeGreaterThan(0);
    expect(most, 'abort listeners live on one signal while the repairer was woken repeatedly').toBeLessThanOrEqual(1);
    await repair.stop();
    expect(maxAbortListeners(), 'abort listeners left after stop').toBe(0);
    await reach.stop();
  });
});
