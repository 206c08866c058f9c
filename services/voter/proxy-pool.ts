/**
 * The voter's node proxies, and every per-proxy policy in one place:
 * - connection: one gRPC client per configured proxy (mutual TLS with files
 *   re-read on change when configured); the channel reconnects with the
 *   client's backoff, and each WatchChain stream resumes with a jittered
 *   backoff between `retry.baseMs` and `retry.maxMs` (services/base/backoff.ts);
 * - stream state: which proxies have a stream up (`connectedCount`,
 *   {@link ProxyPool.waitForStream});
 * - which proxies a vote goes through: all of them ({@link ProxyPool.sinks},
 *   fan-out in fanout.ts); a backup's "is this vote already out?" asks the
 *   nearest one (its own region's proxy, else the first);
 * - how the answers of several proxies combine into one verdict for the
 *   mined/missed check, record repair and the standby early release.
 */
import { createNodeProxyClient, NotFoundError, type NodeProxyClient } from '../nodeproxy/index.ts';
import { grpcChannelCredentials, TlsReloader, type TlsFiles } from '../security/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { waitUntil } from '../base/index.ts';
import { ChainWatch, type ChainWatchHandlers, type WatchedProxy } from './chain-watch.ts';
import type { VoteSink } from './fanout.ts';
import type { AgendaBook } from './agenda-book.ts';
import type { ProxyConfig } from './config.ts';
import { VoterError } from './errors.ts';

/** Options of {@link ProxyPool}. */
export interface ProxyPoolOptions {
  /** Name the proxies see on WatchChain (the voter's node id). */
  clientId: string;
  /** The voter's region: its proxy there is the nearest. */
  region: string;
  /** Mutual TLS files; absent = plaintext. */
  tls?: TlsFiles | undefined;
  /** Deadline of one call through one proxy (lookups, vote version). */
  callDeadlineMs: number;
  /** Stream resume backoff (ms). */
  retry: { baseMs: number; maxMs: number };
  log: Logger;
}

/** A vote found by {@link ProxyPool.chainVotes}. */
export interface ChainVote {
  rawTx: Uint8Array;
  txidHex: string;
  minedIn?: string;
}

/** See the module comment. `open()` dials, `watch()` starts the streams, `close()` ends both. */
export class ProxyPool {
  readonly #proxies: readonly ProxyConfig[];
  readonly #o: ProxyPoolOptions;
  #clients: NodeProxyClient[] = [];
  #tls: TlsReloader | undefined;
  #watch: ChainWatch | undefined;

  constructor(proxies: readonly ProxyConfig[], opts: ProxyPoolOptions) {
    this.#proxies = proxies;
    this.#o = opts;
  }

  /** Number of configured proxies. */
  get size(): number {
    return this.#proxies.length;
  }

  /** Proxies whose stream is up now. */
  get connectedCount(): number {
    return this.#watch?.connectedCount ?? 0;
  }

  /** Creates one client per proxy (no call is made yet). */
  open(): void {
    this.#tls = this.#o.tls ? new TlsReloader(this.#o.tls, { log: this.#o.log }) : undefined;
    const credentials = this.#tls ? grpcChannelCredentials(this.#tls) : undefined;
    this.#clients = this.#proxies.map((p) => createNodeProxyClient(p.address, { clientId: this.#o.clientId, ...(credentials ? { credentials } : {}) }));
  }

  /** Every proxy with its client (agenda reads, streams). */
  watched(): WatchedProxy[] {
    return this.#proxies.map((p, i) => ({ address: p.address, client: this.#client(i) }));
  }

  /** Where a vote goes: every proxy (each send under its own deadline, fanout.ts). */
  sinks(): VoteSink[] {
    return this.watched().map(({ address, client }) => ({ address, sendVote: (raw, o) => client.sendVote(raw, o) }));
  }

  /** Opens one WatchChain stream per proxy, each resuming on its own after a failure. */
  watch(handlers: ChainWatchHandlers): void {
    this.#watch = new ChainWatch(this.watched(), handlers, { retryBaseMs: this.#o.retry.baseMs, retryMaxMs: this.#o.retry.maxMs, log: this.#o.log });
    this.#watch.start();
  }

