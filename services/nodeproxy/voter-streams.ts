/**
 * Which voters hold WatchChain streams to this proxy, and the facts the other
 * voters learn from it: when the last stream of a voter ends because the voter
 * went away (its process died, its connection dropped, or it stopped), the
 * proxy tells every other stream `voter_gone` at once; when a voter it declared
 * gone opens a stream again, `voter_back`.
 *
 * A crashed voter's TCP connections are closed by its kernel, so its streams
 * end here within a millisecond: the backups of its tickets need not wait out
 * a blind hedge (services/voter duty.ts). A stream the proxy itself ends (a
 * lagging stream cut, the proxy stopping) says nothing about the voter and is
 * not announced.
 *
 * A stream belongs to a voter by the node id it sends as `client_id`; with
 * mutual TLS only callers whose certificate carries the voter role count. The
 * event is a fact for the backups, never a permission: they still race the
 * create-if-absent vote record (docs/architecture.md, invariants 2 and 4).
 */
import type { Logger } from 'pino';
import type { ChainFeed } from './chain-feed.ts';

/** The most voters a proxy remembers having declared gone (to announce them back). */
export const MAX_GONE_REMEMBERED = 1024;

/** How a stream ended: the voter side went away, or the proxy ended it. */
export type StreamEnd = 'voter-left' | 'proxy-ended';

/** See the module comment. */
export class VoterStreams {
  readonly #open = new Map<string, number>();
  /** Voters announced gone and not back since, oldest first. */
  readonly #gone = new Set<string>();

  constructor(
    private readonly feed: Pick<ChainFeed, 'announce'>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Streams open per voter node id (tests, status). */
  openStreams(nodeId: string): number {
    return this.#open.get(nodeId) ?? 0;
  }

  /**
   * A stream of voter `nodeId` opened (feed subscription `subId`); returns the function to call
   * once when it ends (later calls do nothing).
   */
  opened(nodeId: string, subId: number): (how: StreamEnd) => void {
    const n = (this.#open.get(nodeId) ?? 0) + 1;
    this.#open.set(nodeId, n);
    if (n === 1 && this.#gone.delete(nodeId)) {
      this.feed.announce('voter_back', { node_id: nodeId, at_ms: String(this.now()) }, subId);
      this.log.info({ voter: nodeId }, 'voter back: a stream is open again');
    }
    let ended = false;
    return (how) => {
      if (ended) return;
      ended = true;
      const left = (this.#open.get(nodeId) ?? 1) - 1;
      if (left > 0) {
        this.#open.set(nodeId, left);
        return;
      }
      this.#open.delete(nodeId);
      if (how !== 'voter-left') return;
      const atMs = this.now();
      this.#gone.delete(nodeId);
      this.#gone.add(nodeId);
      if (this.#gone.size > MAX_GONE_REMEMBERED) this.#gone.delete(this.#gone.values().next().value as string);
      this.feed.announce('voter_gone', { node_id: nodeId, at_ms: String(atMs) });
      this.log.info({ voter: nodeId }, 'voter gone: its last stream ended; told the other voters');
    };
  }
}
