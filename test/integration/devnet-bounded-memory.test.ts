/**
 * Bounded memory of the devnet (it runs for hours without growing memory):
 * the block index keeps full nodes only for a window of heights (older heights:
 * hash only), a reorg within the reorg depth still works deep into a long chain,
 * the report folds old draws into running totals, and ticket keys derived in a
 * batch equal the ones derived one by one.
 */
import { describe, expect, it } from 'vitest';
import { SIMNET, buildVote, hash160, hashToHex, txHash, voteSubsidy, type Block, type Tx } from '../../services/decred/index.ts';
import { Chain, MAX_REORG_DEPTH, MIN_INDEX_DEPTH, stakeContent, type BlockNode } from '../../services/sim/devnet/chain/chain.ts';
import { KeyRing, fastHash160 } from '../../services/sim/devnet/chain/keys.ts';
import { BlockProducer, freshStakeField } from '../../services/sim/devnet/chain/producer.ts';
import { VoteLedger, LatencyHistogram, linkLedgers, mergeReports } from '../../services/sim/devnet/report.ts';
import { startDevnet } from '../../services/sim/devnet/index.ts';

/** A miner without RPC: producer + chain, votes built unsigned (the chain checks no vote signatures). */
function miniChain(retainBlocks: number) {
  const keys = new KeyRing('bounded-memory');
  const producer = new BlockProducer({ params: SIMNET, split: 'dcp0012', keys, tickets: 64, ticketPrice: 10_000_000n, genesisTime: 1401292357, signFunding: false });
  const chain = new Chain(SIMNET, producer.genesis(), retainBlocks);
  const tickets = new Map<string, Tx>();
  let ts = 1401292357;
  const votesFor = (parent: BlockNode): Tx[] =>
    parent.winners.map((w) =>
      buildVote({ ticket: tickets.get(hashToHex(w)) as Tx, ticketHash: w, blockHash: parent.hash, blockHeight: parent.height, voteBits: 1, voteVersion: SIMNET.voteVersion, voteSubsidy: voteSubsidy(parent.height, SIMNET, 'dcp0012'), params: SIMNET }),
    );
  const mine = (parent: BlockNode, extraNonce = 0): BlockNode => {
    const votes = parent.height + 1 >= SIMNET.stakeValidationHeight ? votesFor(parent) : [];
    // Keep the pool near 64 (node.ts mineOne): live now + immature - 5 per voting block until they mature.
    const h = parent.height + 1;
    const removals = Math.max(0, h + SIMNET.ticketMaturity - Math.max(h, SIMNET.stakeValidationHeight) + 1);
    const projected = parent.poolSize + chain.immatureCount(parent) - SIMNET.ticketsPerBlock * removals;
    const block: Block = producer.build(parent, votes, projected, ++ts, extraNonce);
    const res = chain.accept(block, undefined, { ownBlock: true });
    producer.remember(block, res.node.hashHex);
    for (const t of stakeContent(block).tickets) tickets.set(hashToHex(txHash(t)), t);
    return res.node;
  };
  return { chain, mine };
}

