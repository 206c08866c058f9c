/**
 * secp256k1 ECDSA as Decred uses it (decred/dcrd: dcrec/secp256k1/ecdsa/signature.go,
 * txscript/engine.go CheckSignatureEncoding).
 *
 * - The 32-byte sighash is signed as is (noble `prehash: false`).
 * - Nonces are RFC 6979 with HMAC-SHA256 and no extra entropy, so signing is
 *   deterministic; S is normalised to the low half (low-S is consensus).
 * - Signatures travel as strict DER: minimal positive integers, 8..72 bytes.
 *
 * The curve arithmetic of the ECDSA hot path (public key, sign, verify, point check)
 * is libsecp256k1, Bitcoin Core's C library, compiled to WebAssembly
 * (tiny-secp256k1): its signatures are byte-identical to noble's (both RFC 6979,
 * low-S) and `npm run bench -- protocol` shows it several times faster than the
 * pure-JS curve (figures `ecdsa.*`): a public key per ticket is derived on every
 * bulk import, and a signature is checked on every vote a proxy or the devnet
 * judges. Everything else on secp256k1 (the private-key range check, key
 * decompression, EC-Schnorr-DCRv0 in treasury.ts) is @noble/curves.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import * as libsecp from 'tiny-secp256k1';
import { InvalidArgumentError, SignatureError } from './errors.ts';

/** The secp256k1 group order N (SEC 2 §2.4.1). */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const HALF_N = SECP256K1_N >> 1n;

export interface EcdsaSignature {
  r: bigint;
  s: bigint;
}

/** True for a 32-byte scalar in [1, N-1]. */
export function isValidPrivKey(priv: Uint8Array): boolean {
  return priv instanceof Uint8Array && priv.length === 32 && secp256k1.utils.isValidSecretKey(priv);
}

function needPriv(priv: Uint8Array): void {
  if (!isValidPrivKey(priv)) throw new InvalidArgumentError('private key: expected 32 bytes in [1, N-1]');
}

function needHash(hash: Uint8Array): void {
  if (!(hash instanceof Uint8Array) || hash.length !== 32) {
    throw new InvalidArgumentError(`hash: expected 32 bytes, got ${hash instanceof Uint8Array ? hash.length : typeof hash}`);
  }
}

/** The 33-byte compressed public key (Decred wallets always use compressed keys). */
export function privKeyToPubKey(priv: Uint8Array): Uint8Array {
  needPriv(priv);
  const pub = libsecp.pointFromScalar(priv, true);
  if (!pub) throw new InvalidArgumentError('private key: no public key (scalar out of range)');
  return pub;
}

/**
 * True for a valid public key in an accepted format: 33-byte compressed
 * (02/03) or 65-byte uncompressed (04) on the curve. Hybrid (06/07) is rejected.
 */
export function isValidPubKey(pub: Uint8Array): boolean {
  if (!hasPubKeyPrefix(pub)) return false;
  try {
    return libsecp.isPoint(pub);
  } catch {
    return false;
  }
}

function hasPubKeyPrefix(pub: Uint8Array): boolean {
  return pub instanceof Uint8Array && ((pub.length === 33 && (pub[0] === 2 || pub[0] === 3)) || (pub.length === 65 && pub[0] === 4));
}

