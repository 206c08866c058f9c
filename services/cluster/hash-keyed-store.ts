/**
 * The entry store of a watch cache whose keys are `<prefix><ticket hash>`
 * (`tickets/`, `owners/`): per entry no key string, no entry object and no Map
 * entry, but the shared {@link HashIndex} id of the hash and typed-array
 * columns (mod/create revision, lease) indexed by it, plus one value slot.
 * Entries are materialised as small {@link CacheEntry} objects only when read.
 * A key under the prefix that is not a lowercase 64-hex hash (never written by
 * votecluster, but etcd would hold it) lives in a plain Map beside.
 */
import type { CacheEntry, EntryStore } from './watch-cache.ts';
import { HashIndex } from './hash-index.ts';

/** Lease ids interned per store before the table is rebuilt from the live entries. */
const MAX_LEASES = 4_096;

/** See the module comment. */
export class HashKeyedStore<T> implements EntryStore<T> {
  private present: Uint8Array;
  private modRev: Float64Array;
  private createRev: Float64Array;
  private leaseIdx: Int32Array;
  private vals: Array<T | undefined>;
  private leases: string[] = ['0'];
  private leaseIds = new Map<string, number>([['0', 0]]);
  private count = 0;
  /** The lease table is rebuilt when it reaches this size (doubles when most leases are live). */
  private maxLeases = MAX_LEASES;
  private readonly others = new Map<string, CacheEntry<T>>();
  private readonly prefixLen: number;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly prefix: string,
    readonly index: HashIndex,
  ) {
    this.prefixLen = prefix.length;
    const n = index.capacity;
    this.present = new Uint8Array(n);
    this.modRev = new Float64Array(n);
    this.createRev = new Float64Array(n);
    this.leaseIdx = new Int32Array(n);
    this.vals = new Array<T | undefined>(n).fill(undefined);
    this.unsubscribe = index.onGrow((cap) => this.grow(cap));
  }

  /** Releases every entry's id and stops following the index (a replaced store after a resync). */
  dispose(): void {
    this.clear();
    this.unsubscribe();
  }

  private grow(cap: number): void {
    const grow = <A extends Uint8Array | Float64Array | Int32Array>(a: A, make: (n: number) => A): A => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.present = grow(this.present, (n) => new Uint8Array(n));
    this.modRev = grow(this.modRev, (n) => new Float64Array(n));
    this.createRev = grow(this.createRev, (n) => new Float64Array(n));
    this.leaseIdx = grow(this.leaseIdx, (n) => new Int32Array(n));
    for (let i = this.vals.length; i < cap; i++) this.vals.push(undefined);
  }

  /** The hash part of `key`, or undefined when the key is not `<prefix><hash>`. */
  private hashOf(key: string): string | undefined {
    if (key.length !== this.prefixLen + 64 || !key.startsWith(this.prefix)) return undefined;
    const h = key.slice(this.prefixLen);
    return HashIndex.isHash(h) ? h : undefined;
  }

  get size(): number {
    return this.count + this.others.size;
  }

  /** The id of the entry for `hash` (64 hex), or -1. */
  idOf(hash: string): number {
    const id = this.index.find(hash);
    return id >= 0 && this.present[id] === 1 ? id : -1;
  }

  /** True when the entry of `id` is present. */
  has(id: number): boolean {
    return this.present[id] === 1;
  }

  /** The value of a present id. */
  valueAt(id: number): T {
    return this.vals[id] as T;
  }

  modRevisionAt(id: number): number {
    return this.modRev[id] as number;
  }

  /** Calls `fn(id, value)` for every hash-keyed entry (no objects built); not for the odd keys kept aside. */
  forEachId(fn: (id: number, value: T) => void): void {
    const top = Math.min(this.present.length, this.index.capacity);
    for (let id = 0; id < top; id++) if (this.present[id] === 1) fn(id, this.vals[id] as T);
  }

  private entryAt(id: number, key: string): CacheEntry<T> {
    return {
      key,
      value: this.vals[id] as T,
      modRevision: this.modRev[id] as number,
      createRevision: this.createRev[id] as number,
      lease: this.leases[this.leaseIdx[id] as number] as string,
    };
  }

  get(key: string): CacheEntry<T> | undefined {
    const h = this.hashOf(key);
    if (h === undefined) return this.others.get(key);
    const id = this.idOf(h);
    return id < 0 ? undefined : this.entryAt(id, key);
  }

  getValue(key: string): T | undefined {
    const h = this.hashOf(key);
    if (h === undefined) return this.others.get(key)?.value;
    const id = this.idOf(h);
    return id < 0 ? undefined : (this.vals[id] as T);
  }

  set(e: CacheEntry<T>): void {
    const h = this.hashOf(e.key);
    if (h === undefined) {
      this.others.set(e.key, e);
      return;
    }
    let id = this.index.find(h);
    if (id < 0 || this.present[id] !== 1) {
      id = this.index.acquire(h); // may grow the columns
      this.present[id] = 1;
      this.count++;
    }
    this.vals[id] = e.value;
    this.modRev[id] = e.modRevision;
    this.createRev[id] = e.createRevision;
    this.leaseIdx[id] = this.leaseIndex(e.lease);
  }

  delete(key: string): boolean {
    const h = this.hashOf(key);
    if (h === undefined) return this.others.delete(key);
    const id = this.idOf(h);
    if (id < 0) return false;
    this.clearId(id);
    return true;
  }

  private clearId(id: number): void {
    this.present[id] = 0;
    this.vals[id] = undefined;
    this.count--;
    this.index.release(id);
  }

  clear(): void {
    for (let id = 0; id < this.present.length; id++) if (this.present[id] === 1) this.clearId(id);
    this.others.clear();
  }

  *values(): IterableIterator<CacheEntry<T>> {
    for (let id = 0; id < this.present.length; id++) {
      if (this.present[id] === 1) yield this.entryAt(id, this.prefix + this.index.hexAt(id));
    }
    yield* this.others.values();
  }

  private leaseIndex(lease: string): number {
    const hit = this.leaseIds.get(lease);
    if (hit !== undefined) return hit;
    if (this.leases.length >= this.maxLeases) this.compactLeases();
    const i = this.leases.length;
    const flat = Buffer.from(lease, 'latin1').toString('latin1'); // one flat string, not a cons of parts
    this.leases.push(flat);
    this.leaseIds.set(flat, i);
    return i;
  }

  /** Rebuilds the lease table from the live entries (old sessions' leases are forgotten). */
  private compactLeases(): void {
    const leases = ['0'];
    const ids = new Map<string, number>([['0', 0]]);
    for (let id = 0; id < this.present.length; id++) {
      if (this.present[id] !== 1) continue;
      const l = this.leases[this.leaseIdx[id] as number] as string;
      let i = ids.get(l);
      if (i === undefined) {
        i = leases.length;
        leases.push(l);
        ids.set(l, i);
      }
      this.leaseIdx[id] = i;
    }
    this.leases = leases;
    this.leaseIds = ids;
    this.maxLeases = Math.max(MAX_LEASES, 2 * leases.length);
  }
}
