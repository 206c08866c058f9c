import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../services/decred/bytes.ts';
import { base58CheckEncode } from '../../../services/decred/base58check.ts';
import { blake256 } from '../../../services/decred/hash.ts';
import { EncodingError, InvalidArgumentError, WrongNetworkError } from '../../../services/decred/errors.ts';
import { NETWORK_NAMES, netParams, type NetParams } from '../../../services/decred/params.ts';
import { privKeyToPubKey } from '../../../services/decred/signature.ts';
import { decodeWif, encodeWif } from '../../../services/decred/wif.ts';

interface WifVector {
  name: string;
  wif: string;
  net_id_hex: string;
  privkey: string | null;
  dsa: number | null;
  pubkey: string | null;
  decode_error: string | null;
}

const file = JSON.parse(readFileSync(new URL('../../vectors/wif.json', import.meta.url), 'utf8')) as {
  vectors: WifVector[];
};
function paramsFor(netIdHex: string): NetParams {
  const p = NETWORK_NAMES.map(netParams).find((n) => toHex(Uint8Array.from(n.privateKeyId)) === netIdHex);
  if (!p) throw new Error(`no network with WIF id ${netIdHex}`);
  return p;
}
const positive = file.vectors.filter((v) => v.decode_error === null).map((v) => [v.name, v] as const);
const negative = file.vectors.filter((v) => v.decode_error !== null).map((v) => [v.name, v] as const);

/** Upstream error -> our typed error. */
const EXPECTED_ERROR: Record<string, typeof EncodingError | typeof WrongNetworkError> = {
  'encoded wif too long': EncodingError,
  'bad checksum': EncodingError,
  'bad decoded data length': EncodingError,
  'wif for wrong network': WrongNetworkError,
  'invalid ed25519 privkey via decode': EncodingError,
};

describe('WIF (dcrutil/wif_test.go TestWIF)', () => {
  it('has 12 positive and 5 error vectors', () => {
    expect(positive.length).toBe(12);
    expect(negative.length).toBe(5);
  });

  it.each(positive)('%s', (_n, v) => {
    const params = paramsFor(v.net_id_hex);
    const d = decodeWif(v.wif, params);
    expect(toHex(d.privKey)).toBe(v.privkey);
    expect(d.sigType).toBe(v.dsa);
    expect(encodeWif(fromHex(v.privkey as string), params, v.dsa as number)).toBe(v.wif);
    if (v.dsa === 1) {
      // edwards.PrivKeyFromScalar: the key is a big-endian scalar.
      const pub = ed25519.Point.BASE.multiply(BigInt('0x' + v.privkey)).toBytes();
      expect(toHex(pub)).toBe(v.pubkey);
    } else {
      expect(toHex(privKeyToPubKey(d.privKey))).toBe(v.pubkey);
    }
  });

  it.each(negative)('error: %s', (name, v) => {
    const cls = EXPECTED_ERROR[name];
    expect(cls).toBeDefined();
    expect(() => decodeWif(v.wif, paramsFor(v.net_id_hex))).toThrow(cls!);
  });

  it('names both networks on a network mismatch', () => {
    const v = negative.find(([n]) => n === 'wif for wrong network')![1];
    try {
      decodeWif(v.wif, paramsFor(v.net_id_hex));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(WrongNetworkError);
      expect((e as WrongNetworkError).code).toBe('DECRED_WRONG_NETWORK');
      expect((e as Error).message).toContain('testnet3');
      expect((e as Error).message).toContain('mainnet');
    }
  });

  it('rejects non-base58, empty and unknown signature types', () => {
    const mainnet = netParams('mainnet');
    expect(() => decodeWif('PmQdMn8xafwaQouk8ngs1CccRCB1ZmsqQxBaxNR4vhQi5a5QB571O', mainnet)).toThrow(EncodingError);
    expect(() => decodeWif('', mainnet)).toThrow(EncodingError);
    expect(() => encodeWif(new Uint8Array(32).fill(1), mainnet, 3)).toThrow(InvalidArgumentError);
    expect(() => encodeWif(new Uint8Array(32), mainnet)).toThrow(InvalidArgumentError);
  });
});

describe('decodeWif never throws anything but EncodingError / WrongNetworkError', () => {
  const mainnet = netParams('mainnet');
  const typed = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e instanceof EncodingError || e instanceof WrongNetworkError).toBe(true);
    }
  };
  it('for arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (str) => typed(() => decodeWif(str, mainnet))), { numRuns: 500 });
  });
  it('for well-checksummed 35-byte payloads (any net id, sig type and key)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 35, maxLength: 35 }), (payload) => {
        typed(() => decodeWif(base58CheckEncode(payload, blake256), mainnet));
      }),
      { numRuns: 500 },
    );
  });
});