function intBytes(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  // A leading 0x00 keeps the integer positive when its top bit is set.
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = '00' + hex;
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** Strict DER `30 len 02 rlen R 02 slen S` of (r, s). */
export function encodeDer(sig: EcdsaSignature): Uint8Array {
  const { r, s } = sig;
  if (r <= 0n || r >= SECP256K1_N || s <= 0n || s >= SECP256K1_N) {
    throw new InvalidArgumentError('DER: r and s must be in [1, N-1]');
  }
  const rb = intBytes(r);
  const sb = intBytes(s);
  const out = new Uint8Array(6 + rb.length + sb.length);
  out.set([0x30, 4 + rb.length + sb.length, 0x02, rb.length]);
  out.set(rb, 4);
  out.set([0x02, sb.length], 4 + rb.length);
  out.set(sb, 6 + rb.length);
  return out;
}

function readInt(b: Uint8Array, off: number, len: number, what: string): bigint {
  if (len === 0) throw new SignatureError(`DER: zero-length ${what}`);
  const first = b[off] as number;
  if (first & 0x80) throw new SignatureError(`DER: ${what} is negative`);
  if (len > 1 && first === 0 && ((b[off + 1] as number) & 0x80) === 0) {
    throw new SignatureError(`DER: ${what} has excessive zero padding`);
  }
  let v = 0n;
  for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(b[off + i] as number);
  if (v === 0n) throw new SignatureError(`DER: ${what} is zero`);
  if (v >= SECP256K1_N) throw new SignatureError(`DER: ${what} is not below the group order`);
  return v;
}

/**
 * Parses a strict DER signature (ecdsa.ParseDERSignature plus
 * CheckSignatureEncoding's low-S rule). Throws {@link SignatureError}
 * naming the violated rule.
 */
export function decodeDer(der: Uint8Array): EcdsaSignature {
  const n = der.length;
  if (n < 8) throw new SignatureError(`DER: ${n} bytes is too short (min 8)`);
  if (n > 72) throw new SignatureError(`DER: ${n} bytes is too long (max 72)`);
  if (der[0] !== 0x30) throw new SignatureError('DER: missing sequence id 0x30');
  if (der[1] !== n - 2) throw new SignatureError(`DER: sequence length ${der[1]} does not match ${n - 2}`);
  const rLen = der[3] as number;
  const sTypeOff = 4 + rLen;
  if (sTypeOff >= n) throw new SignatureError('DER: S type id missing');
  if (sTypeOff + 1 >= n) throw new SignatureError('DER: S length missing');
  const sLen = der[sTypeOff + 1] as number;
  if (sTypeOff + 2 + sLen !== n) throw new SignatureError('DER: S length does not match the signature length');
  if (der[2] !== 0x02) throw new SignatureError('DER: R is not an integer');
  const r = readInt(der, 4, rLen, 'R');
  if (der[sTypeOff] !== 0x02) throw new SignatureError('DER: S is not an integer');
  const s = readInt(der, sTypeOff + 2, sLen, 'S');
  if (s > HALF_N) throw new SignatureError('DER: S is in the high half (low-S is required)');
  return { r, s };
}

function toCompact(sig: EcdsaSignature): Uint8Array {
  const out = new Uint8Array(64);
  out.set(Buffer.from(sig.r.toString(16).padStart(64, '0'), 'hex'), 0);
  out.set(Buffer.from(sig.s.toString(16).padStart(64, '0'), 'hex'), 32);
  return out;
}

/** Signs a 32-byte hash: RFC 6979 (HMAC-SHA256), low-S, strict DER. */
export function signHash(hash32: Uint8Array, priv: Uint8Array): Uint8Array {
  needHash(hash32);
  needPriv(priv);
  // libsecp256k1 signs the 32 bytes as given, RFC 6979 nonce without extra data, low-S.
  return derFromCompact(libsecp.sign(hash32, priv));
}

/** DER straight from a 64-byte compact r ‖ s (both already in [1, N-1], s low). */
function derFromCompact(c: Uint8Array): Uint8Array {
  const r = minimalInt(c.subarray(0, 32));
  const s = minimalInt(c.subarray(32, 64));
  const out = new Uint8Array(6 + r.length + s.length);
  out[0] = 0x30;
  out[1] = 4 + r.length + s.length;
  out[2] = 0x02;
  out[3] = r.length;
  out.set(r, 4);
  out[4 + r.length] = 0x02;
  out[5 + r.length] = s.length;
  out.set(s, 6 + r.length);
  return out;
}

function minimalInt(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  if (((v[0] as number) & 0x80) === 0) return v;
  const out = new Uint8Array(v.length + 1);
  out.set(v, 1);
  return out;
}

/**
 * Verifies a strict-DER, low-S signature over a 32-byte hash. Returns false
 * (never throws) for a malformed signature, key or hash.
 */
export function verifyHash(derSig: Uint8Array, hash32: Uint8Array, pubKey: Uint8Array): boolean {
  if (!(hash32 instanceof Uint8Array) || hash32.length !== 32 || !hasPubKeyPrefix(pubKey)) return false;
  let sig: EcdsaSignature;
  try {
    sig = decodeDer(derSig);
  } catch {
    return false;
  }
  try {
    // strict: a high-S signature is invalid (decodeDer refuses those already); a key
    // that is not on the curve throws, which is "invalid" too.
    return libsecp.verify(hash32, pubKey, toCompact(sig), true);
  } catch {
    return false;
  }
}
