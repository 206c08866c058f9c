/**
 * Turns the dcrd session's notifications into ordered chain-feed events.
 *
 * Invariants:
 * - notifications and catch-ups are handled one at a time, in arrival order
 *   (one serial queue), so events keep dcrd's order;
 * - a stream never skips a tip the proxy saw connected: a blockconnected whose
 *   parent is unknown (we missed blocks while disconnected) is preceded by the
 *   missing blocks, fetched with getblockheader walking back to a block on our
 *   main chain; blocks of ours that are no longer on dcrd's chain are
 *   announced as disconnected first;
 * - winning tickets are published once per block hash (rebroadcastwinners
 *   after every reconnect re-sends them), with the block's own height (dcrd
 *   puts its best height into re-sent notifications, decred/dcrd internal/rpcserver/rpcwebsocket.go);
 * - treasury spends are published once per tspend hash, from dcrd's `tspend`
 *   notification or, after every (re)connect, from `getrawmempool false
 *   tspend` (tspends announced while we were away); they are sticky feed
 *   events (every new stream gets them) until they expire (next height >=
 *   expiry, dcrd IsExpiredTx).
 */
import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  blockHash, decodeBlockHeader, decodeTx, DecredError, fromHex, hashToHex, parseTSpend, voteSubsidy, type NetParams, type SubsidySplit,
} from '../decred/index.ts';
import type { ChainFeed, WinningTicketsEvent } from './chain-feed.ts';
import type { NodeProxyMetrics } from './deps.ts';
import type { DcrdNotification, DcrdSession } from './dcrd-session.ts';
import { DcrdProtocolError } from './errors.ts';
import { startProxySpan } from './trace.ts';
import { ATTR, SPAN } from '../telemetry/index.ts';

/** One block the proxy knows. */
export interface KnownBlock {
  hash: string;
  height: number;
  prevHash: string;
  header: Uint8Array;
  stakeVersion: number;
}

/** One draw the proxy published. */
export interface Draw {
  blockHash: string;
  height: number;
  tickets: readonly string[];
  ticketSet: ReadonlySet<string>;
  /** True once the block was disconnected (votes for it stop being useful). */
  disconnected: boolean;
}

const SPLIT_ENUM = {
  original: 'SUBSIDY_SPLIT_ORIGINAL',
  dcp0010: 'SUBSIDY_SPLIT_DCP0010',
  dcp0012: 'SUBSIDY_SPLIT_DCP0012',
} as const;

const BestBlockSchema = z.object({ hash: z.string().regex(/^[0-9a-fA-F]{64}$/), height: z.number().int().nonnegative() });
const HeaderHexSchema = z.string().regex(/^[0-9a-fA-F]{360}$/);
const TxidListSchema = z.array(z.string().regex(/^[0-9a-fA-F]{64}$/)).max(10_000);
const TxHexSchema = z.string().regex(/^(?:[0-9a-fA-F]{2})+$/);

/** Votes waiting at once for a draw this proxy has not seen (beyond this they are refused at once). */
const MAX_DRAW_WAITERS = 10_000;

/** A tspend the proxy published: its feed seq (to unstick it) and expiry. */
interface KnownTSpend {
  seqNum: number;
  expiry: number;
}

export interface ChainSyncOptions {
  session: DcrdSession;
  feed: ChainFeed;
  params: NetParams;
  subsidySplit: SubsidySplit;
  maxCatchUpBlocks: number;
  logger: Logger;
  tracer: Tracer;
  metrics: NodeProxyMetrics;
  now: () => number;
}

/** Chain state as the proxy saw it, and the serial handler of dcrd notifications. */
export class ChainSync {
  private readonly o: ChainSyncOptions;
  private readonly log: Logger;
  private readonly blocks = new Map<string, KnownBlock>();
  private readonly mainChain = new Set<string>();
  private readonly draws = new Map<string, Draw>();
  private readonly tspends = new Map<string, KnownTSpend>();
  private tipHash: string | undefined;
  private queue: Promise<void> = Promise.resolve();
  /** Senders waiting for a draw this proxy has not published yet (whenDraw). */
  private readonly drawWaiters = new Map<{ resolve: (d: Draw | undefined) => void; timer: NodeJS.Timeout }, string>();
  private readonly blockListeners = new Set<(ev: { kind: 'connected' | 'disconnected'; block: KnownBlock }) => void>();
  /** Re-sent winning-tickets notifications dropped as duplicates. */
  duplicateDraws = 0;
  /** Winning-tickets notifications refused as impossible (too many or repeated tickets). */
  refusedDraws = 0;

