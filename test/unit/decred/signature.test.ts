import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../services/decred/bytes.ts';
import { InvalidArgumentError, SignatureError } from '../../../services/decred/errors.ts';
import { blake256 } from '../../../services/decred/hash.ts';
import {
  decodeDer,
  encodeDer,
  isValidPrivKey,
  isValidPubKey,
  privKeyToPubKey,
  SECP256K1_N,
  signHash,
  verifyHash,
} from '../../../services/decred/signature.ts';

interface EcdsaVector {
  name: string;
  privkey: string;
  msg_hex: string;
  hash: string;
  rfc6979_nonce: string;
  r: string;
  s: string;
  derived_der_sig: string;
  derived_pubkey_compressed: string;
}

const file = JSON.parse(readFileSync(new URL('../../vectors/ecdsa_rfc6979.json', import.meta.url), 'utf8')) as {
  vectors: EcdsaVector[];
};
const cases = file.vectors.map((v) => [v.name, v] as const);
const big = (hex: string) => BigInt('0x' + hex);
const mod = (a: bigint) => ((a % SECP256K1_N) + SECP256K1_N) % SECP256K1_N;
function inv(a: bigint): bigint {
  let [r0, r1, t0, t1] = [SECP256K1_N, mod(a), 0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0);
}

describe('ECDSA RFC 6979 (dcrec/secp256k1/ecdsa/signature_test.go signTests)', () => {
  it('has 14 vectors', () => expect(cases.length).toBe(14));

  it.each(cases)('%s', (_n, v) => {
    const priv = fromHex(v.privkey);
    const hash = fromHex(v.hash);
    expect(toHex(blake256(fromHex(v.msg_hex)))).toBe(v.hash);
    expect(toHex(privKeyToPubKey(priv))).toBe(v.derived_pubkey_compressed);
    const der = signHash(hash, priv);
    expect(toHex(der)).toBe(v.derived_der_sig);
    const { r, s } = decodeDer(der);
    expect(r).toBe(big(v.r));
    expect(s).toBe(big(v.s));
    // The vector's nonce k produced this signature: r = (kG).x mod N and
    // s = ±k⁻¹(h + r·d) mod N (low-S picks the sign).
    const k = big(v.rfc6979_nonce);
    expect(mod(secp256k1.Point.BASE.multiply(k).toAffine().x)).toBe(r);
    const sFull = mod(inv(k) * (big(v.hash) + r * big(v.privkey)));
    expect([sFull, SECP256K1_N - sFull]).toContain(s);
    expect(verifyHash(der, hash, privKeyToPubKey(priv))).toBe(true);
  });
});

