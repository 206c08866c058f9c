/**
 * Decred transaction codec (decred/dcrd: wire/msgtx.go).
 *
 * A transaction is serialised as a version word (`txVersion | serType << 16`),
 * a prefix (inputs' outpoints and sequences, outputs, locktime, expiry) and a
 * witness (per input: valueIn, fraud-proof height/index and sigScript).
 * TxHash (txid) covers the prefix only, so signing never changes the id.
 */
import { ByteReader, ByteWriter, concatBytes, fromHex } from '../bytes.ts';
import { DecodeError } from '../errors.ts';
import { blake256 } from '../hash.ts';

export const TX_SER_FULL = 0;
export const TX_SER_NO_WITNESS = 1;
export const TX_SER_ONLY_WITNESS = 2;

export const TX_TREE_REGULAR = 0;
export const TX_TREE_STAKE = 1;

export const TX_VERSION = 1;
export const TX_VERSION_SEQ_LOCK = 2;
export const TX_VERSION_TREASURY = 3;

export const MAX_TX_IN_SEQUENCE = 0xffffffff;
export const NULL_BLOCK_HEIGHT = 0;
export const NULL_BLOCK_INDEX = 0xffffffff;
export const NULL_PREV_INDEX = 0xffffffff;

/** Upper bounds used while decoding so a corrupt count cannot allocate without limit (wire.MaxBlockPayload). */
export const MAX_TX_SIZE = 393_216;
export const MAX_SCRIPT_SIZE = 16_384;
const MAX_IO_COUNT = Math.floor(MAX_TX_SIZE / 9);

export interface OutPoint {
  /** Previous tx hash, internal byte order. */
  hash: Uint8Array;
  index: number;
  tree: number;
}

export interface TxIn {
  prevOut: OutPoint;
  sequence: number;
  valueIn: bigint;
  blockHeight: number;
  blockIndex: number;
  sigScript: Uint8Array;
}

export interface TxOut {
  value: bigint;
  version: number;
  pkScript: Uint8Array;
}

export interface Tx {
  /** Transaction version (the low 16 bits of the version word). */
  version: number;
  inputs: TxIn[];
  outputs: TxOut[];
  lockTime: number;
  expiry: number;
}

export function newTxIn(prevOut: OutPoint, valueIn: bigint, sigScript: Uint8Array = new Uint8Array()): TxIn {
  return {
    prevOut,
    sequence: MAX_TX_IN_SEQUENCE,
    valueIn,
    blockHeight: NULL_BLOCK_HEIGHT,
    blockIndex: NULL_BLOCK_INDEX,
    sigScript,
  };
}

function writePrefix(w: ByteWriter, tx: Tx): void {
  w.varInt(tx.inputs.length);
  for (const i of tx.inputs) {
    w.bytes(i.prevOut.hash).u32(i.prevOut.index).u8(i.prevOut.tree).u32(i.sequence);
  }
  w.varInt(tx.outputs.length);
  for (const o of tx.outputs) {
    w.i64(o.value).u16(o.version).varBytes(o.pkScript);
  }
  w.u32(tx.lockTime).u32(tx.expiry);
}

function writeWitness(w: ByteWriter, tx: Tx): void {
  w.varInt(tx.inputs.length);
  for (const i of tx.inputs) {
    w.i64(i.valueIn).u32(i.blockHeight).u32(i.blockIndex).varBytes(i.sigScript);
  }
}

/** Serialises a transaction; `serType` 0 = full (wire/RPC form), 1 = prefix only, 2 = witness only. */
export function encodeTx(tx: Tx, serType: number = TX_SER_FULL): Uint8Array {
  const w = new ByteWriter(256);
  w.u32((tx.version & 0xffff) | (serType << 16));
  if (serType !== TX_SER_ONLY_WITNESS) writePrefix(w, tx);
  if (serType !== TX_SER_NO_WITNESS) writeWitness(w, tx);
  return w.finish();
}

