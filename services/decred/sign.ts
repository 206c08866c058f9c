/**
 * Signing and verifying P2PKH and P2SH m-of-n inputs, plain and stake-tagged
 * (decred/dcrd: txscript/sign/sign.go, txscript/opcode.go opcodeCheckSig and
 * opcodeCheckMultiSig).
 *
 * - P2PKH sigScript: `<DER ‖ hashType> <33-byte compressed pubkey>`; the
 *   signing subscript is the FULL previous pkScript, stake tag included.
 * - P2SH multisig sigScript: `<sig>... <redeemScript>` with NO dummy OP_0
 *   (Decred's OP_CHECKMULTISIG has no extra pop); the subscript is the redeem
 *   script. Signatures appear in the order of their public keys.
 */
import { concatBytes, equalBytes } from './bytes.ts';
import { DecredError, InvalidArgumentError, KeyMismatchError, ScriptError } from './errors.ts';
import { hash160 } from './hash.ts';
import { calcSignatureHash, isStrictHashType, SIGHASH_ALL } from './sighash.ts';
import { decodeDer, privKeyToPubKey, signHash, verifyHash } from './signature.ts';
import { classifyScript, isPushOp, parseMultisig, parseScript, pushData, type ScriptOp } from './script.ts';
import type { Tx } from './wire/tx.ts';

/** Result of {@link verifyInputScript}; `error` starts with a stable upper-case reason code. */
export interface InputVerification {
  valid: boolean;
  error?: string;
}

function needHashType(hashType: number): void {
  if (!isStrictHashType(hashType)) {
    throw new InvalidArgumentError(`hash type 0x${hashType.toString(16)} is not All/None/Single (optionally |AnyOneCanPay)`);
  }
}

function sigWithType(hash: Uint8Array, priv: Uint8Array, hashType: number): Uint8Array {
  return concatBytes(signHash(hash, priv), Uint8Array.of(hashType));
}

/**
 * Signs input `idx` that spends a P2PKH output (plain or stake-tagged, e.g. a
 * ticket's OP_SSTX voting output) and returns the sigScript
 * `<sig‖hashType> <pubkey>`. Throws {@link ScriptError} if `prevPkScript` is
 * not P2PKH and {@link KeyMismatchError} if the key does not match its hash.
 */
export function signP2PKHInput(
  tx: Tx,
  idx: number,
  prevPkScript: Uint8Array,
  privKey: Uint8Array,
  hashType: number = SIGHASH_ALL,
  cachedPrefixHash?: Uint8Array,
): Uint8Array {
  needHashType(hashType);
  const c = classifyScript(prevPkScript);
  if (c.kind !== 'p2pkh' || !c.hash160) throw new ScriptError('signP2PKHInput: previous pkScript is not (stake-tagged) P2PKH');
  const pub = privKeyToPubKey(privKey);
  if (!equalBytes(hash160(pub), c.hash160)) {
    throw new KeyMismatchError('signP2PKHInput: the private key does not match the pubkey hash of the previous output');
  }
  const hash = calcSignatureHash(prevPkScript, hashType, tx, idx, cachedPrefixHash);
  return concatBytes(pushData(sigWithType(hash, privKey, hashType)), pushData(pub));
}

/**
 * Signs input `idx` that spends a P2SH m-of-n multisig output with the given
 * keys (any order; at least m must belong to the script) and returns the
 * sigScript `<sig>... <redeemScript>` with signatures in pubkey order.
 */
export function signMultisigInput(
  tx: Tx,
  idx: number,
  redeemScript: Uint8Array,
  privKeys: Uint8Array[],
  hashType: number = SIGHASH_ALL,
): Uint8Array {
  needHashType(hashType);
  const { m, pubKeys } = parseMultisig(redeemScript);
  const byPub = new Map(privKeys.map((k) => [Buffer.from(privKeyToPubKey(k)).toString('hex'), k]));
  const hash = calcSignatureHash(redeemScript, hashType, tx, idx);
  const parts: Uint8Array[] = [];
  for (const pk of pubKeys) {
    if (parts.length === m) break;
    const priv = byPub.get(Buffer.from(pk).toString('hex'));
    if (priv) parts.push(pushData(sigWithType(hash, priv, hashType)));
  }
  if (parts.length < m) {
    throw new KeyMismatchError(`signMultisigInput: only ${parts.length} of the ${m} required keys belong to the redeem script`);
  }
  parts.push(pushData(redeemScript));
  return concatBytes(...parts);
}

class VerifyFail extends Error {
  constructor(readonly reason: string, detail: string) {
    super(`${reason}: ${detail}`);
  }
}

/** Splits `<DER‖hashType>` and checks strict hash type and strict DER / low-S encoding. */
function checkSigEncoding(sigItem: Uint8Array): { der: Uint8Array; hashType: number } {
  if (sigItem.length < 1) throw new VerifyFail('SIG_EMPTY', 'signature push is empty');
  const hashType = sigItem[sigItem.length - 1] as number;
  if (!isStrictHashType(hashType)) throw new VerifyFail('SIG_HASHTYPE', `hash type 0x${hashType.toString(16)} is not strictly encoded`);
  const der = sigItem.subarray(0, sigItem.length - 1);
  try {
    decodeDer(der);
  } catch (e) {
    throw new VerifyFail('SIG_DER', e instanceof Error ? e.message : 'bad DER');
  }
  return { der, hashType };
}

