import { readFileSync } from 'node:fs';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, toHex } from '../../../services/decred/bytes.ts';
import {
  addressFromPkScript,
  addressPkScript,
  decodeAddress,
  encodeAddress,
  p2pkhAddress,
  p2shAddress,
  type AddressKind,
} from '../../../services/decred/address.ts';
import { base58CheckEncode } from '../../../services/decred/base58check.ts';
import { EncodingError, InvalidArgumentError, WrongNetworkError } from '../../../services/decred/errors.ts';
import { doubleBlake256 } from '../../../services/decred/hash.ts';
import { netParams } from '../../../services/decred/params.ts';
import { classifyScript, multisigScript, nullDataScript, stakeTaggedScript, type StakeTag } from '../../../services/decred/script.ts';
import { privKeyToPubKey } from '../../../services/decred/signature.ts';

interface AddressVector {
  name: string;
  address: string;
  net: string;
  decode_error: string | null;
  payScript?: string;
  pubKey?: string;
  hash160?: string;
  voteScript?: string;
  rewardAmount?: string;
  revFeeLimit?: string;
  rewardScript?: string;
  changeScript?: string;
  commitScript?: string;
  revokeScript?: string;
  trsyScript?: string;
  derived_payload_hex?: string;
}

const file = JSON.parse(readFileSync(new URL('../../vectors/addresses.json', import.meta.url), 'utf8')) as {
  vectors: AddressVector[];
};
const positive = file.vectors.filter((v) => v.decode_error === null).map((v) => [v.name, v] as const);
const negative = file.vectors.filter((v) => v.decode_error !== null).map((v) => [v.name, v] as const);
const withStakeScripts = positive.filter(([, v]) => v.voteScript !== undefined);

/** The kind each upstream test name describes. */
function kindOf(name: string): AddressKind {
  if (name.includes('p2pk-ecdsa')) return 'p2pk';
  if (name.includes('p2pk-ed25519')) return 'p2pk-ed25519';
  if (name.includes('p2pk-schnorr')) return 'p2pk-schnorr';
  if (name.includes('p2pkh-ecdsa') || name.includes('sep256k1-ecdsa')) return 'p2pkh';
  if (name.includes('p2pkh-ed25519')) return 'p2pkh-ed25519';
  if (name.includes('p2pkh-schnorr') || name.includes('sep256k1-schnorr')) return 'p2pkh-schnorr';
  if (name.includes('p2sh')) return 'p2sh';
  throw new Error(`unclassified vector ${name}`);
}

/**
 * Upstream returns ErrUnsupportedAddress for a foreign network's prefix; we
 * raise the more precise WrongNetworkError there (the brief asks for it).
 */
const EXPECTED_ERROR: Record<string, typeof EncodingError | typeof WrongNetworkError> = {
  'bad checksum': EncodingError,
  'parse valid mainnet address with testnet rejected': WrongNetworkError,
  'mainnet p2pk with no data for pubkey': EncodingError,
  'invalid base58 (l not in base58 alphabet)': EncodingError,
  'mainnet p2pk-ecdsa-secp256k1 uncompressed (0x04) rejected via decode': EncodingError,
  'p2pk-ecdsa-secp256k1 malformed pubkey via decode': EncodingError,
  'p2pk-ed25519 malformed pubkey (only 31 bytes) via decode': EncodingError,
  'mainnet p2pk-schnorr-secp256k1 uncompressed (0x04) rejected via decode': EncodingError,
  'p2pk-schnorr-secp256k1 malformed pubkey via decode': EncodingError,
};

describe('addresses (txscript/stdaddr/address_test.go TestAddresses)', () => {
  it('has 39 positive and 9 error vectors', () => {
    expect(positive.length).toBe(39);
    expect(negative.length).toBe(9);
  });

  it.each(positive)('%s', (name, v) => {
    const params = netParams(v.net);
    const kind = kindOf(name);
    const a = decodeAddress(v.address, params);
    expect(a.kind).toBe(kind);
    expect(a.network).toBe(params.name);
    const payload = v.hash160 ?? v.pubKey ?? v.derived_payload_hex?.slice(4);
    expect(toHex(a.payload)).toBe(payload);
    expect(toHex(addressPkScript(a))).toBe(v.payScript);
    expect(encodeAddress(kind, a.payload, params)).toBe(v.address);
    expect(addressFromPkScript(fromHex(v.payScript as string), params)).toBe(v.address);
  });

  it.each(negative)('error: %s', (name, v) => {
    const cls = EXPECTED_ERROR[name];
    expect(cls).toBeDefined();
    expect(() => decodeAddress(v.address, netParams(v.net))).toThrow(cls!);
  });

  it('a wrong-network error names both networks', () => {
    expect(() => decodeAddress('DsUZxxoHJSty8DCfwfartwTYbuhmVct7tJu', netParams('testnet3'))).toThrow(/mainnet.*testnet3/);
  });
});

