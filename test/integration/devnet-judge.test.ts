/**
 * The devnet as dcrd's judge, driven through both transports with real clients:
 * lottery results against an independent replay with services/decred, votes built
 * and signed with services/decred from exported WIFs, and dcrd's error codes for
 * every refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SIMNET,
  compareBytes,
  decodeBlock,
  decodeTxHex,
  encodeBlockHeader,
  encodeTx,
  fromHex,
  hashToHex,
  selectWinners,
  toHex,
  txHash,
  txType,
} from '../../services/decred/index.ts';
import { startDevnet, type Devnet, type ExportedTicket } from '../../services/sim/devnet/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { WsRpc, httpCall, makeVote } from './devnet-rpc-client.ts';

let dn: Devnet;
let ws: WsRpc;
let tickets: Map<string, ExportedTicket>;
let bootMs = 0;
const http = (method: string, params: unknown[] = []) => {
  const n = dn.nodes[0]!;
  return httpCall(n.rpcUrl, n.rpcUser, n.rpcPass, method, params);
};

async function winningTickets(blockHash: string): Promise<{ height: number; winners: string[] }> {
  const n = await waitFor(() => ws.notifications.find((x) => x.method === 'winningtickets' && x.params[0] === blockHash), { message: `winningtickets for ${blockHash}` });
  return { height: n.params[1] as number, winners: Object.values(n.params[2] as Record<string, string>) };
}

beforeAll(async () => {
  // CPU time, not wall time: the budget must hold on a loaded CI machine too.
  const cpu0 = process.cpuUsage();
  dn = await startDevnet({ seed: 'judge-test', tickets: 64, blockInterval: { mode: 'manual' }, subsidySplit: 'dcp0012' });
  const cpu = process.cpuUsage(cpu0);
  bootMs = (cpu.user + cpu.system) / 1000;
  const n = dn.nodes[0]!;
  ws = await WsRpc.open(n.wsUrl, { user: n.rpcUser, pass: n.rpcPass });
  for (const m of ['notifyblocks', 'notifywinningtickets']) expect((await ws.call(m)).error).toBeNull();
  tickets = new Map(dn.exportTickets().map((t) => [t.ticketHash, t]));
});

afterAll(async () => {
  ws?.close();
  await dn?.stop();
});

describe('devnet boot and chain', () => {
  it('boots a simnet chain to SVH-1 with 64 live tickets in under 5 s of CPU', async () => {
    expect(bootMs).toBeLessThan(5_000);
    const best = await http('getbestblock');
    expect(best.result).toMatchObject({ height: SIMNET.stakeValidationHeight - 1 });
    const live = ((await http('livetickets')).result as { tickets: string[] }).tickets;
    expect(live).toHaveLength(64);
    // Exported: every live ticket plus the immature pipeline (5 per block over TicketMaturity blocks).
    for (const t of live) expect(tickets.has(t)).toBe(true);
    expect(tickets.size).toBe(64 + 5 * SIMNET.ticketMaturity);
    expect(await http('getcurrentnet')).toMatchObject({ result: SIMNET.net });
    expect(((await ws.call('version')).result as Record<string, { versionstring: string }>).dcrdjsonrpcapi?.versionstring).toBe('8.3.0');
  });

  it('draws the winners an independent replay of the blocks draws', async () => {
    // Replay: live set from the raw blocks (maturity; winners leave), selectWinners per header.
    const height = (await http('getblockcount')).result as number;
    const live: Uint8Array[] = [];
    const minedAt = new Map<number, Uint8Array[]>();
    let winners: Uint8Array[] = [];
    let lastHeader: Uint8Array = new Uint8Array();
    for (let h = 0; h <= height; h++) {
      const hash = (await http('getblockhash', [h])).result as string;
      const block = decodeBlock(fromHex((await http('getblock', [hash, false])).result as string));
      const hdr = encodeBlockHeader(block.header);
      if (h > 0) {
        // The header commits the previous draw.
        expect(block.header.poolSize).toBe(live.length);
      }
      const voted = block.stakeTransactions.filter((t) => txType(t) === 'vote').map((v) => hashToHex(v.inputs[1]!.prevOut.hash));
      for (const w of winners) live.splice(live.findIndex((x) => compareBytes(x, w) === 0), 1);
      expect(voted.length).toBeLessThanOrEqual(5);
      minedAt.set(h, block.stakeTransactions.filter((t) => txType(t) === 'ticket').map((t) => txHash(t)));
      for (const t of minedAt.get(h - SIMNET.ticketMaturity) ?? []) live.push(t);
      live.sort(compareBytes);
      winners = h >= SIMNET.stakeValidationHeight - 1 ? selectWinners(live, hdr).winners : [];
      lastHeader = hdr;
    }
    expect(lastHeader.length).toBe(180);
    const best = (await http('getbestblockhash')).result as string;
    await ws.call('rebroadcastwinners');
    const notified = await winningTickets(best);
    expect(notified.winners).toEqual(winners.map(hashToHex));
  });
});

describe('sendrawtransaction judges votes', () => {
  it('accepts correctly signed votes, refuses everything dcrd refuses, and mines the votes', async () => {
    const tip = (await http('getbestblock')).result as { hash: string; height: number };
    await ws.call('rebroadcastwinners');
    const { winners } = await winningTickets(tip.hash);
    const w = winners.map((h) => tickets.get(h)!);
    expect(w.every(Boolean)).toBe(true);

    // Garbage and undecodable hex: -22.
    expect((await ws.call('sendrawtransaction', ['zz'])).error?.code).toBe(-22);
    expect((await http('sendrawtransaction', ['0100'])).error?.code).toBe(-22);
    // Bad params: -32602; unknown method: -32601; unknown block: -5.
    expect((await http('getblockhash', ['x'])).error?.code).toBe(-32602);
    expect((await ws.call('nosuchmethod')).error?.code).toBe(-32601);
    expect((await http('getblockheader', ['00'.repeat(32)])).error?.code).toBe(-5);

    const good = makeVote(w[0]!, tip.hash, tip.height);
    const goodHex = toHex(encodeTx(good));
    // Wrong subsidy: stakebase valueIn is not committed by the signature.
    const badSubsidy = decodeTxHex(goodHex);
    badSubsidy.inputs[0]!.valueIn += 1n;
    const r1 = await ws.call('sendrawtransaction', [toHex(encodeTx(badSubsidy))]);
    expect(r1.error?.code).toBe(-1);
    expect(r1.error?.message).toMatch(/BAD_SUBSIDY/);
    // Wrong payout (changed after signing).
    const badPayout = decodeTxHex(goodHex);
    badPayout.outputs[2]!.value -= 1n;
    const r2 = await http('sendrawtransaction', [toHex(encodeTx(badPayout))]);
    expect(r2.error?.code).toBe(-1);
    expect(r2.error?.message).toMatch(/BAD_PAYOUT/);
    // Wrong signature: vote bits changed after signing.
    const badSig = decodeTxHex(goodHex);
    badSig.outputs[1]!.pkScript[2] = 0x03;
    const r3 = await ws.call('sendrawtransaction', [toHex(encodeTx(badSig))]);
    expect(r3.error?.code).toBe(-1);
    expect(r3.error?.message).toMatch(/BAD_SIGNATURE/);
    // Wrong block: a vote on the parent (not a tip).
    const parentHash = (await http('getblockhash', [tip.height - 1])).result as string;
    const r4 = await ws.call('sendrawtransaction', [toHex(encodeTx(makeVote(w[1]!, parentHash, tip.height - 1)))]);
    expect(r4.error?.code).toBe(-1);
    // Non-winning ticket.
    const loser = [...tickets.values()].find((t) => !winners.includes(t.ticketHash))!;
    const r5 = await http('sendrawtransaction', [toHex(encodeTx(makeVote(loser, tip.hash, tip.height)))]);
    expect(r5.error?.code).toBe(-1);
    expect(r5.error?.message).toMatch(/NOT_A_WINNER|not a winner/);

    // The good vote: accepted with its txid; again -> -40.
    const ok = await ws.call('sendrawtransaction', [goodHex]);
    expect(ok.error).toBeNull();
    expect(ok.result).toBe(hashToHex(txHash(good)));
    expect((await http('sendrawtransaction', [goodHex])).error?.code).toBe(-40);
    expect((await ws.call('existsmempooltxs', [[ok.result as string]])).result).toBe('01');
    // A different valid vote for the same ticket and block -> -1 "already votes on block".
    const other = await ws.call('sendrawtransaction', [toHex(encodeTx(makeVote(w[0]!, tip.hash, tip.height, 0x0005)))]);
    expect(other.error?.code).toBe(-1);
    expect(other.error?.message).toMatch(/already votes on block/);

    // Two more votes make the block; the 4th arrives after the next block: missed.
    for (const t of [w[1]!, w[2]!]) expect((await http('sendrawtransaction', [toHex(encodeTx(makeVote(t, tip.hash, tip.height)))])).error).toBeNull();
    const [next] = (await ws.call('generate', [1])).result as string[];
    const block = (await http('getblock', [next, true])).result as { stx: string[]; voters: number };
    expect(block.voters).toBe(3);
    expect(block.stx).toContain(hashToHex(txHash(good)));
    const late = await ws.call('sendrawtransaction', [toHex(encodeTx(makeVote(w[3]!, tip.hash, tip.height)))]);
    expect(late.error?.code).toBe(-1);
    await waitFor(() => ws.notifications.some((n) => n.method === 'blockconnected'));

    const report = dn.report();
    const forTip = report.tickets.filter((t) => t.blockHash === tip.hash);
    expect(forTip).toHaveLength(5);
    expect(forTip.filter((t) => t.outcome === 'voted').map((t) => t.ticketHash).sort()).toEqual([w[0]!, w[1]!, w[2]!].map((t) => t.ticketHash).sort());
    expect(forTip.filter((t) => t.outcome === 'missed').map((t) => t.ticketHash).sort()).toEqual([w[3]!, w[4]!].map((t) => t.ticketHash).sort());
    expect(forTip.find((t) => t.ticketHash === w[0]!.ticketHash)?.minedVoteTxid).toBe(hashToHex(txHash(good)));
    expect(report.conflicting).toBe(1);
    expect(report.missed).toBe(2);
  });

  it('refuses to mine without 3 votes for the parent', async () => {
    const r = await http('generate', [1]);
    expect(r.error?.code).toBe(-1);
  });
});

describe('authentication', () => {
  it('rejects bad credentials on HTTP and on the websocket upgrade', async () => {
    const n = dn.nodes[0]!;
    expect((await httpCall(n.rpcUrl, n.rpcUser, 'wrong', 'getblockcount')).error?.code).toBe(401);
    await expect(WsRpc.open(n.wsUrl, { user: n.rpcUser, pass: 'wrong' })).rejects.toThrow(/401/);
  });

  it('closes a websocket whose first message is not a valid authenticate', async () => {
    const n = dn.nodes[0]!;
    const a = await WsRpc.open(n.wsUrl);
    a.send(JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'getblockcount', params: [] }));
    await waitFor(() => a.closed, { message: 'unauthenticated socket closed' });
    const b = await WsRpc.open(n.wsUrl);
    b.send(JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'authenticate', params: [n.rpcUser, 'nope'] }));
    await waitFor(() => b.closed, { message: 'bad authenticate closes' });
    const c = await WsRpc.open(n.wsUrl);
    expect((await c.call('authenticate', [n.rpcUser, n.rpcPass])).error).toBeNull();
    expect(typeof (await c.call('getblockcount')).result).toBe('number');
    c.close();
  });
});
