/** fast-check generators for the wire types (shared by the codec property tests). */
import fc from 'fast-check';
import type { BlockHeader } from '../../../services/decred/wire/block-header.ts';
import type { Block } from '../../../services/decred/wire/block.ts';
import type { Tx } from '../../../services/decred/wire/tx.ts';

const u32 = fc.nat({ max: 0xffffffff });
const u16 = fc.nat({ max: 0xffff });
const i64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

export const arbTx: fc.Arbitrary<Tx> = fc.record({
  version: u16,
  inputs: fc.array(
    fc.record({
      prevOut: fc.record({ hash: bytes(32), index: u32, tree: fc.nat({ max: 255 }) }),
      sequence: u32,
      valueIn: i64,
      blockHeight: u32,
      blockIndex: u32,
      sigScript: fc.uint8Array({ maxLength: 300 }),
    }),
    { maxLength: 4 },
  ),
  outputs: fc.array(fc.record({ value: i64, version: u16, pkScript: fc.uint8Array({ maxLength: 300 }) }), { maxLength: 4 }),
  lockTime: u32,
  expiry: u32,
});

export const arbHeader: fc.Arbitrary<BlockHeader> = fc.record({
  version: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  prevBlock: bytes(32),
  merkleRoot: bytes(32),
  stakeRoot: bytes(32),
  voteBits: u16,
  finalState: bytes(6),
  voters: u16,
  freshStake: fc.nat({ max: 255 }),
  revocations: fc.nat({ max: 255 }),
  poolSize: u32,
  bits: u32,
  sBits: i64,
  height: u32,
  size: u32,
  timestamp: u32,
  nonce: u32,
  extraData: bytes(32),
  stakeVersion: u32,
});

export const arbBlock: fc.Arbitrary<Block> = fc.record({
  header: arbHeader,
  transactions: fc.array(arbTx, { maxLength: 3 }),
  stakeTransactions: fc.array(arbTx, { maxLength: 3 }),
});
