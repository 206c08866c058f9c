/**
 * One WatchChain subscription per proxy, kept open for the voter's lifetime.
 * The node proxy client resumes each stream by seq within the proxy's epoch
 * after any disconnect (nothing published meanwhile is lost); this file turns
 * its events into {@link ChainEvent}s, validates them (proxy data is untrusted
 * input: a bad event is logged and skipped, never fatal) and reports stream
 * (re)starts. Every stream feeds the same callback; `event-dedupe.ts` keeps the
 * first arrival.
 *
 * The first subscription asks for a replay from height 1: the stream_start's
 * best block lets the deduper drop everything too old, and the draws still
 * open are voted on. That is how a restarted voter resumes: the vote records
 * make re-running a draw harmless.
 */
import type { ChainEvent as ProxyChainEvent, NodeProxyClient, StreamStartInfo, WatchHandle } from '../nodeproxy/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { decodeTx, hashToHex, parseTSpend } from '../decred/index.ts';
import type { ChainEvent } from './chain-event.ts';
import { ChainEventError } from './errors.ts';

/** Callbacks of {@link ChainWatch}. */
export interface ChainWatchHandlers {
  onEvent(ev: ChainEvent): void;
  /**
   * A stream (re)started; `reconnected` is false the first time; `voteVersion` is the version a
   * wallet writes behind the proxy's dcrd (0: the proxy has not reached it yet).
   */
  onStreamStart(address: string, info: { bestHeight: number | undefined; resumeStatus: string; reconnected: boolean; voteVersion: number }): void;
  onStreamDown(address: string, err: unknown): void;
  /** A proxy said another voter's streams to it ended (`gone`) or one is open again (`back`). */
  onVoterPresence?(fact: { kind: 'gone' | 'back'; nodeId: string; atMs: number; proxy: string }): void;
  /** A treasury spend a proxy streamed (validated: a tspend whose hash matches). */
  onTSpend?(tspend: TSpendSeen): void;
}

/** A treasury spend as a proxy streamed it. */
export interface TSpendSeen {
  /** Display hex. */
  hashHex: string;
  expiry: number;
  /** The Pi key that signed it (33 bytes, sigScript [66:99]). */
  piKey: Uint8Array;
  /** The raw tspend (for a full check: treasury.ts TSpendBook.addRaw). */
  raw: Uint8Array;
  proxy: string;
}

/**
 * Checks a streamed tspend: it must parse as a tspend (CheckTSpend) with the
 * announced hash and expiry. @throws {ChainEventError} otherwise.
 */
export function toTSpendSeen(t: { raw: Uint8Array; hash: string; expiry: number }, proxy: string): TSpendSeen {
  let info: ReturnType<typeof parseTSpend>;
  try {
    info = parseTSpend(decodeTx(t.raw));
  } catch (err) {
    throw new ChainEventError(`tspend ${String(t.hash).slice(0, 64)}: ${(err as Error).message}`);
  }
  const hashHex = hashToHex(info.hash);
  if (hashHex !== String(t.hash).toLowerCase() || info.expiry !== t.expiry) {
    throw new ChainEventError(`tspend ${String(t.hash).slice(0, 64)}: announced hash/expiry do not match its bytes (${hashHex}, ${info.expiry})`);
  }
  return { hashHex, expiry: info.expiry, piKey: info.piKey, raw: t.raw, proxy };
}

const HASH_RE = /^[0-9a-f]{64}$/;

function hashOf(v: unknown, what: string): string {
  const s = typeof v === 'string' ? v.toLowerCase() : '';
  if (!HASH_RE.test(s)) throw new ChainEventError(`${what}: expected 64 hex characters, got ${JSON.stringify(String(v).slice(0, 80))}`);
  return s;
}

function heightOf(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ChainEventError(`height: expected a non-negative integer, got ${String(v)}`);
  return v;
}

/**
 * The most tickets one draw can name: TicketsPerBlock, 5 on every Decred network
 * (dcrd chaincfg mainnetparams.go, testnetparams.go, simnetparams.go, regnetparams.go).
 */
export const MAX_TICKETS_PER_DRAW = 5;

/**
 * Converts one proxy event into the voter's event.
 * @throws {ChainEventError} on a malformed event.
 */