describe('block index retention', () => {
  it('keeps full nodes for a window only, every hash by height, and reorganises within the reorg depth after 3,000 blocks', () => {
    const { chain, mine } = miniChain(16);
    const hashes: string[] = [chain.genesis().hashHex];
    while (chain.bestHeight < 3_000) hashes.push(mine(chain.best).hashHex);
    expect(chain.bestHeight).toBe(3_000);
    const stats = chain.indexStats();
    // Window of full nodes: max(retainBlocks, MIN_INDEX_DEPTH) + genesis.
    expect(stats.mainNodes).toBe(MIN_INDEX_DEPTH + 1);
    expect(stats.nodes).toBeLessThanOrEqual(MIN_INDEX_DEPTH + 2);
    expect(stats.txIndex).toBeLessThan(16 * 30);
    // Every height still maps to its hash; old nodes are gone but recognised as pruned.
    for (const h of [0, 1, 500, 2_000, 2_919, 2_920, 3_000]) expect(chain.hashAtHeight(h)).toBe(hashes[h]);
    expect(chain.hashAtHeight(3_001)).toBeUndefined();
    expect(chain.get(hashes[1] as string)).toBeUndefined();
    expect(chain.prunedHeight(hashes[1] as string)).toBe(1);
    expect(chain.prunedHeight(hashes[2_990] as string)).toBe(-1); // still indexed
    expect(chain.atHeight(2_990)?.hashHex).toBe(hashes[2_990]);
    expect(chain.atHeight(100)).toBeUndefined();
    expect(chain.genesis().hashHex).toBe(hashes[0]);

    // Competing tip at the reorg depth: a side chain from height 3000 - MAX_REORG_DEPTH overtakes.
    const forkParent = chain.atHeight(3_000 - MAX_REORG_DEPTH) as BlockNode;
    let side = forkParent;
    let disconnected = 0;
    for (let i = 0; i <= MAX_REORG_DEPTH; i++) {
      const before = chain.best.hashHex;
      const n = mine(side, 1);
      side = n;
      if (chain.best.hashHex !== before && chain.best === n && i === MAX_REORG_DEPTH) disconnected = MAX_REORG_DEPTH;
    }
    expect(chain.best).toBe(side);
    expect(chain.bestHeight).toBe(3_001);
    expect(disconnected).toBe(MAX_REORG_DEPTH);
    expect(chain.hashAtHeight(3_000 - MAX_REORG_DEPTH)).toBe(forkParent.hashHex);
    expect(chain.hashAtHeight(3_000)).not.toBe(hashes[3_000]);
    expect(chain.hashAtHeight(3_001)).toBe(side.hashHex);
    // The chain goes on from the new tip, and the index stays bounded.
    for (let i = 0; i < 100; i++) mine(chain.best);
    expect(chain.indexStats().mainNodes).toBe(MIN_INDEX_DEPTH + 1);
    // Deeper than the reorg depth is refused.
    expect(() => mine(chain.atHeight(chain.bestHeight - MAX_REORG_DEPTH - 2) as BlockNode, 2)).toThrow(/below the tip/);
  });

  it('answers getblockhash for pruned heights and refuses their headers over RPC (-5, pruned)', async () => {
    const dn = await startDevnet({ seed: 'prune-rpc', tickets: 64, houseShare: 1, retainBlocks: 16 });
    try {
      const node = dn.nodes[0]!;
      // connection: close: dn.generate() blocks this process's event loop (the server's too); a pooled
      // keep-alive socket reused right after a stall > the server's 5 s keep-alive is reset (ECONNRESET).
      const call = async (method: string, params: unknown[] = []) => {
        const r = await fetch(node.rpcUrl, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${node.rpcUser}:${node.rpcPass}`).toString('base64')}`, 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ jsonrpc: '1.0', id: 1, method, params }) });
        return (await r.json()) as { result: unknown; error: { code: number; message: string } | null };
      };
      const h1 = (await call('getblockhash', [1])).result as string;
      const mid = (await call('getblockhash', [100])).result as string;
      expect((await call('getblockheader', [mid, true])).error).toBeNull();
      await dn.generate(MIN_INDEX_DEPTH + 10);
      const best = (await call('getblockcount')).result as number;
      expect((await call('getblockhash', [1])).result).toBe(h1);
      expect((await call('getblockhash', [100])).result).toBe(mid);
      const old = await call('getblockheader', [mid, false]);
      expect(old.error?.code).toBe(-5);
      expect(old.error?.message).toMatch(/height 100 is pruned/);
      expect((await call('getblock', [mid])).error?.code).toBe(-5);
      // Recent headers and the genesis are served; nextblockhash comes from the hash column.
      const recent = (await call('getblockhash', [best - 5])).result as string;
      const hdr = (await call('getblockheader', [recent, true])).result as { height: number; nextblockhash: string };
      expect(hdr.height).toBe(best - 5);
      expect(hdr.nextblockhash).toBe((await call('getblockhash', [best - 4])).result);
      expect((await call('getblockheader', [(await call('getblockhash', [0])).result, false])).error).toBeNull();
      expect((await call('getblockhash', [best + 1])).error?.code).toBe(-1);
    } finally {
      await dn.stop();
    }
  });
});

