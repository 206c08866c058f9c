/**
 * SendVote: local validation, dedupe, classification of dcrd's answer, and
 * delivery until mined.
 *
 * Invariants:
 * - only a transaction that decodes as a vote (decred parseVote) ever reaches
 *   dcrd, and only for a block whose draw this proxy published (still a tip
 *   candidate, the ticket among its winners) or, for a block whose draw it
 *   never saw (it started after that draw: voters re-send after a proxy
 *   restart), a block dcrd knows at the vote's height that is still recent
 *   (main chain within `maxVoteAgeBlocks`, or a tip): dcrd then decides
 *   (-40 when it already holds the vote);
 * - the same tx (by tx hash) is sent to dcrd once per proxy: a repeat while
 *   the first is in flight or after dcrd took it answers DUPLICATE without a
 *   dcrd call (DUPLICATE counts as success everywhere);
 * - every vote dcrd accepted (or already had) is kept until it is mined, its
 *   block is disconnected, or the best block is `resend.maxAgeBlocks` above
 *   it, and re-sent only when dcrd no longer holds it: after each reconnect and
 *   every `resend.intervalMs` the proxy reads dcrd's mempool votes
 *   (`getrawmempool false votes`) and the stake transactions of the voted
 *   block's main-chain child (getblock, no transaction index needed), and sends
 *   only the votes in neither (a restarted dcrd lost its mempool). dcrd relays
 *   a vote once and never re-broadcasts it (docs/architecture.md, invariant 6),
 *   so sending it again to a dcrd that holds it does nothing.
 */
