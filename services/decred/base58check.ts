/**
 * Base58 with a 4-byte BLAKE-256 checksum (github.com/decred/base58 CheckEncode).
 * Addresses use a double BLAKE-256 checksum; WIF uses a single one
 * (decred/dcrd: txscript/stdaddr/addressv0.go, dcrutil/wif.go), so the checksum function is a parameter.
 */
import { base58 } from '@scure/base';
import { EncodingError } from './errors.ts';

export type ChecksumFn = (payload: Uint8Array) => Uint8Array;

export function base58CheckEncode(payload: Uint8Array, checksum: ChecksumFn): string {
  const out = new Uint8Array(payload.length + 4);
  out.set(payload);
  out.set(checksum(payload).subarray(0, 4), payload.length);
  return base58.encode(out);
}

/** Decodes base58 and verifies the checksum; throws {@link EncodingError} naming `what`. */
export function base58CheckDecode(str: string, checksum: ChecksumFn, what: string): Uint8Array {
  const raw = base58Decode(str, what);
  if (raw.length < 4) throw new EncodingError(`${what}: ${raw.length} bytes is too short for a checksum`);
  const payload = raw.subarray(0, raw.length - 4);
  const want = checksum(payload);
  for (let i = 0; i < 4; i++) {
    if (raw[payload.length + i] !== want[i]) throw new EncodingError(`${what}: bad checksum`);
  }
  return payload.slice();
}

export function base58Decode(str: string, what: string): Uint8Array {
  if (typeof str !== 'string' || str.length === 0) throw new EncodingError(`${what}: not a non-empty string`);
  try {
    return base58.decode(str);
  } catch (e) {
    throw new EncodingError(`${what}: not valid base58`, { cause: e });
  }
}
