/**
 * Delivery logic with in-process sinks that answer from a script (no I/O);
 * the real gRPC path is covered by test/integration/voter-*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { classifyStatus, fanOut, type SendStatus, type VoteSink } from '../../../services/voter/fanout.ts';
import { VoteDelivery, type VoteToDeliver } from '../../../services/voter/vote-delivery.ts';

class ScriptedSink implements VoteSink {
  calls: string[] = [];
  constructor(readonly address: string, private script: Array<SendStatus | 'throw' | 'hang'>) {}
  sendVote(rawTx: Uint8Array): Promise<{ status: SendStatus }> {
    this.calls.push(Buffer.from(rawTx).toString('hex'));
    const next = this.script.length > 1 ? this.script.shift() : this.script[0];
    if (next === 'throw') return Promise.reject(new Error('connection refused'));
    if (next === 'hang') return new Promise(() => {});
    return Promise.resolve({ status: next as SendStatus });
  }
}

const vote = (tx: number, height = 10, block = 'bb'): VoteToDeliver => ({
  ticketHex: 'aa'.repeat(32), blockHashHex: block.repeat(32), height, rawTx: new Uint8Array([tx]), txidHex: String(tx).repeat(64).slice(0, 64),
  signer: 'n1', drawnAtMs: Date.now(),
});
const opts = { sendDeadlineMs: 100, resendIntervalMs: 10_000, maxVoteAgeBlocks: 2, retryBaseMs: 0, retryMaxMs: 0 };

describe('classifyStatus', () => {
  it('DUPLICATE is success; CONFLICT and REJECTED are final; the rest is retried', () => {
    expect(classifyStatus('ACCEPTED')).toBe('delivered');
    expect(classifyStatus('DUPLICATE')).toBe('delivered');
    expect(classifyStatus('CONFLICT')).toBe('conflict');
    expect(classifyStatus('REJECTED')).toBe('rejected');
    expect(classifyStatus('UNAVAILABLE')).toBe('retry');
    expect(classifyStatus('ERROR')).toBe('retry');
  });
});

describe('fanOut', () => {
  it('sends to every proxy; a hanging proxy costs its own deadline only', async () => {
    const sinks = [new ScriptedSink('a', ['ACCEPTED']), new ScriptedSink('b', ['hang']), new ScriptedSink('c', ['throw'])];
    const out = await fanOut(sinks, new Uint8Array([1]), { deadlineMs: 50 });
    expect(out.map((o) => [o.proxy, o.state])).toEqual([['a', 'delivered'], ['b', 'retry'], ['c', 'retry']]);
    expect(out[1]?.status).toBe('ERROR');
  });
});

describe('VoteDelivery', () => {
  it('retries only unavailable proxies, never conflict/rejected, until delivered', async () => {
    const a = new ScriptedSink('a', ['ACCEPTED']);
    const b = new ScriptedSink('b', ['UNAVAILABLE', 'UNAVAILABLE', 'DUPLICATE']);
    const c = new ScriptedSink('c', ['CONFLICT']);
    const d = new VoteDelivery([a, b, c], opts, { isNodeLive: () => true });
    await d.deliver(vote(1), 'active').firstRound;
    for (let i = 0; i < 5; i++) await d.tick();
    expect([a.calls.length, b.calls.length, c.calls.length]).toEqual([1, 3, 1]);
    expect(d.stats()).toMatchObject({ sends: 5, delivered: 2, conflicts: 1, votesSent: 1 });
  });

  it('never sends different bytes for a tracked vote; replaceBytes switches to the stored bytes for good', async () => {
    const a = new ScriptedSink('a', ['UNAVAILABLE']);
    const d = new VoteDelivery([a], opts, { isNodeLive: () => true });
    await d.deliver(vote(1), 'active').firstRound;
    expect(d.deliver(vote(2), 'active').accepted).toBe(false);
    await d.replaceBytes(vote(3));
    await d.tick();
    expect(a.calls).toEqual(['01', '03', '03']);
  });

  it('standby votes are sent only once their signer is no longer live', async () => {
    const a = new ScriptedSink('a', ['ACCEPTED']);
    let live = true;
    const d = new VoteDelivery([a], opts, { isNodeLive: () => live });
    await d.deliver(vote(1), 'standby').firstRound;
    await d.tick();
    expect(a.calls.length).toBe(0);
    live = false;
    await d.tick();
    expect(a.calls.length).toBe(1);
    expect(d.stats().promoted).toBe(1);
  });

  it('stops sending votes on a disconnected block or once too old', async () => {
    const a = new ScriptedSink('a', ['UNAVAILABLE']);
    const d = new VoteDelivery([a], opts, { isNodeLive: () => true });
    await d.deliver(vote(1, 10, 'b1'), 'active').firstRound;
    await d.deliver(vote(2, 10, 'b2'), 'active').firstRound;
    d.blockDisconnected('b1'.repeat(32));
    d.blockConnected(12);
    await d.tick();
    expect(a.calls).toEqual(['01', '02', '02']);
    d.blockConnected(13);
    await d.tick();
    expect(a.calls.length).toBe(3);
    expect(d.stats().tracked).toBe(0);
  });

  it('a proxy reconnect makes delivered votes due to it again', async () => {
    const a = new ScriptedSink('a', ['ACCEPTED']);
    const d = new VoteDelivery([a], opts, { isNodeLive: () => true });
    await d.deliver(vote(1), 'active').firstRound;
    await d.tick();
    d.proxyReconnected('a');
    await d.tick();
    expect(a.calls.length).toBe(2);
  });

  it('stop() awaits the loop', async () => {
    const d = new VoteDelivery([new ScriptedSink('a', ['ACCEPTED'])], { ...opts, resendIntervalMs: 10 }, { isNodeLive: () => true });
    d.start();
    await d.stop();
  });
});
