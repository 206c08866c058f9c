/**
 * Block templates of the mining node: coinbase, the funding tx, ticket purchases
 * that keep the live pool at its target size, and the votes for the parent
 * (decred/dcrd: internal/blockchain/validate.go, the block validity rules for votes).
 */
import {
  calcCombinedTxTreeMerkleRoot,
  encodeBlock,
  hashToHex,
  isRevocation,
  txHash,
  workSubsidy,
  type Block,
  type BlockHeader,
  type NetParams,
  type SubsidySplit,
  type Tx,
} from '../../../decred/index.ts';
import type { BlockNode } from './chain.ts';
import type { DevnetKey, KeyRing } from './keys.ts';
import { TICKET_FEE, buildAutoRevocation, buildCoinbase, buildFundingTx, buildTicketTx, type FundingOutput } from './wallet.ts';

/** Simnet's PoW limit bits (no PoW is done; the value is what dcrd's simnet headers carry). */
const SIMNET_BITS = 0x207fffff;
const BLOCK_VERSION = 10;
/** Ticket funding inputs are signed for pools up to this size. */
const UNSIGNED_FUNDING_ABOVE = 5_000;

interface FundingState {
  /** Funding outputs not yet spent along this chain: the next block's tickets may spend them. */
  outputs: FundingOutput[];
  change: FundingOutput;
}

export interface ProducerOptions {
  params: NetParams;
  split: SubsidySplit;
  keys: KeyRing;
  /** Target live pool size. */
  tickets: number;
  ticketPrice: bigint;
  /** Timestamp (unix s) of the genesis block. */
  genesisTime: number;
  /** Sign ticket funding inputs (default: pools up to 5,000 tickets; nothing a voter checks). */
  signFunding?: boolean;
}

/**
 * Header FreshStake (a u8) for `count` ticket purchases: the count itself up to 255.
 * Only big-pool bootstrap blocks buy more than MaxFreshStakePerBlock (20), which dcrd
 * would reject; their header saturates at 255 instead of wrapping modulo 256.
 */
export function freshStakeField(count: number): number {
  return Math.min(count, 255);
}

function voteBitsOf(vote: Tx): number {
  const s = (vote.outputs[1] as { pkScript: Uint8Array }).pkScript;
  return (s[2] ?? 0) | ((s[3] ?? 0) << 8);
}

export class BlockProducer {
  private readonly funding = new Map<string, FundingState>();
  private pending: { state: FundingState; regular: Tx[] } | undefined;
  private premineOut: FundingOutput | undefined;
  /** Max tickets bought per block: MaxFreshStakePerBlock, raised for big pools. */
  readonly perBlock: number;

  constructor(private readonly o: ProducerOptions) {
    const window = o.params.stakeValidationHeight - 1 - o.params.ticketMaturity - o.params.stakeEnabledHeight + 1;
    // Pools above MaxFreshStakePerBlock x window cannot be bought in time under the real limit
    // (and on simnet, TicketExpiry 384 caps a pool bought at 20 per block near 7,000 anyway);
    // the devnet then buys more per block, a documented deviation (see freshStakeField, README).
    this.perBlock = Math.max(o.params.maxFreshStakePerBlock, Math.ceil(o.tickets / window));
  }

  genesis(): Block {
    const cb = buildCoinbase(0, 0n, this.o.keys.miner, 0);
    return this.assemble(undefined, [cb], [], this.o.genesisTime, 0);
  }

  private assemble(parent: BlockNode | undefined, regular: Tx[], stake: Tx[], timestamp: number, extraNonce: number): Block {
    const p = this.o.params;
    const height = parent ? parent.height + 1 : 0;
    const votes = stake.filter((t) => t.inputs.length === 2 && t.inputs[0]?.prevOut.index === 0xffffffff);
    const revocations = stake.filter((t) => isRevocation(t));
    const approving = votes.filter((v) => (voteBitsOf(v) & 1) === 1).length;
    const extraData = new Uint8Array(32);
    new DataView(extraData.buffer).setUint32(0, extraNonce >>> 0, true);
    const header: BlockHeader = {
      version: BLOCK_VERSION,
      prevBlock: parent ? parent.hash : new Uint8Array(32),
      merkleRoot: calcCombinedTxTreeMerkleRoot(regular, stake),
      // The header commitment (cfilter v2) root is not computed by the devnet.
      stakeRoot: new Uint8Array(32),
      voteBits: height < p.stakeValidationHeight ? 1 : approving * 2 > votes.length ? 1 : 0,
      finalState: parent ? parent.finalState : new Uint8Array(6),
      voters: votes.length,
      freshStake: freshStakeField(stake.length - votes.length - revocations.length),
      revocations: revocations.length,
      poolSize: parent ? parent.poolSize : 0,
      bits: SIMNET_BITS,
      sBits: this.o.ticketPrice,
      height,
      size: 0,
      timestamp,
      nonce: 0,
      extraData,
      stakeVersion: p.voteVersion,
    };
    const block: Block = { header, transactions: regular, stakeTransactions: stake };
    header.size = encodeBlock(block).length;
    return block;
  }