/** Reads one full-serialised transaction from `r` (used by the block decoder too). */
export function readTx(r: ByteReader): Tx {
  const verWord = r.u32('tx version');
  const version = verWord & 0xffff;
  const serType = verWord >>> 16;
  if (serType !== TX_SER_FULL) {
    throw new DecodeError(`tx: serialization type ${serType} is not the full form (0)`);
  }
  const nIn = r.count('tx input count', MAX_IO_COUNT);
  const inputs: TxIn[] = [];
  for (let k = 0; k < nIn; k++) {
    const hash = r.bytes(32, `input ${k} prevout hash`);
    const index = r.u32(`input ${k} prevout index`);
    const tree = r.u8(`input ${k} prevout tree`);
    const sequence = r.u32(`input ${k} sequence`);
    inputs.push({ prevOut: { hash, index, tree }, sequence, valueIn: 0n, blockHeight: 0, blockIndex: 0, sigScript: new Uint8Array() });
  }
  const nOut = r.count('tx output count', MAX_IO_COUNT);
  const outputs: TxOut[] = [];
  for (let k = 0; k < nOut; k++) {
    const value = r.i64(`output ${k} value`);
    const ver = r.u16(`output ${k} script version`);
    const pkScript = r.varBytes(`output ${k} pkScript`, MAX_SCRIPT_SIZE);
    outputs.push({ value, version: ver, pkScript });
  }
  const lockTime = r.u32('tx locktime');
  const expiry = r.u32('tx expiry');
  const nWit = r.count('tx witness count', MAX_IO_COUNT);
  if (nWit !== nIn) {
    throw new DecodeError(`tx: witness count ${nWit} does not match input count ${nIn}`);
  }
  for (let k = 0; k < nIn; k++) {
    const input = inputs[k] as TxIn;
    input.valueIn = r.i64(`input ${k} valueIn`);
    input.blockHeight = r.u32(`input ${k} blockHeight`);
    input.blockIndex = r.u32(`input ${k} blockIndex`);
    input.sigScript = r.varBytes(`input ${k} sigScript`, MAX_SCRIPT_SIZE);
  }
  return { version, inputs, outputs, lockTime, expiry };
}

/** Decodes a full-serialised transaction; rejects truncation, bad counts and trailing bytes. */
export function decodeTx(bytes: Uint8Array): Tx {
  if (bytes.length > MAX_TX_SIZE) {
    throw new DecodeError(`tx: ${bytes.length} bytes exceeds the maximum ${MAX_TX_SIZE}`);
  }
  const r = new ByteReader(bytes);
  const tx = readTx(r);
  r.end('tx');
  return tx;
}

/** Decodes a transaction from hex (RPC form). */
export function decodeTxHex(hex: string): Tx {
  return decodeTx(fromHex(hex, 'tx hex'));
}

/** TxHash (txid), internal order: BLAKE256 of the prefix serialisation. */
export function txHash(tx: Tx): Uint8Array {
  return blake256(encodeTx(tx, TX_SER_NO_WITNESS));
}

/** TxHashWitness: BLAKE256 of the witness-only serialisation. */
export function txHashWitness(tx: Tx): Uint8Array {
  return blake256(encodeTx(tx, TX_SER_ONLY_WITNESS));
}

/** TxHashFull = BLAKE256(TxHash ‖ TxHashWitness): the merkle leaf. */
export function txHashFull(tx: Tx): Uint8Array {
  return blake256(concatBytes(txHash(tx), txHashWitness(tx)));
}

/** A deep copy, so builders can modify a template without aliasing. */
export function cloneTx(tx: Tx): Tx {
  return {
    version: tx.version,
    lockTime: tx.lockTime,
    expiry: tx.expiry,
    inputs: tx.inputs.map((i) => ({ ...i, prevOut: { ...i.prevOut, hash: i.prevOut.hash.slice() }, sigScript: i.sigScript.slice() })),
    outputs: tx.outputs.map((o) => ({ ...o, pkScript: o.pkScript.slice() })),
  };
}
