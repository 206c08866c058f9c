/**
 * Block codec (decred/dcrd: wire/msgblock.go): the 180-byte header, then
 * varint n and n full regular transactions, then varint m and m full stake
 * transactions.
 */
import { ByteReader, ByteWriter } from '../bytes.ts';
import { DecodeError } from '../errors.ts';
import { encodeBlockHeader, readBlockHeader, type BlockHeader } from './block-header.ts';
import { encodeTx, readTx, type Tx } from './tx.ts';

/** wire.MaxBlockPayload: the largest block message dcrd accepts. */
export const MAX_BLOCK_PAYLOAD = 1_310_720;
/** The smallest serialised tx is well over 8 bytes, so this bounds any honest count. */
const MAX_TX_PER_BLOCK = Math.floor(MAX_BLOCK_PAYLOAD / 8);

export interface Block {
  header: BlockHeader;
  transactions: Tx[];
  stakeTransactions: Tx[];
}

export function encodeBlock(b: Block): Uint8Array {
  const w = new ByteWriter(1024);
  w.bytes(encodeBlockHeader(b.header));
  w.varInt(b.transactions.length);
  for (const tx of b.transactions) w.bytes(encodeTx(tx));
  w.varInt(b.stakeTransactions.length);
  for (const tx of b.stakeTransactions) w.bytes(encodeTx(tx));
  return w.finish();
}

/** Decodes a full block; rejects truncation, oversized counts and trailing bytes with {@link DecodeError}. */
export function decodeBlock(bytes: Uint8Array): Block {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('block: input is not bytes');
  if (bytes.length > MAX_BLOCK_PAYLOAD) {
    throw new DecodeError(`block: ${bytes.length} bytes exceeds the maximum ${MAX_BLOCK_PAYLOAD}`);
  }
  const r = new ByteReader(bytes);
  const header = readBlockHeader(r);
  const nTx = r.count('block tx count', MAX_TX_PER_BLOCK);
  const transactions: Tx[] = [];
  for (let i = 0; i < nTx; i++) transactions.push(readTxAt(r, `block tx ${i}`));
  const nStx = r.count('block stake tx count', MAX_TX_PER_BLOCK);
  const stakeTransactions: Tx[] = [];
  for (let i = 0; i < nStx; i++) stakeTransactions.push(readTxAt(r, `block stake tx ${i}`));
  r.end('block');
  return { header, transactions, stakeTransactions };
}

function readTxAt(r: ByteReader, what: string): Tx {
  try {
    return readTx(r);
  } catch (e) {
    if (e instanceof DecodeError) throw new DecodeError(`${what}: ${e.message}`, { cause: e });
    throw e;
  }
}