  /**
   * The next block on `parent` with `votes` (already validated, voting on `parent`).
   * `projectedLive` is the live pool expected when tickets bought now mature; the
   * block buys up to the target minus that (at most `perBlock`).
   */
  build(parent: BlockNode, votes: Tx[], projectedLive: number, timestamp: number, extraNonce = 0): Block {
    const p = this.o.params;
    const o = this.o;
    const height = parent.height + 1;
    const coinbaseValue = height === 1 ? p.blockOneSubsidy : workSubsidy(height, votes.length, p, o.split);
    const coinbase = buildCoinbase(height, coinbaseValue, height === 1 ? o.keys.funding : o.keys.miner, extraNonce);
    const regular: Tx[] = [coinbase];
    // The premine (block-1 coinbase output 1) funds the first tickets; remembered here
    // because block 1 is pruned long before a big pool's funding chain starts.
    if (height === 1) this.premineOut = { txHash: txHash(coinbase), index: 1, value: coinbaseValue };
    const stake: Tx[] = [...votes];
    // Automatic ticket revocations (decred/dcrd: internal/blockchain/validate.go
    // checkTicketRedeemers): the block revokes every winner of its parent it holds no vote
    // for, the tickets that become missed as of this block. Expiring tickets are not revoked
    // by the devnet (they stay missed, as before the agenda).
    if (parent.winners.length > 0) {
      const voted = new Set(votes.map((v) => hashToHex((v.inputs[1] as { prevOut: { hash: Uint8Array } }).prevOut.hash)));
      for (const w of parent.winners) if (!voted.has(hashToHex(w))) stake.push(buildAutoRevocation(w, o.ticketPrice, o.keys.reward));
    }
    const each = o.ticketPrice + TICKET_FEE;
    // Tickets spend funding outputs still available along this chain (oldest first).
    const pf = this.funding.get(parent.hashHex);
    const available = pf ? pf.outputs : [];
    let want = 0;
    if (height >= p.stakeEnabledHeight) {
      want = Math.max(0, Math.min(this.perBlock, o.tickets - projectedLive, available.length));
      const keys = o.keys.ticketKeys(Array.from({ length: want }, (_, i) => parent.ticketCount + i));
      for (let i = 0; i < want; i++) {
        const voting = keys[i] as DevnetKey;
        // Big pools skip the funding-input signature (a voter never checks it): boot in seconds.
        stake.push(buildTicketTx(available[i] as FundingOutput, o.ticketPrice, voting, o.keys.reward, o.keys.funding, o.signFunding ?? o.tickets <= UNSIGNED_FUNDING_ABOVE));
      }
    }
    // Funding: top the available outputs back up to perBlock, from the premine (block-1
    // coinbase) once it matures, then from the previous funding change. Nothing leaks.
    const left = available.slice(want);
    let change = pf?.change;
    const firstFunding = Math.max(p.stakeEnabledHeight - 1, 1 + p.coinbaseMaturity);
    if (height >= firstFunding) {
      const from: FundingOutput | undefined = pf?.change ?? this.premine(parent);
      const k = Math.max(0, this.perBlock - left.length);
      if (from && k > 0) {
        const n = Math.max(0, Math.min(k, Math.floor(Number((from.value - 20_000n) / each))));
        const f = buildFundingTx(from, n, each, o.keys.funding);
        regular.push(f.tx);
        const h = txHash(f.tx);
        for (let i = 0; i < n; i++) left.push({ txHash: h, index: i, value: each });
        change = f.change;
      }
    }
    this.pending = { state: { outputs: left, change: change ?? { txHash: new Uint8Array(32), index: 0, value: 0n } }, regular };
    const block = this.assemble(parent, regular, stake, timestamp, extraNonce);
    return block;
  }

  /** Records the funding state of a block this producer built once it is accepted. */
  remember(block: Block, hashHex: string): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending || pending.regular !== block.transactions) return;
    if (pending.state.change.value === 0n && pending.state.outputs.length === 0) return;
    this.funding.set(hashHex, pending.state);
    if (this.funding.size > 256) this.funding.delete(this.funding.keys().next().value as string);
  }

  /** The block-1 coinbase output (the premine) found by walking back to height 1. */
  private premine(parent: BlockNode): FundingOutput | undefined {
    if (this.premineOut) return this.premineOut;
    let cur: BlockNode | undefined = parent;
    while (cur && cur.height > 1) cur = cur.parent;
    const cb = cur?.block?.transactions[0];
    if (!cur || !cb) return undefined;
    return { txHash: txHash(cb), index: 1, value: (cb.outputs[1] as { value: bigint }).value };
  }
}

