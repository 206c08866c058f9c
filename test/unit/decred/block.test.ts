import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, hashToHex, toHex } from '../../../services/decred/bytes.ts';
import { DecodeError, InvalidArgumentError } from '../../../services/decred/errors.ts';
import { txHash } from '../../../services/decred/wire/tx.ts';
import { blockHash, BLOCK_HEADER_SIZE, decodeBlockHeader, encodeBlockHeader } from '../../../services/decred/wire/block-header.ts';
import { decodeBlock, encodeBlock, MAX_BLOCK_PAYLOAD, type Block } from '../../../services/decred/wire/block.ts';
import { decodeTx } from '../../../services/decred/wire/tx.ts';
import { arbBlock, arbHeader } from './arbitraries.ts';

interface ChainBlock {
  height: number;
  header_hex: string;
  block_hash: string;
  stake_txs: { hex: string; txid: string; type: string }[];
}
const chain = JSON.parse(readFileSync(new URL('../../vectors/lottery_chain_regnet_0to168.json', import.meta.url), 'utf8')) as {
  blocks: ChainBlock[];
};
const sample = [1, 32, 143, 144, 150, 153, 168].map((h) => chain.blocks.find((b) => b.height === h) as ChainBlock);

describe('block header on the regnet test chain (stake/testdata/blocks0to168)', () => {
  it('every header decodes, re-encodes, hashes to block_hash and links to its parent', () => {
    let prev: Uint8Array | undefined;
    for (const b of chain.blocks) {
      const bytes = fromHex(b.header_hex);
      const h = decodeBlockHeader(bytes);
      expect(h.height).toBe(b.height);
      expect(toHex(encodeBlockHeader(h))).toBe(b.header_hex);
      expect(hashToHex(blockHash(h))).toBe(b.block_hash);
      expect(hashToHex(blockHash(bytes))).toBe(b.block_hash);
      if (prev) expect(toHex(h.prevBlock)).toBe(toHex(prev));
      prev = blockHash(h);
    }
    expect(chain.blocks.length).toBe(169);
  });

  it.each(sample.map((b) => [`height ${b.height}`, b] as const))('block round trip with stake txs: %s', (_n, b) => {
    const block: Block = {
      header: decodeBlockHeader(fromHex(b.header_hex)),
      transactions: [],
      stakeTransactions: b.stake_txs.map((t) => decodeTx(fromHex(t.hex))),
    };
    const bytes = encodeBlock(block);
    const back = decodeBlock(bytes);
    expect(back).toEqual(block);
    expect(back.stakeTransactions.map((t) => hashToHex(txHash(t)))).toEqual(b.stake_txs.map((t) => t.txid));
  });
});

describe('block codecs: properties', () => {
  it('decodeBlockHeader(encodeBlockHeader(h)) == h and is 180 bytes', () => {
    fc.assert(
      fc.property(arbHeader, (h) => {
        const b = encodeBlockHeader(h);
        expect(b.length).toBe(BLOCK_HEADER_SIZE);
        expect(decodeBlockHeader(b)).toEqual(h);
      }),
      { numRuns: 300 },
    );
  });
  it('decodeBlock(encodeBlock(b)) == b', () => {
    fc.assert(
      fc.property(arbBlock, (b) => {
        expect(decodeBlock(encodeBlock(b))).toEqual(b);
      }),
      { numRuns: 100 },
    );
  });
});

describe('block codecs: bad input', () => {
  const b150 = sample[4] as ChainBlock;
  const header = fromHex(b150.header_hex);
  const block = encodeBlock({
    header: decodeBlockHeader(header),
    transactions: [],
    stakeTransactions: b150.stake_txs.map((t) => decodeTx(fromHex(t.hex))),
  });

  it('a header of 179 or 181 bytes is a DecodeError', () => {
    expect(() => decodeBlockHeader(header.subarray(0, 179))).toThrow(DecodeError);
    expect(() => decodeBlockHeader(concatBytes(header, Uint8Array.of(0)))).toThrow(/expected 180 bytes, got 181/);
    expect(() => blockHash(header.subarray(1))).toThrow(DecodeError);
  });
  it('encoding a header with a wrong-length field is an InvalidArgumentError naming it', () => {
    const h = decodeBlockHeader(header);
    expect(() => encodeBlockHeader({ ...h, finalState: new Uint8Array(5) })).toThrow(InvalidArgumentError);
    expect(() => encodeBlockHeader({ ...h, extraData: new Uint8Array(31) })).toThrow(/extraData/);
  });
  it('every truncation of a block is a DecodeError', () => {
    for (let n = 0; n < block.length; n += 7) expect(() => decodeBlock(block.subarray(0, n))).toThrow(DecodeError);
  });
  it('trailing garbage, oversized counts, non-canonical counts, oversized blocks', () => {
    expect(() => decodeBlock(concatBytes(block, Uint8Array.of(0)))).toThrow(/trailing/);
    expect(() => decodeBlock(concatBytes(header, Uint8Array.of(0xfe, 0xff, 0xff, 0xff, 0xff)))).toThrow(/block tx count.*exceeds/);
    expect(() => decodeBlock(concatBytes(header, Uint8Array.of(0xfd, 0x01, 0x00)))).toThrow(/block tx count: non-canonical/);
    expect(() => decodeBlock(new Uint8Array(MAX_BLOCK_PAYLOAD + 1))).toThrow(DecodeError);
  });
  it('a corrupt stake tx names its position', () => {
    const bad = concatBytes(header, Uint8Array.of(0, 1), Uint8Array.of(1, 0, 1, 0));
    expect(() => decodeBlock(bad)).toThrow(/block stake tx 0: tx: serialization type/);
  });
  it('random bytes never escape as TypeError/RangeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 170, maxLength: 400 }), (b) => {
        try {
          decodeBlock(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 300 },
    );
  });
});
