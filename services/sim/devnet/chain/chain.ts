/**
 * The block index of one devnet node: every accepted block (main chain and side
 * chains within the reorg depth), the best chain, and the stake state per tip.
 *
 * Invariants:
 * - a block is accepted only if its header commits the parent's lottery result
 *   (PoolSize, FinalState), its votes vote on the parent and spend the parent's
 *   winners, and from SVH on it carries at least 3 votes (decred/dcrd: internal/blockchain/validate.go);
 * - `winners(node)` are exactly dcrd's winners drawn from that block's header and
 *   the live set after connecting it (services/decred LiveTicketPool);
 * - the best chain is the highest block, first seen wins a tie (dcrd's rule without PoW).
 *
 * Stake state: the pool of a tip moves to its first child. A second child of the
 * same parent (a competing tip) rebuilds the parent's pool from the nearest
 * checkpoint snapshot (every CHECKPOINT_INTERVAL blocks) by replaying stake blocks.
 *
 * Bounded memory (the devnet runs for hours without growing): full block
 * nodes (parsed header, header bytes, stake data) exist only for the newest
 * `indexDepth` main-chain heights (max(retainBlocks, MIN_INDEX_DEPTH)) plus side
 * chains within the reorg depth; bodies are kept for `retainBlocks`. Older
 * main-chain heights keep only their 32-byte hash in one compact array, so
 * getblockhash answers every height and a pruned hash is recognised; their
 * headers and bodies are refused like a pruned node's (`pruned`).
 */
import {
  LiveTicketPool,
  blockHash,
  calcCombinedTxTreeMerkleRoot,
  encodeBlock,
  encodeBlockHeader,
  equalBytes,
  hashToHex,
  txHash,
  txType,
  type Block,
  type BlockHeader,
  type LiveTicketPoolSnapshot,
  type NetParams,
  type StakeBlock,
  type Tx,
} from '../../../decred/index.ts';
import { DevnetError } from '../errors.ts';

const CHECKPOINT_INTERVAL = 16;
/** Stake blocks, checkpoints and side chains are kept this deep below the best tip. */
export const STAKE_KEEP_DEPTH = 64;
/** dcrd accepts side-chain blocks this far below the tip (shallow reorgs only). */
export const MAX_REORG_DEPTH = 6;
/**
 * Fewest main-chain heights kept as full block nodes: the stake keep depth plus one
 * checkpoint interval (reorg replay), which also covers ticket maturity walks.
 */
export const MIN_INDEX_DEPTH = STAKE_KEEP_DEPTH + CHECKPOINT_INTERVAL;

export interface BlockNode {
  hash: Uint8Array;
  /** Display hex of the block hash. */
  hashHex: string;
  height: number;
  parent: BlockNode | undefined;
  headerBytes: Uint8Array;
  header: BlockHeader;
  /** The full block; dropped when the block is pruned (older than the retention depth). */
  block: Block | undefined;
  blockBytes: Uint8Array | undefined;
  stakeBlock: StakeBlock | undefined;
  /** Winners drawn from this block (internal order, draw order); empty before SVH-1. */
  winners: Uint8Array[];
  finalState: Uint8Array;
  /** Live tickets after connecting this block (header PoolSize of a child). */
  poolSize: number;
  /** Tickets that left the live set in this block without a vote (missed or expired). */
  missed: Uint8Array[];
  /** Tickets bought in this block. */
  newTickets: Uint8Array[];
  /** Tickets bought along the chain up to and including this block. */
  ticketCount: number;
  pool: LiveTicketPool | undefined;
  checkpoint: LiveTicketPoolSnapshot | undefined;
  children: number;
  onMainChain: boolean;
}

export interface AcceptResult {
  node: BlockNode;
  /** Main-chain blocks disconnected by a reorg (tip first). */
  disconnected: BlockNode[];
  /** Main-chain blocks connected (lowest first); empty for a side-chain block. */
  connected: BlockNode[];
}

const txids = new WeakMap<Tx, Uint8Array>();
/** txHash memoised per tx object (blocks are immutable once built or decoded). */
export function txidOf(tx: Tx): Uint8Array {
  let h = txids.get(tx);
  if (!h) {
    h = txHash(tx);
    txids.set(tx, h);
  }
  return h;
}

