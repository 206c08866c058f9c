import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../../services/decred/bytes.ts';
import { DecodeError, HexError } from '../../../services/decred/errors.ts';
import { decodeTx, decodeTxHex, encodeTx, MAX_TX_SIZE, TX_SER_NO_WITNESS } from '../../../services/decred/wire/tx.ts';
import { arbTx } from './arbitraries.ts';

const sighash = JSON.parse(readFileSync(new URL('../../vectors/sighash.json', import.meta.url), 'utf8')) as {
  vectors: { tx_hex: string; comment: string }[];
};
/** A real mainnet vote (block 4096): 2 inputs, 3 outputs. */
const VOTE_HEX = sighash.vectors.find((v) => v.comment.startsWith('block 4096 vote'))!.tx_hex;
const VOTE = fromHex(VOTE_HEX);

function expectDecodeError(bytes: Uint8Array, field?: RegExp): void {
  try {
    decodeTx(bytes);
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    expect((e as DecodeError).code).toBe('DECRED_DECODE');
    if (field) expect((e as Error).message).toMatch(field);
    return;
  }
  expect.unreachable('decodeTx accepted bad input');
}

describe('tx codec round trip (fast-check)', () => {
  it('decodeTx(encodeTx(tx)) == tx', () => {
    fc.assert(
      fc.property(arbTx, (tx) => {
        expect(decodeTx(encodeTx(tx))).toEqual(tx);
      }),
      { numRuns: 300 },
    );
  });
  it('encodeTx(decodeTx(b)) == b for the real vote', () => {
    expect(toHex(encodeTx(decodeTx(VOTE)))).toBe(VOTE_HEX);
  });
});

describe('tx decoder rejects bad input with a typed DecodeError', () => {
  it('every truncation of a real vote', () => {
    for (let n = 0; n < VOTE.length; n++) expectDecodeError(VOTE.subarray(0, n), /truncated|tx/);
  });
  it('trailing garbage', () => expectDecodeError(concatBytes(VOTE, Uint8Array.of(0)), /trailing/));
  it('a non-canonical input count varint (fd 0200 for 2)', () => {
    expect(VOTE[4]).toBe(2);
    expectDecodeError(concatBytes(VOTE.subarray(0, 4), Uint8Array.of(0xfd, 0x02, 0x00), VOTE.subarray(5)), /input count: non-canonical/);
  });
  it('an oversized input count', () => {
    expectDecodeError(concatBytes(VOTE.subarray(0, 4), Uint8Array.of(0xfe, 0xff, 0xff, 0xff, 0x7f)), /input count.*exceeds/);
  });
  it('an oversized script length', () => {
    // input count 0, output count 1, value, version, then a 4 GB script length
    const b = concatBytes(fromHex('01000000' + '00' + '01' + '0000000000000000' + '0000'), Uint8Array.of(0xfe, 0, 0, 0, 1));
    expectDecodeError(b, /output 0 pkScript length.*exceeds/);
  });
  it('a witness count that differs from the input count', () => {
    const tx = decodeTx(VOTE);
    const prefix = encodeTx(tx, TX_SER_NO_WITNESS).subarray(4);
    expectDecodeError(concatBytes(VOTE.subarray(0, 4), prefix, Uint8Array.of(1)), /witness count/);
  });
  it('a non-full serialization type', () => {
    expectDecodeError(concatBytes(Uint8Array.of(1, 0, 1, 0), VOTE.subarray(4)), /serialization type/);
  });
  it('more than MAX_TX_SIZE bytes', () => expectDecodeError(new Uint8Array(MAX_TX_SIZE + 1), /exceeds/));
  it('bad and odd-length hex is a HexError naming the field', () => {
    expect(() => decodeTxHex(VOTE_HEX.slice(1))).toThrow(HexError);
    expect(() => decodeTxHex('zz')).toThrow(/tx hex/);
  });
  it('random bytes never escape as TypeError/RangeError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeTx(b);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
  it('random mutations of a real vote never escape as TypeError/RangeError', () => {
    fc.assert(
      fc.property(fc.nat({ max: VOTE.length - 1 }), fc.nat({ max: 255 }), (i, b) => {
        const m = Uint8Array.from(VOTE);
        m[i] = b;
        try {
          decodeTx(m);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
