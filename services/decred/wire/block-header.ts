/**
 * Block header codec (decred/dcrd: wire/blockheader.go).
 *
 * The header is always exactly 180 bytes; the block hash (block id) is the
 * single BLAKE-256 of those bytes, in internal byte order. Since DCP0011 the
 * proof of work uses BLAKE3, but the block id did not change.
 */
import { ByteReader, ByteWriter } from '../bytes.ts';
import { DecodeError, InvalidArgumentError } from '../errors.ts';
import { blake256 } from '../hash.ts';

export const BLOCK_HEADER_SIZE = 180;

export interface BlockHeader {
  version: number;
  /** Parent block hash, internal order. */
  prevBlock: Uint8Array;
  /** Since DCP0005: BLAKE256(regular tree root ‖ stake tree root). */
  merkleRoot: Uint8Array;
  /** Since DCP0005: the header commitment root (cfilter v2). */
  stakeRoot: Uint8Array;
  voteBits: number;
  /** 6-byte lottery final state. */
  finalState: Uint8Array;
  voters: number;
  freshStake: number;
  revocations: number;
  poolSize: number;
  bits: number;
  sBits: bigint;
  height: number;
  size: number;
  timestamp: number;
  nonce: number;
  /** 32 bytes of extra nonce space. */
  extraData: Uint8Array;
  stakeVersion: number;
}

function fixed(b: Uint8Array, n: number, what: string): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== n) {
    throw new InvalidArgumentError(`block header ${what}: expected ${n} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`);
  }
  return b;
}

/** Serialises a header to its 180 bytes. Throws InvalidArgumentError on wrong-length byte fields. */
export function encodeBlockHeader(h: BlockHeader): Uint8Array {
  const w = new ByteWriter(BLOCK_HEADER_SIZE);
  w.i32(h.version)
    .bytes(fixed(h.prevBlock, 32, 'prevBlock'))
    .bytes(fixed(h.merkleRoot, 32, 'merkleRoot'))
    .bytes(fixed(h.stakeRoot, 32, 'stakeRoot'))
    .u16(h.voteBits)
    .bytes(fixed(h.finalState, 6, 'finalState'))
    .u16(h.voters)
    .u8(h.freshStake)
    .u8(h.revocations)
    .u32(h.poolSize)
    .u32(h.bits)
    .i64(h.sBits)
    .u32(h.height)
    .u32(h.size)
    .u32(h.timestamp)
    .u32(h.nonce)
    .bytes(fixed(h.extraData, 32, 'extraData'))
    .u32(h.stakeVersion);
  return w.finish();
}

/** Reads one header from `r` (used by the block decoder). */
export function readBlockHeader(r: ByteReader): BlockHeader {
  return {
    version: r.i32('header version'),
    prevBlock: r.bytes(32, 'header prevBlock'),
    merkleRoot: r.bytes(32, 'header merkleRoot'),
    stakeRoot: r.bytes(32, 'header stakeRoot'),
    voteBits: r.u16('header voteBits'),
    finalState: r.bytes(6, 'header finalState'),
    voters: r.u16('header voters'),
    freshStake: r.u8('header freshStake'),
    revocations: r.u8('header revocations'),
    poolSize: r.u32('header poolSize'),
    bits: r.u32('header bits'),
    sBits: r.i64('header sBits'),
    height: r.u32('header height'),
    size: r.u32('header size'),
    timestamp: r.u32('header timestamp'),
    nonce: r.u32('header nonce'),
    extraData: r.bytes(32, 'header extraData'),
    stakeVersion: r.u32('header stakeVersion'),
  };
}

/** Decodes exactly 180 bytes; anything shorter or longer is a {@link DecodeError}. */
export function decodeBlockHeader(bytes: Uint8Array): BlockHeader {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('block header: input is not bytes');
  if (bytes.length !== BLOCK_HEADER_SIZE) {
    throw new DecodeError(`block header: expected ${BLOCK_HEADER_SIZE} bytes, got ${bytes.length}`);
  }
  return readBlockHeader(new ByteReader(bytes));
}

/** The block hash (id) in internal order: BLAKE256 of the 180 header bytes. */
export function blockHash(h: BlockHeader | Uint8Array): Uint8Array {
  if (h instanceof Uint8Array) {
    if (h.length !== BLOCK_HEADER_SIZE) {
      throw new DecodeError(`block header: expected ${BLOCK_HEADER_SIZE} bytes, got ${h.length}`);
    }
    return blake256(h);
  }
  return blake256(encodeBlockHeader(h));
}
