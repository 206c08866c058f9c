/**
 * The voter's own view of a WatchChain event, independent of the proxy's wire
 * types: `chain-watch.ts` converts proxy messages into these, everything after
 * it (dedupe, duties, re-send) works on them.
 */

/** A block was connected to a proxy's dcrd main chain. */
export interface BlockConnectedEvent {
  kind: 'block-connected';
  /** Block hash in display (RPC) order, lower-case hex. */
  blockHashHex: string;
  height: number;
  /** The parent's hash (display hex), when the proxy sent it. */
  prevHashHex?: string;
  /** Proxy address the event came from. */
  proxy: string;
  /** Local receive time (ms since epoch). */
  receivedAtMs: number;
}

/** A block was disconnected (reorganisation); its draws are superseded. */
export interface BlockDisconnectedEvent {
  kind: 'block-disconnected';
  blockHashHex: string;
  height: number;
  proxy: string;
  receivedAtMs: number;
}

/** dcrd drew the winners for a block: the voter's trigger. */
export interface WinningTicketsEvent {
  kind: 'winning-tickets';
  /** The block being voted on (display hex). */
  blockHashHex: string;
  height: number;
  /** Winning ticket hashes in draw order, display hex. */
  ticketsHex: readonly string[];
  /** Stakebase value for a vote on this block (atoms), as the proxy computed it. */
  voteSubsidy: bigint;
  /** Vote version the chain expects (0 = use the network default). */
  voteVersion: number;
  /** W3C traceparent of the proxy's draw-level context (an older proxy's only one). */
  traceparent?: string;
  /**
   * Per ticket, parallel to `ticketsHex`: the traceparent of the proxy's
   * `proxy.notify` root span for that (block, ticket); '' when absent.
   */
  ticketTraceparents?: readonly string[];
  proxy: string;
  receivedAtMs: number;
}

/** Any event the voter consumes. */
export type ChainEvent = BlockConnectedEvent | BlockDisconnectedEvent | WinningTicketsEvent;

/** The key of one voting duty: a ticket and the block it votes on. */
export function dutyKey(ticketHex: string, blockHashHex: string): string {
  return `${ticketHex}/${blockHashHex}`;
}