/** What a block holds for the stake state, found by tx type. */
export function stakeContent(block: Block): { tickets: Tx[]; votes: Tx[]; revocations: Tx[] } {
  const tickets: Tx[] = [];
  const votes: Tx[] = [];
  const revocations: Tx[] = [];
  for (const tx of block.stakeTransactions) {
    const t = txType(tx);
    if (t === 'ticket') tickets.push(tx);
    else if (t === 'vote') votes.push(tx);
    else if (t === 'revocation') revocations.push(tx);
  }
  return { tickets, votes, revocations };
}

function stakeBlockOf(block: Block, headerBytes: Uint8Array): StakeBlock {
  const c = stakeContent(block);
  return {
    height: block.header.height,
    header: headerBytes,
    tickets: c.tickets.map((t) => txidOf(t)),
    votedTickets: c.votes.map((v) => (v.inputs[1] as { prevOut: { hash: Uint8Array } }).prevOut.hash),
    revokedTickets: c.revocations.map((r) => (r.inputs[0] as { prevOut: { hash: Uint8Array } }).prevOut.hash),
  };
}

/** Hashes (internal order) of the best chain by height, 32 bytes each, growing by doubling. */
class HashColumn {
  private buf = new Uint8Array(32 * 1024);
  length = 0;

  set(height: number, hash: Uint8Array): void {
    if ((height + 1) * 32 > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, (height + 1) * 32));
      next.set(this.buf.subarray(0, this.length * 32));
      this.buf = next;
    }
    this.buf.set(hash, height * 32);
    if (height >= this.length) this.length = height + 1;
  }

  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  get(height: number): Uint8Array | undefined {
    if (height < 0 || height >= this.length) return undefined;
    return this.buf.subarray(height * 32, height * 32 + 32);
  }

  /** Height of `hash` on the best chain, or -1 (native byte search, 32-byte aligned hits only). */
  find(hash: Uint8Array): number {
    const view = Buffer.from(this.buf.buffer, this.buf.byteOffset, this.length * 32);
    for (let from = 0; ; ) {
      const at = view.indexOf(hash, from);
      if (at < 0) return -1;
      if (at % 32 === 0) return at / 32;
      from = at + 1;
    }
  }

  get bytes(): number {
    return this.buf.length;
  }
}

export class Chain {
  private readonly byHash = new Map<string, BlockNode>();
  /** Full nodes of the best chain for heights `base` .. best (older ones are pruned). */
  private readonly main: BlockNode[] = [];
  private base = 0;
  /** Every best-chain hash by height, including pruned heights. */
  private readonly hashes = new HashColumn();
  private readonly genesisNode: BlockNode;
  /** Main-chain heights kept as full block nodes. */
  readonly indexDepth: number;
  private readonly tipSet = new Set<BlockNode>();
  /** txid (display) -> main-chain block node, for retained blocks (side-chain blocks are not indexed). */
  private readonly txIndex = new Map<string, BlockNode>();

  constructor(
    readonly params: NetParams,
    genesis: Block,
    private readonly retainBlocks = 2048,
  ) {
    this.indexDepth = Math.max(retainBlocks, MIN_INDEX_DEPTH);
    const headerBytes = encodeBlockHeader(genesis.header);
    const hash = blockHash(headerBytes);
    const node = this.makeNode(genesis, headerBytes, hash, undefined);
    const pool = new LiveTicketPool(params);
    pool.connectBlock(node.stakeBlock as StakeBlock);
    node.pool = pool;
    node.onMainChain = true;
    this.byHash.set(node.hashHex, node);
    this.main.push(node);
    this.hashes.set(0, hash);
    this.genesisNode = node;
    this.tipSet.add(node);
    this.indexTxs(node);
  }

  get best(): BlockNode {
    return this.main[this.main.length - 1] as BlockNode;
  }

  get bestHeight(): number {
    return this.base + this.main.length - 1;
  }

  /** The genesis node (always kept). */
  genesis(): BlockNode {
    return this.genesisNode;
  }

  /** Lowest main-chain height that still has a full block node (genesis aside). */
  get lowestIndexed(): number {
    return this.base;
  }

  /** Current chain tips (blocks without children) within the reorg depth. */
  tips(): BlockNode[] {
    return [...this.tipSet].filter((t) => t.height >= this.bestHeight - MAX_REORG_DEPTH);
  }

  /** Tips at the best height: the blocks a vote may vote on (dcrd's tip candidates). */
  tipCandidates(): BlockNode[] {
    return [...this.tipSet].filter((t) => t.height === this.bestHeight);
  }

