/**
 * Hash functions of Decred (decred/dcrd: crypto/blake256, chaincfg/chainhash/hashfuncs.go): a single BLAKE-256
 * (14 rounds, the SHA-3 finalist, not BLAKE2/3) for tx ids, block hashes,
 * merkle nodes, sighash and the lottery; hash160 = RIPEMD160(BLAKE256(x)).
 */
import { blake256 as nobleBlake256 } from '@noble/hashes/blake1.js';
import { ripemd160 } from '@noble/hashes/legacy.js';

export function blake256(data: Uint8Array): Uint8Array {
  return nobleBlake256(data);
}

/** BLAKE256(BLAKE256(x)): only the base58check address checksum uses it. */
export function doubleBlake256(data: Uint8Array): Uint8Array {
  return nobleBlake256(nobleBlake256(data));
}

/** RIPEMD160(BLAKE256(x)) (decred/dcrd: dcrutil/hash160.go). */
export function hash160(data: Uint8Array): Uint8Array {
  return ripemd160(nobleBlake256(data));
}
