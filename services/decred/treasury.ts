/**
 * Treasury spends (DCP0006) as a voting wallet and a simulated dcrd need them:
 * the voting window of a tspend (decred/dcrd: blockchain/standalone/treasury.go
 * CalcTSpendExpiry, IsTreasuryVoteInterval, CalcTSpendWindow,
 * InsideTSpendWindow), the Pi key and signature of a tspend
 * (blockchain/stake/treasury.go CheckTSpend; internal/blockchain
 * verifyTSpendSignature), and EC-Schnorr-DCRv0 over secp256k1
 * (dcrec/secp256k1/schnorr) for that signature.
 *
 * A tspend is: version 3, one input (null outpoint, tree 0) whose sigScript is
 * `OP_DATA_64 <schnorr sig> OP_DATA_33 <Pi key> OP_TSPEND`, out[0] =
 * `OP_RETURN OP_DATA_32 <u64 LE value in || 24 bytes>`, then OP_TGEN-tagged
 * payouts; its expiry is two more than a treasury vote interval (TVI). The
 * signature covers the SigHashAll hash of input 0 with an empty subscript.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { concatBytes, equalBytes, toHex } from './bytes.ts';
import { InvalidArgumentError, RuleError } from './errors.ts';
import { blake256 } from './hash.ts';
import type { NetParams } from './params.ts';
import { OP_TSPEND, p2pkhScript, stakeTaggedScript } from './script.ts';
import { calcSignatureHash, SIGHASH_ALL } from './sighash.ts';
import { SECP256K1_N } from './signature.ts';
import { checkTSpend } from './stake.ts';
import {
  MAX_TX_IN_SEQUENCE, NULL_BLOCK_HEIGHT, NULL_BLOCK_INDEX, NULL_PREV_INDEX, TX_TREE_REGULAR, TX_VERSION_TREASURY, txHash,
  type Tx,
} from './wire/tx.ts';

const P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn;
const N = SECP256K1_N;
const Point = secp256k1.Point;

/** A parsed treasury spend. */
export interface TSpendInfo {
  /** The tspend's txid, internal order. */
  hash: Uint8Array;
  /** The 33-byte compressed Pi key (sigScript bytes [66:99]). */
  piKey: Uint8Array;
  /** The 64-byte Schnorr signature (sigScript bytes [1:65]). */
  signature: Uint8Array;
  /** The tx expiry: two more than the last block of its voting window. */
  expiry: number;
  /** in[0].valueIn: the amount taken from the treasury. */
  valueIn: bigint;
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new InvalidArgumentError(`treasury: ${what} ${v} is not a u32`);
}

function checkInterval(tvi: number, multiplier: number): void {
  if (!Number.isInteger(tvi) || tvi <= 0) throw new InvalidArgumentError(`treasury: TVI ${tvi} must be a positive integer`);
  if (!Number.isInteger(multiplier) || multiplier <= 0) throw new InvalidArgumentError(`treasury: TVI multiplier ${multiplier} must be a positive integer`);
}

/** IsTreasuryVoteInterval: `height` is a non-zero multiple of the TVI. */
export function isTreasuryVoteInterval(height: number, tvi: number): boolean {
  return height !== 0 && height % tvi === 0;
}

/**
 * CalcTSpendExpiry: the only valid expiry for a tspend created for the block at
 * `nextBlockHeight`: the next TVI boundary, plus one whole window
 * (TVI × multiplier), plus 2 (expiry is inclusive in the mempool).
 */
export function calcTSpendExpiry(nextBlockHeight: number, tvi: number, multiplier: number): number {
  checkInterval(tvi, multiplier);
  checkU32(nextBlockHeight, 'next block height');
  const nextTvi = nextBlockHeight + (tvi - (nextBlockHeight % tvi));
  return (nextTvi + tvi * multiplier + 2) >>> 0;
}

/**
 * CalcTSpendWindow: the first and last block of the voting window of a tspend
 * with this expiry: `[expiry − TVI×multiplier − 2, expiry − 2]`. Throws
 * {@link RuleError} `BAD_TSPEND_EXPIRY` when the expiry is below one whole
 * window plus 2, or is not two more than a TVI.
 */
export function calcTSpendWindow(expiry: number, tvi: number, multiplier: number): { start: number; end: number } {
  checkInterval(tvi, multiplier);
  checkU32(expiry, 'expiry');
  const minExpiry = tvi * multiplier + 2;
  if (expiry < minExpiry) {
    throw new RuleError('BAD_TSPEND_EXPIRY', `expiry ${expiry} must be at least ${minExpiry} for a TVI of ${tvi} with a multiplier of ${multiplier}`);
  }
  if (!isTreasuryVoteInterval(expiry - 2, tvi)) {
    throw new RuleError('BAD_TSPEND_EXPIRY', `expiry ${expiry} must be two more than a multiple of the treasury vote interval ${tvi}`);
  }
  return { start: expiry - tvi * multiplier - 2, end: expiry - 2 };
}

/**
 * InsideTSpendWindow: `height` lies in the tspend's window, both ends
 * included; false for an expiry that has no window. dcrwallet votes on a
 * tspend when the height of the block being voted on is inside.
 */