  get(hashHex: string): BlockNode | undefined {
    return this.byHash.get(hashHex);
  }

  /** The main-chain node at `height`; undefined beyond the tip or below the index window (pruned). */
  atHeight(height: number): BlockNode | undefined {
    if (height === 0) return this.genesisNode;
    return height >= this.base ? this.main[height - this.base] : undefined;
  }

  /** Display hex of the main-chain block at `height` (every height, pruned ones too). */
  hashAtHeight(height: number): string | undefined {
    const h = this.hashes.get(height);
    return h ? hashToHex(h) : undefined;
  }

  /** Height of a main-chain block whose node was pruned (-1 if `hashHex` is not such a block). */
  prunedHeight(hashHex: string): number {
    if (this.byHash.has(hashHex) || !/^[0-9a-f]{64}$/.test(hashHex)) return -1;
    const h = this.hashes.find(Uint8Array.from(Buffer.from(hashHex, 'hex')).reverse());
    return h >= 0 && h < this.base ? h : -1;
  }

  /** Memory of the index, for the bench and tests. */
  indexStats(): { nodes: number; mainNodes: number; txIndex: number; hashColumnBytes: number; tips: number } {
    return { nodes: this.byHash.size, mainNodes: this.main.length, txIndex: this.txIndex.size, hashColumnBytes: this.hashes.bytes, tips: this.tipSet.size };
  }

  /** The main-chain block containing `txidHex` among retained blocks (dcrd's txindex view). */
  blockOfTx(txidHex: string): BlockNode | undefined {
    return this.txIndex.get(txidHex);
  }

  private makeNode(block: Block, headerBytes: Uint8Array, hash: Uint8Array, parent: BlockNode | undefined): BlockNode {
    const stakeBlock = stakeBlockOf(block, headerBytes);
    return {
      hash,
      hashHex: hashToHex(hash),
      height: block.header.height,
      parent,
      headerBytes,
      header: block.header,
      block,
      blockBytes: undefined,
      stakeBlock,
      winners: [],
      finalState: new Uint8Array(6),
      poolSize: 0,
      missed: [],
      newTickets: [...stakeBlock.tickets],
      ticketCount: (parent?.ticketCount ?? 0) + stakeBlock.tickets.length,
      pool: undefined,
      checkpoint: undefined,
      children: 0,
      onMainChain: false,
    };
  }

  /** The pool state after `node`, rebuilt from a checkpoint when `node` no longer owns one. */
  private poolAfter(node: BlockNode): LiveTicketPool {
    if (node.pool) return node.pool;
    const path: BlockNode[] = [];
    let cur: BlockNode | undefined = node;
    while (cur && !cur.checkpoint && cur.parent) {
      path.push(cur);
      cur = cur.parent;
    }
    let pool: LiveTicketPool;
    if (cur?.checkpoint) pool = LiveTicketPool.fromSnapshot(this.params, cur.checkpoint);
    else {
      // Back to genesis: replay from scratch.
      pool = new LiveTicketPool(this.params);
      if (cur) path.push(cur);
    }
    for (let i = path.length - 1; i >= 0; i--) {
      const sb = (path[i] as BlockNode).stakeBlock;
      if (!sb) throw new DevnetError('DEVNET_PRUNED', `stake data of block ${(path[i] as BlockNode).hashHex} was pruned; cannot rebuild a fork that deep`);
      pool.connectBlock(sb);
    }
    return pool;
  }

