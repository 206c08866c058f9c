/**
 * One devnet node: a chain, a vote mempool judged by dcrd's rules, dcrd's JSON-RPC
 * on HTTP and websocket, relay links to other nodes, the report ledger and, on the
 * miner, the block producer and the mining clock. Followers start from the common
 * genesis and sync from their peers.
 */
import {
  blake256,
  classifyScript,
  decodeBlock,
  encodeBlockHeader,
  encodeTx,
  fromHex,
  hashToHex,
  netParams,
  OP_TSPEND,
  toHex,
  txHash,
  txType,
  type Block,
  type NetParams,
  type SubsidySplit,
  type Tx,
} from '../../decred/index.ts';
import { Chain, STAKE_KEEP_DEPTH, stakeContent, type AcceptResult, type BlockNode } from './chain/chain.ts';
import { KeyRing } from './chain/keys.ts';
import { BlockProducer } from './chain/producer.ts';
import { buildHouseVote } from './chain/wallet.ts';
import { releaseProfile, type DcrdRelease, type ReleaseProfile } from './deployments.ts';
import { DevnetError, RPC_ERR, RpcError } from './errors.ts';
import { VotePool, decodeRawTx, judgeVote, type JudgeContext } from './judge.ts';
import { MinerClock, type BlockInterval } from './miner.ts';
import { PeerHub, type Peer, type PeerMessage } from './p2p.ts';
import { VoteLedger } from './report.ts';
import { TSpendPool } from './tspend-pool.ts';
import { createDispatch } from './rpc/methods.ts';
import { RpcServer, type Dispatch } from './rpc/server.ts';
import type { TlsIdentity } from './rpc/tls.ts';

/** A tspend, or a broken one (one input whose script ends in OP_TSPEND): its refusal then names what CheckTSpend found. */
function looksLikeTSpend(tx: Tx): boolean {
  if (txType(tx) === 'treasury-spend') return true;
  const s = tx.inputs.length === 1 ? tx.inputs[0]?.sigScript : undefined;
  return s !== undefined && s.length > 0 && s[s.length - 1] === OP_TSPEND;
}

/** Genesis timestamp shared by every devnet of a network (dcrd simnet genesis time). */
const GENESIS_TIME = 1401292357;

export interface NodeConfig {
  index: number;
  network: 'simnet' | 'regnet';
  split: SubsidySplit;
  host: string;
  port: number;
  user: string;
  pass: string;
  tls: TlsIdentity | undefined;
  miner: boolean;
  seed: string;
  tickets: number;
  ticketPrice: bigint;
  houseShare: number;
  blockInterval: BlockInterval;
  voteWaitMs: number;
  relayDelayMs: number;
  peers: string[];
  retainBlocks: number;
  /** The dcrd release this node behaves as (deployments.ts). */
  dcrdVersion: DcrdRelease;
  /** dcrd's --txindex (getrawtransaction beyond the mempool). */
  txIndex: boolean;
  onError: (err: unknown) => void;
}

export interface TicketRecord {
  hashHex: string;
  tx: Tx;
  blockHex: string;
  height: number;
  purchaseIndex: number;
  house: boolean;
}

export interface ExportedTicket {
  ticketHash: string;
  ticketHex: string;
  blockHash: string;
  blockHeight: number;
  wif: string;
  network: string;
  votingAddress: string;
}

export class DevnetNodeImpl {
  readonly params: NetParams;
  /** The dcrd release this node answers as: its version and the vote versions it recognises. */
  readonly release: ReleaseProfile;
  /**
   * The vote version the stakeholders' dcrwallet of that release writes (decred/dcrwallet:
   * wallet/wallet.go voteVersion: simnet the release's newest vote version, other nets 1).
   */
  readonly walletVoteVersion: number;
  readonly chain: Chain;
  readonly pool = new VotePool();
  private startedOnce = false;
  /** Treasury spends accepted by sendrawtransaction, kept until they expire (tspend-pool.ts). */
  readonly tspends = new TSpendPool();
  readonly ledger: VoteLedger;
  readonly keys: KeyRing;
  readonly producer: BlockProducer | undefined;
  readonly tickets = new Map<string, TicketRecord>();
  private readonly deadTickets: Array<{ height: number; hex: string }> = [];
  readonly rpc: RpcServer;
  readonly hub: PeerHub;
  private clock: MinerClock | undefined;
  /** Draws are reported only after bootstrap. */
  bootstrapped = false;
  /**
   * A follower started with `finishBootstrapWhenSynced()` ends bootstrap once it has caught up
   * with the best height a peer announced (hello), so the chain it syncs is not reported as draws.
   */
  private syncTarget: number | undefined;
  private extraNonce = 1;
  private running = false;
  /**
   * Test hook (see {@link holdNotifications}): what this node would have told its websocket
   * clients and peers since the hold began, in order, sent on release.
   */
  private held: Array<() => void> | undefined;
  readonly judgeCtx: JudgeContext;