export function insideTSpendWindow(height: number, expiry: number, tvi: number, multiplier: number): boolean {
  let w: { start: number; end: number };
  try {
    w = calcTSpendWindow(expiry, tvi, multiplier);
  } catch (e) {
    if (e instanceof RuleError) return false;
    throw e;
  }
  const h = height >>> 0;
  return h >= w.start && h <= w.end;
}

/** {@link insideTSpendWindow} with the network's TVI and multiplier. */
export function tspendVotable(height: number, expiry: number, params: Pick<NetParams, 'treasuryVoteInterval' | 'treasuryVoteIntervalMultiplier'>): boolean {
  return insideTSpendWindow(height, expiry, params.treasuryVoteInterval, params.treasuryVoteIntervalMultiplier);
}

/**
 * Parses a treasury spend after dcrd's structural CheckTSpend: its hash, Pi
 * key, signature, expiry and value. Throws {@link RuleError}
 * `NOT_A_TREASURY_SPEND` for a malformed one (no signature or key check).
 */
export function parseTSpend(tx: Tx): TSpendInfo {
  checkTSpend(tx);
  const in0 = tx.inputs[0] as Tx['inputs'][number];
  const s = in0.sigScript;
  return { hash: txHash(tx), piKey: s.slice(66, 99), signature: s.slice(1, 65), expiry: tx.expiry, valueIn: in0.valueIn };
}

/** The hash a tspend's Pi key signs: SigHashAll of input 0 with an empty subscript. */
export function tspendSigHash(tx: Tx): Uint8Array {
  return calcSignatureHash(new Uint8Array(0), SIGHASH_ALL, tx, 0);
}

function bytesToBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${toHex(b)}`);
}

function bigTo32(v: bigint): Uint8Array {
  const hex = v.toString(16).padStart(64, '0');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

/**
 * EC-Schnorr-DCRv0 signature of a 32-byte hash with an explicit nonce `k`
 * (dcrec/secp256k1/schnorr schnorrSign): R = kG (k negated when R.y is odd),
 * e = BLAKE-256(R.x || hash), s = k − e·d mod N; the signature is R.x || s.
 * Throws {@link InvalidArgumentError} for bad sizes or scalars and when e ≥ N
 * or s = 0 (the caller retries with another nonce).
 */
export function schnorrSignWithNonce(hash32: Uint8Array, privKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  if (hash32.length !== 32 || privKey.length !== 32 || nonce.length !== 32) {
    throw new InvalidArgumentError('schnorr: hash, private key and nonce must be 32 bytes each');
  }
  const d = bytesToBig(privKey);
  let k = bytesToBig(nonce);
  if (d === 0n || d >= N) throw new InvalidArgumentError('schnorr: private key out of range');
  if (k === 0n || k >= N) throw new InvalidArgumentError('schnorr: nonce out of range');
  const R = Point.BASE.multiply(k).toAffine();
  if ((R.y & 1n) === 1n) k = N - k;
  const r = bigTo32(R.x);
  const e = bytesToBig(blake256(concatBytes(r, hash32)));
  if (e >= N) throw new InvalidArgumentError('schnorr: hash of (R || m) too big; use another nonce');
  const s = mod(k - e * d, N);
  if (s === 0n) throw new InvalidArgumentError('schnorr: s is zero; use another nonce');
  return concatBytes(r, bigTo32(s));
}

/**
 * A deterministic EC-Schnorr-DCRv0 signature (nonce: BLAKE-256 of the key, the
 * hash and a counter, retried until valid). Signatures verify with
 * {@link schnorrVerify} and dcrd; they are not byte-identical to dcrd's RFC 6979
 * nonces. For test fixtures and the devnet, not for keys that matter.
 */
export function schnorrSign(hash32: Uint8Array, privKey: Uint8Array): Uint8Array {
  for (let i = 0; i < 1000; i++) {
    const k = mod(bytesToBig(blake256(concatBytes(privKey, hash32, Uint8Array.of(i & 0xff, i >> 8)))), N);
    if (k === 0n) continue;
    try {
      return schnorrSignWithNonce(hash32, privKey, bigTo32(k));
    } catch (e) {
      if (!(e instanceof InvalidArgumentError) || !/another nonce/.test(e.message)) throw e;
    }
  }
  throw new InvalidArgumentError('schnorr: no valid nonce found');
}

/**
 * Verifies an EC-Schnorr-DCRv0 signature (r || s, 64 bytes) of a 32-byte hash
 * under a compressed or uncompressed public key: r < P, s < N,
 * e = BLAKE-256(r || hash) in [1, N), R = sG + eQ not infinity, R.y even,
 * R.x = r. Returns false for anything malformed.
 */
export function schnorrVerify(sig64: Uint8Array, hash32: Uint8Array, pubKey: Uint8Array): boolean {
  if (sig64.length !== 64 || hash32.length !== 32) return false;
  let Q: InstanceType<typeof Point>;
  try {
    Q = Point.fromBytes(pubKey);
  } catch {
    return false;
  }
  const rBytes = sig64.subarray(0, 32);
  const r = bytesToBig(rBytes);
  const s = bytesToBig(sig64.subarray(32));
  if (r >= P || s >= N) return false;
  const e = bytesToBig(blake256(concatBytes(rBytes, hash32)));
  if (e === 0n || e >= N) return false;
  // Public values only: the variable-time multiplications are safe here (and ~2x faster).
  const sG = s === 0n ? Point.ZERO : Point.BASE.multiplyUnsafe(s);
  const R = sG.add(Q.multiplyUnsafe(e));
  if (R.equals(Point.ZERO)) return false;
  const a = R.toAffine();
  return (a.y & 1n) === 0n && a.x === r;
}

/**
 * Full check of a tspend as dcrd's mempool and block validation make it
 * without chain state: CheckTSpend structure, a sane expiry (has a voting
 * window), the Pi key is one of `params.piKeys`, and the Schnorr signature
 * verifies. Throws {@link RuleError}: `NOT_A_TREASURY_SPEND`,
 * `BAD_TSPEND_EXPIRY`, `UNKNOWN_PI_KEY`, `BAD_TSPEND_SIGNATURE`.
 */
export function checkTSpendFull(tx: Tx, params: NetParams): TSpendInfo {
  const info = parseTSpend(tx);
  calcTSpendWindow(info.expiry, params.treasuryVoteInterval, params.treasuryVoteIntervalMultiplier);
  if (!params.piKeys.some((k) => equalBytes(k, info.piKey))) {
    throw new RuleError('UNKNOWN_PI_KEY', `tspend is signed by ${toHex(info.piKey)}, not a ${params.name} Pi key`);
  }
  if (!schnorrVerify(info.signature, tspendSigHash(tx), info.piKey)) {
    throw new RuleError('BAD_TSPEND_SIGNATURE', 'tspend Schnorr signature does not verify under its Pi key');
  }
  return info;
}

export interface BuildTSpendParams {
  /** P2PKH payees (hash160) and amounts in atoms; at least one. */
  payouts: { hash160: Uint8Array; value: bigint }[];
  /** The tx expiry; see {@link calcTSpendExpiry}. */
  expiry: number;
  /** Fee in atoms on top of the payouts (valueIn = Σ payouts + fee). */
  fee?: bigint;
  /** 24 bytes made unique per tspend in out[0] (dcrctl uses random bytes). */
  nonce?: Uint8Array;
  /** The Pi private key (32 bytes); its public key goes into the sigScript. */
  piPrivKey: Uint8Array;
}

/**
 * Builds and signs a tspend the way `dcrctl createtspend`-style tools do:
 * version 3, null input worth Σ payouts + fee, out[0] OP_RETURN with the
 * value and `nonce`, one OP_TGEN P2PKH per payout, the given expiry, and the
 * sigScript `<schnorr sig> <Pi key> OP_TSPEND`. Throws {@link InvalidArgumentError}.
 */
export function buildTSpend(p: BuildTSpendParams): Tx {
  if (p.payouts.length === 0) throw new InvalidArgumentError('buildTSpend: at least one payout');
  checkU32(p.expiry, 'expiry');
  const fee = p.fee ?? 0n;
  const total = p.payouts.reduce((s, o) => s + o.value, 0n) + fee;
  if (fee < 0n || total <= 0n || total >= 1n << 63n) throw new InvalidArgumentError(`buildTSpend: bad amounts (total ${total})`);
  const nonce = p.nonce ?? new Uint8Array(24);
  if (nonce.length !== 24) throw new InvalidArgumentError('buildTSpend: nonce must be 24 bytes');
  const data = new Uint8Array(32);
  new DataView(data.buffer).setBigUint64(0, total, true);
  data.set(nonce, 8);
  const pubKey = Point.BASE.multiply(bytesToBig(p.piPrivKey)).toBytes(true);
  const tx: Tx = {
    version: TX_VERSION_TREASURY,
    inputs: [{
      prevOut: { hash: new Uint8Array(32), index: NULL_PREV_INDEX, tree: TX_TREE_REGULAR },
      sequence: MAX_TX_IN_SEQUENCE, valueIn: total, blockHeight: NULL_BLOCK_HEIGHT, blockIndex: NULL_BLOCK_INDEX,
      sigScript: new Uint8Array(0),
    }],
    outputs: [
      { value: 0n, version: 0, pkScript: concatBytes(Uint8Array.of(0x6a, 0x20), data) },
      ...p.payouts.map((o) => ({ value: o.value, version: 0, pkScript: stakeTaggedScript('tgen', p2pkhScript(o.hash160)) })),
    ],
    lockTime: 0,
    expiry: p.expiry,
  };
  const sig = schnorrSign(tspendSigHash(tx), p.piPrivKey);
  const sigScript = concatBytes(Uint8Array.of(0x40), sig, Uint8Array.of(0x21), pubKey, Uint8Array.of(OP_TSPEND));
  return { ...tx, inputs: [{ ...(tx.inputs[0] as Tx['inputs'][number]), sigScript }] };
}
