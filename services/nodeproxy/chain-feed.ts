/**
 * Ordered chain events and their fan-out to many WatchChain streams.
 *
 * Invariants:
 * - every published event gets the next `seq` (1, 2, ...) of this feed's
 *   `epoch`; the last `ringSize` events are held for replay;
 * - a subscriber receives the replayed events and then every live event, in
 *   seq order, each exactly once: replay and registration happen in one
 *   synchronous step, so nothing published in between is lost or doubled;
 * - no head-of-line blocking: publish() only appends to each subscriber's own
 *   bounded queue; each queue is drained by its own pump that respects the
 *   sink's backpressure. A subscriber with more than `maxLagEvents` live
 *   events queued is cut with StreamLaggingError (gRPC RESOURCE_EXHAUSTED) and
 *   can resume by seq.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { StreamLaggingError, type NodeProxyError } from './errors.ts';
import type { NodeProxyMetrics } from './deps.ts';
import { settledWithin } from '../base/index.ts';

/** Event payloads, shaped as the proto's oneof members (proto-loader keepCase objects). */
export interface BlockConnectedEvent {
  hash: string;
  height: number;
  header: Uint8Array;
  prev_hash: string;
}
export type BlockDisconnectedEvent = BlockConnectedEvent;
export interface WinningTicketsEvent {
  block_hash: string;
  height: number;
  header: Uint8Array;
  tickets: string[];
  /** Atoms, decimal string (int64 in the proto). */
  vote_subsidy: string;
  subsidy_split: 'SUBSIDY_SPLIT_ORIGINAL' | 'SUBSIDY_SPLIT_DCP0010' | 'SUBSIDY_SPLIT_DCP0012';
  vote_version: number;
  stake_version: number;
  network: string;
  trace: { traceparent: string; tracestate: string };
  /** Per ticket (parallel to `tickets`): the context of that ticket's `proxy.notify` root span. */
  ticket_traces: Array<{ traceparent: string; tracestate: string }>;
}

/** A treasury spend dcrd holds (proto TSpend). */
export interface TSpendEvent {
  raw_tx: Uint8Array;
  /** Display hex. */
  hash: string;
  expiry: number;
}

/** A voter's WatchChain streams to this proxy ended (proto VoterGone), or one is open again (VoterBack). */
export interface VoterPresenceEvent {
  node_id: string;
  /** Unix ms (int64 as a decimal string) when the proxy saw it. */
  at_ms: string;
}

/**
 * A fact about the voters connected to this proxy, not a chain event: seq 0,
 * never held in the ring, never replayed (a stale "gone" must not reach a
 * voter that connects later).
 */
export interface PresenceMessage {
  seq: '0';
  epoch: string;
  proxy_receive_time_ms: string;
  event: 'voter_gone' | 'voter_back';
  voter_gone?: VoterPresenceEvent;
  voter_back?: VoterPresenceEvent;
}

/** What the feed publishes (before it assigns seq). */
export type FeedEventBody =
  | { kind: 'block_connected'; block_connected: BlockConnectedEvent }
  | { kind: 'block_disconnected'; block_disconnected: BlockDisconnectedEvent }
  | { kind: 'winning_tickets'; winning_tickets: WinningTicketsEvent }
  | { kind: 'tspend'; tspend: TSpendEvent };

/** A published event: the WatchChainResponse message of one event. */
export interface FeedEvent {
  seq: string;
  epoch: string;
  proxy_receive_time_ms: string;
  event: FeedEventBody['kind'];
  block_connected?: BlockConnectedEvent;
  block_disconnected?: BlockDisconnectedEvent;
  winning_tickets?: WinningTicketsEvent;
  tspend?: TSpendEvent;
  /** Not sent: the seq as a number, the block height, for replay lookups. */
  readonly seqNum: number;
  readonly height: number;
}

export type ResumeStatus = 'RESUME_STATUS_LIVE' | 'RESUME_STATUS_RESUMED' | 'RESUME_STATUS_GAP' | 'RESUME_STATUS_EPOCH_CHANGED';

/** The first message of each stream (seq 0). */
export interface StreamStartMessage {
  seq: '0';
  epoch: string;
  proxy_receive_time_ms: string;
  event: 'stream_start';
  stream_start: {
    resume_status: ResumeStatus;
    first_seq: string;
    missed_from_seq: string;
    missed_to_seq: string;
    oldest_seq: string;
    last_seq: string;
    network: string;
    best_block: { hash: string; height: number } | null;
    vote_version: number;
    dcrd_version: string;
  };
}

