/**
 * GetBlockVotes: the votes dcrd knows that vote on one block, read from the
 * chain itself (the source of truth): the votes in dcrd's mempool and those
 * mined in the main-chain block at `height + 1` when that block is a child of
 * the voted block. A voter records such a vote when its signer's record was
 * lost (services/voter/record-repair.ts). Read-only; costs one `getblockhash`,
 * one `getblock` and one `getrawmempool` plus one `getrawtransaction` per
 * mempool vote (bounded by {@link MAX_MEMPOOL_VOTES}).
 */
import { z } from 'zod';
import {
  decodeBlock, decodeTx, encodeTx, fromHex, hashToHex, isRevocation, isVote, parseVote, txHash, type Tx,
} from '../decred/index.ts';
import type { DcrdSession } from './dcrd-session.ts';
import { DcrdRpcError } from './errors.ts';

/** At most this many mempool votes are read per call (a mempool holds ~5 per recent block). */
export const MAX_MEMPOOL_VOTES = 256;

/** One vote as GetBlockVotes returns it (proto `BlockVote`). */
export interface BlockVoteWire {
  raw_tx: Buffer;
  txid: string;
  ticket: string;
  /** Display hex of the block holding it; '' while in the mempool. */
  mined_in: string;
}

const Hex = z.string().regex(/^[0-9a-fA-F]*$/);

/** The vote on `blockHashHex` in `tx`, as a wire entry, or undefined for any other tx. */
function voteOn(tx: Tx, raw: Uint8Array, blockHashHex: string, height: number, minedIn: string): BlockVoteWire | undefined {
  if (!isVote(tx)) return undefined;
  const v = parseVote(tx);
  if (hashToHex(v.blockHash) !== blockHashHex || v.blockHeight !== height) return undefined;
  return { raw_tx: Buffer.from(raw), txid: hashToHex(txHash(tx)), ticket: hashToHex(v.ticketHash), mined_in: minedIn };
}

/** What GetBlockVotes answers (proto `GetBlockVotesResponse`). */
export interface BlockVotesWire {
  votes: BlockVoteWire[];
  /** The main-chain child at height + 1 ('' when none). */
  child_hash: string;
  /** Tickets the child revokes (display hex). */
  revoked_tickets: string[];
}

/**
 * Votes on (`blockHashHex`, `height`) in dcrd's main-chain child block and its mempool, and the
 * tickets that child revokes (decred/dcrd: internal/blockchain/validate.go checkTicketRedeemers:
 * with automatic revocations the child revokes each winner it holds no vote for).
 */
export async function blockVotes(session: DcrdSession, blockHashHex: string, height: number): Promise<BlockVotesWire> {
  const out: BlockVoteWire[] = [];
  const revoked: string[] = [];
  let child = '';
  // The main-chain block at height + 1, if it is a child of the voted block.
  let childHash: string | undefined;
  try {
    childHash = await session.callAs('getblockhash', [height + 1], Hex);
  } catch (err) {
    if (!(err instanceof DcrdRpcError)) throw err; // out of range: no child yet
  }
  if (childHash) {
    const hex = await session.callAs('getblock', [childHash, false], Hex).catch((err: unknown) => {
      if (err instanceof DcrdRpcError) return undefined; // reorganised away meanwhile, or pruned
      throw err;
    });
    if (hex) {
      const block = decodeBlock(fromHex(hex));
      if (hashToHex(block.header.prevBlock) === blockHashHex) {
        child = childHash.toLowerCase();
        for (const tx of block.stakeTransactions) {
          if (isRevocation(tx)) {
            revoked.push(hashToHex((tx.inputs[0] as { prevOut: { hash: Uint8Array } }).prevOut.hash));
            continue;
          }
          const w = voteOn(tx, encodeTx(tx), blockHashHex, height, child);
          if (w) out.push(w);
        }
      }
    }
  }
  const pool = await session.callAs('getrawmempool', [false, 'votes'], z.array(Hex));
  for (const txid of pool.slice(0, MAX_MEMPOOL_VOTES)) {
    if (out.some((v) => v.txid === txid.toLowerCase())) continue;
    let rawHex: string;
    try {
      rawHex = await session.callAs('getrawtransaction', [txid, 0], Hex);
    } catch (err) {
      if (err instanceof DcrdRpcError) continue; // left the mempool meanwhile
      throw err;
    }
    const raw = fromHex(rawHex);
    let tx: Tx;
    try {
      tx = decodeTx(raw);
    } catch {
      continue; // not ours to judge: dcrd holds it, we only look for votes on one block
    }
    const w = voteOn(tx, raw, blockHashHex, height, '');
    if (w) out.push(w);
  }
  return { votes: out, child_hash: child, revoked_tickets: revoked };
}
