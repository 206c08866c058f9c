import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../services/decred/bytes.ts';
import { InvalidArgumentError, ScriptError } from '../../../services/decred/errors.ts';
import {
  classifyScript,
  isCanonicalPush,
  multisigScript,
  nullDataScript,
  OP_1,
  OP_16,
  OP_CHECKMULTISIG,
  OP_RETURN,
  OP_SSGEN,
  OP_TADD,
  p2pkhScript,
  p2shScript,
  parseMultisig,
  parseScript,
  pushData,
  pushedData,
  stakeTaggedScript,
} from '../../../services/decred/script.ts';

const H = fromHex('2789d58cfa0957d206f025c2af056fc8a77cebb0');
const PK1 = fromHex('028f53838b7639563f27c94845549a41e5146bcd52e7fef0ea6da143a02b0fe2ed');
const PK2 = fromHex('03e925aafc1edd44e7c7f1ea4fb7d265dc672f204c3d0c81930389c10b81fb75de');

describe('pushData (ScriptBuilder.AddData canonical pushes)', () => {
  it.each([
    ['empty', '', '00'],
    ['[0]', '00', '00'],
    ['[1]', '01', '51'],
    ['[16]', '10', '60'],
    ['[17]', '11', '0111'],
    ['[0x81]', '81', '4f'],
    ['75 bytes', 'aa'.repeat(75), '4b' + 'aa'.repeat(75)],
    ['76 bytes', 'aa'.repeat(76), '4c4c' + 'aa'.repeat(76)],
    ['255 bytes', 'aa'.repeat(255), '4cff' + 'aa'.repeat(255)],
    ['256 bytes', 'aa'.repeat(256), '4d0001' + 'aa'.repeat(256)],
  ])('%s', (_n, data, want) => {
    expect(toHex(pushData(fromHex(data)))).toBe(want);
  });
  it('65536 bytes uses OP_PUSHDATA4', () => {
    expect(toHex(pushData(new Uint8Array(65536)).subarray(0, 5))).toBe('4e00000100');
  });
  it('round trip: parse(push(d)) yields exactly one canonical op pushing d', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (d) => {
        const ops = parseScript(pushData(d));
        expect(ops.length).toBe(1);
        expect(isCanonicalPush(ops[0]!)).toBe(true);
        const got = pushedData(ops[0]!)!;
        // [0] and [] both become OP_0, which pushes the empty vector.
        expect(toHex(got)).toBe(d.length === 1 && d[0] === 0 ? '' : toHex(d));
      }),
      { numRuns: 500 },
    );
  });
  it('a sequence of pushes parses back in order', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 2, maxLength: 300 }), { maxLength: 6 }), (ds) => {
        const script = Uint8Array.from(ds.flatMap((d) => [...pushData(d)]));
        expect(parseScript(script).map((o) => toHex(o.data!))).toEqual(ds.map(toHex));
      }),
    );
  });
});

describe('parseScript rejects malformed pushes with ScriptError', () => {
  it.each([
    ['OP_DATA_2 with 1 byte', '02aa'],
    ['OP_PUSHDATA1 without length', '4c'],
    ['OP_PUSHDATA1 short', '4c05aabb'],
    ['OP_PUSHDATA2 half length', '4d01'],
    ['OP_PUSHDATA4 short', '4e0100000000'.slice(0, 8)],
    ['OP_PUSHDATA4 huge', '4effffffff00'],
  ])('%s', (_n, hex) => {
    expect(() => parseScript(fromHex(hex))).toThrow(ScriptError);
  });
  it('random bytes only ever throw ScriptError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        try {
          parseScript(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ScriptError);
        }
      }),
      { numRuns: 500 },
    );
  });
  it('non-canonical pushes are recognised', () => {
    expect(isCanonicalPush(parseScript(fromHex('4c01aa'))[0]!)).toBe(false);
    expect(isCanonicalPush(parseScript(fromHex('0105'))[0]!)).toBe(false);
    expect(isCanonicalPush(parseScript(fromHex('01aa'))[0]!)).toBe(true);
  });
});