describe('report totals', () => {
  const node = (hashHex: string, height: number, winners: Uint8Array[], parent?: BlockNode): BlockNode => ({ hashHex, height, winners, parent, onMainChain: true }) as unknown as BlockNode;
  const ticket = (b: number, i: number) => Uint8Array.from({ length: 32 }, (_, k) => (k === 0 ? i : k === 1 ? b & 0xff : k === 2 ? b >> 8 : 0));

  it('folds draws older than the window into running totals and keeps the listed records bounded', () => {
    const window = 20;
    const l = new VoteLedger(() => true, window);
    let parent: BlockNode | undefined;
    let expectVoted = 0;
    let expectMissed = 0;
    const lats: number[] = [];
    for (let h = 1; h <= 1_000; h++) {
      const winners = Array.from({ length: 5 }, (_, i) => ticket(h, i));
      const n = node(`b${h}`, h, winners, parent);
      if (parent) {
        // Parent's tickets 0..2 voted (latency h ms), 3..4 missed; ticket 0 also has a conflicting vote.
        const voted = parent.winners.slice(0, 3).map((w) => ({ ticketHex: hashToHex(w), txidHex: `v${h}` }));
        l.onConnected(n, voted);
        expectVoted += 3;
        expectMissed += 2;
      }
      l.onDraw(n, h * 1000);
      for (const [i, w] of winners.slice(0, 3).entries()) {
        l.onVote(n.hashHex, hashToHex(w), `full${h}-${i}`, true, h * 1000 + h);
        lats.push(h);
      }
      l.onVote(n.hashHex, hashToHex(winners[0]!), `other${h}`, false, h * 1000 + h + 1);
      parent = n;
    }
    expect(l.sizes.records).toBeLessThanOrEqual(5 * (window + 1));
    expect(l.sizes.blocks).toBeLessThanOrEqual(window + 1);
    const r = mergeReports([l]);
    // Blocks 1..999 are settled; block 1000's draws are pending.
    expect(r).toMatchObject({ drawn: 5_000, voted: expectVoted, missed: expectMissed, conflicting: 1_000 });
    expect(r.folded).toBe(5_000 - r.tickets.length);
    expect(r.tickets.length).toBeLessThanOrEqual(5 * (window + 1));
    // Latencies 1..1000 ms, three each: exact below 1024 ms.
    lats.sort((a, b) => a - b);
    const nearest = (q: number) => lats[Math.ceil(q * lats.length) - 1];
    expect(r.latencyMs).toEqual({ p50: nearest(0.5), p90: nearest(0.9), p99: nearest(0.99), max: 1_000 });
  });

  it('folds a group at once: outcome from the first ledger, latency min over nodes, votes unioned', () => {
    const a = new VoteLedger(() => true, 2);
    const b = new VoteLedger(() => true, 2);
    linkLedgers([a, b]);
    const w = [ticket(1, 1)];
    const p = node('p', 1, w);
    a.onDraw(p, 1_000);
    b.onDraw(p, 1_010);
    a.onVote('p', hashToHex(w[0]!), 'v1', true, 1_100);
    b.onVote('p', hashToHex(w[0]!), 'v1', true, 1_030);
    b.onVote('p', hashToHex(w[0]!), 'v2', false, 1_040);
    let parent = node('c', 2, [], p);
    a.onConnected(parent, [{ ticketHex: hashToHex(w[0]!), txidHex: 't1' }]);
    for (let h = 3; h < 10; h++) {
      const n = node(`x${h}`, h, [], parent);
      a.onConnected(n, []);
      b.onConnected(n, []);
      parent = n;
    }
    expect(a.sizes.records + b.sizes.records).toBe(0);
    const r = mergeReports([a, b]);
    expect(r).toMatchObject({ drawn: 1, voted: 1, missed: 0, conflicting: 1, folded: 1, tickets: [] });
    expect(r.latencyMs.max).toBe(20);
    // Each node alone: its own totals.
    expect(mergeReports([a]).latencyMs.max).toBe(100);
    expect(mergeReports([b]).conflicting).toBe(1);
  });

  it('has a constant-size latency histogram, exact below 1024 ms and within 1% above', () => {
    const h = new LatencyHistogram();
    for (let v = 0; v < 100_000; v += 7) h.add(v);
    const n = Math.ceil(100_000 / 7);
    for (const q of [0.5, 0.9, 0.99]) {
      const exact = (Math.ceil(q * n) - 1) * 7;
      expect(Math.abs(h.percentile(q) - exact) / exact).toBeLessThan(0.011);
    }
    expect(h.max).toBe((n - 1) * 7);
    const small = new LatencyHistogram();
    [5, 1, 3].forEach((v) => small.add(v));
    expect(small.summary()).toEqual({ p50: 3, p90: 5, p99: 5, max: 5 });
    expect(new LatencyHistogram().summary()).toEqual({ p50: 0, p90: 0, p99: 0, max: 0 });
  });
});

describe('ticket keys and header fields', () => {
  it('derives the same keys in a batch as one by one, distinct per ticket', () => {
    const ring = new KeyRing('keys-test');
    const idx = [0, 1, 2, 3, 70, 71, 5_000, 3, 200];
    const batch = ring.ticketKeys(idx);
    idx.forEach((i, j) => {
      const one = ring.ticketKey(i);
      expect(Buffer.from(batch[j]!.pubKey).toString('hex')).toBe(Buffer.from(one.pubKey).toString('hex'));
      expect(Buffer.from(batch[j]!.pkh).toString('hex')).toBe(Buffer.from(hash160(one.pubKey)).toString('hex'));
      expect(Buffer.from(ring.ticketPrivKey(i)).toString('hex')).toBe(Buffer.from(one.privKey).toString('hex'));
    });
    expect(new Set(batch.map((k) => Buffer.from(k.pubKey).toString('hex'))).size).toBe(new Set(idx).size);
    expect(() => ring.ticketKey(-1)).toThrow(/DEVNET_BAD_KEY_INDEX|non-negative/);
    const data = Uint8Array.from({ length: 33 }, (_, i) => i * 7);
    expect(Buffer.from(fastHash160(data)).toString('hex')).toBe(Buffer.from(hash160(data)).toString('hex'));
  });

  it('saturates header FreshStake at 255 instead of wrapping', () => {
    expect(freshStakeField(20)).toBe(20);
    expect(freshStakeField(255)).toBe(255);
    expect(freshStakeField(1_042)).toBe(255);
  });
});
