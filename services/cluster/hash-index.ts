/**
 * One compact representation of ticket hashes shared by a cluster handle's
 * per-ticket state (ticket cache, owner cache): each 64-char hex
 * hash is stored once, as 32 bytes, and gets a small integer id. The caches
 * keep their per-ticket fields in typed-array columns indexed by that id, so
 * 100k tickets cost a few dozen bytes each instead of two 107-byte etcd key
 * strings, two entry objects and two Map entries.
 *
 * Ids are reference counted: a holder `acquire`s an id for a hash and
 * `release`s it when its entry goes; the id (and its 32 bytes) is reused once
 * nobody holds it. Lookup is an open-addressing table (linear probing,
 * backward-shift deletion: no tombstones) over an FNV-1a hash of all 32 bytes.
 */

const HASH_BYTES = 32;
const HEX_RE = /^[0-9a-f]{64}$/;
const INITIAL_IDS = 1_024;

/** See the module comment. */
export class HashIndex {
  /** 32 bytes per id. */
  private keys = new Uint8Array(INITIAL_IDS * HASH_BYTES);
  private refs = new Uint16Array(INITIAL_IDS);
  /** Open-addressing table: id + 1, 0 = empty. Capacity a power of two, at most half full. */
  private table = new Int32Array(INITIAL_IDS * 2);
  private mask = INITIAL_IDS * 2 - 1;
  /** Ids below this were handed out at least once. */
  private top = 0;
  private readonly free: number[] = [];
  private live = 0;
  private readonly scratch = Buffer.alloc(HASH_BYTES);
  private readonly growListeners = new Set<(capacity: number) => void>();

  /** Ids are < capacity (grows by doubling; listeners resize their columns). */
  get capacity(): number {
    return this.refs.length;
  }

  /** Hashes currently held by someone. */
  get size(): number {
    return this.live;
  }

  /** `fn(capacity)` after every growth (columns indexed by id must cover the new capacity); returns the unsubscribe. */
  onGrow(fn: (capacity: number) => void): () => void {
    this.growListeners.add(fn);
    return () => this.growListeners.delete(fn);
  }

  /** True when `hex` is a hash this index can hold (64 lowercase hex characters). */
  static isHash(hex: string): boolean {
    return hex.length === 64 && HEX_RE.test(hex);
  }

  /** The id of `hex`, or -1 when absent (or not a 64-char lowercase hex hash). */
  find(hex: string): number {
    if (!HashIndex.isHash(hex)) return -1;
    this.scratch.write(hex, 0, 'hex');
    return this.findBytes(this.scratch, 0);
  }

  /** The id of the hash in `hex` (adding it when absent), with one more reference. `hex` must satisfy {@link isHash}. */
  acquire(hex: string): number {
    this.scratch.write(hex, 0, 'hex');
    let id = this.findBytes(this.scratch, 0);
    if (id < 0) id = this.insert(this.scratch);
    (this.refs[id] as number)++;
    return id;
  }

  /** Drops one reference to `id`; the hash is forgotten when none remain. */
  release(id: number): void {
    const r = this.refs[id] as number;
    if (r === 0) return;
    this.refs[id] = r - 1;
    if (r === 1) this.remove(id);
  }

  /** The 64-char hex hash of a held id (a fresh string). */
  hexAt(id: number): string {
    const b = Buffer.from(this.keys.buffer, this.keys.byteOffset + id * HASH_BYTES, HASH_BYTES);
    return b.toString('hex');
  }

  /**
   * The index's key storage: the 32 bytes of id `i` are at offset `i * 32` (read-only; the array
   * is replaced when the index grows, so fetch it again after anything that may add hashes).
   */
  keyBytes(): Uint8Array {
    return this.keys;
  }

  /** True when `id` is currently held. */
  isLive(id: number): boolean {
    return id >= 0 && id < this.top && (this.refs[id] as number) > 0;
  }

  /** Bytes held by the index (for memory accounting). */
  get bytes(): number {
    return this.keys.byteLength + this.refs.byteLength + this.table.byteLength;
  }

  private slotOf(bytes: Uint8Array, off: number): number {
    // FNV-1a over all 32 bytes (ticket hashes are random, but test and bench hashes share long prefixes).
    let h = 0x811c9dc5;
    for (let i = 0; i < HASH_BYTES; i++) h = Math.imul(h ^ (bytes[off + i] as number), 0x01000193);
    return (h ^ (h >>> 16)) & this.mask;
  }

  private equals(id: number, bytes: Uint8Array, off: number): boolean {
    const base = id * HASH_BYTES;
    const keys = this.keys;
    for (let i = 0; i < HASH_BYTES; i++) if (keys[base + i] !== bytes[off + i]) return false;
    return true;
  }

  private findBytes(bytes: Uint8Array, off: number): number {
    const table = this.table;
    for (let s = this.slotOf(bytes, off); ; s = (s + 1) & this.mask) {
      const v = table[s] as number;
      if (v === 0) return -1;
      if (this.equals(v - 1, bytes, off)) return v - 1;
    }
  }

  private insert(bytes: Uint8Array): number {
    if ((this.live + 1) * 2 > this.table.length) this.growTable();
    let id = this.free.pop();
    if (id === undefined) {
      if (this.top === this.refs.length) this.growIds();
      id = this.top++;
    }
    this.keys.set(bytes.subarray(0, HASH_BYTES), id * HASH_BYTES);
    this.place(id);
    this.live++;
    return id;
  }

  private place(id: number): void {
    const table = this.table;
    let s = this.slotOf(this.keys, id * HASH_BYTES);
    while (table[s] !== 0) s = (s + 1) & this.mask;
    table[s] = id + 1;
  }

  private remove(id: number): void {
    const table = this.table;
    const mask = this.mask;
    let s = this.slotOf(this.keys, id * HASH_BYTES);
    while (table[s] !== id + 1) s = (s + 1) & mask;
    // Backward-shift deletion: move later members of the probe run into the hole.
    let hole = s;
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.slotOf(this.keys, ((table[j] as number) - 1) * HASH_BYTES);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        table[hole] = table[j] as number;
        hole = j;
      }
    }
    table[hole] = 0;
    this.free.push(id);
    this.live--;
  }

  private growIds(): void {
    const n = this.refs.length * 2;
    const keys = new Uint8Array(n * HASH_BYTES);
    keys.set(this.keys);
    this.keys = keys;
    const refs = new Uint16Array(n);
    refs.set(this.refs);
    this.refs = refs;
    for (const fn of this.growListeners) fn(n);
  }

  private growTable(): void {
    this.table = new Int32Array(this.table.length * 2);
    this.mask = this.table.length - 1;
    for (let id = 0; id < this.top; id++) if ((this.refs[id] as number) > 0) this.place(id);
  }
}
