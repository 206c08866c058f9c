/**
 * The judge: dcrd's mempool acceptance for votes (decred/dcrd:
 * internal/mempool/mempool.go maybeAcceptTransaction, blockchain
 * checkVoteInputs / CheckSSGenVotes). Order of checks and the resulting codes:
 *   undecodable                               -> -22
 *   same txid in the mempool or a block        -> -40 (duplicate)
 *   not a vote                                 -> -1 "rejected transaction ...: ..."
 *   not a structurally valid vote, unknown or non-tip block, unknown ticket,
 *   not a winner, wrong subsidy, payouts, signature (services/decred checkVote) -> -1
 *   a DIFFERENT valid vote for the same ticket and block -> -1 "... already votes on block ..."
 * Valid votes (accepted or conflicting) are reported to the ledger so conflicts are counted.
 */
import {
  DecodeError,
  DecredError,
  HexError,
  RuleError,
  checkVote,
  decodeTx,
  fromHex,
  hashToHex,
  isStakeBase,
  parseVote,
  txHash,
  txHashFull,
  txType,
  type NetParams,
  type SubsidySplit,
  type Tx,
} from '../../decred/index.ts';
import type { BlockNode, Chain } from './chain/chain.ts';
import { RPC_ERR, RpcError } from './errors.ts';

export interface MempoolVote {
  tx: Tx;
  bytes: Uint8Array;
  txidHex: string;
  fullHex: string;
  blockHex: string;
  ticketHex: string;
  height: number;
  acceptedAt: number;
}

/** The vote mempool: by txid and by (block, ticket). Votes for blocks that are no longer tips are pruned. */
export class VotePool {
  readonly byTxid = new Map<string, MempoolVote>();
  private readonly byBlockTicket = new Map<string, MempoolVote>();

  get(txidHex: string): MempoolVote | undefined {
    return this.byTxid.get(txidHex);
  }
  forTicket(blockHex: string, ticketHex: string): MempoolVote | undefined {
    return this.byBlockTicket.get(`${blockHex}:${ticketHex}`);
  }
  add(v: MempoolVote): void {
    this.byTxid.set(v.txidHex, v);
    this.byBlockTicket.set(`${v.blockHex}:${v.ticketHex}`, v);
  }
  remove(txidHex: string): void {
    const v = this.byTxid.get(txidHex);
    if (!v) return;
    this.byTxid.delete(txidHex);
    this.byBlockTicket.delete(`${v.blockHex}:${v.ticketHex}`);
  }
  /** Votes on `blockHex`, in arrival order. */
  forBlock(blockHex: string): MempoolVote[] {
    return [...this.byTxid.values()].filter((v) => v.blockHex === blockHex);
  }
  /** Keeps only votes on the given blocks (the current tip candidates). */
  retain(blockHexes: Set<string>): void {
    for (const [k, v] of this.byTxid) {
      if (!blockHexes.has(v.blockHex)) {
        this.byTxid.delete(k);
        this.byBlockTicket.delete(`${v.blockHex}:${v.ticketHex}`);
      }
    }
  }
  get size(): number {
    return this.byTxid.size;
  }
}

export interface JudgeContext {
  chain: Chain;
  params: NetParams;
  split: SubsidySplit;
  pool: VotePool;
  /** The ticket purchase tx by ticket hash (display hex). */
  ticketTx: (ticketHex: string) => Tx | undefined;
  /** Called for every VALID vote seen, accepted or conflicting. */
  onValidVote: (blockHex: string, ticketHex: string, fullHex: string, accepted: boolean) => void;
  now: () => number;
}

export interface JudgeOptions {
  /** Skip the signature and payout checks (votes the devnet built and signed itself). */
  trusted?: boolean;
}

function rejected(txidHex: string, why: string, cause?: unknown): RpcError {
  return new RpcError(RPC_ERR.MISC, `rejected transaction ${txidHex}: ${why}`, cause === undefined ? undefined : { cause });
}