/**
 * checkPubKeyEncoding: format only (33-byte 02/03 or 65-byte 04; hybrid is
 * rejected). Whether the point is on the curve is left to the signature check,
 * as in dcrd, which saves a square root per input.
 */
function checkPubKey(pub: Uint8Array): void {
  const ok = (pub.length === 33 && (pub[0] === 2 || pub[0] === 3)) || (pub.length === 65 && pub[0] === 4);
  if (!ok) throw new VerifyFail('PUBKEY_FORMAT', 'public key is not 33-byte compressed or 65-byte uncompressed');
}

function pushes(sigScript: Uint8Array): Uint8Array[] {
  let ops: ScriptOp[];
  try {
    ops = parseScript(sigScript);
  } catch (e) {
    throw new VerifyFail('SIGSCRIPT_MALFORMED', e instanceof Error ? e.message : 'unparsable');
  }
  return ops.map((op, i) => {
    if (!isPushOp(op)) throw new VerifyFail('SIGSCRIPT_NOT_PUSH_ONLY', `opcode 0x${op.opcode.toString(16)} at item ${i}`);
    return op.data ?? new Uint8Array(); // small-int pushes cannot be signatures or keys
  });
}

function verifyP2PKH(tx: Tx, idx: number, prevPkScript: Uint8Array, h160: Uint8Array, items: Uint8Array[]): void {
  if (items.length !== 2) throw new VerifyFail('SIGSCRIPT_SHAPE', `P2PKH needs <sig> <pubkey>, got ${items.length} items`);
  const [sigItem, pub] = items as [Uint8Array, Uint8Array];
  const { der, hashType } = checkSigEncoding(sigItem);
  checkPubKey(pub);
  if (!equalBytes(hash160(pub), h160)) throw new VerifyFail('PUBKEY_HASH_MISMATCH', 'hash160(pubkey) does not match the previous output');
  const hash = calcSignatureHash(prevPkScript, hashType, tx, idx);
  if (!verifyHash(der, hash, pub)) throw new VerifyFail('SIG_INVALID', 'signature does not verify');
}

function verifyP2SH(tx: Tx, idx: number, h160: Uint8Array, items: Uint8Array[]): void {
  if (items.length < 1) throw new VerifyFail('SIGSCRIPT_SHAPE', 'P2SH sigScript is empty');
  const redeem = items[items.length - 1] as Uint8Array;
  if (!equalBytes(hash160(redeem), h160)) throw new VerifyFail('REDEEM_HASH_MISMATCH', 'hash160(redeemScript) does not match the previous output');
  let ms: { m: number; pubKeys: Uint8Array[] };
  try {
    ms = parseMultisig(redeem);
  } catch {
    throw new VerifyFail('REDEEM_UNSUPPORTED', 'redeem script is not a standard m-of-n multisig');
  }
  const sigs = items.slice(0, -1);
  if (sigs.length !== ms.m) throw new VerifyFail('SIGSCRIPT_SHAPE', `multisig needs ${ms.m} signatures, got ${sigs.length}`);
  // OP_CHECKMULTISIG: walk keys in order; each signature must match a later key than the previous one.
  let k = 0;
  const hashes = new Map<number, Uint8Array>();
  for (const [si, sigItem] of sigs.entries()) {
    const { der, hashType } = checkSigEncoding(sigItem);
    let hash = hashes.get(hashType);
    if (!hash) {
      hash = calcSignatureHash(redeem, hashType, tx, idx);
      hashes.set(hashType, hash);
    }
    let ok = false;
    while (k < ms.pubKeys.length && ms.pubKeys.length - k >= sigs.length - si) {
      const pub = ms.pubKeys[k++] as Uint8Array;
      checkPubKey(pub);
      if (verifyHash(der, hash, pub)) {
        ok = true;
        break;
      }
    }
    if (!ok) throw new VerifyFail('SIG_INVALID', `multisig signature ${si} does not match any remaining key`);
  }
}

/**
 * Verifies the sigScript of input `idx` against the output it spends: P2PKH
 * or P2SH m-of-n multisig, plain or stake-tagged. Checks push-only form,
 * strict hash type, strict DER with low-S, pubkey format, the hash160 of the
 * key or redeem script, and the signatures. Never throws for bad input.
 */
export function verifyInputScript(tx: Tx, idx: number, prevPkScript: Uint8Array): InputVerification {
  try {
    const input = tx.inputs[idx];
    if (!Number.isInteger(idx) || !input) throw new VerifyFail('INPUT_INDEX', `no input ${idx}`);
    const c = classifyScript(prevPkScript);
    const items = pushes(input.sigScript);
    if (c.kind === 'p2pkh' && c.hash160) verifyP2PKH(tx, idx, prevPkScript, c.hash160, items);
    else if (c.kind === 'p2sh' && c.hash160) verifyP2SH(tx, idx, c.hash160, items);
    else throw new VerifyFail('PKSCRIPT_UNSUPPORTED', `previous output is ${c.kind}, not (stake-tagged) P2PKH or P2SH`);
    return { valid: true };
  } catch (e) {
    if (e instanceof VerifyFail) return { valid: false, error: e.message };
    if (e instanceof DecredError) return { valid: false, error: `${e.code}: ${e.message}` };
    throw e;
  }
}
