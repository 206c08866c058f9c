/**
 * Several devnet nodes as one network: relay of votes and blocks over loopback
 * websockets, competing tips and a reorg with dcrd's notifications, the mining
 * clock, TLS, and a node restart on the same port.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMNET, encodeTx, toHex } from '../../services/decred/index.ts';
import { startDevnet, type Devnet, type ExportedTicket } from '../../services/sim/devnet/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { WsRpc, makeVote } from './devnet-rpc-client.ts';

describe('two nodes, manual mining', () => {
  let dn: Devnet;
  let miner: WsRpc;
  let follower: WsRpc;
  let tickets: Map<string, ExportedTicket>;

  beforeAll(async () => {
    dn = await startDevnet({ seed: 'net-test', nodes: 2, tickets: 64, tls: true });
    const [a, b] = dn.nodes;
    miner = await WsRpc.open(a!.wsUrl, { user: a!.rpcUser, pass: a!.rpcPass }, a!.certPem);
    follower = await WsRpc.open(b!.wsUrl, { user: b!.rpcUser, pass: b!.rpcPass }, b!.certPem);
    for (const c of [miner, follower]) for (const m of ['notifyblocks', 'notifywinningtickets']) await c.call(m);
    tickets = new Map(dn.exportTickets().map((t) => [t.ticketHash, t]));
  });
  afterAll(async () => {
    miner?.close();
    follower?.close();
    await dn?.stop();
  });

  async function winnersOf(c: WsRpc, hash: string): Promise<{ height: number; winners: ExportedTicket[] }> {
    await c.call('rebroadcastwinners');
    const n = await waitFor(() => c.notifications.find((x) => x.method === 'winningtickets' && x.params[0] === hash));
    const h = (await c.call('getblockheader', [hash])).result as { height: number };
    return { height: h.height, winners: Object.values(n.params[2] as Record<string, string>).map((t) => tickets.get(t)!) };
  }

  it('relays a vote sent to the follower to the miner, and the block back', async () => {
    expect(dn.nodes[0]!.rpcUrl.startsWith('https://')).toBe(true);
    const tip = (await follower.call('getbestblockhash')).result as string;
    expect((await miner.call('getbestblockhash')).result).toBe(tip);
    const { height, winners } = await winnersOf(follower, tip);
    const ids: string[] = [];
    for (const w of winners) {
      const r = await follower.call('sendrawtransaction', [toHex(encodeTx(makeVote(w, tip, height)))]);
      expect(r.error).toBeNull();
      ids.push(r.result as string);
    }
    await waitFor(async () => ((await miner.call('getrawmempool')).result as string[]).length === 5, { message: 'votes reach the miner' });
    const [next] = (await miner.call('generate', [1])).result as string[];
    await waitFor(async () => (await follower.call('getbestblockhash')).result === next, { message: 'block reaches the follower' });
    const block = (await follower.call('getblock', [next])).result as { stx: string[] };
    for (const id of ids) expect(block.stx).toContain(id);
    const rep = dn.report();
    expect(rep.tickets.filter((t) => t.blockHash === tip && t.outcome === 'voted')).toHaveLength(5);
    expect(rep.latencyMs.max).toBeGreaterThanOrEqual(0);
  });

  it('announces competing tips and reorganises to the longer chain', async () => {
    const tip = (await miner.call('getbestblockhash')).result as string;
    const { height, winners } = await winnersOf(miner, tip);
    const voteIds: string[] = [];
    for (const w of winners) {
      const sent = await miner.call('sendrawtransaction', [toHex(encodeTx(makeVote(w, tip, height)))]);
      expect(sent.error).toBeNull();
      voteIds.push(sent.result as string);
    }
    const [a] = await dn.generate(1);
    const b = await dn.forkNextBlock();
    expect(b).not.toBe(a);
    // The tip's votes are in both a and its competitor b; like dcrd's txindex, getrawtransaction
    // names the MAIN-chain block (a now, b after the reorg below), never a side-chain block.
    const blockOfVote = async (): Promise<unknown> => ((await miner.call('getrawtransaction', [voteIds[0], 1])).result as { blockhash?: string }).blockhash;
    expect(await blockOfVote()).toBe(a);
    // Both tips draw winners; both are announced on both nodes.
    for (const c of [miner, follower]) {
      await waitFor(() => c.notifications.some((n) => n.method === 'winningtickets' && n.params[0] === a), { message: 'winners of tip a' });
      await waitFor(() => c.notifications.some((n) => n.method === 'winningtickets' && n.params[0] === b), { message: 'winners of tip b' });
    }
    // Vote on the side tip b and extend it: the miner reorganises from a to b.
    const side = await winnersOf(follower, b!);
    for (const w of side.winners.slice(0, 3)) expect((await follower.call('sendrawtransaction', [toHex(encodeTx(makeVote(w, b!, side.height)))])).error).toBeNull();
    await waitFor(async () => ((await miner.call('getrawmempool')).result as string[]).length >= 3);
    const [c] = await dn.mineOn(b!, 1);
    for (const cl of [miner, follower]) {
      await waitFor(async () => (await cl.call('getbestblockhash')).result === c, { message: 'reorg to the b chain' });
      await waitFor(() => cl.notifications.some((n) => n.method === 'blockdisconnected'), { message: 'blockdisconnected' });
    }
    expect(await blockOfVote()).toBe(b);
    const headerA = (await miner.call('getblockheader', [a, false])).result as string;
    expect(miner.notifications.find((n) => n.method === 'blockdisconnected')?.params[0]).toBe(headerA);
  });

  it('restarts a node on the same port with its chain', async () => {
    const node = dn.nodes[1]!;
    const url = node.wsUrl;
    const before = (await follower.call('getbestblockhash')).result;
    await node.restart();
    expect(node.wsUrl).toBe(url);
    const again = await WsRpc.open(url, { user: node.rpcUser, pass: node.rpcPass }, node.certPem);
    expect((await again.call('getbestblockhash')).result).toBe(before);
    again.close();
  });
});

describe('mining clock', () => {
  it('mines on a fixed interval once votes arrive (house tickets vote at once)', async () => {
    const dn = await startDevnet({ seed: 'clock', tickets: 64, houseShare: 1, blockInterval: { mode: 'fixed', ms: 50 }, voteWaitMs: 0 });
    try {
      const n = dn.nodes[0]!;
      const c = await WsRpc.open(n.wsUrl, { user: n.rpcUser, pass: n.rpcPass });
      await waitFor(async () => ((await c.call('getblockcount')).result as number) >= SIMNET.stakeValidationHeight + 5, { message: 'blocks mined by the clock', timeoutMs: 10_000 });
      c.close();
      expect(dn.exportTickets()).toHaveLength(0);
    } finally {
      await dn.stop();
    }
  });
});