import type { Span, Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { z } from 'zod';
import { decodeTx, hashToHex, parseVote, toHex, txHash, type Tx } from '../decred/index.ts';
import type { ChainSync } from './chain-sync.ts';
import type { NodeProxyMetrics } from './deps.ts';
import type { DcrdSession } from './dcrd-session.ts';
import { DCRD_ERR_NOT_FOUND, type BlockReader } from './tx-lookup.ts';
import { DcrdRpcError, DcrdUnavailableError, VOTE_REJECT_CODES, type VoteRejectCode } from './errors.ts';
import { startProxySpan } from './trace.ts';
import { ATTR, SPAN, recordError } from '../telemetry/index.ts';

/** dcrd JSON-RPC error codes (decred/dcrd: dcrjson/jsonrpcerr.go). */
export const DCRD_ERR_MISC = -1;
export const DCRD_ERR_DESERIALIZATION = -22;
export const DCRD_ERR_DUPLICATE_TX = -40;

/**
 * How long after a child of the voted block connects the proxy asks dcrd whether the
 * vote was mined. That moment is also the draw of the child: the check waits so its
 * getrawtransaction calls stay out of the new draw's vote window (a re-send meanwhile
 * is answered -40, which is harmless).
 */
export const DEFAULT_MINED_CHECK_DELAY_MS = 1_000;
/**
 * How long a vote for a block this proxy has not seen waits for the block's draw before it is
 * refused (UNKNOWN_BLOCK): a block reaches another region's dcrd one WAN delay after the draw
 * its voters may have heard first; the voter's send deadline (2 s) leaves room for this.
 */
export const UNKNOWN_BLOCK_WAIT_MS = 1_000;

/** SendVote outcomes, as the proto's SendVoteStatus names. */
export type SendVoteStatus = 'ACCEPTED' | 'DUPLICATE' | 'CONFLICT' | 'REJECTED' | 'UNAVAILABLE';

/** The SendVoteResponse message. */
export interface SendVoteResult {
  status: SendVoteStatus;
  txid: string;
  dcrd_code: number;
  message: string;
  reject_code: VoteRejectCode | '';
  deduplicated_by_proxy: boolean;
}

/** What a vote refers to (out[0] and in[1] of an SSGen, decred/dcrwallet wallet/createtx.go createUnsignedVote). */
export interface VoteTarget {
  ticketHash: string;
  blockHash: string;
  blockHeight: number;
}

/** The voted block and the ticket of a vote (decred parseVote; throws RuleError NOT_A_VOTE). */
export function readVoteTarget(tx: Tx): VoteTarget {
  const v = parseVote(tx);
  return { ticketHash: hashToHex(v.ticketHash), blockHash: hashToHex(v.blockHash), blockHeight: v.blockHeight };
}

/**
 * Classifies a dcrd sendrawtransaction error. dcrd reports every mempool rule
 * violation as -1 (ErrRPCMisc) with text; the one the cluster must tell apart
 * is a *different* vote for the same ticket and block, which dcrd words
 * "... already votes on block ..." (decred/dcrd internal/mempool: vote
 * double-spend check). That text is the only signal dcrd gives, so it is
 * matched here and nowhere else.
 */
export function classifyDcrdError(err: DcrdRpcError): SendVoteStatus {
  if (err.rpcCode === DCRD_ERR_DUPLICATE_TX) return 'DUPLICATE';
  if (err.rpcCode === DCRD_ERR_MISC && /already votes on block/i.test(err.message)) return 'CONFLICT';
  return 'REJECTED';
}

interface PendingVote {
  txid: string;
  rawHex: string;
  target: VoteTarget;
  /** True once dcrd accepted or reported it as known (-40). */
  confirmed: boolean;
  sentAtMs: number;
}

export interface VoteSenderOptions {
  session: DcrdSession;
  chain: ChainSync;
  /** Block reads (mined checks through the voted block's child). */
  blocks: BlockReader;
  maxVoteAgeBlocks: number;
  resendIntervalMs: number;
  resendMaxAgeBlocks: number;
  metrics: NodeProxyMetrics;
  logger: Logger;
  tracer: Tracer;
  now: () => number;
  /** Default {@link DEFAULT_MINED_CHECK_DELAY_MS}. */
  minedCheckDelayMs?: number;
}

function result(status: SendVoteStatus, txid: string, extra: Partial<SendVoteResult> = {}): SendVoteResult {
  return { status, txid, dcrd_code: 0, message: '', reject_code: '', deduplicated_by_proxy: false, ...extra };
}

/** Validates, dedupes, sends and keeps re-sending votes. */
export class VoteSender {
  private readonly o: VoteSenderOptions;
  private readonly log: Logger;
  private readonly pending = new Map<string, PendingVote>();
  private readonly inflight = new Map<string, Promise<SendVoteResult>>();
  private timer: NodeJS.Timeout | undefined;
  /** Deferred mined checks (cleared on stop). */
  private readonly minedChecks = new Set<NodeJS.Timeout>();
  private resendRun: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly unsubscribe: () => void;
  /** sendrawtransaction calls made by re-sends. */
  resent = 0;

  constructor(o: VoteSenderOptions) {
    this.o = o;
    this.log = o.logger.child({ component: 'send-vote' });
    this.unsubscribe = o.chain.onBlock((ev) => this.onBlock(ev.kind, ev.block.hash, ev.block.prevHash, ev.block.height));
  }

  /** Votes kept for re-sending. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Txids kept for re-sending (tests, status). */
  pendingTxids(): string[] {
    return [...this.pending.keys()];
  }

  /** Starts the periodic re-send (if configured). */
  start(): void {
    if (this.o.resendIntervalMs > 0) {
      this.timer = setInterval(() => this.scheduleResend('interval'), this.o.resendIntervalMs);
      this.timer.unref();
    }
  }

  /** Stops the periodic re-send and awaits a running one. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.minedChecks) clearTimeout(t);
    this.minedChecks.clear();
    this.unsubscribe();
    await this.resendRun;
  }

  /** Re-sends every pending vote now (after a reconnect). Serialised with other re-sends. */
  scheduleResend(reason: 'reconnect' | 'interval'): Promise<void> {
    if (this.stopped) return this.resendRun;
    // A failed pass is logged and the chain goes on: a rejected link would skip every later re-send.
    this.resendRun = this.resendRun.then(() => this.resendAll(reason)).catch((err: unknown) => {
      this.log.warn({ reason, err: { message: (err as Error).message } }, 're-send pass failed; pending votes are re-sent on the next pass');
    });
    return this.resendRun;
  }

  /** Handles one SendVote request. Never throws: every outcome is a result. */
  async send(raw: Uint8Array, traceparent?: string): Promise<SendVoteResult> {
    const t0 = performance.now();
    const { span } = startProxySpan(this.o.tracer, SPAN.PROXY_SEND, { parentTraceparent: traceparent });
    let r: SendVoteResult;
    try {
      r = await this.sendInner(raw, span);
      span.setAttribute(ATTR.OUTCOME, r.status.toLowerCase());
      if (r.txid) span.setAttribute(ATTR.VOTE_TXID, r.txid);
      if (r.dcrd_code !== 0) span.setAttribute(ATTR.DCRD_CODE, r.dcrd_code);
      if (r.reject_code) span.setAttribute(ATTR.ERROR_CODE, r.reject_code);
    } finally {
      span.end();
    }
    const resultLabel = r.status === 'REJECTED' && r.dcrd_code === 0 ? 'invalid' : r.status.toLowerCase();
    this.o.metrics.sendVotes.inc({ result: resultLabel });
    this.o.metrics.sendVoteDuration.observe({ result: resultLabel }, (performance.now() - t0) / 1000);
    if (r.status !== 'ACCEPTED' && r.status !== 'DUPLICATE') {
      this.log.info({ voteTxid: r.txid, status: r.status, code: r.reject_code, dcrdCode: r.dcrd_code }, 'vote not accepted');
    }
    return r;
  }

  private async sendInner(raw: Uint8Array, span: Span): Promise<SendVoteResult> {
    let tx: Tx;
    try {
      tx = decodeTx(raw);
    } catch (err) {
      return result('REJECTED', '', { reject_code: VOTE_REJECT_CODES.DECODE, message: (err as Error).message });
    }
    const txid = hashToHex(txHash(tx));
    const known = this.pending.get(txid);
    if (known?.confirmed) return result('DUPLICATE', txid, { deduplicated_by_proxy: true, message: 'already sent by this proxy' });
    const running = this.inflight.get(txid);
    if (running) {
      const first = await running;
      if (first.status === 'ACCEPTED' || first.status === 'DUPLICATE') {
        return result('DUPLICATE', txid, { deduplicated_by_proxy: true, message: 'already sent by this proxy' });
      }
      return first;
    }
    let target: VoteTarget;
    try {
      target = readVoteTarget(tx);
    } catch (err) {
      return result('REJECTED', txid, { reject_code: VOTE_REJECT_CODES.NOT_A_VOTE, message: (err as Error).message });
    }
    span.setAttributes({ [ATTR.TICKET_HASH]: target.ticketHash, [ATTR.BLOCK_HASH]: target.blockHash, [ATTR.HEIGHT]: target.blockHeight });
    const rejected = await this.checkTarget(target);
    if (rejected) return result('REJECTED', txid, rejected);
    const p = this.deliver(txid, toHex(raw), target, span);
    this.inflight.set(txid, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(txid);
    }
  }

  /**
   * A vote can arrive before this proxy's dcrd has the block (its voter heard the draw from
   * another region first): wait for the draw (bounded) rather than refuse it. A vote for an
   * earlier block whose draw this proxy never saw (it started after it) is checked with dcrd.
   */
  private async checkTarget(t: VoteTarget): Promise<Pick<SendVoteResult, 'reject_code' | 'message'> | undefined> {
    let draw = this.o.chain.draw(t.blockHash);
    if (!draw) {
      const best = this.o.chain.best();
      // Below the proxy's tip its draw will not come any more: ask dcrd at once.
      if (!(best && t.blockHeight < best.height)) draw = await this.o.chain.whenDraw(t.blockHash, UNKNOWN_BLOCK_WAIT_MS);
      if (!draw) return this.checkUnseenTarget(t);
    }
    return this.checkKnownTarget(t, draw);
  }

  /**
   * A vote for a block whose draw this proxy did not publish: passed to dcrd (which checks the
   * ticket and answers -40 for a vote it holds) when dcrd knows the block at the vote's height
   * and it can still be voted: on the main chain within `maxVoteAgeBlocks` of the tip, or a
   * side-chain block at the tip's height. Otherwise refused as before.
   */
  private async checkUnseenTarget(t: VoteTarget): Promise<Pick<SendVoteResult, 'reject_code' | 'message'> | undefined> {
    const unknown = { reject_code: VOTE_REJECT_CODES.UNKNOWN_BLOCK, message: `no draw seen for block ${t.blockHash} within ${UNKNOWN_BLOCK_WAIT_MS} ms and dcrd does not know it` };
    let h: { height: number; confirmations: number };
    try {
      h = await this.o.session.callAs('getblockheader', [t.blockHash, true], z.object({ height: z.number().int(), confirmations: z.number().int() }).loose());
    } catch (err) {
      if (err instanceof DcrdRpcError && err.rpcCode === DCRD_ERR_NOT_FOUND) return unknown;
      if (err instanceof DcrdRpcError) return { ...unknown, message: `${unknown.message} (${err.message})` };
      throw err;
    }
    if (h.height !== t.blockHeight) {
      return { reject_code: VOTE_REJECT_CODES.HEIGHT_MISMATCH, message: `vote says height ${t.blockHeight}, block ${t.blockHash} is at ${h.height}` };
    }
    // dcrd's getblockheader: confirmations = best - height + 1 on the main chain, -1 off it.
    const onMain = h.confirmations > 0;
    const bestHeight = onMain ? h.height + h.confirmations - 1 : (this.o.chain.best()?.height ?? h.height);
    if ((onMain && h.confirmations - 1 > this.o.maxVoteAgeBlocks) || (!onMain && h.height < bestHeight)) {
      return { reject_code: VOTE_REJECT_CODES.STALE_BLOCK, message: `block ${t.blockHash} (${h.height}) is no longer a tip candidate (best ${bestHeight})` };
    }
    this.log.debug({ blockHashHex: t.blockHash, height: t.blockHeight, ticket: t.ticketHash }, 'vote for a block whose draw this proxy did not see: passed to dcrd');
    return undefined;
  }

  /** The local refusal of a vote for `t` given the proxy's draw for its block (undefined: none seen). */
  private checkKnownTarget(t: VoteTarget, draw = this.o.chain.draw(t.blockHash)): Pick<SendVoteResult, 'reject_code' | 'message'> | undefined {
    if (!draw) return { reject_code: VOTE_REJECT_CODES.UNKNOWN_BLOCK, message: `no draw seen for block ${t.blockHash} within ${UNKNOWN_BLOCK_WAIT_MS} ms` };
    if (draw.height !== t.blockHeight) {
      return { reject_code: VOTE_REJECT_CODES.HEIGHT_MISMATCH, message: `vote says height ${t.blockHeight}, block ${t.blockHash} is at ${draw.height}` };
    }
    const best = this.o.chain.best();
    if (draw.disconnected || (best && draw.height < best.height - this.o.maxVoteAgeBlocks)) {
      return { reject_code: VOTE_REJECT_CODES.STALE_BLOCK, message: `block ${t.blockHash} (${draw.height}) is no longer a tip candidate (best ${best?.height ?? '?'})` };
    }
    if (!draw.ticketSet.has(t.ticketHash)) {
      return { reject_code: VOTE_REJECT_CODES.TICKET_NOT_DRAWN, message: `ticket ${t.ticketHash} was not drawn for block ${t.blockHash}` };
    }
    return undefined;
  }

  /**
   * One sendrawtransaction inside a `dcrd.accept` span (child of `proxy.send`,
   * outcome = dcrd's verdict); keeps the vote for re-sending unless dcrd
   * refused it for good.
   */
  private async deliver(txid: string, rawHex: string, target: VoteTarget, parent: Span): Promise<SendVoteResult> {
    const { span } = startProxySpan(this.o.tracer, SPAN.DCRD_ACCEPT, {
      parent,
      attributes: { [ATTR.TICKET_HASH]: target.ticketHash, [ATTR.BLOCK_HASH]: target.blockHash, [ATTR.VOTE_TXID]: txid },
    });
    try {
      const r = await this.deliverInner(txid, rawHex, target);
      span.setAttribute(ATTR.OUTCOME, r.status.toLowerCase());
      if (r.dcrd_code !== 0) span.setAttribute(ATTR.DCRD_CODE, r.dcrd_code);
      return r;
    } catch (err) {
      recordError(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  private async deliverInner(txid: string, rawHex: string, target: VoteTarget): Promise<SendVoteResult> {
    const rec: PendingVote = this.pending.get(txid) ?? { txid, rawHex, target, confirmed: false, sentAtMs: this.o.now() };
    try {
      await this.o.session.call('sendrawtransaction', [rawHex, false]);
      rec.confirmed = true;
      this.pending.set(txid, rec);
      return result('ACCEPTED', txid);
    } catch (err) {
      if (err instanceof DcrdRpcError) {
        const status = classifyDcrdError(err);
        if (status === 'DUPLICATE') {
          rec.confirmed = true;
          this.pending.set(txid, rec);
          return result('DUPLICATE', txid, { dcrd_code: err.rpcCode, message: err.message });
        }
        this.pending.delete(txid);
        return result(status, txid, {
          dcrd_code: err.rpcCode,
          message: err.message,
          reject_code: status === 'REJECTED' ? VOTE_REJECT_CODES.DCRD_REJECTED : '',
        });
      }
      if (err instanceof DcrdUnavailableError) {
        // Kept unconfirmed: the next reconnect delivers it if it is still useful.
        this.pending.set(txid, rec);
        return result('UNAVAILABLE', txid, { message: err.message });
      }
      throw err;
    }
  }

  private onBlock(kind: 'connected' | 'disconnected', hash: string, prevHash: string, height: number): void {
    const toCheck: PendingVote[] = [];
    for (const [txid, v] of this.pending) {
      if (kind === 'disconnected' && v.target.blockHash === hash) {
        this.pending.delete(txid); // superseded by a reorg
      } else if (kind === 'connected' && height >= v.target.blockHeight + this.o.resendMaxAgeBlocks) {
        this.pending.delete(txid); // too old: mined or missed by now
      } else if (kind === 'connected' && prevHash === v.target.blockHash) {
        toCheck.push(v);
      }
    }
    if (toCheck.length === 0 || this.stopped) return;
    const t = setTimeout(() => {
      this.minedChecks.delete(t);
      for (const v of toCheck) if (this.pending.get(v.txid) === v) void this.checkMined(v, hash);
    }, this.o.minedCheckDelayMs ?? DEFAULT_MINED_CHECK_DELAY_MS);
    t.unref();
    this.minedChecks.add(t);
  }

  /**
   * When a child of the voted block connects, read the child's stake transactions (one getblock
   * for every vote on that block; no transaction index needed): a vote in it is mined.
   */
  private async checkMined(v: PendingVote, childHash: string): Promise<void> {
    try {
      const child = await this.o.blocks.read(childHash);
      if (child?.stakeTxids.has(v.txid)) {
        this.pending.delete(v.txid);
        this.log.debug({ voteTxid: v.txid, blockHashHex: childHash }, 'vote mined');
      }
    } catch (err) {
      // Unknown (dcrd down, block reorganised away): the next pass looks again; keeping it is safe.
      this.log.debug({ voteTxid: v.txid, err: { message: (err as Error).message } }, 'mined check inconclusive');
    }
  }

  /**
   * What dcrd holds of the pending votes: its mempool's votes, and per voted block the stake
   * transactions of its main-chain child (mined). Undefined when dcrd did not answer.
   */
  private async heldByDcrd(votes: readonly PendingVote[]): Promise<{ mempool: Set<string>; mined: Set<string> } | undefined> {
    let mempool: Set<string>;
    try {
      mempool = new Set((await this.o.session.callAs('getrawmempool', [false, 'votes'], z.array(z.string()))).map((h) => h.toLowerCase()));
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message } }, 'could not read dcrd\'s mempool; pending votes checked on the next pass');
      return undefined;
    }
    const mined = new Set<string>();
    const best = this.o.chain.best();
    const byBlock = new Map<string, VoteTarget>();
    for (const v of votes) {
      if (!mempool.has(v.txid) && best && v.target.blockHeight < best.height) byBlock.set(v.target.blockHash, v.target);
    }
    for (const t of byBlock.values()) {
      try {
        const child = await this.o.blocks.childStakeTxids(t.blockHash, t.blockHeight);
        for (const id of child?.txids ?? []) mined.add(id);
      } catch (err) {
        if (err instanceof DcrdRpcError) continue;
        // dcrd went away mid-check (restart, network): what it holds is unknown; the next pass looks again.
        this.log.warn({ err: { message: (err as Error).message } }, 'could not read the voted blocks\' children; pending votes checked on the next pass');
        return undefined;
      }
    }
    return { mempool, mined };
  }

  private async resendAll(reason: string): Promise<void> {
    if (this.pending.size === 0 || this.o.session.state !== 'ready') return;
    for (const v of [...this.pending.values()]) {
      if (this.checkKnownTarget(v.target)?.reject_code === VOTE_REJECT_CODES.STALE_BLOCK) this.pending.delete(v.txid);
    }
    const votes = [...this.pending.values()];
    if (votes.length === 0) return;
    const held = await this.heldByDcrd(votes);
    if (!held) return;
    let sent = 0;
    for (const v of votes) {
      if (this.stopped) return;
      if (this.pending.get(v.txid) !== v) continue; // mined or dropped meanwhile
      if (held.mempool.has(v.txid)) {
        v.confirmed = true;
        continue;
      }
      if (held.mined.has(v.txid)) {
        this.pending.delete(v.txid);
        continue;
      }
      // Neither in dcrd's mempool nor mined: dcrd lost it (restarted) or never took it.
      sent++;
      try {
        await this.o.session.call('sendrawtransaction', [v.rawHex, false]);
        v.confirmed = true;
      } catch (err) {
        if (err instanceof DcrdRpcError) {
          if (classifyDcrdError(err) === 'DUPLICATE') {
            v.confirmed = true;
            continue;
          }
          // dcrd refuses it now (conflict, block no longer valid): it can never be mined.
          this.log.info({ voteTxid: v.txid, dcrdCode: err.rpcCode, reason }, 'pending vote dropped: dcrd refuses it');
          this.pending.delete(v.txid);
          continue;
        }
        this.log.warn({ voteTxid: v.txid, err: { message: (err as Error).message }, reason }, 'vote re-send failed; retried later');
        return;
      }
    }
    if (sent > 0) {
      this.resent += sent;
      this.log.info({ count: sent, reason }, 'pending votes re-sent (not in dcrd\'s mempool nor mined)');
    }
  }
}