  /**
   * Resolves true once a stream is up, false when `cancelled()` turns true first; logs a warning
   * every `warnEveryMs` meanwhile (a proxy down or refusing this voter's certificate).
   */
  async waitForStream(cancelled: () => boolean, warnEveryMs: number): Promise<boolean> {
    for (let waitedMs = 0; ; waitedMs += warnEveryMs) {
      if (await waitUntil(() => this.connectedCount > 0 || cancelled(), warnEveryMs)) return !cancelled();
      this.#o.log.warn({ waitedMs: waitedMs + warnEveryMs, proxies: this.#proxies.map((p) => p.address) },
        'no proxy stream yet; not claiming tickets until one is up (check the proxies and the TLS files)');
    }
  }

  /** Closes the streams (they stop resuming). */
  stopWatch(): void {
    this.#watch?.stop();
  }

  /** Closes the streams, the clients and the TLS file watch. */
  close(): void {
    this.stopWatch();
    for (const c of this.#clients) c.close();
    this.#tls?.close();
  }

  /**
   * Before the first draw: each proxy's vote version (GetStatus) for `book`; a proxy that does
   * not answer is logged and reports its version on its stream later.
   */
  async readVoteVersions(book: AgendaBook): Promise<void> {
    await Promise.all(this.#proxies.map(async (p, i) => {
      try {
        const st = await this.#client(i).getStatus({ deadlineMs: this.#o.callDeadlineMs });
        await book.noteProxy(p.address, st.vote_version ?? 0, true);
      } catch (err) {
        this.#o.log.warn({ err, proxy: p.address }, 'could not read a proxy\'s vote version; its stream will report it');
      }
    }));
  }

  /** Whether the dcrd behind proxy `address` holds `txidHex`; throws when that proxy cannot say. */
  async knownTo(address: string, txidHex: string): Promise<boolean> {
    const i = this.#proxies.findIndex((p) => p.address === address);
    return txKnownAt(this.#client(i), txidHex, this.#o.callDeadlineMs);
  }

  /** Whether the nearest dcrd (this region's proxy, else the first) holds `txidHex`, within `deadlineMs`. */
  async knownNearby(txidHex: string, deadlineMs: number): Promise<boolean> {
    const i = Math.max(0, this.#proxies.findIndex((p) => p.region === this.#o.region));
    return txKnownAt(this.#client(i), txidHex, deadlineMs);
  }

  /** Any proxy that returns the tx: true; every answering one says not found: false; none answers: throws. */
  async knownAnywhere(txidHex: string): Promise<boolean> {
    const answers = await Promise.allSettled(this.#clients.map((c) => txKnownAt(c, txidHex, this.#o.callDeadlineMs)));
    if (answers.some((a) => a.status === 'fulfilled' && a.value)) return true;
    if (answers.some((a) => a.status === 'fulfilled')) return false;
    throw firstFailure(answers);
  }

  /**
   * Where a vote is: the block that mined it (any proxy that knows `inBlock` wins), `{}` when only
   * in a mempool, `'not-found'` when the answering proxies do not know it; throws when none answered.
   */
  async locate(txidHex: string, inBlock: string): Promise<{ blockHash?: string } | 'not-found'> {
    let lastErr: unknown;
    let inMempool = false;
    let notFound = false;
    for (const client of this.#clients) {
      try {
        const r = await client.getTransactionBlock(txidHex, { deadlineMs: this.#o.callDeadlineMs, blockHash: inBlock });
        if (r.blockHash) return { blockHash: r.blockHash };
        inMempool = true;
      } catch (err) {
        if (err instanceof NotFoundError) notFound = true;
        else lastErr = err;
      }
    }
    if (inMempool) return {};
    if (notFound) return 'not-found';
    throw lastErr;
  }

  /** The votes on a block: the union over every proxy that answers (mempool and main-chain child); throws only if none did. */
  async chainVotes(blockHashHex: string, height: number): Promise<ChainVote[]> {
    const answers = await Promise.allSettled(this.#clients.map((c) => c.getBlockVotes(blockHashHex, height, { deadlineMs: this.#o.callDeadlineMs })));
    const ok = answers.filter((a) => a.status === 'fulfilled');
    if (ok.length === 0) throw firstFailure(answers);
    return ok.flatMap((a) => a.value.map((v) => ({ rawTx: v.raw, txidHex: v.txid, ...(v.minedIn ? { minedIn: v.minedIn } : {}) })));
  }

  #client(i: number): NodeProxyClient {
    const c = this.#clients[i];
    if (!c) throw new VoterError('VOTER_PROXY_UNKNOWN', `no proxy client at index ${i} (pool not open, or the address is not configured)`);
    return c;
  }
}

/** Whether the dcrd behind `client` knows `txidHex` (mempool or chain): NOT_FOUND is false; other failures throw. */
async function txKnownAt(client: NodeProxyClient, txidHex: string, deadlineMs: number): Promise<boolean> {
  try {
    await client.getRawTransaction(txidHex, { deadlineMs });
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

function firstFailure(answers: PromiseSettledResult<unknown>[]): unknown {
  return (answers[0] as PromiseRejectedResult | undefined)?.reason ?? new VoterError('VOTER_NO_PROXY', 'no proxy configured');
}
