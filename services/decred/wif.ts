/**
 * Wallet import format (decred/dcrd: dcrutil/wif.go):
 * base58(netID(2) ‖ sigType(1) ‖ privKey(32) ‖ checksum4) where the checksum
 * is the first 4 bytes of a SINGLE BLAKE-256 (addresses use a double one).
 * There is no compression flag; secp256k1 public keys are always compressed.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base58CheckEncode, base58Decode } from './base58check.ts';
import { EncodingError, InvalidArgumentError, WrongNetworkError } from './errors.ts';
import { blake256 } from './hash.ts';
import { NETWORK_NAMES, netParams, type NetParams } from './params.ts';
import { isValidPrivKey } from './signature.ts';

export const SIG_TYPE_ECDSA_SECP256K1 = 0;
export const SIG_TYPE_ED25519 = 1;
export const SIG_TYPE_SCHNORR_SECP256K1 = 2;

/** dcrutil rejects longer strings before decoding. */
const MAX_WIF_LENGTH = 54;
const DECODED_LENGTH = 39;
const ED25519_ORDER = ed25519.Point.Fn.ORDER;

function checkKey(key: Uint8Array, sigType: number, fail: (m: string) => Error): void {
  if (key.length !== 32) throw fail(`private key is ${key.length} bytes, expected 32`);
  if (sigType === SIG_TYPE_ED25519) {
    // edwards.PrivKeyFromScalar: a big-endian scalar below the group order.
    const s = BigInt('0x' + Buffer.from(key).toString('hex'));
    if (s === 0n || s >= ED25519_ORDER) throw fail('ed25519 private key scalar is not in [1, L-1]');
  } else if (sigType === SIG_TYPE_ECDSA_SECP256K1 || sigType === SIG_TYPE_SCHNORR_SECP256K1) {
    if (!isValidPrivKey(key)) throw fail('secp256k1 private key is not in [1, N-1]');
  } else {
    throw fail(`unknown signature type ${sigType}`);
  }
}

/** Encodes a private key as WIF for `params`; sigType 0 = secp256k1 ECDSA, 1 = ed25519, 2 = schnorr. */
export function encodeWif(privKey: Uint8Array, params: NetParams, sigType = SIG_TYPE_ECDSA_SECP256K1): string {
  checkKey(privKey, sigType, (m) => new InvalidArgumentError(`WIF: ${m}`));
  const payload = new Uint8Array(35);
  payload.set(params.privateKeyId);
  payload[2] = sigType;
  payload.set(privKey, 3);
  return base58CheckEncode(payload, blake256);
}

/**
 * Decodes a WIF for `params`. Throws {@link EncodingError} for a string that
 * is too long, bad base58, a decoded length other than 39, a bad checksum, an
 * unknown signature type or an invalid key; {@link WrongNetworkError} naming
 * both networks when the prefix is another network's.
 */
export function decodeWif(wif: string, params: NetParams): { privKey: Uint8Array; sigType: number } {
  if (typeof wif !== 'string') throw new EncodingError('WIF: not a string');
  if (wif.length > MAX_WIF_LENGTH) throw new EncodingError(`WIF: ${wif.length} characters is longer than ${MAX_WIF_LENGTH}`);
  const raw = base58Decode(wif, 'WIF');
  if (raw.length !== DECODED_LENGTH) {
    throw new EncodingError(`WIF: decoded length ${raw.length}, expected ${DECODED_LENGTH}`);
  }
  const sum = blake256(raw.subarray(0, 35));
  for (let i = 0; i < 4; i++) {
    if (raw[35 + i] !== sum[i]) throw new EncodingError('WIF: bad checksum');
  }
  const a = raw[0] as number;
  const b = raw[1] as number;
  if (a !== params.privateKeyId[0] || b !== params.privateKeyId[1]) {
    const other = NETWORK_NAMES.map(netParams).find((p) => p.privateKeyId[0] === a && p.privateKeyId[1] === b);
    const idHex = ((a << 8) | b).toString(16).padStart(4, '0');
    throw new WrongNetworkError(
      `WIF: key is for ${other ? other.name : 'an unknown network'} (id 0x${idHex}), expected ${params.name}`,
    );
  }
  const sigType = raw[2] as number;
  const privKey = raw.slice(3, 35);
  checkKey(privKey, sigType, (m) => new EncodingError(`WIF: ${m}`));
  return { privKey, sigType };
}