describe('strict DER (CheckSignatureEncoding)', () => {
  const v = file.vectors[0] as EcdsaVector;
  const good = fromHex(v.derived_der_sig);
  const pub = fromHex(v.derived_pubkey_compressed);
  const hash = fromHex(v.hash);
  const mutate = (f: (b: Uint8Array) => Uint8Array) => f(Uint8Array.from(good));

  const bad: [string, Uint8Array][] = [
    ['too short', good.subarray(0, 7)],
    ['too long', new Uint8Array(73).fill(0x30)],
    ['wrong sequence id', mutate((b) => ((b[0] = 0x31), b))],
    ['wrong sequence length', mutate((b) => ((b[1] = b[1]! + 1), b))],
    ['R not an integer', mutate((b) => ((b[2] = 0x03), b))],
    ['S not an integer', mutate((b) => ((b[4 + b[3]!] = 0x03), b))],
    ['trailing byte', Uint8Array.from([...good.subarray(0, 1), good[1]! + 1, ...good.subarray(2), 0x00])],
    ['negative R', encodeRaw(fromHex('80' + '11'.repeat(31)), fromHex('01'))],
    ['padded R', encodeRaw(fromHex('0001'), fromHex('01'))],
    ['zero R', encodeRaw(fromHex('00'), fromHex('01'))],
    ['zero-length S', encodeRaw(fromHex('01'), new Uint8Array())],
    ['R >= N', encodeRaw(fromHex('00' + SECP256K1_N.toString(16)), fromHex('01'))],
    ['high S', encodeDerUnchecked(big(v.r), SECP256K1_N - big(v.s))],
  ];
  function encodeRaw(r: Uint8Array, s: Uint8Array): Uint8Array {
    return Uint8Array.from([0x30, 4 + r.length + s.length, 0x02, r.length, ...r, 0x02, s.length, ...s]);
  }
  function encodeDerUnchecked(r: bigint, s: bigint): Uint8Array {
    const b = (x: bigint) => {
      let h = x.toString(16);
      if (h.length % 2) h = '0' + h;
      if (parseInt(h.slice(0, 2), 16) >= 0x80) h = '00' + h;
      return fromHex(h);
    };
    return encodeRaw(b(r), b(s));
  }

  it.each(bad)('rejects %s', (_n, der) => {
    expect(() => decodeDer(der)).toThrow(SignatureError);
    expect(verifyHash(der, hash, pub)).toBe(false);
  });

  it('accepts the good signature and round-trips it', () => {
    expect(encodeDer(decodeDer(good))).toEqual(good);
  });

  it('verifyHash is false for a wrong hash, a wrong key, a bad key and a short hash', () => {
    const other = privKeyToPubKey(fromHex('02'.padStart(64, '0')));
    expect(verifyHash(good, blake256(hash), pub)).toBe(false);
    expect(verifyHash(good, hash, other)).toBe(false);
    expect(verifyHash(good, hash, Uint8Array.of(0x06, ...pub.subarray(1)))).toBe(false);
    expect(verifyHash(good, hash.subarray(1), pub)).toBe(false);
  });

  it('DER round trip holds for random (r, s)', () => {
    const scalar = fc.bigInt({ min: 1n, max: SECP256K1_N - 1n });
    fc.assert(
      fc.property(scalar, scalar, (r, s) => {
        const low = s > SECP256K1_N / 2n ? SECP256K1_N - s : s;
        expect(decodeDer(encodeDer({ r, s: low }))).toEqual({ r, s: low });
      }),
    );
  });
});

describe('signHash output', () => {
  it('is always strict DER with low S and verifies (random keys and hashes)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (priv, hash) => {
        fc.pre(isValidPrivKey(priv));
        const der = signHash(hash, priv);
        const { r, s } = decodeDer(der);
        expect(s <= SECP256K1_N / 2n).toBe(true);
        expect(encodeDer({ r, s })).toEqual(der);
        expect(verifyHash(der, hash, privKeyToPubKey(priv))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});

describe('keys', () => {
  it('validates private keys', () => {
    expect(isValidPrivKey(new Uint8Array(32))).toBe(false);
    expect(isValidPrivKey(fromHex(SECP256K1_N.toString(16)))).toBe(false);
    expect(isValidPrivKey(new Uint8Array(31).fill(1))).toBe(false);
    expect(isValidPrivKey(new Uint8Array(32).fill(1))).toBe(true);
    expect(() => privKeyToPubKey(new Uint8Array(32))).toThrow(InvalidArgumentError);
    expect(() => signHash(new Uint8Array(31), new Uint8Array(32).fill(1))).toThrow(InvalidArgumentError);
  });
  it('accepts compressed and uncompressed keys, rejects hybrid', () => {
    const priv = new Uint8Array(32).fill(3);
    const c = privKeyToPubKey(priv);
    const u = secp256k1.getPublicKey(priv, false);
    expect(isValidPubKey(c)).toBe(true);
    expect(isValidPubKey(u)).toBe(true);
    expect(isValidPubKey(Uint8Array.of(c[0] === 2 ? 6 : 7, ...u.subarray(1)))).toBe(false);
    expect(isValidPubKey(c.subarray(0, 32))).toBe(false);
  });
});
