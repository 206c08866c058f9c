import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ChainFeed, type FeedEvent, type StreamSink, type StreamStartMessage } from '../../../services/nodeproxy/chain-feed.ts';
import { resolveDeps } from '../../../services/nodeproxy/deps.ts';
import type { NodeProxyError } from '../../../services/nodeproxy/errors.ts';

type Msg = FeedEvent | StreamStartMessage;

/** An in-memory sink whose buffer fills after `capacity` writes until drain() is called. */
class MemorySink implements StreamSink {
  readonly got: Msg[] = [];
  ended: { err?: NodeProxyError } | undefined;
  private buffered = 0;
  private drainCb: (() => void) | undefined;
  constructor(private readonly capacity = Infinity) {}
  write(msg: Msg): boolean {
    this.got.push(msg);
    this.buffered++;
    return this.buffered < this.capacity;
  }
  onceDrain(cb: () => void): void {
    this.drainCb = cb;
  }
  end(err?: NodeProxyError): void {
    this.ended = err ? { err } : {};
  }
  drain(): void {
    this.buffered = 0;
    const cb = this.drainCb;
    this.drainCb = undefined;
    cb?.();
  }
  seqs(): number[] {
    return this.got.filter((m) => m.event !== 'stream_start').map((m) => Number(m.seq));
  }
  start(): StreamStartMessage['stream_start'] {
    const s = this.got[0] as StreamStartMessage;
    expect(s.event).toBe('stream_start');
    return s.stream_start;
  }
}

function makeFeed(ringSize = 16, maxLagEvents = 8) {
  const deps = resolveDeps({ logger: pino({ level: 'silent' }) });
  return new ChainFeed({ ringSize, maxLagEvents, network: 'simnet', metrics: deps.metrics, logger: deps.logger, now: Date.now, bestBlock: () => undefined, epoch: 'e1' });
}

function block(height: number) {
  return { hash: height.toString(16).padStart(64, '0'), height, header: new Uint8Array(180), prev_hash: (height - 1).toString(16).padStart(64, '0') };
}

function publishBlocks(feed: ChainFeed, from: number, to: number): void {
  for (let h = from; h <= to; h++) feed.publish({ kind: 'block_connected', block_connected: block(h) }, Date.now());
}

