/**
 * Version-0 addresses (decred/dcrd: txscript/stdaddr/addressv0.go): base58(netID(2) ‖ data ‖ checksum4), where the
 * checksum is the first 4 bytes of BLAKE256(BLAKE256(netID ‖ data)).
 *
 * data is a hash160 for the *PKH and P2SH kinds; for P2PK it is a type byte
 * (signature type in the low bits, bit 7 = Y is odd for secp256k1) followed by
 * the 32-byte X coordinate (or the ed25519 key).
 */
import { base58CheckDecode, base58CheckEncode } from './base58check.ts';
import { EncodingError, InvalidArgumentError, WrongNetworkError } from './errors.ts';
import { doubleBlake256, hash160 } from './hash.ts';
import { NETWORK_NAMES, netParams, type NetParams, type NetworkName } from './params.ts';
import {
  classifyScript,
  OP_1,
  OP_2,
  OP_CHECKSIG,
  OP_CHECKSIGALT,
  OP_DATA_20,
  OP_DATA_32,
  OP_DATA_33,
  OP_DUP,
  OP_EQUALVERIFY,
  OP_HASH160,
  p2pkhScript,
  p2shScript,
} from './script.ts';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { isValidPubKey } from './signature.ts';

export type AddressKind =
  | 'p2pkh'
  | 'p2pkh-ed25519'
  | 'p2pkh-schnorr'
  | 'p2sh'
  | 'p2pk'
  | 'p2pk-ed25519'
  | 'p2pk-schnorr';

/** A decoded address. `payload` is the hash160 (PKH/P2SH), the 33-byte compressed key (p2pk, p2pk-schnorr) or the 32-byte ed25519 key. */
export interface Address {
  kind: AddressKind;
  network: NetworkName;
  payload: Uint8Array;
}

/** Signature types of dcrec (dcrec.SignatureType). */
const ST_ECDSA = 0;
const ST_ED25519 = 1;
const ST_SCHNORR = 2;
const ODD_Y = 0x80;

function netIdOf(kind: AddressKind, p: NetParams): [number, number] {
  switch (kind) {
    case 'p2pkh':
      return p.pubKeyHashAddrId;
    case 'p2pkh-ed25519':
      return p.pubKeyHashEd25519AddrId;
    case 'p2pkh-schnorr':
      return p.pubKeyHashSchnorrAddrId;
    case 'p2sh':
      return p.scriptHashAddrId;
    case 'p2pk':
    case 'p2pk-ed25519':
    case 'p2pk-schnorr':
      return p.pubKeyAddrId;
  }
}

const checksum = (b: Uint8Array): Uint8Array => doubleBlake256(b);

function compressSecpKey(pub: Uint8Array, what: string): Uint8Array {
  // isValidPubKey: libsecp256k1's point check (noble's costs a square root, ~10x slower).
  if (pub.length === 33 && isValidPubKey(pub)) return pub;
  if (pub.length === 65 && isValidPubKey(pub)) {
    return secp256k1.Point.fromBytes(pub).toBytes(true);
  }
  throw new InvalidArgumentError(`${what}: not a valid secp256k1 public key`);
}

/**
 * Encodes an address of `kind` for `params`. `payload` is a 20-byte hash for
 * the PKH/P2SH kinds, a secp256k1 public key (33 or 65 bytes; stored
 * compressed) for p2pk/p2pk-schnorr, and a 32-byte key for p2pk-ed25519.
 */
export function encodeAddress(kind: AddressKind, payload: Uint8Array, params: NetParams): string {
  const id = netIdOf(kind, params);
  let data: Uint8Array;
  if (kind === 'p2pk' || kind === 'p2pk-schnorr') {
    const c = compressSecpKey(payload, kind);
    data = new Uint8Array(33);
    data[0] = (kind === 'p2pk' ? ST_ECDSA : ST_SCHNORR) | (c[0] === 3 ? ODD_Y : 0);
    data.set(c.subarray(1), 1);
  } else if (kind === 'p2pk-ed25519') {
    if (payload.length !== 32) throw new InvalidArgumentError(`p2pk-ed25519: expected a 32-byte key, got ${payload.length}`);
    data = new Uint8Array(33);
    data[0] = ST_ED25519;
    data.set(payload, 1);
  } else {
    if (payload.length !== 20) throw new InvalidArgumentError(`${kind}: expected a 20-byte hash, got ${payload.length}`);
    data = payload;
  }
  const full = new Uint8Array(2 + data.length);
  full.set(id);
  full.set(data, 2);
  return base58CheckEncode(full, checksum);
}

const KINDS: readonly AddressKind[] = ['p2pkh', 'p2pkh-ed25519', 'p2pkh-schnorr', 'p2sh', 'p2pk'];

function kindByNetId(a: number, b: number, p: NetParams): AddressKind | undefined {
  return KINDS.find((k) => {
    const id = netIdOf(k, p);
    return id[0] === a && id[1] === b;
  });
}

/**
 * Decodes an address for `params`. Throws {@link EncodingError} for bad base58,
 * checksum, length or key, and {@link WrongNetworkError} (naming both
 * networks) when the prefix belongs to another network.
 */
