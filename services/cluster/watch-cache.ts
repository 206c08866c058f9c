/**
 * A local cache of every key under one etcd prefix, kept current by a watch.
 *
 * Invariant: after `start()` resolves, the cache equals etcd's state at some
 * revision R (a paged snapshot read at one revision), and the watch delivers
 * every change after R in order, so the cache never misses or reorders an
 * event. etcd3's watcher resumes after a disconnect from the last revision it
 * saw; if the watch is cancelled (e.g. its revision was compacted) the cache
 * re-reads a snapshot and watches again.
 *
 * A value that fails `parse` is reported (CorruptValueError naming the key),
 * left out of the cache, remembered in `corruptKeys()`, and never deleted.
 * Event handlers never throw (a throw inside etcd3's emitter would crash the
 * process).
 */
import type { Etcd3, IKeyValue, IRangeResponse, Watcher } from 'etcd3';
import { isWatchAuthCancel, reopenWatchStreamWithFreshToken, timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { showValue } from './chain-tip.ts';
import { CorruptValueError, EtcdUnavailableError, parseStoredJson, schemaIssues } from './errors.ts';
import { parseHeightValue, prefixRangeEnd } from './keyspace.ts';
import { JitteredBackoff, STOP_BUDGET_MS, settledWithin, sleep } from '../base/index.ts';

/** One cached key. */
export interface CacheEntry<T> {
  readonly key: string;
  readonly value: T;
  /** etcd mod revision of this value (identifies exactly which bytes were read). */
  readonly modRevision: number;
  readonly createRevision: number;
  /** etcd lease the key is attached to ('0' when none). */
  readonly lease: string;
}

/** A change applied to the cache. */
export type CacheChange<T> =
  | { type: 'put'; entry: CacheEntry<T>; previous: CacheEntry<T> | undefined }
  | { type: 'delete'; key: string; previous: CacheEntry<T> | undefined };

/**
 * Where a cache keeps its entries. The default is a Map; caches of per-ticket keys use
 * `HashKeyedStore` (typed-array columns over a shared ticket-hash index).
 */
export interface EntryStore<T> {
  readonly size: number;
  get(key: string): CacheEntry<T> | undefined;
  /** The value of `key` without building an entry object. */
  getValue(key: string): T | undefined;
  /** Stores `e`, replacing any entry of `e.key`. */
  set(e: CacheEntry<T>): void;
  delete(key: string): boolean;
  clear(): void;
  values(): IterableIterator<CacheEntry<T>>;
  /** Called once when a resync replaced this store (release shared resources). */
  dispose?(): void;
}

/** The default {@link EntryStore}: one Map entry per key. */
/** How long a cache's stop() waits for its watch cancel and a resync in progress. */
export const WATCH_STOP_WAIT_MS = STOP_BUDGET_MS.watchCancel;

export class MapEntryStore<T> implements EntryStore<T> {
  private readonly m = new Map<string, CacheEntry<T>>();
  get size(): number {
    return this.m.size;
  }
  get(key: string): CacheEntry<T> | undefined {
    return this.m.get(key);
  }
  getValue(key: string): T | undefined {
    return this.m.get(key)?.value;
  }
  set(e: CacheEntry<T>): void {
    this.m.set(e.key, e);
  }
  delete(key: string): boolean {
    return this.m.delete(key);
  }
  clear(): void {
    this.m.clear();
  }
  values(): IterableIterator<CacheEntry<T>> {
    return this.m.values();
  }
}

/** Options of {@link PrefixCache}. */
export interface PrefixCacheOptions<T> {
  client: Etcd3;
  prefix: string;
  /** Parses a value (`lease`: the key's lease id, '0' for none); throws on bad input (the message becomes the CorruptValueError's). */
  parse: (key: string, raw: Buffer, lease: string) => T;
  /** Called for each corrupt value found (initial load or watch). */
  onCorrupt?: (err: CorruptValueError) => void;
  /** Called on cache-affecting errors it handled (watch cancelled, resync failure). */
  onError?: (err: unknown) => void;
  hooks?: ClusterMetricsHooks;
  /** Keys per range page on load (default 5,000). */
  pageSize?: number;
  /** Attempts per load page on a transport error, at the same revision (default PAGE_ATTEMPTS). */
  pageAttempts?: number;
  /** Name for metrics (`op` label), e.g. `tickets`. */
  name: string;
  /** Makes an empty entry store (default: a Map); called once per snapshot load. */
  createStore?: () => EntryStore<T>;
  /**
   * The range's chain-tip marker key (`tickets/chain-tip`, `tspends/chain-tip`, `config/chain-tip`):
   * never an entry; its height is {@link PrefixCache.markerHeight} (chain-tip.ts).
   */
  marker?: string;
}

/** Marker heights whose revision a cache remembers ({@link PrefixCache.markerRevisionAt}). */
export const MARKER_HISTORY = 64;

const DEFAULT_PAGE_SIZE = 5_000;

/** Attempts per load page on a transport error (same revision, same start key). */
const PAGE_ATTEMPTS = 5;
/** Back-off before a page's next attempt, × the attempt number (ms). */
const PAGE_RETRY_BASE_MS = 200;
/** Backoff between failed resyncs (load + watch) while etcd is unreachable. */
const RESYNC_RETRY_BASE_MS = 100;
const RESYNC_RETRY_MAX_MS = 2_000;
/** Distinct lease ids interned before the table starts over (entries keep the strings they got). */
const MAX_INTERNED_LEASES = 1_024;
const leaseStrings = new Map<string, string>();

/** One flat string per lease id (the decoder builds a new, concatenated one per key). */
function internLease(lease: string): string {
  const hit = leaseStrings.get(lease);
  if (hit !== undefined) return hit;
  if (leaseStrings.size >= MAX_INTERNED_LEASES) leaseStrings.clear();
  const flat = Buffer.from(lease, 'latin1').toString('latin1'); // a sequential string, not a cons of parts
  leaseStrings.set(flat, flat);
  return flat;
}

/** See the module comment. */
export class PrefixCache<T> {
  private entries: EntryStore<T>;
  private readonly corrupt = new Map<string, CorruptValueError>();
  private readonly listeners = new Set<(c: CacheChange<T>) => void>();
  private watcher: Watcher | undefined;
  private connected = false;
  private disconnectedAt: number | undefined = Date.now();
  private lastRevision = 0;
  private stopped = false;
  private resyncing: Promise<void> | undefined;
  /** Bumped whenever the set of cached keys changes (not on value updates). */
  private keySetVersion = 0;
  private readonly markerBuf: Buffer | undefined;
  #markerHeight = -1;
  #markerRevision = 0;
  /** The highest valid marker height ever applied (kept when the marker becomes unreadable or lower). */
  #markerHighest = -1;
  /** Why the marker is not a height now (corrupt value, deleted); undefined when it is one. */
  #markerProblem: CorruptValueError | undefined;
  /** Recent marker values seen, ascending by height (bounded by MARKER_HISTORY). */
  readonly #markerHistory: Array<{ above: number; height: number; revision: number }> = [];
  readonly #markerWaiters = new Set<{ height: number; done: (ok: boolean) => void }>();
  readonly #markerListeners = new Set<(height: number, revision: number) => void>();

  constructor(private readonly opts: PrefixCacheOptions<T>) {
    this.entries = this.newStore();
    this.markerBuf = opts.marker === undefined ? undefined : Buffer.from(opts.marker);
  }

  /**
   * Height of the range's chain-tip marker as applied (-1: none seen). Because one watch delivers
   * the range's events in revision order and a snapshot is one revision, a cache whose marker
   * height is >= h has applied every write of its range with revision <= R(h), the revision at
   * which the tip reached h.
   */
  get markerHeight(): number {
    return this.#markerHeight;
  }

  /**
   * The highest valid marker height this cache ever applied (-1: none). Unlike
   * {@link markerHeight} it survives a corrupt, deleted or lowered marker: a height the cluster
   * tip once had, which a repair of the tip must not go below (chain-tip.ts).
   */
  get highestMarkerSeen(): number {
    return this.#markerHighest;
  }

  /**
   * Why the marker is not a height now (a corrupt value, or deleted), undefined while it is one.
   * While set, {@link markerHeight} is -1: the cache does not claim to be current for any height
   * until a valid marker arrives (a voter's next tip advance or repair writes one).
   */
  get markerProblem(): CorruptValueError | undefined {
    return this.#markerProblem;
  }

  /** etcd mod revision of the marker value applied (0: none). */
  get markerRevision(): number {
    return this.#markerRevision;
  }

  /**
   * R(h): the revision at which this cache saw the marker reach `h` or more (the first recorded
   * marker value >= h), or undefined when `h` is above the marker or older than the history kept
   * ({@link MARKER_HISTORY} values; a snapshot knows only the marker it read).
   */
  markerRevisionAt(height: number): number | undefined {
    for (const e of this.#markerHistory) if (e.above < height && height <= e.height) return e.revision;
    return undefined;
  }

  /** Calls `fn(height, revision)` whenever the marker rises. Returns the unsubscribe function. Listeners must not throw. */
  onMarker(fn: (height: number, revision: number) => void): () => void {
    this.#markerListeners.add(fn);
    return () => this.#markerListeners.delete(fn);
  }

  /**
   * Resolves true as soon as the marker height is >= `height` (at once when it already is), false
   * after `timeoutMs` or when `signal` aborts. No I/O: it waits for this cache's own watch.
   */
  whenMarkerAtLeast(height: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.#markerHeight >= height) return Promise.resolve(true);
    if (timeoutMs <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const w = {
        height,
        done: (ok: boolean): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#markerWaiters.delete(w);
          resolve(ok);
        },
      };
      const onAbort = (): void => w.done(false);
      const timer = setTimeout(() => w.done(false), timeoutMs);
      timer.unref?.();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#markerWaiters.add(w);
    });
  }

  /**
   * Applies a marker value (load or watch). A value that is not a padded height is reported
   * corrupt and the cache stops claiming any marker height (-1) until a valid one arrives: what
   * the tip is now is unknown, so no draw is provably current here. A valid value below the one
   * applied (the tip lowered by hand, or repaired lower) is applied as it is, reported: claiming
   * the higher one would promise that no write guarded by the lower tip can reach those heights.
   */
  private applyMarker(kv: IKeyValue, fromSnapshot: boolean): void {
    const key = kv.key.toString();
    const height = parseHeightValue(kv.value);
    if (height === undefined) {
      this.#loseMarker(new CorruptValueError(key, `chain-tip marker holds ${showValue(kv.value)}, not a 10-digit height: no draw is provably current until a voter repairs it`));
      return;
    }
    if (height === this.#markerHeight) return;
    if (height < this.#markerHeight) this.#reportLowered(key, height);
    const revision = Number(kv.mod_revision);
    // R(h) for heights between the previous value seen and this one is this revision; a value
    // read from a snapshot (or the first one seen, or one after an unreadable or lowered marker)
    // tells nothing about the heights below it.
    const fresh = fromSnapshot || this.#markerHeight < 0 || height < this.#markerHeight;
    const above = fresh ? height - 1 : this.#markerHeight;
    if (fresh) this.#markerHistory.length = 0;
    this.#markerProblem = undefined;
    this.#markerHeight = height;
    if (height > this.#markerHighest) this.#markerHighest = height;
    this.#markerRevision = revision;
    this.#markerHistory.push({ above, height, revision });
    if (this.#markerHistory.length > MARKER_HISTORY) this.#markerHistory.shift();
    for (const w of [...this.#markerWaiters]) if (height >= w.height) w.done(true);
    for (const fn of this.#markerListeners) {
      try {
        fn(height, revision);
      } catch (err) {
        this.opts.onError?.(err);
      }
    }
  }

  /** A valid marker below the one applied: reported as a corrupt value (the tip only rises: someone lowered it). */
  #reportLowered(key: string, height: number): void {
    this.reportCorrupt(new CorruptValueError(key, `chain-tip marker went down from ${this.#markerHeight} to ${height} (the tip only rises): someone lowered it; applied as it is until a voter raises it back`));
  }

  /** The marker is unreadable (corrupt or deleted): reported, and no height is claimed until a valid one arrives. */
  #loseMarker(err: CorruptValueError): void {
    this.#markerProblem = err;
    this.#markerHeight = -1;
    this.#markerRevision = 0;
    this.#markerHistory.length = 0;
    this.reportCorrupt(err);
  }

  private newStore(): EntryStore<T> {
    return this.opts.createStore?.() ?? new MapEntryStore<T>();
  }

  /** The entry store (callers that know its type use its id-based fast paths). */
  get store(): EntryStore<T> {
    return this.entries;
  }

  /** Loads a snapshot and starts the watch. Rejects (typed) if etcd cannot be read. */
  async start(): Promise<void> {
    const rev = await this.load();
    await this.watchFrom(rev + 1);
  }

  /**
   * Cancels the watch and waits for any resync in progress, at most {@link WATCH_STOP_WAIT_MS}:
   * with etcd unreachable (frozen, partitioned) a resync's read or the cancel can hang for the
   * client's whole retry budget (~6 s), past a process's shutdown cap. Nothing is lost by not
   * waiting longer: a stopped cache applies nothing the caller relies on, a watch created by a
   * late resync is cancelled at once (`watchFrom`), and the owner closes the client next.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of [...this.#markerWaiters]) w.done(false);
    const w = this.watcher;
    this.watcher = undefined;
    this.connected = false;
    await settledWithin(Promise.allSettled([this.resyncing, w?.cancel()]), WATCH_STOP_WAIT_MS);
  }

  get(key: string): CacheEntry<T> | undefined {
    return this.entries.get(key);
  }

  /** The cached value of `key` (no entry object built). */
  getValue(key: string): T | undefined {
    return this.entries.getValue(key);
  }

  values(): IterableIterator<CacheEntry<T>> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  /** A counter that changes whenever a key is added to or removed from the cache (lets callers cache derived key lists). */
  get keysVersion(): number {
    return this.keySetVersion;
  }

  /**
   * Marks the cached value of `key` corrupt after the fact (e.g. a lazily decrypted secret
   * failed authentication): if the cached entry still has `modRevision`, it is removed from the
   * cache, remembered in `corruptKeys()`, reported, and a `delete` change is emitted. A later
   * put of the key (an operator fixing it) brings it back. Returns true if the entry was removed.
   */
  markCorrupt(key: string, err: CorruptValueError, modRevision: number): boolean {
    const previous = this.entries.get(key);
    if (!previous || previous.modRevision !== modRevision) return false;
    this.entries.delete(key);
    this.keySetVersion++;
    this.corrupt.set(key, err);
    this.reportCorrupt(err);
    this.emit({ type: 'delete', key, previous });
    return true;
  }

  /** Keys whose current value is corrupt, with the error reported for each. */
  corruptKeys(): ReadonlyMap<string, CorruptValueError> {
    return this.corrupt;
  }

  /** The last etcd revision applied to the cache. */
  get revision(): number {
    return this.lastRevision;
  }

  /** True while the watch stream is connected (the cache is current up to etcd's delivery delay). */
  get isWatchConnected(): boolean {
    return this.connected;
  }

  /** 0 while connected, else ms since the watch was last connected. */
  watchAgeMs(now = Date.now()): number {
    return this.connected || this.disconnectedAt === undefined ? 0 : now - this.disconnectedAt;
  }

  /** Subscribes to cache changes; returns the unsubscribe function. Listeners must not throw. */
  onChange(fn: (c: CacheChange<T>) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Reads the whole prefix at one revision, page by page; returns that revision. */
  private async load(): Promise<number> {
    // The first load fills the (empty) live store directly; a resync fills a fresh one and swaps.
    const initial = this.entries.size === 0 && this.corrupt.size === 0 && this.lastRevision === 0;
    const fresh = initial ? this.entries : this.newStore();
    const corrupt = new Map<string, CorruptValueError>();
    const marker: { kv?: IKeyValue } = {};
    let revision: number;
    try {
      revision = await this.loadPages(fresh, corrupt, marker);
    } catch (err) {
      // A resync's half-filled store is dropped (it may hold references in a shared index).
      if (fresh !== this.entries) {
        if (fresh.dispose) fresh.dispose();
        else fresh.clear();
      }
      throw err;
    }
    // Replace the contents, telling listeners what changed (a resync after a cancel may differ).
    const before = this.entries;
    this.entries = fresh;
    this.corrupt.clear();
    for (const [k, e] of corrupt) this.corrupt.set(k, e);
    this.keySetVersion++;
    this.lastRevision = revision;
    if (before !== fresh) {
      if (this.listeners.size > 0) {
        for (const e of fresh.values()) {
          const prev = before.get(e.key);
          if (prev?.modRevision !== e.modRevision) this.emit({ type: 'put', entry: e, previous: prev });
        }
        for (const prev of before.values()) if (fresh.get(prev.key) === undefined) this.emit({ type: 'delete', key: prev.key, previous: prev });
      }
      if (before.dispose) before.dispose();
      else before.clear();
    } else if (this.listeners.size > 0) {
      for (const e of fresh.values()) this.emit({ type: 'put', entry: e, previous: undefined });
    }
    for (const e of corrupt.values()) this.reportCorrupt(e);
    if (marker.kv) this.applyMarker(marker.kv, true);
    else if (this.markerBuf !== undefined && this.#markerHighest >= 0) {
      // A resync found no marker although one was applied before: deleted meanwhile.
      this.#loseMarker(new CorruptValueError(this.markerBuf.toString(), 'chain-tip marker deleted: no draw is provably current until a voter writes it again'));
    }
    return revision;
  }

  /**
   * Reads the prefix page by page at one revision into `fresh` (values parsed into their compact
   * form, nothing of a page kept); returns the revision. Pipelined: the next page is requested
   * before the current one is parsed, so etcd reads while this process parses.
   */
  private async loadPages(fresh: EntryStore<T>, corrupt: Map<string, CorruptValueError>, marker: { kv?: IKeyValue }): Promise<number> {
    const { client, prefix } = this.opts;
    const rangeEnd = prefixRangeEnd(prefix);
    const limit = this.opts.pageSize ?? DEFAULT_PAGE_SIZE;
    let revision = 0;
    // A page that misses its deadline (a loaded etcd or box) is asked again at the same revision
    // and start key, a few times, instead of failing the whole load (a 100k-ticket start-up).
    const read = async (start: Buffer): Promise<IRangeResponse> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await timed(this.opts.hooks, `load_${this.opts.name}`, () => client.kv.range({ key: start, range_end: rangeEnd, limit, revision }));
        } catch (err) {
          if (attempt >= (this.opts.pageAttempts ?? PAGE_ATTEMPTS) || !(err instanceof EtcdUnavailableError) || this.stopped) throw err;
          await sleep(PAGE_RETRY_BASE_MS * attempt);
        }
      }
    };
    const page = (start: Buffer): Promise<IRangeResponse> => {
      const p = read(start);
      p.catch(() => undefined); // awaited below; marked handled while the previous page is parsed
      return p;
    };
    let next: Promise<IRangeResponse> | undefined = page(Buffer.from(prefix));
    while (next !== undefined) {
      const res: IRangeResponse = await next;
      next = undefined;
      if (revision === 0) revision = Number(res.header.revision);
      const kvs = res.kvs;
      const last = kvs[kvs.length - 1];
      if (res.more && last) next = page(Buffer.concat([last.key, Buffer.from([0])]));
      for (let i = 0; i < kvs.length; i++) {
        const kv = kvs[i] as IKeyValue;
        if (this.markerBuf !== undefined && this.markerBuf.equals(kv.key)) {
          marker.kv = kv;
          continue;
        }
        const parsed = this.parseKv(kv);
        kvs[i] = undefined as unknown as IKeyValue;
        if (parsed instanceof CorruptValueError) corrupt.set(parsed.key, parsed);
        else fresh.set(parsed);
      }
    }
    return revision;
  }

  private async watchFrom(startRevision: number): Promise<void> {
    const w = await timed(this.opts.hooks, `watch_${this.opts.name}`, () =>
      this.opts.client.watch().prefix(this.opts.prefix).startRevision(String(startRevision)).create(),
    );
    if (this.stopped) {
      await w.cancel();
      return;
    }
    this.watcher = w;
    this.connected = true;
    this.disconnectedAt = undefined;
    w.on('connected', () => {
      this.connected = true;
      this.disconnectedAt = undefined;
    });
    w.on('disconnected', () => {
      if (this.connected) this.disconnectedAt = Date.now();
      this.connected = false;
    });
    w.on('put', (kv) => this.applyPut(kv));
    w.on('delete', (kv) => this.applyDelete(kv));
    w.on('error', (err) => {
      // The server cancelled this watch (typically: its start revision was compacted).
      // Re-read a snapshot and watch again; the loop is owned by this cache and awaited in stop().
      this.opts.onError?.(err);
      this.connected = false;
      this.disconnectedAt ??= Date.now();
      // Or cancelled for a token etcd forgot (a member restarted): the shared stream must log in again.
      if (isWatchAuthCancel(err)) reopenWatchStreamWithFreshToken(this.opts.client);
      if (!this.stopped && !this.resyncing) this.resyncing = this.resync().finally(() => (this.resyncing = undefined));
    });
  }

  private async resync(): Promise<void> {
    const backoff = new JitteredBackoff(RESYNC_RETRY_BASE_MS, RESYNC_RETRY_MAX_MS);
    while (!this.stopped) {
      try {
        const old = this.watcher;
        this.watcher = undefined;
        if (old) await old.cancel().catch((err: unknown) => this.opts.onError?.(err));
        const rev = await this.load();
        await this.watchFrom(rev + 1);
        return;
      } catch (err) {
        // etcd unreachable: keep serving the (stale, flagged by isWatchConnected) cache and retry with backoff.
        this.opts.onError?.(err);
        await sleep(backoff.nextMs());
      }
    }
  }

  private parseKv(kv: IKeyValue): CacheEntry<T> | CorruptValueError {
    const key = kv.key.toString();
    try {
      // Most keys have no lease: share one '0' instead of a string per entry; the others share
      // one string per lease (100k owner claims are held by a handful of session leases).
      const lease = kv.lease === undefined || String(kv.lease) === '0' ? '0' : internLease(String(kv.lease));
      const value = this.opts.parse(key, kv.value, lease);
      return {
        key,
        value,
        modRevision: Number(kv.mod_revision),
        createRevision: Number(kv.create_revision),
        lease,
      };
    } catch (err) {
      return err instanceof CorruptValueError ? err : new CorruptValueError(key, (err as Error)?.message ?? String(err), { cause: err });
    }
  }

  private applyPut(kv: IKeyValue): void {
    const rev = Number(kv.mod_revision);
    if (this.markerBuf !== undefined && this.markerBuf.equals(kv.key)) {
      this.lastRevision = Math.max(this.lastRevision, rev);
      this.applyMarker(kv, false);
      return;
    }
    if (rev <= this.lastRevision && this.entries.get(kv.key.toString())?.modRevision === rev) return;
    this.lastRevision = Math.max(this.lastRevision, rev);
    const parsed = this.parseKv(kv);
    if (parsed instanceof CorruptValueError) {
      const previous = this.entries.get(parsed.key);
      if (this.entries.delete(parsed.key)) this.keySetVersion++;
      this.corrupt.set(parsed.key, parsed);
      this.reportCorrupt(parsed);
      if (previous) this.emit({ type: 'delete', key: parsed.key, previous });
      return;
    }
    this.corrupt.delete(parsed.key);
    const previous = this.entries.get(parsed.key);
    this.entries.set(parsed);
    if (!previous) this.keySetVersion++;
    this.emit({ type: 'put', entry: parsed, previous });
  }

  private applyDelete(kv: IKeyValue): void {
    if (this.markerBuf !== undefined && this.markerBuf.equals(kv.key)) {
      // A deleted marker: the tip is unknown here until a voter writes it again (its repair).
      this.lastRevision = Math.max(this.lastRevision, Number(kv.mod_revision));
      this.#loseMarker(new CorruptValueError(kv.key.toString(), 'chain-tip marker deleted: no draw is provably current until a voter writes it again'));
      return;
    }
    const key = kv.key.toString();
    this.lastRevision = Math.max(this.lastRevision, Number(kv.mod_revision));
    this.corrupt.delete(key);
    const previous = this.entries.get(key);
    if (this.entries.delete(key)) this.keySetVersion++;
    this.emit({ type: 'delete', key, previous });
  }

  private emit(c: CacheChange<T>): void {
    for (const fn of this.listeners) {
      try {
        fn(c);
      } catch (err) {
        // A listener bug must not break the cache or the watch stream; report and continue.
        this.opts.onError?.(err);
      }
    }
  }

  private reportCorrupt(e: CorruptValueError): void {
    try {
      this.opts.hooks?.observeCorruptValue?.(e.key);
      this.opts.onCorrupt?.(e);
    } catch (err) {
      this.opts.onError?.(err);
    }
  }
}

/** Parses JSON then validates with `schema`; throws CorruptValueError naming `key`. */
export function parseJsonValue<T>(key: string, raw: Buffer, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } } }): T {
  const r = schema.safeParse(parseStoredJson(key, raw));
  if (!r.success) throw new CorruptValueError(key, `fails schema: ${schemaIssues(r.error)}`);
  return r.data;
}
