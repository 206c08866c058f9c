/**
 * The ticket cache: every `tickets/<ticketHash>` record in memory (a watch cache)
 * with its etcd mod revision, so the voter builds a vote with no I/O and can name
 * exactly which record revision shaped it (vote-record `choicesRevision`). The
 * voter sees it through {@link TicketCache}.
 *
 * Memory: 100k tickets are held compactly: ticket and sealed-key bytes in a
 * shared arena (byte-arena.ts), times as numbers, equal choice/policy maps and
 * field sets shared between tickets; a plain {@link TicketRecord} is built only
 * when a caller reads `record`. Voting keys are decrypted on demand and never
 * cached in plaintext. A record that is unreadable (JSON, schema, key mismatch,
 * decryption) is reported with its key, skipped, and never deleted.
 */
import type { Etcd3 } from 'etcd3';
import type { SecretKey } from '../telemetry/index.ts';
import type { ClusterMetricsHooks } from './etcd-client.ts';
import { ByteArena } from './byte-arena.ts';
import { HashIndex } from './hash-index.ts';
import { HashKeyedStore } from './hash-keyed-store.ts';
import { ENVELOPE_VERSION, NONCE_BYTES, TAG_BYTES, type Keyring } from './envelope.ts';
import { CorruptValueError, NoClusterKeyError, TicketNotFoundError, WrongClusterKeyError, DecryptError } from './errors.ts';
import type { Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { parseTicketRecord, TicketStatusSchema, type EarlierInput, type Policy, type TicketRecord, type TicketStatus } from './ticket-record.ts';
import type { VersionedInputs } from './vote-inputs.ts';
import { PrefixCache, parseJsonValue, type CacheChange, type CacheEntry } from './watch-cache.ts';

/**
 * A cached ticket with the etcd mod revision it was read at. `record` is a plain
 * TicketRecord built from the compact cache on first access (a getter), so listing or
 * iterating tickets costs nothing per ticket until a record is read. To iterate 100k
 * tickets use `ticketHash` (or `TicketStore.hashes()`), not `record.ticketHash`.
 */
export interface CachedTicket {
  record: TicketRecord;
  /** etcd mod revision of the record (goes into VoteRecord.choicesRevision). */
  modRevision: number;
  /** The ticket hash (same as `record.ticketHash`, without building the view). */
  readonly ticketHash: string;
}


/**
 * What the voter reads of the managed tickets: the cached records (no I/O), their voting keys
 * (decrypted on demand), the hash-index ids the claimer sweeps over, and change events.
 */
export interface TicketCache {
  /** The cached record of `ticketHash` with its etcd mod revision, or undefined. */
  get(ticketHash: string): CachedTicket | undefined;
  has(ticketHash: string): boolean;
  /** Number of cached (valid) records. */
  readonly size: number;
  /** Decrypts the voting key of `ticketHash` (wipe it after signing). */
  getVotingKey(ticketHash: string): SecretKey;
  /** The raw ticket transaction (a copy), or undefined. */
  ticketBytes(ticketHash: string): Uint8Array | undefined;
  /** Ids (in the shared hash index) of the tickets cached now. */
  idSnapshot(): Int32Array;
  hasId(id: number): boolean;
  forEachId(fn: (id: number) => void): void;
  /** ms the tickets watch has been disconnected (0 while connected). */
  watchAgeMs(now?: number): number;
  readonly isWatchConnected: boolean;
  /** Subscribes to record changes; returns the unsubscribe function. */
  onChange(fn: (c: CacheChange<TicketRecord>) => void): () => void;
}

/** Options of {@link TicketRecordCache} (and of the store built on it). */
export interface TicketCacheOptions {
  client: Etcd3;
  keyspace: Keyspace;
  /**
   * Seals and opens voting keys. Absent for a read-only opening (`status`, `ticket list`,
   * `stakeinfo`): records are listed without checking their key, and sealing or opening one
   * throws NoClusterKeyError.
   */
  keyring?: Keyring;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  onCorrupt?: (err: CorruptValueError) => void;
  /**
   * Decrypt every key while loading/watching to detect bad ciphertexts early (default false:
   * keys are decrypted lazily by `getVotingKey`, and a bad one is reported then).
   */
  verifyKeysOnLoad?: boolean;
  /** Keys per range page when loading the cache (default 5,000). */
  pageSize?: number;
  /** Ticket-hash index shared with the owner cache (default: its own). */
  hashIndex?: HashIndex;
}

/** Why a ticket record cannot be voted with (see {@link TicketStore.unvotableCounts}). */
export type UnvotableReason = 'unknown_key' | 'undecryptable' | 'malformed';

/** The reason of a corrupt ticket record, from the error that made it corrupt. */
export function unvotableReason(err: CorruptValueError): UnvotableReason {
  if (err.cause instanceof WrongClusterKeyError) return 'unknown_key';
  if (err.cause instanceof DecryptError) return 'undecryptable';
  return 'malformed';
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const EMPTY: Readonly<Record<string, never>> = Object.freeze({});
/** Distinct choice/policy maps shared between tickets (beyond this, each ticket keeps its own copy). */
const MAX_INTERNED_MAPS = 10_000;

/**
 * Everything of a compact ticket but its offset: shared by the tickets whose fields are equal
 * (one import batch in one slab: thousands of tickets; one block's tickets when the importer
 * knew the block).
 */
interface TicketProfile {
  /** Slab holding the raw ticket transaction at [off, off + tlen) and the sealed key after it. */
  readonly slab: Buffer;
  readonly tlen: number;
  /** Length of the sealed key: nonce (12) || ciphertext || tag (16). */
  readonly slen: number;
  /** Key id of the sealing cluster key (interned). */
  readonly kid: string;
  readonly voteChoices: Readonly<Record<string, string>>;
  readonly treasuryPolicy: Readonly<Record<string, Policy>>;
  readonly tspendPolicy: Readonly<Record<string, Policy>>;
  readonly status: TicketStatus;
  /** ms since the epoch when the stored string is a canonical ISO time, else the string. */
  readonly importedAt: number | string;
  readonly updatedAt: number | string;
  readonly revision: number;
  readonly blockHash: string | undefined;
  readonly blockHeight: number | undefined;
  /** Height the latest vote inputs apply from (undefined: a record of an older version). */
  readonly inputsFrom: number | undefined;
  /** Earlier vote inputs (frozen; most tickets have none). */
  readonly earlierInputs: readonly EarlierInput[] | undefined;
}

/**
 * The compact cached form of a ticket record: bytes instead of hex, times as numbers,
 * choice/policy maps shared between tickets that have the same ones, the envelope as
 * (interned kid, nonce || ciphertext || tag); per ticket only a shared {@link TicketProfile}
 * and the offset of its bytes (40 bytes of heap). The ticket hash is the cache key.
 */
class CompactTicket implements TicketProfile {
  constructor(
    private readonly p: TicketProfile,
    readonly off: number,
  ) {}
  get slab(): Buffer {
    return this.p.slab;
  }
  get tlen(): number {
    return this.p.tlen;
  }
  get slen(): number {
    return this.p.slen;
  }
  get kid(): string {
    return this.p.kid;
  }
  get voteChoices(): Readonly<Record<string, string>> {
    return this.p.voteChoices;
  }
  get treasuryPolicy(): Readonly<Record<string, Policy>> {
    return this.p.treasuryPolicy;
  }
  get tspendPolicy(): Readonly<Record<string, Policy>> {
    return this.p.tspendPolicy;
  }
  get status(): TicketStatus {
    return this.p.status;
  }
  get importedAt(): number | string {
    return this.p.importedAt;
  }
  get updatedAt(): number | string {
    return this.p.updatedAt;
  }
  get revision(): number {
    return this.p.revision;
  }
  get blockHash(): string | undefined {
    return this.p.blockHash;
  }
  get blockHeight(): number | undefined {
    return this.p.blockHeight;
  }
  get inputsFrom(): number | undefined {
    return this.p.inputsFrom;
  }
  get earlierInputs(): readonly EarlierInput[] | undefined {
    return this.p.earlierInputs;
  }
}

function deepFreeze(es: readonly EarlierInput[]): readonly EarlierInput[] {
  return Object.freeze(es.map((e) => Object.freeze({
    from: e.from,
    voteChoices: Object.freeze({ ...e.voteChoices }),
    treasuryPolicy: Object.freeze({ ...e.treasuryPolicy }),
    tspendPolicy: Object.freeze({ ...e.tspendPolicy }),
  })));
}

/** How many recent packTime results a cache keeps: tickets imported together share their times (200k calls on a 100k load). */
const MAX_PACKED_TIMES = 64;

/** A canonical ISO time as ms since the epoch (a number is 8 bytes, the string ~40); any other string as is. */
function packTime(s: string, recent: Map<string, number | string>): number | string {
  const hit = recent.get(s);
  if (hit !== undefined) return hit;
  let v: number | string = s;
  if (ISO_RE.test(s)) {
    const ms = Date.parse(s);
    if (Number.isFinite(ms) && new Date(ms).toISOString() === s) v = ms;
  }
  if (recent.size >= MAX_PACKED_TIMES) recent.clear();
  recent.set(s, v);
  return v;
}
function unpackTime(t: number | string): string {
  return typeof t === 'number' ? new Date(t).toISOString() : t;
}

/** Builds the plain record of a compact ticket (fresh objects: callers may keep or change it). */
function toRecord(ticketHash: string, network: string, c: CompactTicket): TicketRecord {
  const rec: TicketRecord = {
    ticketHash,
    ticketHex: c.slab.toString('hex', c.off, c.off + c.tlen),
    network,
    votingKey: {
      v: ENVELOPE_VERSION,
      alg: 'A256GCM',
      kid: c.kid,
      nonce: c.slab.toString('hex', c.off + c.tlen, c.off + c.tlen + NONCE_BYTES),
      ct: c.slab.toString('hex', c.off + c.tlen + NONCE_BYTES, c.off + c.tlen + c.slen),
    },
    voteChoices: { ...c.voteChoices },
    treasuryPolicy: { ...c.treasuryPolicy },
    tspendPolicy: { ...c.tspendPolicy },
    status: c.status,
    importedAt: unpackTime(c.importedAt),
    updatedAt: unpackTime(c.updatedAt),
    revision: c.revision,
  };
  if (c.blockHash !== undefined) rec.blockHash = c.blockHash;
  if (c.blockHeight !== undefined) rec.blockHeight = c.blockHeight;
  if (c.inputsFrom !== undefined) rec.inputsFrom = c.inputsFrom;
  if (c.earlierInputs !== undefined) {
    rec.earlierInputs = c.earlierInputs.map((e) => ({ from: e.from, voteChoices: { ...e.voteChoices }, treasuryPolicy: { ...e.treasuryPolicy }, tspendPolicy: { ...e.tspendPolicy } }));
  }
  return rec;
}

/** A {@link CachedTicket} whose `record` is built on first access (listing 100k tickets builds none). */
class TicketView implements CachedTicket {
  #record: TicketRecord | undefined;
  constructor(
    readonly ticketHash: string,
    readonly modRevision: number,
    private readonly network: string,
    private readonly compact: CompactTicket,
  ) {}

  get record(): TicketRecord {
    return (this.#record ??= toRecord(this.ticketHash, this.network, this.compact));
  }
}

/** A {@link CacheEntry} whose `value` (the record) is built on first access. */
class TicketEntryView implements CacheEntry<TicketRecord> {
  #value: TicketRecord | undefined;
  readonly key: string;
  readonly modRevision: number;
  readonly createRevision: number;
  readonly lease: string;
  constructor(
    e: CacheEntry<CompactTicket>,
    private readonly ticketHash: string,
    private readonly network: string,
  ) {
    this.key = e.key;
    this.modRevision = e.modRevision;
    this.createRevision = e.createRevision;
    this.lease = e.lease;
    this.compact = e.value;
  }
  private readonly compact: CompactTicket;

  get value(): TicketRecord {
    return (this.#value ??= toRecord(this.ticketHash, this.network, this.compact));
  }
}

/** See the module comment. */
export class TicketRecordCache implements TicketCache {
  private readonly cache: PrefixCache<CompactTicket>;
  protected readonly log: ClusterLogger;
  private readonly prefixLen: number;
  private readonly kids = new Map<string, string>();
  /** Interned block hash strings (tickets of one block share one). */
  private readonly blockHashes = new Map<string, string>();
  private readonly maps = new Map<string, Readonly<Record<string, string>>>();
  /** Interned maps -> a number (profile keys). */
  private readonly mapNos = new WeakMap<object, number>();
  private mapCount = 0;
  /** Slabs -> a number (profile keys). */
  private readonly slabNos = new WeakMap<Buffer, number>();
  private slabCount = 0;
  private readonly profiles = new Map<string, TicketProfile>();
  /** Recent packTime results. */
  private readonly packedTimes = new Map<string, number | string>();
  private sorted: { version: number; hashes: string[] } | undefined;
  private readonly arena = new ByteArena();
  readonly #index: HashIndex;

  constructor(protected readonly opts: TicketCacheOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
    this.prefixLen = opts.keyspace.ticketsPrefix().length;
    const index = (this.#index = opts.hashIndex ?? new HashIndex());
    const prefix = opts.keyspace.ticketsPrefix();
    this.cache = new PrefixCache<CompactTicket>({
      client: opts.client,
      prefix,
      name: 'tickets',
      hooks: opts.hooks,
      pageSize: opts.pageSize,
      createStore: () => new HashKeyedStore<CompactTicket>(prefix, index),
      // tickets/chain-tip: the cluster tip's marker, not a ticket (chain-tip.ts).
      marker: opts.keyspace.ticketsTipMarker(),
      parse: (key, raw) => this.compact(key, this.parseRecord(key, raw)),
      onCorrupt: (err) => {
        this.log.warn({ err, key: err.key }, 'corrupt ticket record skipped');
        opts.onCorrupt?.(err);
      },
      onError: (err) => this.log.warn({ err }, 'tickets watch error'),
    });
  }

  private parseRecord(key: string, raw: Buffer): TicketRecord {
    const rec = parseTicketRecord(key, raw, (err) => {
      // The record stays votable; only the draws below its inputsFrom lose their proof.
      this.log.error({ err, key }, 'ticket record\'s vote input history unreadable: dropped, the record is used without it');
      this.opts.hooks?.observeCorruptValue?.(key);
      this.opts.onCorrupt?.(err);
    });
    const ks = this.opts.keyspace;
    if (ks.ticketHashOf(key) !== rec.ticketHash) throw new CorruptValueError(key, `record is for ticket ${rec.ticketHash}`);
    if (rec.network !== ks.network) throw new CorruptValueError(key, `record is for network ${rec.network}, keyspace is ${ks.network}`);
    if (rec.votingKey.ct.length !== 2 * (32 + TAG_BYTES)) {
      throw new CorruptValueError(key, `voting key: ciphertext is ${rec.votingKey.ct.length / 2} bytes, expected ${32 + TAG_BYTES}`);
    }
    if (this.opts.keyring && !this.opts.keyring.hasKid(rec.votingKey.kid)) {
      // Cheap and certain without decrypting: this node cannot open the key.
      const msg = `voting key: sealed with cluster key id ${rec.votingKey.kid}, which this node does not hold`;
      throw new CorruptValueError(key, msg, { cause: new WrongClusterKeyError(msg) });
    }
    if (this.opts.verifyKeysOnLoad === true) {
      try {
        this.ring().openVotingKey(ks.network, rec.ticketHash, rec.votingKey).wipe();
      } catch (err) {
        throw new CorruptValueError(key, `voting key: ${(err as Error).message}`, { cause: err });
      }
    }
    return rec;
  }

  /**
   * The compact form of a validated record; keeps no reference to the JSON text or parsed
   * object. The bytes go into the arena, or stay where they are when an update (new choices,
   * status) left the ticket and its sealed key unchanged.
   */
  private compact(key: string, rec: TicketRecord): CompactTicket {
    const tlen = rec.ticketHex.length / 2;
    const slen = NONCE_BYTES + rec.votingKey.ct.length / 2;
    // The first load (revision still 0) fills an empty store, each key once: nothing to reuse,
    // and the lookup (hex parse + index probe per ticket, ~0.1 s at 100k) is skipped.
    const prev = this.cache.revision === 0 ? undefined : this.cache.getValue(key);
    let slab: Buffer;
    let off: number;
    if (
      prev !== undefined && prev.tlen === tlen && prev.slen === slen &&
      prev.slab.toString('hex', prev.off, prev.off + tlen) === rec.ticketHex &&
      prev.slab.toString('hex', prev.off + tlen, prev.off + tlen + slen) === rec.votingKey.nonce + rec.votingKey.ct
    ) {
      slab = prev.slab;
      off = prev.off;
    } else {
      slab = this.arena.reserve(tlen + slen);
      off = this.arena.lastOffset;
      slab.write(rec.ticketHex, off, 'hex');
      slab.write(rec.votingKey.nonce, off + tlen, 'hex');
      slab.write(rec.votingKey.ct, off + tlen + NONCE_BYTES, 'hex');
    }
    const profile: TicketProfile = {
      slab,
      tlen,
      slen,
      kid: this.intern(this.kids, rec.votingKey.kid, rec.votingKey.kid),
      voteChoices: this.internMap(rec.voteChoices),
      treasuryPolicy: this.internMap(rec.treasuryPolicy) as Readonly<Record<string, Policy>>,
      tspendPolicy: this.internMap(rec.tspendPolicy) as Readonly<Record<string, Policy>>,
      status: TicketStatusSchema.options[TicketStatusSchema.options.indexOf(rec.status)] as TicketStatus,
      importedAt: packTime(rec.importedAt, this.packedTimes),
      updatedAt: packTime(rec.updatedAt, this.packedTimes),
      revision: rec.revision,
      // Up to 20 tickets per block share one block hash string (64 chars each otherwise).
      blockHash: rec.blockHash === undefined ? undefined : this.intern(this.blockHashes, rec.blockHash, rec.blockHash),
      blockHeight: rec.blockHeight,
      inputsFrom: rec.inputsFrom,
      earlierInputs: rec.earlierInputs === undefined || rec.earlierInputs.length === 0 ? undefined : deepFreeze(rec.earlierInputs),
    };
    return new CompactTicket(this.shareProfile(profile), off);
  }

  /** One object per distinct profile (tickets with equal fields share it). */
  private shareProfile(p: TicketProfile): TicketProfile {
    const ids = [this.slabNo(p.slab), this.mapNo(p.voteChoices), this.mapNo(p.treasuryPolicy), this.mapNo(p.tspendPolicy)];
    // A ticket with a history of inputs keeps its own profile (few do).
    if (ids.some((x) => x === undefined) || p.earlierInputs !== undefined) return p;
    const key = `${ids.join(',')}|${p.tlen}|${p.slen}|${p.kid}|${p.status}|${p.importedAt}|${p.updatedAt}|${p.revision}|${p.blockHash ?? ''}|${p.blockHeight ?? ''}|${p.inputsFrom ?? ''}`;
    const have = this.profiles.get(key);
    if (have !== undefined) return have;
    // Bounded: when full, start over (tickets keep the profiles they got; only sharing restarts).
    if (this.profiles.size >= MAX_INTERNED_MAPS) this.profiles.clear();
    this.profiles.set(key, p);
    return p;
  }

  private slabNo(slab: Buffer): number {
    let n = this.slabNos.get(slab);
    if (n === undefined) this.slabNos.set(slab, (n = ++this.slabCount));
    return n;
  }

  /** The number of an interned (or the empty) map, undefined for a map that is not interned. */
  private mapNo(m: object): number | undefined {
    return m === EMPTY ? 0 : this.mapNos.get(m);
  }

  private intern<V>(m: Map<string, V>, k: string, v: V): V {
    const have = m.get(k);
    if (have !== undefined) return have;
    if (m.size < MAX_INTERNED_MAPS) m.set(k, v);
    return v;
  }

  private internMap(m: Record<string, string>): Readonly<Record<string, string>> {
    const keys = Object.keys(m);
    if (keys.length === 0) return EMPTY;
    keys.sort();
    const canon = JSON.stringify(keys.map((k) => [k, m[k]]));
    const have = this.maps.get(canon);
    if (have !== undefined) return have;
    const obj = Object.freeze(Object.fromEntries(keys.map((k) => [k, m[k] as string])));
    if (this.maps.size < MAX_INTERNED_MAPS) {
      this.maps.set(canon, obj);
      this.mapNos.set(obj, ++this.mapCount);
    }
    return obj;
  }

  /** Loads every ticket record (paged range reads at one revision) and starts the watch from the next revision. */
  start(): Promise<void> {
    return this.cache.start();
  }

  /** Stops the watch. */
  stop(): Promise<void> {
    return this.cache.stop();
  }

  /** The keyring; throws NoClusterKeyError for a read-only opening. */
  protected ring(): Keyring {
    const k = this.opts.keyring;
    if (!k) throw new NoClusterKeyError('this process opened the cluster without a cluster key (read-only): it cannot seal or open voting keys');
    return k;
  }

  private view(e: CacheEntry<CompactTicket>): CachedTicket {
    return new TicketView(e.key.slice(this.prefixLen), e.modRevision, this.opts.keyspace.network, e.value);
  }

  private get store(): HashKeyedStore<CompactTicket> {
    return this.cache.store as HashKeyedStore<CompactTicket>;
  }

  /** The cached record of `ticketHash` with its etcd mod revision, or undefined. No I/O. */
  get(ticketHash: string): CachedTicket | undefined {
    const st = this.store;
    const id = st.idOf(ticketHash);
    return id < 0 ? undefined : new TicketView(ticketHash, st.modRevisionAt(id), this.opts.keyspace.network, st.valueAt(id));
  }

  /**
   * The ticket's vote inputs with their history (vote-inputs.ts) and the record's mod revision,
   * straight from the compact cache (no record built). No I/O.
   */
  voteInputsOf(ticketHash: string): { inputs: VersionedInputs; modRevision: number } | undefined {
    const st = this.store;
    const id = st.idOf(ticketHash);
    if (id < 0) return undefined;
    const c = st.valueAt(id);
    return {
      inputs: { latest: { voteChoices: c.voteChoices, tspendPolicy: c.tspendPolicy, treasuryPolicy: c.treasuryPolicy }, from: c.inputsFrom, earlier: c.earlierInputs },
      modRevision: st.modRevisionAt(id),
    };
  }

  /** Hashes of cached records without `inputsFrom` (written by an older version). No I/O. */
  legacyInputHashes(): string[] {
    const out: string[] = [];
    this.store.forEachId((id, c) => {
      if (c.inputsFrom === undefined) out.push(this.#index.hexAt(id));
    });
    return out;
  }

  /** True when `ticketHash` is in the cache (managed and readable). No I/O. */
  has(ticketHash: string): boolean {
    return this.store.idOf(ticketHash) >= 0;
  }

  /**
   * Every cached ticket hash, sorted (a fresh array; the sort is cached until the set of
   * tickets changes). No I/O. To walk every ticket without keeping 100k strings, use
   * {@link hashIter}.
   */
  hashes(): string[] {
    const version = this.cache.keysVersion;
    if (this.sorted?.version !== version) {
      const hs: string[] = [];
      for (const h of this.hashIter()) hs.push(h);
      hs.sort();
      this.sorted = { version, hashes: hs };
    }
    return this.sorted.hashes.slice();
  }

  /**
   * Every cached ticket hash, unsorted, one fresh string at a time (nothing kept): the tickets
   * cached when the iteration started that are still cached when reached. No I/O.
   */
  *hashIter(): IterableIterator<string> {
    const snapshot = this.idSnapshot();
    const index = this.#index;
    for (const id of snapshot) {
      if (this.store.has(id)) yield index.hexAt(id);
    }
  }

  /** The ids (in {@link hashIndex}) of the tickets cached now; check {@link hasId} before use after a yield. */
  idSnapshot(): Int32Array {
    const out = new Int32Array(this.store.size);
    let n = 0;
    this.store.forEachId((id) => {
      if (n < out.length) out[n++] = id;
    });
    return n === out.length ? out : out.subarray(0, n);
  }

  /** The ticket-hash index this cache is keyed by (shared with the owner cache by `openCluster`). */
  get hashIndex(): HashIndex {
    return this.#index;
  }

  /** Ids (in {@link hashIndex}) of the cached tickets: `fn(id)` for each, no strings built. */
  forEachId(fn: (id: number) => void): void {
    this.store.forEachId((id) => fn(id));
  }

  /** True when the ticket of index id `id` is cached. */
  hasId(id: number): boolean {
    return this.store.has(id);
  }

  /** Every cached record, sorted by ticket hash (records are views, see {@link CachedTicket}). No I/O. */
  list(): CachedTicket[] {
    const out: CachedTicket[] = [];
    for (const h of this.hashes()) {
      const e = this.cache.get(this.opts.keyspace.ticketsPrefix() + h);
      if (e) out.push(this.view(e));
    }
    return out;
  }

  /** The raw ticket transaction of `ticketHash` (a copy), or undefined. No I/O. */
  ticketBytes(ticketHash: string): Uint8Array | undefined {
    const id = this.store.idOf(ticketHash);
    if (id < 0) return undefined;
    const v = this.store.valueAt(id);
    return Uint8Array.from(v.slab.subarray(v.off, v.off + v.tlen));
  }

  /** Number of cached (valid) records. */
  get size(): number {
    return this.cache.size;
  }

  /**
   * Decrypts the voting key of `ticketHash` from the cache (no I/O). Wipe it after signing.
   * Keys are decrypted here, on demand, and never cached in plaintext. A key that fails to
   * decrypt makes the record corrupt: it is reported (onCorrupt, `corruptKeys()`), dropped
   * from the cache (a `delete` change), never deleted from etcd, and a
   * {@link CorruptValueError} naming the key is thrown.
   */
  getVotingKey(ticketHash: string): SecretKey {
    const key = this.opts.keyspace.ticket(ticketHash);
    const e = this.cache.get(key);
    if (!e) throw new TicketNotFoundError(`ticket ${ticketHash} is not in the ticket cache`);
    const c = e.value;
    const ring = this.ring();
    try {
      const at = c.off + c.tlen;
      return ring.openSealed(this.opts.keyspace.network, ticketHash, c.kid, c.slab.subarray(at, at + NONCE_BYTES), c.slab.subarray(at + NONCE_BYTES, at + c.slen));
    } catch (err) {
      const corrupt = new CorruptValueError(key, `voting key: ${(err as Error).message}`, { cause: err });
      this.cache.markCorrupt(key, corrupt, e.modRevision);
      throw corrupt;
    }
  }

  /**
   * Decrypts every cached voting key once (yielding to the event loop between chunks) and
   * reports the ones that fail, as `getVotingKey` would. For operators and health checks;
   * the voter does not need it. Returns the number of corrupt keys found.
   */
  async verifyVotingKeys(opts: { chunk?: number; signal?: AbortSignal } = {}): Promise<number> {
    const chunk = opts.chunk ?? 1_000;
    let bad = 0;
    const hs = this.hashes();
    for (let i = 0; i < hs.length && !opts.signal?.aborted; i += chunk) {
      for (const h of hs.slice(i, i + chunk)) {
        if (!this.has(h)) continue;
        try {
          this.getVotingKey(h).wipe();
        } catch (err) {
          if (err instanceof CorruptValueError) bad++;
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    return bad;
  }

  /** Keys whose value is corrupt (reported and skipped). */
  corruptKeys(): ReadonlyMap<string, CorruptValueError> {
    return this.cache.corruptKeys();
  }

  /**
   * Ticket records this process cannot vote with, by reason (the `votecluster_unvotable_tickets`
   * gauge): `unknown_key` (sealed with a cluster key this process does not hold), `undecryptable`
   * (authentication failed at sign time or when verified), `malformed` (not a valid record).
   */
  unvotableCounts(): Record<UnvotableReason, number> {
    const out: Record<UnvotableReason, number> = { unknown_key: 0, undecryptable: 0, malformed: 0 };
    for (const err of this.cache.corruptKeys().values()) out[unvotableReason(err)] += 1;
    return out;
  }

  /** The tickets watch cache (its marker is `tickets/chain-tip`): the canonical view reads its marker. */
  get markerCache(): PrefixCache<unknown> {
    return this.cache as PrefixCache<unknown>;
  }

  /** True while the tickets watch is connected. */
  get isWatchConnected(): boolean {
    return this.cache.isWatchConnected;
  }

  /** ms the tickets watch has been disconnected (0 while connected). */
  watchAgeMs(now?: number): number {
    return this.cache.watchAgeMs(now);
  }

  /** Subscribes to ticket record changes (an entry's `value` record is built on first access). */
  onChange(fn: (c: CacheChange<TicketRecord>) => void): () => void {
    const network = this.opts.keyspace.network;
    const toEntry = (e: CacheEntry<CompactTicket>): CacheEntry<TicketRecord> => new TicketEntryView(e, e.key.slice(this.prefixLen), network);
    return this.cache.onChange((c) =>
      fn(
        c.type === 'put'
          ? { type: 'put', entry: toEntry(c.entry), previous: c.previous && toEntry(c.previous) }
          : { type: 'delete', key: c.key, previous: c.previous && toEntry(c.previous) },
      ),
    );
  }
}
