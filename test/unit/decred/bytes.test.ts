import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, fromHex, hashFromHex, hashToHex, toHex } from '../../../services/decred/bytes.ts';
import { DecodeError, HexError } from '../../../services/decred/errors.ts';

describe('varint (wire/common.go ReadVarInt/WriteVarInt)', () => {
  it.each([
    [0n, '00'],
    [0xfcn, 'fc'],
    [0xfdn, 'fdfd00'],
    [0xffffn, 'fdffff'],
    [0x10000n, 'fe00000100'],
    [0xffffffffn, 'feffffffff'],
    [0x100000000n, 'ff0000000001000000'],
  ])('%s encodes as %s and decodes back', (n, hex) => {
    expect(toHex(new ByteWriter().varInt(n).finish())).toBe(hex);
    expect(new ByteReader(fromHex(hex)).varInt('v')).toBe(n);
  });

  it.each(['fdfc00', 'feffff0000', 'ffffffffff00000000'])('rejects non-canonical %s', (hex) => {
    expect(() => new ByteReader(fromHex(hex)).varInt('count')).toThrow(DecodeError);
  });

  it('names the field on truncation', () => {
    expect(() => new ByteReader(fromHex('fd01')).varInt('input count')).toThrow(/input count: truncated/);
  });
});

describe('hex', () => {
  it('rejects odd length and non-hex digits with HexError', () => {
    expect(() => fromHex('abc')).toThrow(HexError);
    expect(() => fromHex('zz')).toThrow(HexError);
  });
  it('display-order hashes are byte-reversed', () => {
    const display = '00'.repeat(31) + '01';
    expect(hashFromHex(display)[0]).toBe(1);
    expect(hashToHex(hashFromHex(display))).toBe(display);
  });
});