  constructor(readonly cfg: NodeConfig) {
    this.params = netParams(cfg.network);
    this.release = releaseProfile(cfg.dcrdVersion);
    this.walletVoteVersion = cfg.network === 'simnet' ? this.release.maxVoteVersion : this.params.voteVersion;
    this.keys = new KeyRing(cfg.seed);
    const producer = new BlockProducer({ params: this.params, split: cfg.split, keys: this.keys, tickets: cfg.tickets, ticketPrice: cfg.ticketPrice, genesisTime: GENESIS_TIME });
    this.producer = cfg.miner ? producer : undefined;
    this.chain = new Chain(this.params, producer.genesis(), cfg.retainBlocks);
    this.ledger = new VoteLedger((t) => this.isManaged(t));
    this.judgeCtx = {
      chain: this.chain,
      params: this.params,
      split: cfg.split,
      pool: this.pool,
      ticketTx: (h) => this.tickets.get(h)?.tx,
      onValidVote: (b, t, f, accepted) => this.ledger.onVote(b, t, f, accepted, Date.now()),
      now: () => Date.now(),
    };
    this.rpc = new RpcServer({
      host: cfg.host,
      port: cfg.port,
      user: cfg.user,
      pass: cfg.pass,
      ...(cfg.tls ? { tls: cfg.tls } : {}),
      dispatch: this.withConnectionDrops(createDispatch(this)),
      onPeer: (ws) => this.hub.addInbound(ws),
    });
    this.hub = new PeerHub(
      { onMessage: (p, m) => this.onPeerMessage(p, m), onOpen: (p) => this.sendHello(p) },
      { user: cfg.user, pass: cfg.pass, relayDelayMs: cfg.relayDelayMs, ...(cfg.tls ? { ca: cfg.tls.certPem } : {}) },
    );
  }

  get rpcUrl(): string {
    return `${this.rpc.scheme}://${this.cfg.host}:${this.rpc.port}/`;
  }
  get wsUrl(): string {
    return `${this.rpc.scheme === 'https' ? 'wss' : 'ws'}://${this.cfg.host}:${this.rpc.port}/ws`;
  }

  isHouse(purchaseIndex: number): boolean {
    if (this.cfg.houseShare <= 0) return false;
    if (this.cfg.houseShare >= 1) return true;
    const h = blake256(new TextEncoder().encode(`house|${this.cfg.seed}|${purchaseIndex}`));
    return new DataView(h.buffer, h.byteOffset).getUint32(0) / 0x100000000 < this.cfg.houseShare;
  }

  isManaged(ticketHex: string): boolean {
    const t = this.tickets.get(ticketHex);
    return t !== undefined && !t.house;
  }

  /** Generates the chain up to SVH-1 with the target pool (miner only). */
  bootstrap(): void {
    if (!this.producer) return;
    const p = this.params;
    for (let guard = 0; guard < 100_000; guard++) {
      const best = this.chain.best;
      if (best.height >= p.stakeValidationHeight - 1 && best.poolSize >= this.cfg.tickets) break;
      if (best.height >= p.stakeValidationHeight - 1 && this.chain.immatureCount(best) === 0 && best.poolSize < 5) {
        throw new DevnetError('DEVNET_BOOTSTRAP', `pool of ${best.poolSize} tickets cannot reach ${this.cfg.tickets}`);
      }
      this.mineOne(best, GENESIS_TIME + best.height + 1);
    }
    this.finishBootstrap();
  }

  /**
   * Ends bootstrap: from now on draws are reported and managed tickets are left to
   * the cluster (bootstrap house votes for managed winners of the tip are dropped).
   */
  finishBootstrap(): void {
    if (this.bootstrapped) return;
    this.bootstrapped = true;
    const tip = this.chain.best;
    for (const v of this.pool.forBlock(tip.hashHex)) if (this.isManaged(v.ticketHex)) this.pool.remove(v.txidHex);
    if (tip.winners.length > 0) this.ledger.onDraw(tip, Date.now());
  }