/** Where a subscriber wants to start. */
export interface SubscribeRequest {
  fromSeq?: number | undefined;
  fromHeight?: number | undefined;
  epoch?: string | undefined;
  clientId: string;
}

/** The transport side of one stream (a grpc-js ServerWritableStream adapter). */
export interface StreamSink {
  /** Writes one message; false means "buffer full, wait for drain". */
  write(msg: FeedEvent | StreamStartMessage | PresenceMessage): boolean;
  /** Registers a one-shot drain callback. */
  onceDrain(cb: () => void): void;
  /** Ends the stream: cleanly, or with a typed error. */
  end(err?: NodeProxyError): void;
}

/** A live subscription. */
export interface Subscription {
  readonly id: number;
  readonly clientId: string;
  readonly start: StreamStartMessage;
  /** Events queued but not yet handed to the sink. */
  lag(): number;
  /** Detaches and ends the sink (`err` undefined: clean end). */
  close(err?: NodeProxyError): void;
  /** Resolves when everything queued so far was written (or the stream closed). */
  drained(): Promise<void>;
}

export interface ChainFeedOptions {
  ringSize: number;
  maxLagEvents: number;
  network: string;
  metrics: NodeProxyMetrics;
  logger: Logger;
  now: () => number;
  bestBlock: () => { hash: string; height: number } | undefined;
  /** The vote version a wallet writes behind the dcrd (0: not known yet) and dcrd's version string. */
  dcrd?: () => { voteVersion: number; version: string };
  /** Fixed epoch (tests); default: 16 random bytes, hex. */
  epoch?: string;
}

interface QueueItem {
  msg: FeedEvent | StreamStartMessage | PresenceMessage;
  live: boolean;
}

/** Observes notification-received → written latency of live events (per-stream lag metric). */
type LagObserver = (receivedAtMs: number) => void;

class SubscriptionImpl implements Subscription {
  readonly id: number;
  readonly clientId: string;
  readonly start: StreamStartMessage;
  private readonly queue: QueueItem[] = [];
  private head = 0;
  private liveQueued = 0;
  private waitingDrain = false;
  closed = false;
  private readonly sink: StreamSink;
  private readonly onClose: (s: SubscriptionImpl) => void;
  private drainWaiters: Array<() => void> = [];
  private readonly observeLag: LagObserver;

  constructor(
    id: number,
    clientId: string,
    start: StreamStartMessage,
    sink: StreamSink,
    onClose: (s: SubscriptionImpl) => void,
    observeLag: LagObserver,
  ) {
    this.observeLag = observeLag;
    this.id = id;
    this.clientId = clientId;
    this.start = start;
    this.sink = sink;
    this.onClose = onClose;
  }

  lag(): number {
    return this.queue.length - this.head;
  }

  liveLag(): number {
    return this.liveQueued;
  }

  enqueue(msg: FeedEvent | StreamStartMessage | PresenceMessage, live: boolean): void {
    if (this.closed) return;
    this.queue.push({ msg, live });
    if (live) this.liveQueued++;
  }

