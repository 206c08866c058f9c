/**
 * The devnet's test hook for fault injection at a draw: `generateHeld()` mines a block whose
 * notifications (to websocket clients) and relay (to the other nodes) wait for `release()`, so a
 * harness knows the winners before any voter hears of them. The report dates the draw at the
 * release, when clients can first hear of it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMNET, encodeTx, toHex } from '../../services/decred/index.ts';
import { startDevnet, type Devnet, type ExportedTicket } from '../../services/sim/devnet/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { WsRpc, makeVote } from './devnet-rpc-client.ts';

describe('devnet: a draw held until released', () => {
  let dn: Devnet;
  let miner: WsRpc;
  let follower: WsRpc;
  let tickets: Map<string, ExportedTicket>;

  beforeAll(async () => {
    dn = await startDevnet({ seed: 'held-draw-test', nodes: 2, tickets: 64 });
    const [a, b] = dn.nodes;
    miner = await WsRpc.open(a!.wsUrl, { user: a!.rpcUser, pass: a!.rpcPass });
    follower = await WsRpc.open(b!.wsUrl, { user: b!.rpcUser, pass: b!.rpcPass });
    for (const c of [miner, follower]) for (const m of ['notifyblocks', 'notifywinningtickets']) await c.call(m);
    tickets = new Map(dn.exportTickets().map((t) => [t.ticketHash, t]));
  });
  afterAll(async () => {
    miner?.close();
    follower?.close();
    await dn?.stop();
  });

  /** Votes every winner of the miner's tip (the next block needs 3 of them). */
  async function voteTip(): Promise<void> {
    const tip = (await miner.call('getbestblockhash')).result as string;
    await miner.call('rebroadcastwinners');
    const n = await waitFor(() => miner.notifications.find((x) => x.method === 'winningtickets' && x.params[0] === tip));
    const height = n.params[1] as number;
    for (const hash of Object.values(n.params[2] as Record<string, string>)) {
      const r = await miner.call('sendrawtransaction', [toHex(encodeTx(makeVote(tickets.get(hash)!, tip, height)))]);
      expect(r.error).toBeNull();
    }
  }

  it('tells no client and no peer of the block until release, then everything once, in order', async () => {
    await voteTip();
    const before = { miner: miner.notifications.length, follower: follower.notifications.length };
    const held = await dn.generateHeld();
    expect(held.winners).toHaveLength(SIMNET.ticketsPerBlock);
    // The miner's chain has the block (its RPC answers it)...
    expect((await miner.call('getbestblockhash')).result).toBe(held.blockHash);
    // ...but no notification left it and the follower was not sent the block. Each client's
    // round trip comes after anything the node had already sent it on that socket.
    await new Promise((r) => setTimeout(r, 200));
    await miner.call('getblockcount');
    await follower.call('getblockcount');
    expect(miner.notifications.slice(before.miner)).toEqual([]);
    expect(follower.notifications.slice(before.follower)).toEqual([]);
    expect((await follower.call('getbestblockhash')).result).not.toBe(held.blockHash);
    // Nor is the draw in the report before it is released.
    expect(dn.nodeReport(0).tickets.filter((t) => t.blockHash === held.blockHash)).toEqual([]);

    const releasedAt = Date.now();
    held.release();
    held.release(); // idempotent
    const win = await waitFor(() => follower.notifications.find((x) => x.method === 'winningtickets' && x.params[0] === held.blockHash));
    expect(Object.values(win.params[2] as Record<string, string>)).toEqual(held.winners);
    const mine = await waitFor(() => miner.notifications.find((x) => x.method === 'winningtickets' && x.params[0] === held.blockHash));
    expect(Object.values(mine.params[2] as Record<string, string>)).toEqual(held.winners);
    // blockconnected before winningtickets, as dcrd sends them, and each once.
    const fresh = miner.notifications.slice(before.miner).map((x) => x.method);
    expect(fresh.indexOf('blockconnected')).toBeLessThan(fresh.indexOf('winningtickets'));
    expect(fresh.filter((m) => m === 'winningtickets')).toHaveLength(1);
    // The report dates the draw at its release, at the miner and at the follower.
    await waitFor(() => dn.nodeReport(1).tickets.some((t) => t.blockHash === held.blockHash) || undefined);
    for (const i of [0, 1]) {
      const draws = dn.nodeReport(i).tickets.filter((t) => t.blockHash === held.blockHash);
      expect(draws.map((t) => t.ticketHash).sort()).toEqual([...held.winners].sort());
      for (const t of draws) expect(t.drawnAt).toBeGreaterThanOrEqual(releasedAt);
    }
  });

  it('a block that cannot be mined holds nothing', async () => {
    // The tip has no votes yet: dcrd cannot build a template (RpcError -1), and nothing stays held.
    await expect(dn.generateHeld()).rejects.toMatchObject({ rpcCode: -1 });
    await voteTip();
    const [h] = await dn.generate(1);
    await waitFor(() => follower.notifications.find((x) => x.method === 'winningtickets' && x.params[0] === h));
  });
});
