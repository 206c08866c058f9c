/**
 * The devnet's own wallet: the transactions a simnet miner and ticket buyer make.
 * - coinbase: pays the work subsidy (block 1: the whole BlockOneLedger) to the miner
 *   or funding key;
 * - funding tx (regular tree, one per block from StakeEnabledHeight-1): spends the
 *   previous funding change and creates one output per ticket the NEXT block buys;
 * - ticket (SStx, as dcrwallet buys it): 1 input, voting output OP_SSTX P2PKH to a
 *   per-ticket key, one commitment to the reward key (amount = price + fee, fee limits
 *   0x5800), and a zero OP_SSTXCHANGE output (decred/dcrd: blockchain/stake/staketx.go CheckSStx);
 * - house vote: what another stakeholder's wallet sends for a ticket it owns (decred/dcrwallet: wallet/createtx.go createUnsignedVote).
 */
import {
  SIGHASH_ALL,
  TX_TREE_REGULAR,
  TX_TREE_STAKE,
  TX_VERSION,
  buildVote,
  newTxIn,
  nullDataScript,
  p2pkhScript,
  signP2PKHInput,
  signVote,
  stakeTaggedScript,
  txHash,
  type NetParams,
  type SubsidySplit,
  type Tx,
  voteSubsidy,
} from '../../../decred/index.ts';
import type { DevnetKey } from './keys.ts';

/** A spendable output the wallet tracks (the funding chain). */
export interface FundingOutput {
  /** Tx hash, internal order. */
  txHash: Uint8Array;
  index: number;
  value: bigint;
}

const NULL_HASH = new Uint8Array(32);
/** Ticket fee (atoms) paid on top of the price; the commitment amount is price + fee. */
export const TICKET_FEE = 10_000n;
/** Fee of each funding tx. */
export const FUNDING_FEE = 10_000n;
/** Fee limits of the commitment: revocation limit 2^24, no vote limit (dcrwallet default). */
const FEE_LIMITS = 0x5800;

/** The regular-tree coinbase of block `height` (null prevout; sigScript pushes height and extra nonce). */
export function buildCoinbase(height: number, value: bigint, payTo: DevnetKey, extraNonce: number): Tx {
  const data = new Uint8Array(12);
  const dv = new DataView(data.buffer);
  dv.setUint32(0, height, true);
  dv.setUint32(4, extraNonce >>> 0, true);
  const sig = new Uint8Array(13);
  sig[0] = 12;
  sig.set(data, 1);
  const input = newTxIn({ hash: NULL_HASH, index: 0xffffffff, tree: TX_TREE_REGULAR }, value, sig);
  return {
    version: TX_VERSION,
    inputs: [input],
    outputs: [
      { value: 0n, version: 0, pkScript: nullDataScript(data) },
      { value, version: 0, pkScript: p2pkhScript(payTo.pkh) },
    ],
    lockTime: 0,
    expiry: 0,
  };
}

/** Spends `from` into `n` outputs of `each` plus change, all to the funding key (signed). */
export function buildFundingTx(from: FundingOutput, n: number, each: bigint, key: DevnetKey): { tx: Tx; change: FundingOutput } {
  const script = p2pkhScript(key.pkh);
  const change = from.value - BigInt(n) * each - FUNDING_FEE;
  const tx: Tx = {
    version: TX_VERSION,
    inputs: [newTxIn({ hash: from.txHash, index: from.index, tree: TX_TREE_REGULAR }, from.value)],
    outputs: [...Array.from({ length: n }, () => ({ value: each, version: 0, pkScript: script })), { value: change, version: 0, pkScript: script }],
    lockTime: 0,
    expiry: 0,
  };
  (tx.inputs[0] as { sigScript: Uint8Array }).sigScript = signP2PKHInput(tx, 0, script, key.privKey, SIGHASH_ALL);
  return { tx, change: { txHash: txHash(tx), index: n, value: change } };
}

/** A ticket purchase spending `input` (worth price + fee) with voting rights to `voting`. */
export function buildTicketTx(input: FundingOutput, price: bigint, voting: DevnetKey, reward: DevnetKey, funding: DevnetKey, sign: boolean): Tx {
  const commit = new Uint8Array(30);
  commit.set(reward.pkh, 0);
  const dv = new DataView(commit.buffer);
  dv.setBigUint64(20, input.value, true);
  dv.setUint16(28, FEE_LIMITS, true);
  const fundingScript = p2pkhScript(funding.pkh);
  const tx: Tx = {
    version: TX_VERSION,
    inputs: [newTxIn({ hash: input.txHash, index: input.index, tree: TX_TREE_REGULAR }, input.value)],
    outputs: [
      { value: price, version: 0, pkScript: stakeTaggedScript('sstx', p2pkhScript(voting.pkh)) },
      { value: 0n, version: 0, pkScript: nullDataScript(commit) },
      { value: 0n, version: 0, pkScript: stakeTaggedScript('sstxchange', fundingScript) },
    ],
    lockTime: 0,
    expiry: 0,
  };
  if (sign) (tx.inputs[0] as { sigScript: Uint8Array }).sigScript = signP2PKHInput(tx, 0, fundingScript, funding.privKey, SIGHASH_ALL);
  return tx;
}

/** The transaction version of an automatic revocation (decred/dcrd: blockchain/stake/staketx.go TxVersionAutoRevocations). */
export const TX_VERSION_AUTO_REVOCATIONS = 2;

/**
 * The automatic revocation of a devnet ticket (decred/dcrd: blockchain/stake/staketx.go
 * CreateRevocationFromTicket with the automatic ticket revocations agenda active): version 2,
 * one unsigned stake-tree input spending the ticket's submission output, and no fee: the
 * single commitment (the reward key) gets the ticket's value back.
 */
export function buildAutoRevocation(ticketHash: Uint8Array, price: bigint, reward: DevnetKey): Tx {
  return {
    version: TX_VERSION_AUTO_REVOCATIONS,
    inputs: [newTxIn({ hash: ticketHash, index: 0, tree: TX_TREE_STAKE }, price)],
    outputs: [{ value: price, version: 0, pkScript: stakeTaggedScript('ssrtx', p2pkhScript(reward.pkh)) }],
    lockTime: 0,
    expiry: 0,
  };
}

/** The vote a stakeholder's wallet makes for `ticket` on block (hash, height), signed. */
export function buildHouseVote(
  ticket: Tx,
  ticketHash: Uint8Array,
  blockHash: Uint8Array,
  blockHeight: number,
  key: DevnetKey,
  params: NetParams,
  split: SubsidySplit,
  voteVersion: number = params.voteVersion,
): Tx {
  const unsigned = buildVote({
    ticket,
    ticketHash,
    blockHash,
    blockHeight,
    voteBits: 0x0001,
    voteVersion,
    voteSubsidy: voteSubsidy(blockHeight, params, split),
    params,
  });
  return signVote(unsigned, ticket, key.privKey);
}