  /** Writes until the queue is empty or the sink pushes back. */
  pump(): void {
    if (this.closed || this.waitingDrain) return;
    while (this.head < this.queue.length) {
      const item = this.queue[this.head] as QueueItem;
      this.queue[this.head] = undefined as unknown as QueueItem;
      this.head++;
      if (item.live) this.liveQueued--;
      let ok: boolean;
      try {
        ok = this.sink.write(item.msg);
      } catch {
        // The transport is gone (the client cancelled): closing is the complete handling,
        // there is no one left to deliver to; the client resumes by seq.
        this.close();
        return;
      }
      if (item.live) this.observeLag(Number(item.msg.proxy_receive_time_ms));
      if (!ok) {
        this.waitingDrain = true;
        this.sink.onceDrain(() => {
          this.waitingDrain = false;
          this.pump();
        });
        break;
      }
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
      const ws = this.drainWaiters;
      this.drainWaiters = [];
      for (const w of ws) w();
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  drained(): Promise<void> {
    if (this.closed || this.lag() === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(err?: NodeProxyError): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.head = 0;
    this.liveQueued = 0;
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
    this.onClose(this);
    this.sink.end(err);
  }
}

/** The ring buffer and the set of subscribers. */
export class ChainFeed {
  readonly epoch: string;
  private readonly opts: ChainFeedOptions;
  private readonly ring: FeedEvent[] = [];
  private ringStart = 0;
  private seq = 0;
  private nextSubId = 1;
  private readonly subs = new Map<number, SubscriptionImpl>();
  /** Sticky events (tspends): re-sent to every new stream that may not have seen them, until unstuck. */
  private readonly sticky = new Map<number, FeedEvent>();
  private readonly log: Logger;
  /** Streams cut because they lagged past the bound. */
  streamsCut = 0;
  /** Largest per-stream queue (events) seen at the last publish. */
  maxLagAtLastPublish = 0;

  constructor(opts: ChainFeedOptions) {
    this.opts = opts;
    this.epoch = opts.epoch ?? randomBytes(16).toString('hex');
    this.log = opts.logger.child({ component: 'chain-feed' });
  }

  /** The last seq assigned (0: none yet). */
  get lastSeq(): number {
    return this.seq;
  }

  /** The oldest seq still held (lastSeq + 1 when the ring is empty). */
  get oldestSeq(): number {
    const first = this.ring[this.ringStart];
    return first ? first.seqNum : this.seq + 1;
  }

  /** Number of open subscriptions. */
  get watcherCount(): number {
    return this.subs.size;
  }

  /** Events currently held, oldest first. */
  held(): FeedEvent[] {
    return this.ring.slice(this.ringStart);
  }

  /**
   * Assigns the next seq, stores the event and queues it on every subscriber.
   * `opts.sticky`: the event is also re-sent to every later stream that has not
   * seen it (see subscribe) until {@link unstick}; `opts.height` is the height
   * used for from_height replays of an event without its own (tspends).
   */
  publish(body: FeedEventBody, receivedAtMs: number, opts: { sticky?: boolean; height?: number } = {}): FeedEvent {
    const seqNum = ++this.seq;
    const payload: object = body.kind === 'block_connected' ? body.block_connected
      : body.kind === 'block_disconnected' ? body.block_disconnected
      : body.kind === 'winning_tickets' ? body.winning_tickets : body.tspend;
    const ev: FeedEvent = {
      seq: String(seqNum),
      epoch: this.epoch,
      proxy_receive_time_ms: String(receivedAtMs),
      event: body.kind,
      [body.kind]: payload,
      seqNum,
      height: 'height' in payload ? (payload.height as number) : (opts.height ?? 0),
    } as FeedEvent;
    if (opts.sticky) this.sticky.set(seqNum, ev);
    this.ring.push(ev);
    if (this.ring.length - this.ringStart > this.opts.ringSize) {
      this.ring[this.ringStart] = undefined as unknown as FeedEvent;
      this.ringStart++;
      if (this.ringStart > this.opts.ringSize) {
        this.ring.splice(0, this.ringStart);
        this.ringStart = 0;
      }
    }
    let maxLag = 0;
    for (const sub of this.subs.values()) {
      sub.enqueue(ev, true);
      if (sub.liveLag() > this.opts.maxLagEvents) {
        this.streamsCut++;
        this.log.warn({ client: sub.clientId, lag: sub.liveLag(), seq: seqNum }, 'stream cut: lagging past the bound');
        sub.close(new StreamLaggingError(`stream lagged more than ${this.opts.maxLagEvents} events behind at seq ${seqNum}; resume with from_seq`));
        continue;
      }
      sub.pump();
      const lag = sub.lag();
      if (lag > maxLag) maxLag = lag;
    }
    this.maxLagAtLastPublish = maxLag;
    return ev;
  }

  /**
   * Sends a voter presence fact to every open stream but `exceptSubId` (the
   * stream it is about, if any), behind what each stream already has queued.
   * Not sequenced and not held: only streams open now get it.
   */
  announce(kind: 'voter_gone' | 'voter_back', body: VoterPresenceEvent, exceptSubId?: number): void {
    const msg: PresenceMessage = { seq: '0', epoch: this.epoch, proxy_receive_time_ms: body.at_ms, event: kind, [kind]: body };
    for (const sub of this.subs.values()) {
      if (sub.id === exceptSubId) continue;
      sub.enqueue(msg, false);
      sub.pump();
    }
  }

  /** Stops re-sending a sticky event to new streams (a tspend that expired). */
  unstick(seqNum: number): void {
    this.sticky.delete(seqNum);
  }

  /** Sticky events still held (tests, stats). */
  get stickyCount(): number {
    return this.sticky.size;
  }

  /**
   * Registers a stream: computes the resume outcome, queues the stream_start
   * message and the replay, then every live event. Synchronous, so the replay
   * and the live events join without a gap or a duplicate.
   */
  subscribe(req: SubscribeRequest, sink: StreamSink): Subscription {
    const held = this.held();
    const oldest = this.oldestSeq;
    let status: ResumeStatus;
    let replay: FeedEvent[] = [];
    let missedFrom = 0;
    let missedTo = 0;
    if (req.fromSeq !== undefined) {
      if (req.epoch && req.epoch !== this.epoch) {
        status = 'RESUME_STATUS_EPOCH_CHANGED';
        replay = held;
      } else if (req.fromSeq < oldest) {
        status = 'RESUME_STATUS_GAP';
        missedFrom = Math.max(1, req.fromSeq);
        missedTo = oldest - 1;
        replay = held;
        if (missedFrom > missedTo) status = 'RESUME_STATUS_RESUMED';
      } else {
        status = 'RESUME_STATUS_RESUMED';
        replay = held.slice(req.fromSeq - oldest);
      }
    } else if (req.fromHeight !== undefined) {
      const idx = held.findIndex((e) => e.height >= (req.fromHeight as number));
      replay = idx < 0 ? [] : held.slice(idx);
      // The oldest held event is above the requested height and older events were dropped: a gap.
      const first = held[0];
      if (first && first.height > req.fromHeight && oldest > 1) {
        status = 'RESUME_STATUS_GAP';
        missedFrom = 1;
        missedTo = oldest - 1;
      } else {
        status = 'RESUME_STATUS_RESUMED';
      }
    } else {
      status = 'RESUME_STATUS_LIVE';
    }
    // Sticky events the stream would otherwise miss: older than the replay, and not
    // already delivered to a client resuming by seq in this epoch. Their seq is
    // below every replayed one, so the stream stays in seq order.
    const firstReplayed = replay[0]?.seqNum ?? this.seq + 1;
    const seenBefore = req.fromSeq !== undefined && (!req.epoch || req.epoch === this.epoch) ? req.fromSeq : 1;
    const stuck = [...this.sticky.values()].filter((e) => e.seqNum < firstReplayed && e.seqNum >= seenBefore).sort((a, b) => a.seqNum - b.seqNum);
    if (stuck.length > 0) replay = [...stuck, ...replay];
    const best = this.opts.bestBlock();
    const start: StreamStartMessage = {
      seq: '0',
      epoch: this.epoch,
      proxy_receive_time_ms: String(this.opts.now()),
      event: 'stream_start',
      stream_start: {
        resume_status: status,
        first_seq: String(replay[0]?.seqNum ?? this.seq + 1),
        missed_from_seq: String(missedFrom),
        missed_to_seq: String(missedTo),
        oldest_seq: String(oldest),
        last_seq: String(this.seq),
        network: this.opts.network,
        best_block: best ? { hash: best.hash, height: best.height } : null,
        vote_version: this.opts.dcrd?.().voteVersion ?? 0,
        dcrd_version: this.opts.dcrd?.().version ?? '',
      },
    };
    const sub = new SubscriptionImpl(
      this.nextSubId++,
      req.clientId,
      start,
      sink,
      (s) => {
        this.subs.delete(s.id);
        this.opts.metrics.connectedVoters.set(this.subs.size);
      },
      (receivedAtMs) => this.opts.metrics.streamLag.observe(Math.max(0, this.opts.now() - receivedAtMs) / 1000),
    );
    sub.enqueue(start, false);
    for (const ev of replay) sub.enqueue(ev, false);
    this.subs.set(sub.id, sub);
    this.opts.metrics.connectedVoters.set(this.subs.size);
    if (status === 'RESUME_STATUS_GAP') {
      this.log.warn({ client: req.clientId, missedFrom, missedTo }, 'stream resumed with a gap');
    }
    sub.pump();
    return sub;
  }

  /** Ends every stream (cleanly, or with `err`) after letting each drain up to `drainMs`. */
  async closeAll(drainMs: number, err?: NodeProxyError): Promise<void> {
    const subs = [...this.subs.values()];
    await settledWithin(Promise.all(subs.map((s) => s.drained())), drainMs);
    for (const s of subs) s.close(err);
  }
}