  /**
   * Validates and connects a block. Throws DevnetError (`DEVNET_BAD_BLOCK`,
   * `DEVNET_ORPHAN`, `DEVNET_DUPLICATE_BLOCK`, `DEVNET_TOO_DEEP`) without changing state.
   */
  accept(block: Block, blockBytes?: Uint8Array, opts: { ownBlock?: boolean } = {}): AcceptResult {
    const headerBytes = encodeBlockHeader(block.header);
    const hash = blockHash(headerBytes);
    const hashHex = hashToHex(hash);
    if (this.byHash.has(hashHex)) throw new DevnetError('DEVNET_DUPLICATE_BLOCK', `already have block ${hashHex}`);
    const parent = this.byHash.get(hashToHex(block.header.prevBlock));
    if (!parent) throw new DevnetError('DEVNET_ORPHAN', `block ${hashHex} has unknown parent ${hashToHex(block.header.prevBlock)}`);
    const h = block.header.height;
    const bad = (why: string): never => {
      throw new DevnetError('DEVNET_BAD_BLOCK', `block ${hashHex} at height ${h}: ${why}`);
    };
    if (h !== parent.height + 1) bad(`height does not follow parent height ${parent.height}`);
    if (parent.height < this.bestHeight - MAX_REORG_DEPTH) {
      throw new DevnetError('DEVNET_TOO_DEEP', `block ${hashHex} forks ${this.bestHeight - parent.height} blocks below the tip`);
    }
    // A block this node's producer just built carries the root it computed itself.
    if (!opts.ownBlock && !equalBytes(calcCombinedTxTreeMerkleRoot(block.transactions, block.stakeTransactions), block.header.merkleRoot)) bad('merkle root mismatch');
    if (block.header.poolSize !== parent.poolSize) bad(`pool size ${block.header.poolSize}, expected ${parent.poolSize}`);
    if (!equalBytes(block.header.finalState, parent.finalState)) bad('final state does not match the parent lottery');
    const node = this.makeNode(block, headerBytes, hash, parent);
    const sb = node.stakeBlock as StakeBlock;
    const content = stakeContent(block);
    if (block.header.voters !== content.votes.length) bad(`header says ${block.header.voters} voters, block has ${content.votes.length}`);
    // FreshStake saturates at 255 for big-pool bootstrap blocks (producer.ts freshStakeField).
    if (block.header.freshStake !== Math.min(content.tickets.length, 255)) bad(`header fresh stake ${block.header.freshStake}, block buys ${content.tickets.length} tickets`);
    if (h >= this.params.stakeValidationHeight && content.votes.length < Math.floor(this.params.ticketsPerBlock / 2) + 1) {
      bad(`${content.votes.length} votes, at least ${Math.floor(this.params.ticketsPerBlock / 2) + 1} required`);
    }
    for (const v of content.votes) {
      const ticket = (v.inputs[1] as { prevOut: { hash: Uint8Array } }).prevOut.hash;
      if (!parent.winners.some((w) => equalBytes(w, ticket))) bad(`vote ${hashToHex(txHash(v))} spends ${hashToHex(ticket)}, not a winner of the parent`);
      const out0 = (v.outputs[0] as { pkScript: Uint8Array }).pkScript;
      if (!equalBytes(out0.subarray(2, 34), parent.hash)) bad(`vote ${hashToHex(txHash(v))} does not vote on the parent`);
    }
    // Stake state: take the parent's pool when this is its first child, else rebuild.
    let pool: LiveTicketPool;
    if (parent.pool && parent.children === 0) {
      if (parent.height % CHECKPOINT_INTERVAL === 0 && !parent.checkpoint) parent.checkpoint = parent.pool.snapshot();
      pool = parent.pool;
    } else {
      pool = this.poolAfter(parent);
    }
    let res;
    try {
      res = pool.connectBlock(sb);
    } catch (err) {
      // The pool may be half-updated: drop it; it is rebuilt from a checkpoint next time.
      if (pool === parent.pool) parent.pool = undefined;
      const msg = err instanceof Error ? err.message : String(err);
      throw new DevnetError('DEVNET_BAD_BLOCK', `block ${hashHex}: stake state: ${msg}`, { cause: err });
    }
    if (pool === parent.pool) parent.pool = undefined;
    node.pool = pool;
    node.winners = res.winners;
    node.finalState = res.finalState;
    node.poolSize = res.poolSize;
    node.missed = [...res.missed, ...res.expired];
    node.blockBytes = blockBytes;
    parent.children++;
    this.tipSet.delete(parent);
    this.tipSet.add(node);
    this.byHash.set(hashHex, node);

    const result: AcceptResult = { node, disconnected: [], connected: [] };
    if (h > this.bestHeight) {
      // New best: connect (and reorg if the parent is not the current best).
      const branch: BlockNode[] = [];
      let cur: BlockNode | undefined = node;
      while (cur && !cur.onMainChain) {
        branch.push(cur);
        cur = cur.parent;
      }
      const fork = cur as BlockNode;
      while (this.bestHeight > fork.height) {
        const old = this.main.pop() as BlockNode;
        old.onMainChain = false;
        this.unindexTxs(old);
        result.disconnected.push(old);
      }
      this.hashes.truncate(fork.height + 1);
      for (let i = branch.length - 1; i >= 0; i--) {
        const b = branch[i] as BlockNode;
        b.onMainChain = true;
        this.main.push(b);
        this.hashes.set(b.height, b.hash);
        this.indexTxs(b);
        result.connected.push(b);
      }
    }
    this.prune();
    return result;
  }