const TAGS: [keyof AddressVector, StakeTag][] = [
  ['voteScript', 'sstx'],
  ['changeScript', 'sstxchange'],
  ['commitScript', 'ssgen'],
  ['revokeScript', 'ssrtx'],
  ['trsyScript', 'tgen'],
];

describe('stake scripts from addresses.json', () => {
  it.each(withStakeScripts)('%s', (name, v) => {
    const params = netParams(v.net);
    const pay = fromHex(v.payScript as string);
    const h160 = fromHex(v.hash160 ?? (v.derived_payload_hex as string).slice(4));
    for (const [field, tag] of TAGS) {
      const want = v[field] as string;
      expect(toHex(stakeTaggedScript(tag, pay)), field).toBe(want);
      const c = classifyScript(fromHex(want));
      expect(c.stakeTag, field).toBe(tag);
      expect(c.kind, field).toBe(kindOf(name));
      expect(toHex(c.hash160!), field).toBe(toHex(h160));
      expect(addressFromPkScript(fromHex(want), params), field).toBe(v.address);
    }
    // Ticket commitment (protocol §4): OP_RETURN push30(h160 ‖ u64 amount with
    // bit 63 = P2SH ‖ vote fee limit byte ‖ revocation fee limit byte), where a
    // limit L != 0 is written as ceil(log2 L) | 0x40.
    const amount = BigInt(Number(v.rewardAmount));
    const flag = kindOf(name) === 'p2sh' ? 1n << 63n : 0n;
    const amt = new Uint8Array(8);
    new DataView(amt.buffer).setBigUint64(0, amount | flag, true);
    const rev = Math.ceil(Math.log2(Number(v.revFeeLimit))) | 0x40;
    const reward = nullDataScript(concatBytes(h160, amt, Uint8Array.of(0, rev)));
    expect(toHex(reward)).toBe(v.rewardScript);
    expect(classifyScript(reward).kind).toBe('nulldata');
    expect(addressFromPkScript(reward, params)).toBeUndefined();
  });
});

describe('address helpers', () => {
  const mainnet = netParams('mainnet');
  it('p2pkhAddress hashes the compressed key; p2shAddress hashes the script', () => {
    const pub = privKeyToPubKey(new Uint8Array(32).fill(9));
    const a = decodeAddress(p2pkhAddress(pub, mainnet), mainnet);
    expect(a.kind).toBe('p2pkh');
    const redeem = multisigScript(1, [pub]);
    expect(decodeAddress(p2shAddress(redeem, mainnet), mainnet).kind).toBe('p2sh');
    expect(addressFromPkScript(redeem, mainnet)).toBeUndefined();
  });
  it('P2PK from an uncompressed key is the compressed-key address; p2pkhAddress refuses uncompressed keys', () => {
    const priv = new Uint8Array(32).fill(5);
    const u = secp256k1.getPublicKey(priv, false);
    expect(encodeAddress('p2pk', u, mainnet)).toBe(encodeAddress('p2pk', privKeyToPubKey(priv), mainnet));
    expect(encodeAddress('p2pk-schnorr', u, mainnet)).toBe(encodeAddress('p2pk-schnorr', privKeyToPubKey(priv), mainnet));
    expect(() => p2pkhAddress(u, mainnet)).toThrow(InvalidArgumentError);
  });
  it('rejects wrong payload sizes on encode', () => {
    expect(() => encodeAddress('p2pkh', new Uint8Array(19), mainnet)).toThrow(InvalidArgumentError);
    expect(() => encodeAddress('p2pk', new Uint8Array(33), mainnet)).toThrow(InvalidArgumentError);
    expect(() => encodeAddress('p2pk-ed25519', new Uint8Array(31), mainnet)).toThrow(InvalidArgumentError);
  });
  it('rejects an address from an unknown prefix and garbage strings with EncodingError', () => {
    expect(() => decodeAddress('1111111111', mainnet)).toThrow(EncodingError);
    expect(() => decodeAddress('', mainnet)).toThrow(EncodingError);
    expect(() => decodeAddress('0OIl', mainnet)).toThrow(EncodingError);
  });
});

describe('decodeAddress never throws anything but EncodingError / WrongNetworkError', () => {
  const mainnet = netParams('mainnet');
  const typed = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      expect(e instanceof EncodingError || e instanceof WrongNetworkError).toBe(true);
    }
  };
  it('for arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ maxLength: 120 }), (str) => typed(() => decodeAddress(str, mainnet))), { numRuns: 500 });
  });
  it('for well-checksummed random payloads behind every known prefix', () => {
    const ids = [mainnet.pubKeyHashAddrId, mainnet.scriptHashAddrId, mainnet.pubKeyAddrId, netParams('testnet3').pubKeyHashAddrId];
    fc.assert(
      fc.property(fc.constantFrom(...ids), fc.uint8Array({ maxLength: 70 }), (id, data) => {
        const str = base58CheckEncode(Uint8Array.from([...id, ...data]), doubleBlake256);
        typed(() => decodeAddress(str, mainnet));
      }),
      { numRuns: 500 },
    );
  });
});