export function toChainEvent(ev: Exclude<ProxyChainEvent, { kind: 'tspend' }>, proxy: string, nowMs = Date.now()): ChainEvent {
  const receivedAtMs = ev.receivedAtMs > 0 ? ev.receivedAtMs : nowMs;
  switch (ev.kind) {
    case 'block_connected':
    case 'block_disconnected':
      return {
        kind: ev.kind === 'block_connected' ? 'block-connected' : 'block-disconnected',
        blockHashHex: hashOf(ev.block.hash, 'block hash'), height: heightOf(ev.block.height), proxy, receivedAtMs,
        ...(ev.kind === 'block_connected' && ev.block.prevHash ? { prevHashHex: hashOf(ev.block.prevHash, 'previous block hash') } : {}),
      };
    case 'winning_tickets': {
      const d = ev.draw;
      if (d.voteSubsidy < 0n) throw new ChainEventError(`vote subsidy ${d.voteSubsidy} is negative`);
      if (d.tickets.length > MAX_TICKETS_PER_DRAW) {
        throw new ChainEventError(`draw names ${d.tickets.length} tickets; a block draws at most ${MAX_TICKETS_PER_DRAW}`);
      }
      return {
        kind: 'winning-tickets',
        blockHashHex: hashOf(d.blockHash, 'block hash'), height: heightOf(d.height),
        ticketsHex: d.tickets.map((t) => hashOf(t, 'ticket hash')),
        voteSubsidy: d.voteSubsidy, voteVersion: d.voteVersion, proxy, receivedAtMs,
        ...(d.traceparent ? { traceparent: d.traceparent } : {}),
        ...(d.ticketTraceparents?.some(Boolean) ? { ticketTraceparents: d.ticketTraceparents.map((t) => (typeof t === 'string' ? t : '')) } : {}),
      };
    }
  }
}

/** A proxy to watch. */
export interface WatchedProxy {
  address: string;
  client: NodeProxyClient;
}

/** Options of {@link ChainWatch}. */
export interface ChainWatchOptions {
  retryBaseMs: number;
  retryMaxMs: number;
  log: Logger;
}

/** The set of WatchChain subscriptions (one per proxy). */
export class ChainWatch {
  readonly #handles: WatchHandle[] = [];
  readonly #connected = new Set<string>();

  constructor(
    private readonly proxies: readonly WatchedProxy[],
    private readonly handlers: ChainWatchHandlers,
    private readonly opts: ChainWatchOptions,
  ) {}

  /** Proxies whose stream delivered a stream_start since it last failed. */
  get connectedCount(): number {
    return this.#connected.size;
  }

  start(): void {
    for (const p of this.proxies) {
      const log = this.opts.log.child({ proxy: p.address });
      let opens = 0;
      const handle = p.client.watchChain(
        {
          fromHeight: 1,
          autoResume: true,
          resumeMinMs: this.opts.retryBaseMs,
          resumeMaxMs: this.opts.retryMaxMs,
          onStreamStart: (info: StreamStartInfo) => {
            this.#connected.add(p.address);
            if (info.resumeStatus === 'gap') {
              log.warn({ missedFrom: info.missedFromSeq, missedTo: info.missedToSeq }, 'proxy stream resumed with a gap');
            }
            this.handlers.onStreamStart(p.address, {
              bestHeight: info.bestBlock?.height, resumeStatus: info.resumeStatus, reconnected: opens++ > 0, voteVersion: info.voteVersion,
            });
          },
          onVoterPresence: (v) => this.handlers.onVoterPresence?.({ ...v, proxy: p.address }),
          onError: (err) => {
            this.#connected.delete(p.address);
            this.handlers.onStreamDown(p.address, err);
          },
        },
        (ev) => {
          if (ev.kind === 'tspend') {
            try {
              this.handlers.onTSpend?.(toTSpendSeen(ev.tspend, p.address));
            } catch (err) {
              log.error({ err, seq: ev.seq }, 'malformed tspend event skipped');
            }
            return;
          }
          let converted: ChainEvent;
          try {
            converted = toChainEvent(ev, p.address);
          } catch (err) {
            // One malformed event must not stop the stream or the voter.
            log.error({ err, seq: ev.seq }, 'malformed chain event skipped');
            return;
          }
          this.handlers.onEvent(converted);
        },
      );
      this.#handles.push(handle);
    }
  }

  /** Closes every subscription (the client stops resuming). */
  stop(): void {
    for (const h of this.#handles.splice(0)) h.close();
    this.#connected.clear();
  }
}
