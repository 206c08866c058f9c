import { readFileSync } from 'node:fs';
import { blake256 as nobleBlake256 } from '@noble/hashes/blake1.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../services/decred/bytes.ts';
import { blake256, doubleBlake256, hash160 } from '../../../services/decred/hash.ts';

interface Blake256Vector {
  name: string;
  data_hex: string;
  salt_hex: string | null;
  blake256: string;
}

const file = JSON.parse(readFileSync(new URL('../../vectors/blake256.json', import.meta.url), 'utf8')) as {
  vectors: Blake256Vector[];
};
const unsalted = file.vectors.filter((v) => v.salt_hex === null);
const salted = file.vectors.filter((v) => v.salt_hex !== null);

describe('blake256 (crypto/blake256/hasher_test.go, chainhash HashB)', () => {
  it('has all 48 vectors (43 unsalted, 5 salted)', () => {
    expect(file.vectors.length).toBe(48);
    expect(salted.length).toBe(5);
  });

  it.each(unsalted.map((v, i) => [`${i} ${v.name}`, v] as const))('%s', (_name, v) => {
    expect(toHex(blake256(fromHex(v.data_hex)))).toBe(v.blake256);
  });

  // Decred never salts; these cases pin that the library we rely on is the
  // 14-round SHA-3-finalist BLAKE-256 with the upstream salt semantics.
  it.each(salted.map((v, i) => [`${i} ${v.name}`, v] as const))('salted: %s', (_name, v) => {
    expect(toHex(nobleBlake256(fromHex(v.data_hex), { salt: fromHex(v.salt_hex as string) }))).toBe(v.blake256);
  });

  it('doubleBlake256 and hash160 compose the single hash', () => {
    const empty = new Uint8Array();
    expect(toHex(blake256(empty))).toBe('716f6e863f744b9ac22c97ec7b76ea5f5908bc5b2f67c61510bfc4751384ea7a');
    expect(toHex(doubleBlake256(empty))).toBe(toHex(blake256(blake256(empty))));
    expect(hash160(empty).length).toBe(20);
  });
});
