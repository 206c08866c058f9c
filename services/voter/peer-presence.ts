/**
 * Which other voters the proxies have declared gone: a crashed voter's streams
 * end at every proxy within a millisecond and each proxy tells its other
 * streams (`voter_gone`, services/nodeproxy voter-streams.ts). A backup whose
 * every voter ranked ahead of it for a ticket is gone stops hedging and races
 * for the vote record at once (record-first.ts; a region backup signs at once,
 * region-duty.ts); a silent failure (SIGSTOP, power loss, a cut cable the
 * kernel does not see) is not announced and still waits out the hedge.
 *
 * A voter is gone while at least one proxy's last word about it is `gone`
 * (the facts come from any proxy). A proxy's word is forgotten when it says
 * `back`, when this voter's own stream to that proxy restarts (it may have
 * missed the `back`), and after {@link GONE_FORGET_MS}. Being gone is a hint
 * for latency only: the create-if-absent record race decides who votes, so a
 * wrong "gone" (an owner alive but cut off from one proxy) costs an early race,
 * never a second distinct vote (docs/architecture.md, invariants 2 and 4).
 */

/**
 * A gone mark older than this is forgotten: by then the voter's session lease (20 s TTL) has
 * expired and it no longer appears in any signer order, or it came back.
 */
export const GONE_FORGET_MS = 30_000;
/** The most voters tracked at once (oldest marks dropped first). */
export const MAX_GONE_TRACKED = 1024;

/** A fact one proxy announced about one voter. */
export interface PresenceFact {
  kind: 'gone' | 'back';
  nodeId: string;
  /** The proxy that said it. */
  proxy: string;
}

type Listener = () => void;

/** See the module comment. */
export class PeerPresence {
  /** nodeId → proxy → when (local ms) that proxy said gone. */
  readonly #gone = new Map<string, Map<string, number>>();
  readonly #listeners = new Set<Listener>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes one proxy's fact. */
  note(f: PresenceFact): void {
    if (f.kind === 'back') {
      const by = this.#gone.get(f.nodeId);
      by?.delete(f.proxy);
      if (by?.size === 0) this.#gone.delete(f.nodeId);
      return;
    }
    let by = this.#gone.get(f.nodeId);
    if (!by) {
      by = new Map();
      this.#gone.set(f.nodeId, by);
      if (this.#gone.size > MAX_GONE_TRACKED) this.#gone.delete(this.#gone.keys().next().value as string);
    }
    by.set(f.proxy, this.now());
    for (const l of [...this.#listeners]) l();
  }

  /** This voter's stream to `proxy` (re)started: what that proxy said before may be stale. */
  proxyRestarted(proxy: string): void {
    for (const [nodeId, by] of this.#gone) {
      by.delete(proxy);
      if (by.size === 0) this.#gone.delete(nodeId);
    }
  }

  /** Whether some proxy's last word about `nodeId` is that it is gone (within {@link GONE_FORGET_MS}). */
  isGone(nodeId: string): boolean {
    const by = this.#gone.get(nodeId);
    if (!by) return false;
    const now = this.now();
    for (const [proxy, at] of by) {
      if (now - at <= GONE_FORGET_MS) return true;
      by.delete(proxy);
    }
    this.#gone.delete(nodeId);
    return false;
  }

  /** Whether every voter in `nodeIds` is gone (false for an empty list). */
  allGone(nodeIds: readonly string[]): boolean {
    return nodeIds.length > 0 && nodeIds.every((n) => this.isGone(n));
  }

  /**
   * Resolves true as soon as every voter in `nodeIds` is gone (at once if they already are),
   * false when `signal` aborts first (or for an empty list).
   */
  whenAllGone(nodeIds: readonly string[], signal: AbortSignal): Promise<boolean> {
    if (nodeIds.length === 0 || signal.aborted) return Promise.resolve(false);
    if (this.allGone(nodeIds)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (v: boolean): void => {
        this.#listeners.delete(check);
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      };
      const check: Listener = () => {
        if (this.allGone(nodeIds)) done(true);
      };
      const onAbort = (): void => done(false);
      this.#listeners.add(check);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Voters currently gone (stats, logs). */
  goneIds(): string[] {
    return [...this.#gone.keys()].filter((n) => this.isGone(n));
  }
}