/** Decodes raw tx hex as sendrawtransaction does (-22 on failure). */
export function decodeRawTx(hex: unknown): { tx: Tx; bytes: Uint8Array } {
  if (typeof hex !== 'string') throw new RpcError(RPC_ERR.INVALID_PARAMS, 'hextx must be a string');
  let bytes: Uint8Array;
  try {
    bytes = fromHex(hex.length % 2 === 1 ? `0${hex}` : hex, 'hextx');
  } catch (e) {
    if (e instanceof HexError) throw new RpcError(RPC_ERR.DECODE, `Argument must be hexadecimal string (not "${hex.slice(0, 64)}")`);
    throw e;
  }
  try {
    return { tx: decodeTx(bytes), bytes };
  } catch (e) {
    if (e instanceof DecodeError) throw new RpcError(RPC_ERR.DECODE, `TX decode failed: ${e.message}`);
    throw e;
  }
}

/** Runs every acceptance rule; on success adds the vote to the pool and returns it. */
export function judgeVote(ctx: JudgeContext, tx: Tx, bytes: Uint8Array, opts: JudgeOptions = {}): MempoolVote {
  const txidHex = hashToHex(txHash(tx));
  if (ctx.pool.get(txidHex) || ctx.chain.blockOfTx(txidHex)) {
    throw new RpcError(RPC_ERR.DUPLICATE_TX, `rejected transaction ${txidHex}: already have transaction ${txidHex}`);
  }
  const type = txType(tx);
  if (type !== 'vote') {
    // A broken vote (a stakebase input) is refused with what CheckSSGenVotes found, not just its type.
    if (isStakeBase(tx)) {
      try {
        parseVote(tx);
      } catch (e) {
        throw rejected(txidHex, e instanceof DecredError ? e.message : String(e), e);
      }
    }
    throw rejected(txidHex, `the devnet accepts only votes and treasury spends; this is a ${type} transaction`);
  }
  let info;
  try {
    info = parseVote(tx);
  } catch (e) {
    throw rejected(txidHex, e instanceof DecredError ? e.message : String(e), e);
  }
  const blockHex = hashToHex(info.blockHash);
  const ticketHex = hashToHex(info.ticketHash);
  const node: BlockNode | undefined = ctx.chain.get(blockHex);
  if (!node) throw rejected(txidHex, `vote references unknown block ${blockHex}`);
  if (node.height !== info.blockHeight) {
    throw rejected(txidHex, `vote for block ${blockHex} claims height ${info.blockHeight}, block is at ${node.height}`);
  }
  if (node.height < ctx.params.stakeValidationHeight - 1) throw rejected(txidHex, `votes on block ${blockHex} before stake validation height`);
  const tips = ctx.chain.tipCandidates();
  if (!tips.includes(node)) {
    throw rejected(txidHex, `vote on old block ${blockHex} (height ${node.height}); current tip height is ${ctx.chain.bestHeight}`);
  }
  const ticket = ctx.ticketTx(ticketHex);
  if (!ticket) throw rejected(txidHex, `orphan transaction ${txidHex} references outputs of unknown or fully-spent transaction ${ticketHex}`);
  if (!opts.trusted) {
    try {
      checkVote(tx, { ticket, params: ctx.params, split: ctx.split, winners: node.winners });
    } catch (e) {
      if (e instanceof RuleError) throw rejected(txidHex, `${e.reason}: ${e.message}`, e);
      throw rejected(txidHex, e instanceof Error ? e.message : String(e), e);
    }
  } else if (!node.winners.some((w) => hashToHex(w) === ticketHex)) {
    throw rejected(txidHex, `ticket ${ticketHex} is not a winner of block ${blockHex}`);
  }
  const fullHex = hashToHex(txHashFull(tx));
  const existing = ctx.pool.forTicket(blockHex, ticketHex);
  if (existing) {
    ctx.onValidVote(blockHex, ticketHex, fullHex, false);
    throw rejected(txidHex, `vote ${txidHex} for ticket ${ticketHex}: ticket already votes on block ${blockHex} with transaction ${existing.txidHex}`);
  }
  const v: MempoolVote = { tx, bytes, txidHex, fullHex, blockHex, ticketHex, height: node.height, acceptedAt: ctx.now() };
  ctx.pool.add(v);
  ctx.onValidVote(blockHex, ticketHex, fullHex, true);
  return v;
}