describe('ChainFeed', () => {
  it('assigns strictly increasing seqs and delivers live events to every subscriber once, in order', () => {
    const feed = makeFeed(64, 64);
    const sinks = Array.from({ length: 5 }, () => new MemorySink());
    for (const s of sinks) feed.subscribe({ clientId: 'c' }, s);
    publishBlocks(feed, 1, 40);
    for (const s of sinks) {
      expect(s.start().resume_status).toBe('RESUME_STATUS_LIVE');
      expect(s.seqs()).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    }
  });

  it('resumes by seq with exactly the missing events', () => {
    const feed = makeFeed();
    publishBlocks(feed, 1, 10);
    const s = new MemorySink();
    feed.subscribe({ clientId: 'c', fromSeq: 7, epoch: 'e1' }, s);
    publishBlocks(feed, 11, 12);
    expect(s.start().resume_status).toBe('RESUME_STATUS_RESUMED');
    expect(s.start().first_seq).toBe('7');
    expect(s.seqs()).toEqual([7, 8, 9, 10, 11, 12]);
  });

  it('reports a gap when the ring no longer holds the requested seq', () => {
    const feed = makeFeed(8, 64);
    publishBlocks(feed, 1, 20); // holds seq 13..20
    const s = new MemorySink();
    feed.subscribe({ clientId: 'c', fromSeq: 5, epoch: 'e1' }, s);
    const st = s.start();
    expect(st.resume_status).toBe('RESUME_STATUS_GAP');
    expect([st.missed_from_seq, st.missed_to_seq, st.oldest_seq]).toEqual(['5', '12', '13']);
    expect(s.seqs()).toEqual([13, 14, 15, 16, 17, 18, 19, 20]);
  });

  it('replays everything held when the epoch changed', () => {
    const feed = makeFeed(8, 64);
    publishBlocks(feed, 1, 3);
    const s = new MemorySink();
    feed.subscribe({ clientId: 'c', fromSeq: 99, epoch: 'old' }, s);
    expect(s.start().resume_status).toBe('RESUME_STATUS_EPOCH_CHANGED');
    expect(s.seqs()).toEqual([1, 2, 3]);
  });

  it('resumes by height', () => {
    const feed = makeFeed(32, 64);
    publishBlocks(feed, 100, 110);
    const s = new MemorySink();
    feed.subscribe({ clientId: 'c', fromHeight: 108 }, s);
    expect(s.start().resume_status).toBe('RESUME_STATUS_RESUMED');
    expect(s.seqs()).toEqual([9, 10, 11]);
  });

  it('cuts only the stream that lags past the bound; the others keep flowing (no head-of-line blocking)', () => {
    const feed = makeFeed(64, 4);
    const slow = new MemorySink(2); // stops accepting after 2 writes and never drains
    const fast = new MemorySink();
    feed.subscribe({ clientId: 'slow' }, slow);
    feed.subscribe({ clientId: 'fast' }, fast);
    publishBlocks(feed, 1, 20);
    expect(fast.seqs()).toHaveLength(20);
    expect(slow.ended?.err?.code).toBe('NODEPROXY_STREAM_LAGGING');
    expect(feed.watcherCount).toBe(1);
    // The cut stream can resume from its last seq + 1 and misses nothing.
    const last = Math.max(...slow.seqs());
    const again = new MemorySink();
    feed.subscribe({ clientId: 'slow', fromSeq: last + 1, epoch: 'e1' }, again);
    expect([...slow.seqs(), ...again.seqs()]).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  it('a stream under backpressure gets everything once the sink drains', () => {
    const feed = makeFeed(64, 16);
    const s = new MemorySink(3);
    feed.subscribe({ clientId: 'c' }, s);
    publishBlocks(feed, 1, 10);
    expect(s.seqs().length).toBeLessThan(10);
    s.drain();
    s.drain();
    s.drain();
    s.drain();
    expect(s.seqs()).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('replay does not count against the lag bound', () => {
    const feed = makeFeed(64, 2);
    publishBlocks(feed, 1, 30);
    const s = new MemorySink();
    feed.subscribe({ clientId: 'c', fromSeq: 1, epoch: 'e1' }, s);
    expect(s.ended).toBeUndefined();
    expect(s.seqs()).toHaveLength(30);
  });

  it('closeAll ends every stream with the given error', async () => {
    const feed = makeFeed();
    const a = new MemorySink();
    feed.subscribe({ clientId: 'a' }, a);
    await feed.closeAll(100);
    expect(a.ended).toEqual({});
    expect(feed.watcherCount).toBe(0);
  });
});

describe('ChainFeed sticky events (tspends)', () => {
  const tspend = (n: number) => ({ kind: 'tspend' as const, tspend: { raw_tx: Uint8Array.of(n), hash: n.toString(16).padStart(64, '0'), expiry: 338 } });

  it('re-sends a sticky event the ring dropped to every new stream that has not seen it, in seq order, until unstuck', () => {
    const feed = makeFeed(8, 64);
    publishBlocks(feed, 1, 2);
    const t = feed.publish(tspend(1), Date.now(), { sticky: true, height: 2 }); // seq 3
    publishBlocks(feed, 3, 20); // seq 4..21; the ring holds 14..21: seq 3 is gone from it
    const live = new MemorySink();
    feed.subscribe({ clientId: 'live' }, live);
    expect(live.seqs()).toEqual([3]);
    expect(live.start().first_seq).toBe('3');
    const byHeight = new MemorySink();
    feed.subscribe({ clientId: 'h', fromHeight: 1 }, byHeight);
    expect(byHeight.seqs()).toEqual([3, 14, 15, 16, 17, 18, 19, 20, 21]);
    const gapAfter = new MemorySink();
    feed.subscribe({ clientId: 'g', fromSeq: 5, epoch: 'e1' }, gapAfter); // saw seq 3 already
    expect(gapAfter.seqs()).toEqual([14, 15, 16, 17, 18, 19, 20, 21]);
    const gapBefore = new MemorySink();
    feed.subscribe({ clientId: 'g2', fromSeq: 2, epoch: 'e1' }, gapBefore); // had not seen seq 3
    expect(gapBefore.seqs()).toEqual([3, 14, 15, 16, 17, 18, 19, 20, 21]);
    const epoch = new MemorySink();
    feed.subscribe({ clientId: 'ep', fromSeq: 50, epoch: 'old' }, epoch);
    expect(epoch.seqs()[0]).toBe(3);
    const resumed = new MemorySink();
    feed.subscribe({ clientId: 'r', fromSeq: 20, epoch: 'e1' }, resumed);
    expect(resumed.seqs()).toEqual([20, 21]);
    expect(feed.stickyCount).toBe(1);
    feed.unstick(t.seqNum);
    const after = new MemorySink();
    feed.subscribe({ clientId: 'after' }, after);
    expect(after.seqs()).toEqual([]);
    expect((live.got[1] as FeedEvent).tspend?.hash).toBe(tspend(1).tspend.hash);
  });
});