export function decodeAddress(str: string, params: NetParams): Address {
  const raw = base58CheckDecode(str, checksum, 'address');
  if (raw.length < 2) throw new EncodingError(`address: ${raw.length}-byte payload has no network id`);
  const a = raw[0] as number;
  const b = raw[1] as number;
  const data = raw.subarray(2);
  const kind = kindByNetId(a, b, params);
  if (kind === undefined) {
    const other = NETWORK_NAMES.map(netParams).find((p) => kindByNetId(a, b, p) !== undefined);
    const idHex = ((a << 8) | b).toString(16).padStart(4, '0');
    if (other) {
      throw new WrongNetworkError(`address: is a ${other.name} address (id 0x${idHex}), expected ${params.name}`);
    }
    throw new EncodingError(`address: unknown address type id 0x${idHex} for ${params.name}`);
  }
  if (kind !== 'p2pk') {
    if (data.length !== 20) throw new EncodingError(`address: ${kind} data is ${data.length} bytes, expected 20`);
    return { kind, network: params.name, payload: data.slice() };
  }
  if (data.length !== 33) throw new EncodingError(`address: p2pk data is ${data.length} bytes, expected 33`);
  const type = data[0] as number;
  const sigType = type & ~ODD_Y;
  if (sigType === ST_ED25519) {
    if (type !== ST_ED25519) throw new EncodingError('address: p2pk-ed25519 type byte has the odd-Y bit set');
    return { kind: 'p2pk-ed25519', network: params.name, payload: data.slice(1) };
  }
  if (sigType !== ST_ECDSA && sigType !== ST_SCHNORR) {
    throw new EncodingError(`address: p2pk has unknown signature type ${sigType}`);
  }
  const pub = new Uint8Array(33);
  pub[0] = type & ODD_Y ? 3 : 2;
  pub.set(data.subarray(1), 1);
  if (!isValidPubKey(pub)) throw new EncodingError('address: p2pk key is not on the secp256k1 curve');
  return { kind: sigType === ST_ECDSA ? 'p2pk' : 'p2pk-schnorr', network: params.name, payload: pub };
}

/** The pkScript that pays to a decoded address (stdaddr PaymentScript). */
export function addressPkScript(addr: Address): Uint8Array {
  const h = addr.payload;
  switch (addr.kind) {
    case 'p2pkh':
      return p2pkhScript(h);
    case 'p2sh':
      return p2shScript(h);
    case 'p2pkh-ed25519':
    case 'p2pkh-schnorr':
      return Uint8Array.from([
        OP_DUP,
        OP_HASH160,
        OP_DATA_20,
        ...h,
        OP_EQUALVERIFY,
        addr.kind === 'p2pkh-ed25519' ? OP_1 : OP_2,
        OP_CHECKSIGALT,
      ]);
    case 'p2pk':
      return Uint8Array.from([OP_DATA_33, ...h, OP_CHECKSIG]);
    case 'p2pk-schnorr':
      return Uint8Array.from([OP_DATA_33, ...h, OP_2, OP_CHECKSIGALT]);
    case 'p2pk-ed25519':
      return Uint8Array.from([OP_DATA_32, ...h, OP_1, OP_CHECKSIGALT]);
  }
}

/**
 * P2PKH (ecdsa) address of a 33-byte compressed public key. An uncompressed
 * key is refused rather than silently compressed: its hash (and address)
 * would differ, and Decred wallets only use compressed keys.
 */
export function p2pkhAddress(pubKey33: Uint8Array, params: NetParams): string {
  if (pubKey33.length !== 33) throw new InvalidArgumentError(`p2pkh address: expected a 33-byte compressed key, got ${pubKey33.length} bytes`);
  return encodeAddress('p2pkh', hash160(compressSecpKey(pubKey33, 'p2pkh address')), params);
}

/** P2SH address of a redeem script. */
export function p2shAddress(script: Uint8Array, params: NetParams): string {
  return encodeAddress('p2sh', hash160(script), params);
}

function matchAltPkh(s: Uint8Array): AddressKind | undefined {
  if (
    s.length === 26 &&
    s[0] === OP_DUP &&
    s[1] === OP_HASH160 &&
    s[2] === OP_DATA_20 &&
    s[23] === OP_EQUALVERIFY &&
    s[25] === OP_CHECKSIGALT
  ) {
    if (s[24] === OP_1) return 'p2pkh-ed25519';
    if (s[24] === OP_2) return 'p2pkh-schnorr';
  }
  return undefined;
}

/**
 * The address a pkScript pays to, or undefined for scripts without one
 * (null data, bare multisig, nonstandard). Stake-tagged P2PKH/P2SH scripts
 * (ticket, vote, revocation, change, treasury-gen outputs) yield the inner
 * address.
 */
export function addressFromPkScript(script: Uint8Array, params: NetParams): string | undefined {
  const c = classifyScript(script);
  if (c.hash160 && c.kind === 'p2pkh') return encodeAddress('p2pkh', c.hash160, params);
  if (c.hash160 && c.kind === 'p2sh') return encodeAddress('p2sh', c.hash160, params);
  const alt = matchAltPkh(script);
  if (alt) return encodeAddress(alt, script.subarray(3, 23), params);
  try {
    if (script.length === 35 && script[0] === OP_DATA_33 && script[34] === OP_CHECKSIG) {
      return encodeAddress('p2pk', script.subarray(1, 34), params);
    }
    if (script.length === 36 && script[0] === OP_DATA_33 && script[34] === OP_2 && script[35] === OP_CHECKSIGALT) {
      return encodeAddress('p2pk-schnorr', script.subarray(1, 34), params);
    }
  } catch {
    return undefined; // not a valid point
  }
  if (script.length === 35 && script[0] === OP_DATA_32 && script[33] === OP_1 && script[34] === OP_CHECKSIGALT) {
    return encodeAddress('p2pk-ed25519', script.subarray(1, 33), params);
  }
  return undefined;
}
