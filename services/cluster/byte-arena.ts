/**
 * Append-only byte slabs for the ticket cache: 100k tickets keep their raw
 * bytes (~300 B ticket + 60 B sealed key) in a few dozen 1 MiB buffers instead
 * of 200k small Buffer objects (each ~100 B of heap on top of its bytes).
 * Bytes are never moved; space of removed tickets is not reused (a ticket's
 * bytes rarely change: updates of choices reuse them, see ticket-store.ts).
 */

/** Default slab size. */
export const SLAB_BYTES = 1 << 20;

/** See the module comment. */
export class ByteArena {
  private cur: Buffer;
  private used = 0;
  private allocated = 0;
  /** Offset of the last {@link reserve} in the slab it returned. */
  lastOffset = 0;

  constructor(private readonly slabBytes = SLAB_BYTES) {
    this.cur = Buffer.allocUnsafeSlow(slabBytes);
    this.allocated = slabBytes;
  }

  /** Reserves `n` bytes: returns the slab; the bytes start at {@link lastOffset}. */
  reserve(n: number): Buffer {
    if (n > this.slabBytes / 4) {
      this.lastOffset = 0;
      this.allocated += n;
      return Buffer.allocUnsafeSlow(n);
    }
    if (this.used + n > this.slabBytes) {
      this.cur = Buffer.allocUnsafeSlow(this.slabBytes);
      this.used = 0;
      this.allocated += this.slabBytes;
    }
    this.lastOffset = this.used;
    this.used += (n + 7) & ~7;
    return this.cur;
  }

  /** Bytes allocated in slabs so far (for memory accounting). */
  get allocatedBytes(): number {
    return this.allocated;
  }
}