  constructor(o: ChainSyncOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'chain-sync' });
    o.session.onNotification((n) => {
      void this.enqueue(() => this.handle(n), n.kind);
    });
  }

  /** The main-chain tip the proxy last saw. */
  best(): { hash: string; height: number } | undefined {
    const b = this.tipHash ? this.blocks.get(this.tipHash) : undefined;
    return b ? { hash: b.hash, height: b.height } : undefined;
  }

  /** The draw published for `blockHashHex`, if any. */
  draw(blockHashHex: string): Draw | undefined {
    return this.draws.get(blockHashHex);
  }

  /**
   * The draw for `blockHashHex` as soon as this proxy publishes it, or undefined after
   * `timeoutMs` (at once when too many are waiting). A voter that heard a draw from another
   * region's proxy can send its vote here before this proxy's dcrd has connected the block
   * (block relay across regions is one WAN delay); waiting keeps that vote for this dcrd
   * instead of refusing it and leaving it to arrive one WAN hop later by relay.
   */
  whenDraw(blockHashHex: string, timeoutMs: number): Promise<Draw | undefined> {
    const known = this.draws.get(blockHashHex);
    if (known) return Promise.resolve(known);
    if (this.drawWaiters.size >= MAX_DRAW_WAITERS || timeoutMs <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const w = { resolve, timer: setTimeout(() => {
        this.drawWaiters.delete(w);
        resolve(undefined);
      }, timeoutMs) };
      w.timer.unref();
      this.drawWaiters.set(w, blockHashHex);
    });
  }

  /** Subscribes to main-chain connects/disconnects (after they were published). */
  onBlock(fn: (ev: { kind: 'connected' | 'disconnected'; block: KnownBlock }) => void): () => void {
    this.blockListeners.add(fn);
    return () => this.blockListeners.delete(fn);
  }

  /**
   * Catch-up after a (re)connect: connects dcrd's best block (walking back
   * over anything missed) and asks dcrd to re-send the current draws.
   * Queued behind notifications already received; resolves when done.
   */
  catchUp(): Promise<void> {
    return this.enqueue(async () => {
      const best = await this.o.session.callAs('getbestblock', [], BestBlockSchema);
      const hash = best.hash.toLowerCase();
      if (!(this.mainChain.has(hash) && this.tipHash === hash)) {
        const headerHex = await this.o.session.callAs('getblockheader', [hash, false], HeaderHexSchema);
        await this.connect(fromHex(headerHex), this.o.now());
      }
      await this.o.session.call('rebroadcastwinners');
      // Tspends dcrd announced while we were not listening (decred/dcrd: internal/rpcserver/rpcwebsocket.go).
      const ids = await this.o.session.callAs('getrawmempool', [false, 'tspend'], TxidListSchema);
      for (const id of ids) {
        if (this.tspends.has(id.toLowerCase())) continue;
        const hex = await this.o.session.callAs('getrawtransaction', [id, 0], TxHexSchema);
        this.tspend(hex, this.o.now());
      }
    }, 'catch-up');
  }

  /** Hashes (display hex) of the tspends published and not yet expired. */
  knownTSpends(): string[] {
    return [...this.tspends.keys()];
  }

  /** Resolves when everything queued so far was handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(fn: () => Promise<void>, what: string): Promise<void> {
    const run = this.queue.then(fn);
    this.queue = run.catch((err: unknown) => {
      // The item is lost only until the next catch-up, which re-derives the
      // chain from dcrd; logging is the complete handling here.
      this.log.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code }, what }, 'chain update failed; next catch-up repairs it');
    });
    return run;
  }

  private async handle(n: DcrdNotification): Promise<void> {
    this.o.metrics.notifications.inc({ type: n.kind });
    switch (n.kind) {
      case 'blockconnected':
        return this.connect(fromHex(n.headerHex), n.receivedAtMs);
      case 'blockdisconnected':
        return this.disconnect(fromHex(n.headerHex), n.receivedAtMs);
      case 'winningtickets':
        return this.winningTickets(n.blockHashHex, n.tickets, n.receivedAtMs);
      case 'tspend':
        this.tspend(n.txHex, n.receivedAtMs);
        return;
    }
  }

  /** Publishes a tspend once (sticky until it expires); a malformed one is logged and dropped. */
  private tspend(txHex: string, receivedAtMs: number): void {
    let raw: Uint8Array;
    let info: ReturnType<typeof parseTSpend>;
    try {
      raw = fromHex(txHex, 'tspend');
      info = parseTSpend(decodeTx(raw));
    } catch (err) {
      if (!(err instanceof DecredError)) throw err;
      this.log.warn({ err: { message: err.message, code: err.code } }, 'malformed tspend from dcrd dropped');
      return;
    }
    const hash = hashToHex(info.hash);
    if (this.tspends.has(hash)) return;
    const best = this.best();
    if (best && best.height + 1 >= info.expiry) {
      this.log.debug({ tspend: hash, expiry: info.expiry }, 'expired tspend ignored');
      return;
    }
    const ev = this.o.feed.publish({ kind: 'tspend', tspend: { raw_tx: raw, hash, expiry: info.expiry } }, receivedAtMs, { sticky: true, height: best?.height ?? 0 });
    this.tspends.set(hash, { seqNum: ev.seqNum, expiry: info.expiry });
    this.log.info({ tspend: hash, expiry: info.expiry }, 'tspend published');
  }

  /** Forgets tspends expired at the next height (dcrd IsExpiredTx). */
  private pruneTSpends(bestHeight: number): void {
    for (const [h, t] of this.tspends) {
      if (bestHeight + 1 >= t.expiry) {
        this.tspends.delete(h);
        this.o.feed.unstick(t.seqNum);
      }
    }
  }

  private parse(header: Uint8Array): KnownBlock {
    const h = decodeBlockHeader(header);
    return {
      hash: hashToHex(blockHash(header)),
      height: h.height,
      prevHash: hashToHex(h.prevBlock),
      header,
      stakeVersion: h.stakeVersion,
    };
  }

  private async fetchBlock(hash: string): Promise<KnownBlock> {
    const known = this.blocks.get(hash);
    if (known) return known;
    const headerHex = await this.o.session.callAs('getblockheader', [hash, false], HeaderHexSchema);
    const b = this.parse(fromHex(headerHex));
    if (b.hash !== hash) throw new DcrdProtocolError(`getblockheader ${hash} returned the header of ${b.hash}`);
    this.blocks.set(b.hash, b);
    return b;
  }

  private async connect(header: Uint8Array, receivedAtMs: number): Promise<void> {
    const b = this.blocks.get(hashToHex(blockHash(header))) ?? this.parse(header);
    this.blocks.set(b.hash, b);
    if (this.mainChain.has(b.hash)) return; // already connected (catch-up raced a notification)
    // Collect the missing ancestors until one on our main chain (or none known yet).
    const path: KnownBlock[] = [b];
    let cursor = b;
    if (this.tipHash !== undefined) {
      while (cursor.height > 0 && !this.mainChain.has(cursor.prevHash) && path.length < this.o.maxCatchUpBlocks) {
        cursor = await this.fetchBlock(cursor.prevHash);
        path.push(cursor);
      }
      if (this.mainChain.has(cursor.prevHash)) {
        // Unwind our blocks that are not ancestors of the new chain (a reorg we missed).
        const forkPoint = cursor.prevHash;
        while (this.tipHash !== undefined && this.tipHash !== forkPoint) {
          const old = this.blocks.get(this.tipHash);
          if (!old) break;
          this.unwind(old, receivedAtMs);
        }
      } else {
        this.log.warn({ blockHashHex: b.hash, height: b.height }, 'chain gap larger than the catch-up window; continuing from the new blocks');
      }
    }
    for (const blk of path.reverse()) {
      this.mainChain.add(blk.hash);
      this.tipHash = blk.hash;
      this.o.feed.publish(
        { kind: 'block_connected', block_connected: { hash: blk.hash, height: blk.height, header: blk.header, prev_hash: blk.prevHash } },
        receivedAtMs,
      );
      for (const fn of this.blockListeners) fn({ kind: 'connected', block: blk });
    }
    this.o.metrics.bestHeight.set(b.height);
    this.pruneTSpends(b.height);
    this.prune();
  }

  private unwind(blk: KnownBlock, receivedAtMs: number): void {
    this.mainChain.delete(blk.hash);
    this.tipHash = this.blocks.has(blk.prevHash) ? blk.prevHash : undefined;
    const d = this.draws.get(blk.hash);
    if (d) d.disconnected = true;
    this.o.feed.publish(
      { kind: 'block_disconnected', block_disconnected: { hash: blk.hash, height: blk.height, header: blk.header, prev_hash: blk.prevHash } },
      receivedAtMs,
    );
    for (const fn of this.blockListeners) fn({ kind: 'disconnected', block: blk });
  }

  private async disconnect(header: Uint8Array, receivedAtMs: number): Promise<void> {
    const hash = hashToHex(blockHash(header));
    if (!this.mainChain.has(hash)) {
      this.log.debug({ blockHashHex: hash }, 'disconnect of a block not on our main chain ignored');
      return;
    }
    // Unwind down to and including `hash` (normally it is the tip).
    while (this.tipHash !== undefined) {
      const tip = this.blocks.get(this.tipHash);
      if (!tip) break;
      this.unwind(tip, receivedAtMs);
      if (tip.hash === hash) break;
    }
  }

  private async winningTickets(blockHashHex: string, tickets: string[], receivedAtMs: number): Promise<void> {
    // A block draws exactly TicketsPerBlock distinct tickets (dcrd stake/lottery.go
    // findTicketIdxs); dcrd's winningtickets notification names the draw of one block.
    if (tickets.length > this.o.params.ticketsPerBlock || new Set(tickets).size !== tickets.length) {
      this.refusedDraws++;
      this.log.warn({ blockHashHex, tickets: tickets.length }, 'dcrd sent a draw that no block can have; refused');
      return;
    }
    if (this.draws.has(blockHashHex)) {
      this.duplicateDraws++;
      return;
    }
    // A side-chain tip's draw arrives without a blockconnected: fetch its header.
    const blk = await this.fetchBlock(blockHashHex);
    if (this.draws.has(blockHashHex)) return;
    // One root span per (block, ticket), starting when dcrd's notification
    // arrived: each ticket's vote is its own trace (docs/architecture.md, "Observability").
    const notify = tickets.map((t) => startProxySpan(this.o.tracer, SPAN.PROXY_NOTIFY, {
      startTimeMs: receivedAtMs,
      attributes: { [ATTR.BLOCK_HASH]: blk.hash, [ATTR.HEIGHT]: blk.height, [ATTR.TICKET_HASH]: t },
    }));
    const ticketTraces = notify.map((n) => ({ traceparent: n.traceparent, tracestate: '' }));
    const ev: WinningTicketsEvent = {
      block_hash: blk.hash,
      height: blk.height,
      header: blk.header,
      tickets: [...tickets],
      vote_subsidy: voteSubsidy(blk.height, this.o.params, this.o.subsidySplit).toString(),
      subsidy_split: SPLIT_ENUM[this.o.subsidySplit],
      // What a wallet of the connected dcrd's release writes (dcrd-session.ts probes it on every connection).
      vote_version: this.o.session.voteVersion || this.o.params.voteVersion,
      stake_version: blk.stakeVersion,
      network: this.o.params.name,
      trace: ticketTraces[0] ?? { traceparent: '', tracestate: '' },
      ticket_traces: ticketTraces,
    };
    this.draws.set(blk.hash, {
      blockHash: blk.hash,
      height: blk.height,
      tickets: ev.tickets,
      ticketSet: new Set(ev.tickets),
      disconnected: !this.mainChain.has(blk.hash) && this.isStaleSideBlock(blk),
    });
    this.o.feed.publish({ kind: 'winning_tickets', winning_tickets: ev }, receivedAtMs);
    for (const n of notify) n.span.end();
    const draw = this.draws.get(blk.hash);
    for (const [w, hash] of this.drawWaiters) {
      if (hash !== blk.hash) continue;
      this.drawWaiters.delete(w);
      clearTimeout(w.timer);
      w.resolve(draw);
    }
  }

  /** A side-chain block is a tip candidate only at or near the best height. */
  private isStaleSideBlock(blk: KnownBlock): boolean {
    const best = this.best();
    return best !== undefined && blk.height < best.height - 1;
  }

  /** Keeps the block index and draw map bounded. */
  private prune(): void {
    const best = this.best();
    if (!best) return;
    const floor = best.height - 2 * this.o.maxCatchUpBlocks;
    if (this.blocks.size > 4 * this.o.maxCatchUpBlocks) {
      for (const [h, b] of this.blocks) if (b.height < floor && h !== this.tipHash) this.blocks.delete(h);
      for (const h of this.mainChain) if (!this.blocks.has(h)) this.mainChain.delete(h);
    }
    if (this.draws.size > 4 * this.o.maxCatchUpBlocks) {
      for (const [h, d] of this.draws) if (d.height < floor) this.draws.delete(h);
    }
  }
}
