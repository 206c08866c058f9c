/**
 * Transaction lookups that work whether or not dcrd keeps a transaction index.
 *
 * dcrd's getrawtransaction looks in the mempool first and then, only with
 * `--txindex`, in the chain; without the index it answers -32603 "the
 * transaction index must be enabled to query the blockchain (specify
 * --txindex)" for every transaction not in its mempool, known or not
 * (decred/dcrd internal/rpcserver/rpcserver.go handleGetRawTransaction,
 * rpcInternalErr; release-v2.0.6 and v2.1.x alike). A transaction whose block
 * the caller knows (a ticket's block from an export file or from vspd's
 * addtransaction; a vote's block: the child of the block it votes on) is then
 * read from that block with getblock, which needs no index.
 */
import { z } from 'zod';
import { decodeBlock, encodeTx, fromHex, hashToHex, txHash } from '../decred/index.ts';
import type { DcrdSession } from './dcrd-session.ts';
import { DcrdRpcError, NotFoundError, TxIndexRequiredError } from './errors.ts';

/** dcrd's ErrRPCInternal (decred/dcrd dcrjson/jsonrpcerr.go), what getrawtransaction answers without an index. */
export const DCRD_ERR_INTERNAL = -32603;
/** dcrd's ErrRPCNoTxInfo / ErrRPCBlockNotFound (-5). */
export const DCRD_ERR_NOT_FOUND = -5;

const Hex = z.string().regex(/^[0-9a-fA-F]*$/);
const VerboseTx = z.object({ hex: Hex, blockhash: z.string().optional(), blockheight: z.number().int().nonnegative().optional() }).loose();

/** Whether `err` is dcrd's "no transaction index" answer to getrawtransaction. */
export function isNoTxIndexError(err: unknown): boolean {
  return err instanceof DcrdRpcError && err.rpcCode === DCRD_ERR_INTERNAL && /transaction index/i.test(err.message);
}

/** A transaction and, when mined, the block holding it (display hex). */
export interface TxFound {
  raw: Uint8Array;
  blockHash?: string;
  blockHeight?: number;
}

/** Decoded blocks kept for repeated lookups (one block's five votes, a batch of one block's tickets). */
const BLOCK_CACHE_SIZE = 8;

/** Block reads by hash, cached (a block's bytes never change). */
export class BlockReader {
  readonly #cache = new Map<string, { height: number; prevHash: string; txs: Map<string, Uint8Array>; stakeTxids: Set<string> } | null>();

  constructor(private readonly session: DcrdSession) {}

  /** The block's transactions by txid (regular and stake), its height and parent; undefined when dcrd does not know it. */
  async read(blockHashHex: string): Promise<{ height: number; prevHash: string; txs: Map<string, Uint8Array>; stakeTxids: Set<string> } | undefined> {
    const key = blockHashHex.toLowerCase();
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit ?? undefined;
    let hex: string;
    try {
      hex = await this.session.callAs('getblock', [key, false], Hex);
    } catch (err) {
      if (err instanceof DcrdRpcError && err.rpcCode === DCRD_ERR_NOT_FOUND) return undefined;
      throw err;
    }
    const block = decodeBlock(fromHex(hex));
    const txs = new Map<string, Uint8Array>();
    const stakeTxids = new Set<string>();
    for (const tx of block.transactions) txs.set(hashToHex(txHash(tx)), encodeTx(tx));
    for (const tx of block.stakeTransactions) {
      const id = hashToHex(txHash(tx));
      txs.set(id, encodeTx(tx));
      stakeTxids.add(id);
    }
    const entry = { height: block.header.height, prevHash: hashToHex(block.header.prevBlock), txs, stakeTxids };
    this.#cache.set(key, entry);
    if (this.#cache.size > BLOCK_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value as string);
    return entry;
  }

  /**
   * The txids of the stake transactions (votes among them) of the main-chain block at
   * `height + 1`, if it is a child of `blockHashHex`; undefined while there is none.
   */
  async childStakeTxids(blockHashHex: string, height: number): Promise<{ childHash: string; txids: Set<string> } | undefined> {
    let childHash: string;
    try {
      childHash = (await this.session.callAs('getblockhash', [height + 1], Hex)).toLowerCase();
    } catch (err) {
      if (err instanceof DcrdRpcError) return undefined; // out of range: no child yet
      throw err;
    }
    const child = await this.read(childHash);
    if (!child || child.prevHash !== blockHashHex.toLowerCase()) return undefined;
    return { childHash, txids: child.stakeTxids };
  }
}

/**
 * Looks a transaction up: dcrd's mempool, then its transaction index; when dcrd has no index
 * and `inBlock` names a block, that block. `withBlock`: also say which block holds it.
 * @throws NotFoundError (not in the mempool, the index or the named block),
 *   TxIndexRequiredError (mined transactions need the index and no block was named), DcrdRpcError.
 */
export async function lookupTransaction(
  session: DcrdSession,
  blocks: BlockReader,
  txid: string,
  o: { withBlock: boolean; inBlock?: string },
): Promise<TxFound> {
  try {
    if (o.withBlock) {
      const v = await session.callAs('getrawtransaction', [txid, 1], VerboseTx);
      return { raw: fromHex(v.hex), ...(v.blockhash ? { blockHash: v.blockhash, blockHeight: v.blockheight ?? 0 } : {}) };
    }
    return { raw: fromHex(await session.callAs('getrawtransaction', [txid, 0], Hex)) };
  } catch (err) {
    if (err instanceof DcrdRpcError && err.rpcCode === DCRD_ERR_NOT_FOUND) throw new NotFoundError(`transaction ${txid} not found`);
    if (!isNoTxIndexError(err)) throw err;
  }
  // Not in the mempool, and dcrd keeps no index: only a named block can tell.
  if (o.inBlock === undefined) {
    throw new TxIndexRequiredError(
      `transaction ${txid} is not in dcrd's mempool and dcrd runs without --txindex: name the block that holds it, or start dcrd with --txindex`,
    );
  }
  const b = await blocks.read(o.inBlock);
  const raw = b?.txs.get(txid.toLowerCase());
  if (!b || !raw) throw new NotFoundError(`transaction ${txid} not found (not in dcrd's mempool nor in block ${o.inBlock})`);
  return { raw, blockHash: o.inBlock.toLowerCase(), blockHeight: b.height };
}