  /** Drops the index entries that point at `node` (it left the main chain). */
  private unindexTxs(node: BlockNode): void {
    const b = node.block;
    if (!b) return;
    for (const tx of [...b.transactions, ...b.stakeTransactions]) {
      const k = hashToHex(txidOf(tx));
      if (this.txIndex.get(k) === node) this.txIndex.delete(k);
    }
  }

  /** Indexes a main-chain block's transactions (like dcrd's txindex: main chain only, follows reorgs). */
  private indexTxs(node: BlockNode): void {
    const b = node.block;
    if (!b) return;
    for (const tx of b.transactions) this.txIndex.set(hashToHex(txidOf(tx)), node);
    for (const tx of b.stakeTransactions) this.txIndex.set(hashToHex(txidOf(tx)), node);
  }

  /** Full serialized block (cached). */
  blockBytes(node: BlockNode): Uint8Array | undefined {
    if (!node.block) return undefined;
    node.blockBytes ??= encodeBlock(node.block);
    return node.blockBytes;
  }

  private dropBody(n: BlockNode): void {
    if (!n.block) return;
    for (const tx of [...n.block.transactions, ...n.block.stakeTransactions]) {
      const k = hashToHex(txidOf(tx));
      if (this.txIndex.get(k) === n) this.txIndex.delete(k);
    }
    n.block = undefined;
    n.blockBytes = undefined;
  }

  /**
   * Drops bodies of old blocks, stake data below the keep depth, block nodes below
   * the index window (their hash stays in the hash column) and dead side chains.
   */
  private prune(): void {
    const best = this.bestHeight;
    const bodyCut = best - this.retainBlocks;
    if (bodyCut >= 1) {
      const n = this.atHeight(bodyCut);
      if (n) this.dropBody(n);
    }
    const stakeCut = best - STAKE_KEEP_DEPTH;
    if (stakeCut >= 1) {
      const n = this.atHeight(stakeCut);
      if (n) {
        n.stakeBlock = undefined;
        n.winners = [];
        n.missed = [];
        n.newTickets = [];
        // Keep the newest checkpoint below the cut; drop older ones.
        const older = this.atHeight(stakeCut - CHECKPOINT_INTERVAL);
        if (older && n.checkpoint) older.checkpoint = undefined;
      }
    }
    // Forget whole nodes below the index window (genesis stays as the locator anchor).
    while (this.main.length > this.indexDepth + 1) {
      const old = this.main.shift() as BlockNode;
      this.base++;
      if (old !== this.genesisNode) {
        this.byHash.delete(old.hashHex);
        this.dropBody(old);
        old.pool = undefined;
        old.checkpoint = undefined;
      }
      const next = this.main[0];
      // Cut the parent link so the pruned prefix can be collected.
      if (next) next.parent = undefined;
    }
    for (const t of [...this.tipSet]) {
      if (!t.onMainChain && t.height < best - MAX_REORG_DEPTH) {
        // A dead side chain: forget it up to where it joins the main chain.
        this.tipSet.delete(t);
        let cur: BlockNode | undefined = t;
        while (cur && !cur.onMainChain) {
          this.byHash.delete(cur.hashHex);
          if (cur.block) for (const tx of [...cur.block.transactions, ...cur.block.stakeTransactions]) {
            const k = hashToHex(txidOf(tx));
            if (this.txIndex.get(k) === cur) this.txIndex.delete(k);
          }
          cur.pool = undefined;
          const p: BlockNode | undefined = cur.parent;
          if (p) p.children--;
          cur = p && p.children === 0 && !p.onMainChain ? p : undefined;
        }
      }
    }
  }

  /** Sorted live tickets after `node` (internal order). */
  liveAfter(node: BlockNode): readonly Uint8Array[] {
    return this.poolAfter(node).liveTickets();
  }

  /** Whether `ticket` is live after the best block. */
  isLive(ticket: Uint8Array): boolean {
    const pool = this.poolAfter(this.best);
    return pool.isLive(ticket);
  }

  /** Tickets mined in the last `maturity` blocks before and including `node` (not yet live). */
  immatureCount(node: BlockNode): number {
    let n = 0;
    let cur: BlockNode | undefined = node;
    for (let i = 0; i < this.params.ticketMaturity && cur; i++) {
      n += cur.newTickets.length;
      cur = cur.parent;
    }
    return n;
  }
}