describe('classifyScript', () => {
  it.each([
    ['p2pkh', p2pkhScript(H), { kind: 'p2pkh', stakeTag: null, hash160: H }],
    ['p2sh', p2shScript(H), { kind: 'p2sh', stakeTag: null, hash160: H }],
    ['sstx p2pkh', stakeTaggedScript('sstx', p2pkhScript(H)), { kind: 'p2pkh', stakeTag: 'sstx', hash160: H }],
    ['tgen p2sh', stakeTaggedScript('tgen', p2shScript(H)), { kind: 'p2sh', stakeTag: 'tgen', hash160: H }],
    ['multisig 1-of-2', multisigScript(1, [PK1, PK2]), { kind: 'multisig', stakeTag: null }],
    ['bare OP_RETURN', Uint8Array.of(OP_RETURN), { kind: 'nulldata', stakeTag: null }],
    ['vote block reference', fromHex('6a24' + '00'.repeat(36)), { kind: 'nulldata', stakeTag: null }],
    ['OP_RETURN small int', Uint8Array.of(OP_RETURN, OP_1), { kind: 'nulldata', stakeTag: null }],
    ['OP_RETURN two pushes', fromHex('6a01aa01bb'), { kind: 'nonstandard', stakeTag: null }],
    ['OP_RETURN non-canonical push', fromHex('6a4c01aa'), { kind: 'nonstandard', stakeTag: null }],
    ['OP_RETURN 257 bytes', nullDataLike(257), { kind: 'nonstandard', stakeTag: null }],
    ['tag + multisig', Uint8Array.of(OP_SSGEN, ...multisigScript(1, [PK1])), { kind: 'nonstandard', stakeTag: null }],
    ['two tags', Uint8Array.of(0xba, ...stakeTaggedScript('ssgen', p2pkhScript(H))), { kind: 'nonstandard', stakeTag: null }],
    ['p2pkh + trailing byte', Uint8Array.of(...p2pkhScript(H), 0), { kind: 'nonstandard', stakeTag: null }],
    ['OP_TADD alone', Uint8Array.of(OP_TADD), { kind: 'nonstandard', stakeTag: null }],
    ['empty', new Uint8Array(), { kind: 'nonstandard', stakeTag: null }],
    ['truncated push', fromHex('76a914aa'), { kind: 'nonstandard', stakeTag: null }],
  ])('%s', (_n, script, want) => {
    expect(classifyScript(script)).toEqual(want);
  });
  function nullDataLike(n: number): Uint8Array {
    return Uint8Array.of(OP_RETURN, ...pushData(new Uint8Array(n).fill(1)));
  }
});

describe('templates', () => {
  it('multisig build/parse round trip', () => {
    const s = multisigScript(2, [PK1, PK2]);
    expect(s[0]).toBe(OP_1 + 1);
    expect(s[s.length - 1]).toBe(OP_CHECKMULTISIG);
    const { m, pubKeys } = parseMultisig(s);
    expect(m).toBe(2);
    expect(pubKeys.map(toHex)).toEqual([toHex(PK1), toHex(PK2)]);
  });
  it('rejects bad multisig parameters and non-multisig scripts', () => {
    expect(() => multisigScript(3, [PK1, PK2])).toThrow(InvalidArgumentError);
    expect(() => multisigScript(0, [PK1])).toThrow(InvalidArgumentError);
    expect(() => multisigScript(1, [PK1.subarray(1)])).toThrow(InvalidArgumentError);
    expect(() => multisigScript(1, new Array(17).fill(PK1))).toThrow(InvalidArgumentError);
    expect(() => parseMultisig(p2pkhScript(H))).toThrow(ScriptError);
    expect(() => parseMultisig(Uint8Array.of(OP_1, ...pushData(PK1), OP_16, OP_CHECKMULTISIG))).toThrow(ScriptError);
  });
  it('rejects wrong hash sizes, bad tags and oversized null data', () => {
    expect(() => p2pkhScript(new Uint8Array(19))).toThrow(InvalidArgumentError);
    expect(() => p2shScript(new Uint8Array(21))).toThrow(InvalidArgumentError);
    expect(() => stakeTaggedScript('sstx', multisigScript(1, [PK1]))).toThrow(InvalidArgumentError);
    expect(() => stakeTaggedScript('sstx', stakeTaggedScript('sstx', p2pkhScript(H)))).toThrow(InvalidArgumentError);
    expect(() => nullDataScript(new Uint8Array(257))).toThrow(InvalidArgumentError);
    expect(toHex(nullDataScript(Uint8Array.of(1, 0)))).toBe('6a020100');
  });
});
