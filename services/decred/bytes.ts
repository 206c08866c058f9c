/**
 * Byte helpers for the Decred wire format: hex, display-order hashes,
 * little-endian integers and canonical varints (decred/dcrd: wire/common.go).
 */
import { DecodeError, HexError, InvalidArgumentError } from './errors.ts';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Decodes hex; throws {@link HexError} naming `what` on odd length or bad digits. */
export function fromHex(hex: string, what = 'hex'): Uint8Array {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) {
    throw new HexError(`${what}: not an even-length hex string`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A 32-byte hash from display (RPC, byte-reversed) hex. */
export function hashFromHex(displayHex: string, what = 'hash'): Uint8Array {
  const b = fromHex(displayHex, what);
  if (b.length !== 32) throw new HexError(`${what}: expected 32 bytes, got ${b.length}`);
  return b.reverse();
}

/** Display (RPC, byte-reversed) hex of a 32-byte hash in internal order. */
export function hashToHex(hash: Uint8Array): string {
  return toHex(Uint8Array.from(hash).reverse());
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** bytes.Compare: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function varIntSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

/** Appends wire data to a growable buffer. */
export class ByteWriter {
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialSize = 256) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.reserve(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }
  u32be(v: number): this {
    this.reserve(4);
    this.view.setUint32(this.len, v >>> 0, false);
    this.len += 4;
    return this;
  }
  i32(v: number): this {
    this.reserve(4);
    this.view.setInt32(this.len, v, true);
    this.len += 4;
    return this;
  }
  i64(v: bigint): this {
    this.reserve(8);
    this.view.setBigInt64(this.len, v, true);
    this.len += 8;
    return this;
  }
  u64(v: bigint): this {
    this.reserve(8);
    this.view.setBigUint64(this.len, v, true);
    this.len += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  varInt(n: number | bigint): this {
    const v = BigInt(n);
    if (v < 0n) throw new InvalidArgumentError('varint: negative value');
    if (v < 0xfdn) return this.u8(Number(v));
    if (v <= 0xffffn) return this.u8(0xfd).u16(Number(v));
    if (v <= 0xffffffffn) return this.u8(0xfe).u32(Number(v));
    return this.u8(0xff).u64(v);
  }
  varBytes(b: Uint8Array): this {
    return this.varInt(b.length).bytes(b);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Reads wire data; every read is bounds-checked and throws {@link DecodeError} naming the field. */
export class ByteReader {
  private readonly view: DataView;
  offset = 0;

  constructor(readonly data: Uint8Array) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }

  private need(n: number, what: string): void {
    if (this.offset + n > this.data.length) {
      throw new DecodeError(`${what}: truncated at byte ${this.offset} (need ${n}, have ${this.remaining})`);
    }
  }

  u8(what: string): number {
    this.need(1, what);
    return this.data[this.offset++] as number;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return v;
  }
  i64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.data.slice(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  /** A canonical varint (ReadVarInt rejects a larger form than needed). */
  varInt(what: string): bigint {
    const d = this.u8(what);
    if (d < 0xfd) return BigInt(d);
    if (d === 0xfd) {
      const v = this.u16(what);
      if (v < 0xfd) throw new DecodeError(`${what}: non-canonical varint ${v}`);
      return BigInt(v);
    }
    if (d === 0xfe) {
      const v = this.u32(what);
      if (v <= 0xffff) throw new DecodeError(`${what}: non-canonical varint ${v}`);
      return BigInt(v);
    }
    const v = this.u64(what);
    if (v <= 0xffffffffn) throw new DecodeError(`${what}: non-canonical varint ${v}`);
    return v;
  }
  /** A varint count bounded by `max`, so corrupt lengths cannot allocate huge arrays. */
  count(what: string, max: number): number {
    const v = this.varInt(what);
    if (v > BigInt(max)) throw new DecodeError(`${what}: ${v} exceeds the maximum ${max}`);
    return Number(v);
  }
  varBytes(what: string, max: number): Uint8Array {
    const n = this.count(`${what} length`, max);
    return this.bytes(n, what);
  }
  /** Throws if anything is left over after a complete message. */
  end(what: string): void {
    if (this.remaining !== 0) {
      throw new DecodeError(`${what}: ${this.remaining} trailing bytes after the end`);
    }
  }
}