  /** Follower: ends bootstrap once caught up with the first peer's announced tip (see syncTarget). */
  finishBootstrapWhenSynced(): void {
    if (this.bootstrapped) return;
    if (this.cfg.peers.length === 0) return this.finishBootstrap();
    this.syncTarget = -1;
  }

  private checkSynced(): void {
    if (this.bootstrapped || this.syncTarget === undefined || this.syncTarget < 0) return;
    if (this.chain.bestHeight >= this.syncTarget) this.finishBootstrap();
  }

  async start(): Promise<void> {
    // A restart starts with an empty vote mempool, as dcrd's does: its mempool lives in memory
    // only (decred/dcrd internal/mempool), so the votes it held must be sent to it again.
    if (this.startedOnce) this.pool.retain(new Set());
    this.startedOnce = true;
    await this.rpc.start();
    this.hub.reset();
    this.running = true;
    for (const url of this.cfg.peers) this.hub.connect(url);
    if (this.producer) {
      this.clock = new MinerClock(this.cfg.blockInterval, this.cfg.voteWaitMs, {
        votesForTip: () => this.pool.forBlock(this.chain.best.hashHex).length,
        needsVotes: () => this.chain.bestHeight + 1 >= this.params.stakeValidationHeight,
        mine: () => {
          this.mineOne(this.chain.best);
        },
        onError: (e) => this.cfg.onError(e),
      });
      this.clock.onNewTip();
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.clock?.stop();
    this.hub.stop();
    await this.rpc.stop();
  }

  /**
   * Mines one block on `parent` with the mempool votes for it (at most 5). From SVH
   * on, fewer than 3 votes is an error (RpcError -1), as dcrd cannot make a template.
   */
  mineOne(parent: BlockNode, timestamp?: number, extraVotes?: Tx[]): BlockNode {
    const producer = this.producer;
    if (!producer) throw new RpcError(RPC_ERR.MISC, 'this devnet node is not a miner');
    const votes = extraVotes ?? this.pool.forBlock(parent.hashHex).slice(0, this.params.ticketsPerBlock).map((v) => v.tx);
    const need = Math.floor(this.params.ticketsPerBlock / 2) + 1;
    if (parent.height + 1 >= this.params.stakeValidationHeight && votes.length < need) {
      throw new RpcError(RPC_ERR.MISC, `cannot mine on block ${parent.hashHex}: ${votes.length} votes for it, at least ${need} required`);
    }
    const ts = timestamp ?? Math.max(parent.header.timestamp + 1, Math.floor(Date.now() / 1000));
    // Projected live pool when a ticket bought in this block matures (block h+maturity):
    // today's pool + maturing tickets - 5 winners per block from SVH on - expiries.
    // Buying up to the target keeps the pool at its size in steady state (5 in, 5 out).
    const p = this.params;
    const h = parent.height + 1;
    const horizon = h + p.ticketMaturity;
    const removals = Math.max(0, horizon - Math.max(h, p.stakeValidationHeight) + 1);
    let expiring = 0;
    for (const t of this.tickets.values()) {
      const exp = t.height + p.ticketMaturity + p.ticketExpiry;
      if (exp <= horizon && exp > parent.height) expiring++;
    }
    const projected = parent.poolSize + this.chain.immatureCount(parent) - p.ticketsPerBlock * removals - expiring;
    const block = producer.build(parent, votes, projected, ts, parent.children > 0 ? this.extraNonce++ : 0);
    const res = this.chain.accept(block, undefined, { ownBlock: true });
    producer.remember(block, res.node.hashHex);
    this.afterAccept(res, block, undefined);
    return res.node;
  }

  /** Records tickets, settles the ledger, sends notifications, house votes and relays. */
  private afterAccept(res: AcceptResult, block: Block, from: Peer | undefined): void {
    const node = res.node;
    const now = Date.now();
    const content = stakeContent(block);
    node.newTickets.forEach((h, i) => {
      const hex = hashToHex(h);
      if (this.tickets.has(hex)) return;
      const purchaseIndex = node.ticketCount - node.newTickets.length + i;
      this.tickets.set(hex, { hashHex: hex, tx: content.tickets[i] as Tx, blockHex: node.hashHex, height: node.height, purchaseIndex, house: this.isHouse(purchaseIndex) });
    });
    for (const d of res.disconnected) {
      if (this.bootstrapped) this.ledger.onDisconnected(d);
      this.notifyAll('notifyblocks', 'blockdisconnected', [toHex(d.headerBytes)]);
    }
    if (res.disconnected.length > 0) {
      const oldTip = res.disconnected[0] as BlockNode;
      this.notifyAll('notifyblocks', 'reorganization', [oldTip.hashHex, oldTip.height, this.chain.best.hashHex, this.chain.bestHeight]);
    }
    for (const c of res.connected) {
      const b = c.block;
      if (this.bootstrapped && b) {
        const votes = stakeContent(b).votes.map((v) => ({ ticketHex: hashToHex((v.inputs[1] as { prevOut: { hash: Uint8Array } }).prevOut.hash), txidHex: hashToHex(txHash(v)) }));
        this.ledger.onConnected(c, votes);
      }
      this.notifyAll('notifyblocks', 'blockconnected', [toHex(c.headerBytes), []]);
      if (c.newTickets.length > 0) {
        this.notifyAll('notifynewtickets', 'newtickets', [c.hashHex, c.height, Number(c.header.sBits), c.newTickets.map(hashToHex)]);
      }
      for (const m of c.missed) this.deadTickets.push({ height: c.height, hex: hashToHex(m) });
      if (b) for (const v of stakeContent(b).votes) this.deadTickets.push({ height: c.height, hex: hashToHex((v.inputs[1] as { prevOut: { hash: Uint8Array } }).prevOut.hash) });
    }
    this.forgetDeadTickets();
    this.tspends.pruneExpired(this.chain.bestHeight + 1);
    const isCandidate = node.height === this.chain.bestHeight;
    this.pool.retain(new Set(this.chain.tipCandidates().map((t) => t.hashHex)));
    if (isCandidate && node.height >= this.params.stakeValidationHeight - 1 && node.winners.length > 0) {
      // A held draw happens, for the report, when it is released (when voters can hear of it).
      if (this.bootstrapped) {
        if (this.held) this.held.push(() => this.ledger.onDraw(node, Date.now()));
        else this.ledger.onDraw(node, now);
      }
      this.notifyAll('notifywinningtickets', 'winningtickets', [node.hashHex, node.height, this.winnersObject(node)]);
      if (this.producer) this.castHouseVotes(node);
    }
    this.relay({ t: 'block', hex: toHex(this.chain.blockBytes(node) as Uint8Array) }, from);
    if (res.connected.length > 0) this.clock?.onNewTip(now);
  }

  winnersObject(node: BlockNode): Record<string, string> {
    const o: Record<string, string> = {};
    node.winners.forEach((w, i) => {
      o[String(i)] = hashToHex(w);
    });
    return o;
  }

  private forgetDeadTickets(): void {
    const cut = this.chain.bestHeight - STAKE_KEEP_DEPTH;
    while (this.deadTickets.length > 0 && (this.deadTickets[0] as { height: number }).height < cut) {
      const d = this.deadTickets.shift() as { height: number; hex: string };
      const rec = this.tickets.get(d.hex);
      if (rec && !this.chain.isLive(fromHex(d.hex).reverse())) this.tickets.delete(d.hex);
    }
  }

  /** House tickets (and every ticket during bootstrap) are voted by the devnet at once. */
  private castHouseVotes(node: BlockNode): void {
    for (const w of node.winners) {
      const hex = hashToHex(w);
      const rec = this.tickets.get(hex);
      if (!rec || (this.bootstrapped && !rec.house)) continue;
      const key = this.keys.ticketKey(rec.purchaseIndex);
      const vote = buildHouseVote(rec.tx, w, node.hash, node.height, key, this.params, this.cfg.split, this.walletVoteVersion);
      try {
        this.acceptVote(vote, encodeTx(vote), { trusted: true });
      } catch (err) {
        if (!(err instanceof RpcError)) throw err;
      }
    }
  }

  /** sendrawtransaction: judge, then relay and wake the miner. */
  acceptVote(tx: Tx, bytes: Uint8Array, opts: { trusted?: boolean; from?: Peer } = {}): string {
    const v = judgeVote(this.judgeCtx, tx, bytes, { trusted: opts.trusted === true });
    this.relay({ t: 'tx', hex: toHex(bytes) }, opts.from);
    this.clock?.onVote();
    return v.txidHex;
  }

  sendRawTransaction(hex: unknown): string {
    const { tx, bytes } = decodeRawTx(hex);
    return this.acceptTx(tx, bytes);
  }

  /** A vote goes to the judge, a tspend to the tspend pool; nothing else is accepted. */
  private acceptTx(tx: Tx, bytes: Uint8Array, opts: { from?: Peer } = {}): string {
    return looksLikeTSpend(tx) ? this.acceptTSpend(tx, bytes, opts) : this.acceptVote(tx, bytes, opts);
  }

  /** A tspend: checks (tspend-pool.ts), then `tspend` to notifytspend subscribers, and relay. */
  acceptTSpend(tx: Tx, bytes: Uint8Array, opts: { from?: Peer } = {}): string {
    const t = this.tspends.accept(tx, bytes, { params: this.params, nextHeight: this.chain.bestHeight + 1, now: Date.now() });
    this.notifyAll('notifytspend', 'tspend', [toHex(bytes)]);
    this.relay({ t: 'tx', hex: toHex(bytes) }, opts.from);
    return t.txidHex;
  }

  /** Sends a notification to every websocket client registered for `kind` (queued while held). */
  notifyAll(kind: string, method: string, params: unknown[]): void {
    this.deferWhileHeld(() => {
      for (const c of this.rpc.clients) if (c.subscriptions.has(kind)) c.notify(method, params);
    });
  }

  /** Relays a block or transaction to the peers (queued while held). */
  private relay(msg: PeerMessage, from: Peer | undefined): void {
    this.deferWhileHeld(() => {
      if (this.running) this.hub.broadcast(msg, from);
    });
  }

  /**
   * Test hook, not a dcrd behaviour: from now on, websocket notifications, relay to peers and
   * the report's draw times are held (queued in order) until {@link releaseNotifications}.
   * A block mined meanwhile is in this node's chain (and its RPC answers), but no client and no
   * peer hears of it: a harness learns the block's winners before any voter does, injects a
   * fault, then releases the draw. The report's draw time of a held block is its release.
   */
  holdNotifications(): void {
    this.held ??= [];
  }

  /** Sends everything held since {@link holdNotifications}, in order; a no-op when nothing is held. */
  releaseNotifications(): void {
    const q = this.held;
    this.held = undefined;
    for (const f of q ?? []) f();
  }

  /**
   * Test hook, not a dcrd behaviour: the next `count` websocket calls of `method` are never
   * answered; the caller's connection is closed instead, as when dcrd stops or the network
   * cuts a connection between a request and its reply.
   */
  dropConnectionOn(method: string, count = 1): void {
    this.connectionDrops.set(method, (this.connectionDrops.get(method) ?? 0) + count);
  }

  private readonly connectionDrops = new Map<string, number>();

  private withConnectionDrops(dispatch: Dispatch): Dispatch {
    return (method, params, ctx) => {
      const left = this.connectionDrops.get(method) ?? 0;
      if (left > 0 && ctx.client) {
        this.connectionDrops.set(method, left - 1);
        ctx.client.close(1001, 'going away');
        return new Promise<never>(() => {}); // never answered: the connection is gone
      }
      return dispatch(method, params, ctx);
    };
  }

  private deferWhileHeld(f: () => void): void {
    if (this.held) this.held.push(f);
    else f();
  }

  /** rebroadcastwinners: winningtickets for every current tip candidate, best height in each (as dcrd). */
  rebroadcastWinners(): void {
    for (const t of this.chain.tipCandidates()) {
      if (t.height < this.params.stakeValidationHeight - 1 || t.winners.length === 0) continue;
      this.notifyAll('notifywinningtickets', 'winningtickets', [t.hashHex, this.chain.bestHeight, this.winnersObject(t)]);
    }
  }

  // ---- relay ----

  private locator(): string[] {
    const out: string[] = [];
    let step = 1;
    for (let h = this.chain.bestHeight; h >= 0; h -= step) {
      out.push(this.chain.hashAtHeight(h) as string);
      if (out.length >= 10) step *= 2;
      if (out.length >= 60) break;
    }
    out.push(this.chain.genesis().hashHex);
    return out;
  }

  private sendHello(p: Peer): void {
    p.send({ t: 'hello', tip: this.chain.best.hashHex, height: this.chain.bestHeight, genesis: this.chain.genesis().hashHex });
  }

  private onPeerMessage(peer: Peer, msg: PeerMessage): void {
    switch (msg.t) {
      case 'hello':
        if (msg.genesis !== undefined && msg.genesis !== this.chain.genesis().hashHex) {
          // The genesis derives from the seed: a peer with another seed is another chain.
          this.cfg.onError(new DevnetError('DEVNET_GENESIS_MISMATCH', `peer ${peer.id} has genesis ${msg.genesis}, this node ${this.chain.genesis().hashHex}: start followers with the miner's seed`));
          break;
        }
        if (this.syncTarget !== undefined && this.syncTarget < 0) this.syncTarget = msg.height;
        if (!this.chain.get(msg.tip) && msg.height >= this.chain.bestHeight) peer.send({ t: 'getblocks', locator: this.locator() });
        else this.checkSynced();
        break;
      case 'getblocks': {
        let start = 0;
        for (const h of msg.locator) {
          const n = this.chain.get(h);
          if (n?.onMainChain) {
            start = n.height + 1;
            break;
          }
        }
        const hex: string[] = [];
        let size = 0;
        for (let h = start; h <= this.chain.bestHeight && hex.length < 500 && size < 8_000_000; h++) {
          const n = this.chain.atHeight(h);
          const b = n && this.chain.blockBytes(n);
          if (!b) break;
          hex.push(toHex(b));
          size += b.length * 2;
        }
        // Side-chain tips at the best height too, so competing tips propagate.
        for (const t of this.chain.tipCandidates()) if (!t.onMainChain && t.block) hex.push(toHex(this.chain.blockBytes(t) as Uint8Array));
        peer.send({ t: 'blocks', hex });
        break;
      }
      case 'blocks': {
        let orphan = false;
        for (const h of msg.hex) orphan = this.onPeerBlock(h, peer) === 'orphan' || orphan;
        this.checkSynced();
        if (orphan || msg.hex.length >= 500) peer.send({ t: 'getblocks', locator: this.locator() });
        break;
      }
      case 'block':
        if (this.onPeerBlock(msg.hex, peer) === 'orphan') peer.send({ t: 'getblocks', locator: this.locator() });
        this.checkSynced();
        break;
      case 'tx': {
        try {
          const { tx, bytes } = decodeRawTx(msg.hex);
          this.acceptTx(tx, bytes, { from: peer });
        } catch {
          // duplicates and votes for blocks this node has not seen yet are dropped
        }
        break;
      }
    }
  }

  private onPeerBlock(hex: string, peer: Peer): 'ok' | 'known' | 'orphan' | 'bad' {
    let block: Block;
    let bytes: Uint8Array;
    try {
      bytes = fromHex(hex, 'block');
      block = decodeBlock(bytes);
    } catch {
      return 'bad';
    }
    const prev = hashToHex(block.header.prevBlock);
    if (this.chain.get(hashToHex(blake256(encodeBlockHeader(block.header))))) return 'known';
    if (!this.chain.get(prev)) return 'orphan';
    try {
      const res = this.chain.accept(block, bytes);
      this.afterAccept(res, block, peer);
      return 'ok';
    } catch (err) {
      if (err instanceof DevnetError && err.code === 'DEVNET_DUPLICATE_BLOCK') return 'known';
      this.cfg.onError(err);
      return 'bad';
    }
  }

  /** Tickets whose voting keys a cluster should manage: live or immature, not house-owned. */
  exportTickets(encodeWif: (priv: Uint8Array) => string, address: (pkh: Uint8Array) => string): ExportedTicket[] {
    const out: ExportedTicket[] = [];
    const live = new Set(this.chain.liveAfter(this.chain.best).map(hashToHex));
    const recs: TicketRecord[] = [];
    for (const r of this.tickets.values()) {
      if (r.house) continue;
      const immature = r.height > this.chain.bestHeight - this.params.ticketMaturity;
      if (live.has(r.hashHex) || immature) recs.push(r);
    }
    for (const r of recs) {
      // No EC work: the WIF is the scalar, the address is the ticket's own voting hash160.
      const pkh = classifyScript((r.tx.outputs[0] as { pkScript: Uint8Array }).pkScript).hash160 as Uint8Array;
      out.push({
        ticketHash: r.hashHex,
        ticketHex: toHex(encodeTx(r.tx)),
        blockHash: r.blockHex,
        blockHeight: r.height,
        wif: encodeWif(this.keys.ticketPrivKey(r.purchaseIndex)),
        network: this.params.name,
        votingAddress: address(pkh),
      });
    }
    return out;
  }
}
