/**
 * Treasury spends and treasury votes at the devnet, through its real JSON-RPC
 * (HTTP and websocket): a signed simnet tspend is accepted, announced to
 * `notifytspend` subscribers, listed by `getrawmempool false tspend` and relayed
 * to the second node; malformed or badly signed tspends are refused with dcrd's
 * codes; votes whose 'T','V' output breaks CheckSSGenVotes are refused, a
 * well-formed one is accepted and mined.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SIMNET, buildVote, calcTSpendExpiry, decodeTxHex, decodeWif, encodeTx, fromHex, hashFromHex, hashToHex, signVote,
  toHex, treasuryVoteScript, txHash, voteSubsidy, type Tx,
} from '../../services/decred/index.ts';
import { createTestTSpend, startDevnet, type Devnet, type ExportedTicket } from '../../services/sim/devnet/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { WsRpc, httpCall } from './devnet-rpc-client.ts';

let dn: Devnet;
let ws: WsRpc;
let tickets: Map<string, ExportedTicket>;
const http = (method: string, params: unknown[] = [], node = 0) => {
  const n = dn.nodes[node]!;
  return httpCall(n.rpcUrl, n.rpcUser, n.rpcPass, method, params);
};

beforeAll(async () => {
  dn = await startDevnet({ seed: 'tspend-test', nodes: 2, tickets: 32, blockInterval: { mode: 'manual' }, subsidySplit: 'dcp0012' });
  const n = dn.nodes[0]!;
  ws = await WsRpc.open(n.wsUrl, { user: n.rpcUser, pass: n.rpcPass });
  for (const m of ['notifytspend', 'notifywinningtickets']) expect((await ws.call(m)).error).toBeNull();
  tickets = new Map(dn.exportTickets().map((t) => [t.ticketHash, t]));
});

afterAll(async () => {
  ws?.close();
  await dn?.stop();
});

describe('devnet tspends', () => {
  it('accepts a signed simnet tspend, notifies notifytspend subscribers, lists and relays it', async () => {
    const nextHeight = ((await http('getblockcount')).result as number) + 1;
    const tx = createTestTSpend(SIMNET, { nextHeight, tag: 1 });
    expect(tx.expiry).toBe(calcTSpendExpiry(nextHeight, 48, 3));
    const hex = toHex(encodeTx(tx));
    const txid = hashToHex(txHash(tx));
    const r = await http('sendrawtransaction', [hex]);
    expect(r.error).toBeNull();
    expect(r.result).toBe(txid);
    const note = await waitFor(() => ws.notifications.find((x) => x.method === 'tspend'), { message: 'tspend notification' });
    expect(note.params).toEqual([hex]);
    expect((await http('getrawmempool', [false, 'tspend'])).result).toEqual([txid]);
    expect((await http('getrawmempool', [false, 'votes'])).result).not.toContain(txid);
    expect((await http('getrawmempool', [false])).result).toContain(txid);
    expect((await http('getrawtransaction', [txid])).result).toBe(hex);
    expect((await http('sendrawtransaction', [hex])).error?.code).toBe(-40);
    // Relayed to the follower, which lists it too.
    await waitFor(async () => ((await http('getrawmempool', [false, 'tspend'], 1)).result as string[]).includes(txid), { message: 'tspend relayed to node 1' });
  });

  it('refuses a foreign Pi key, a bad expiry, a changed payout and a broken signature script with -1', async () => {
    const nextHeight = ((await http('getblockcount')).result as number) + 1;
    const foreign = createTestTSpend(SIMNET, { nextHeight, tag: 2, privKey: fromHex('11'.repeat(32)) });
    const r1 = await http('sendrawtransaction', [toHex(encodeTx(foreign))]);
    expect(r1.error?.code).toBe(-1);
    expect(r1.error?.message).toMatch(/UNKNOWN_PI_KEY/);
    const badExpiry = createTestTSpend(SIMNET, { nextHeight, tag: 3, expiry: calcTSpendExpiry(nextHeight, 48, 3) + 1 });
    const r2 = await ws.call('sendrawtransaction', [toHex(encodeTx(badExpiry))]);
    expect(r2.error?.code).toBe(-1);
    expect(r2.error?.message).toMatch(/BAD_TSPEND_EXPIRY/);
    const changed = createTestTSpend(SIMNET, { nextHeight, tag: 4 });
    changed.outputs[1]!.value += 1n;
    const r3 = await http('sendrawtransaction', [toHex(encodeTx(changed))]);
    expect(r3.error?.code).toBe(-1);
    expect(r3.error?.message).toMatch(/BAD_TSPEND_SIGNATURE/);
    const broken = createTestTSpend(SIMNET, { nextHeight, tag: 5 });
    broken.inputs[0]!.sigScript[66] = 0x04; // not a compressed key
    const r4 = await http('sendrawtransaction', [toHex(encodeTx(broken))]);
    expect(r4.error?.code).toBe(-1);
    expect(r4.error?.message).toMatch(/NOT_A_TREASURY_SPEND/);
    expect(((await http('getrawmempool', [false, 'tspend'])).result as string[])).toHaveLength(1);
  });
});

describe('votecluster devnet tspend', () => {
  it('posts a Pi-signed tspend to a running node and prints its txid, expiry and Pi key', async () => {
    const n = dn.nodes[0]!;
    const main = join(import.meta.dirname, '..', '..', 'bin', 'votecluster.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', main, 'devnet', 'tspend', '--rpc', n.rpcUrl, '--rpcuser', n.rpcUser, '--rpcpass', n.rpcPass, '--tag', '77']);
    const out = JSON.parse(stdout) as { txid: string; expiry: number; piKey: string };
    expect(out.piKey).toBe(toHex(SIMNET.piKeys[0]!));
    expect(out.expiry).toBe(calcTSpendExpiry(((await http('getblockcount')).result as number) + 1, 48, 3));
    expect((await http('getrawmempool', [false, 'tspend'])).result).toContain(out.txid);
  }, 30_000);
});

describe("devnet judges votes' treasury-vote outputs", () => {
  it("refuses a malformed 'T','V' output (bad vote byte, duplicate, wrong tx version), accepts and mines a good one", async () => {
    await ws.call('rebroadcastwinners');
    const tipHash = (await http('getbestblockhash')).result as string;
    const tip = await waitFor(() => ws.notifications.find((x) => x.method === 'winningtickets' && x.params[0] === tipHash), { message: 'winners of the tip' });
    const height = (await http('getblockcount')).result as number;
    const winners = Object.values(tip.params[2] as Record<string, string>).map((h) => tickets.get(h)!);
    const tspendHash = hashFromHex(((await http('getrawmempool', [false, 'tspend'])).result as string[])[0]!);

    const vote = (t: ExportedTicket, tv: (u: Tx) => void): string => {
      const ticket = decodeTxHex(t.ticketHex);
      const u = buildVote({
        ticket, blockHash: hashFromHex(tipHash), blockHeight: height, voteBits: 1, voteVersion: SIMNET.voteVersion,
        voteSubsidy: voteSubsidy(height, SIMNET, 'dcp0012'), params: SIMNET, treasuryVotes: [{ tspendHash, vote: 1 }],
      });
      tv(u);
      return toHex(encodeTx(signVote(u, ticket, decodeWif(t.wif, SIMNET).privKey)));
    };
    const last = (u: Tx) => u.outputs[u.outputs.length - 1]!;
    const badByte = await http('sendrawtransaction', [vote(winners[0]!, (u) => { last(u).pkScript[last(u).pkScript.length - 1] = 3; })]);
    expect(badByte.error?.code).toBe(-1);
    expect(badByte.error?.message).toMatch(/ErrSSGenInvalidTreasuryVote/);
    const dup = await http('sendrawtransaction', [vote(winners[0]!, (u) => {
      last(u).pkScript = treasuryVoteScript([{ tspendHash, vote: 1 }, { tspendHash: tspendHash.slice().reverse(), vote: 2 }]);
      last(u).pkScript.set(tspendHash, 2 + 2 + 33); // second hash = first
    })]);
    expect(dup.error?.code).toBe(-1);
    expect(dup.error?.message).toMatch(/ErrSSGenDuplicateTreasuryVote/);
    const v1 = await http('sendrawtransaction', [vote(winners[0]!, (u) => { u.version = 1; })]);
    expect(v1.error?.code).toBe(-1);
    expect(v1.error?.message).toMatch(/ErrSSGenInvalidTxVersion/);

    const good = vote(winners[0]!, () => undefined);
    const ok = await http('sendrawtransaction', [good]);
    expect(ok.error).toBeNull();
    for (const t of winners.slice(1, 3)) expect((await http('sendrawtransaction', [vote(t, () => undefined)])).error).toBeNull();
    const [mined] = (await ws.call('generate', [1])).result as string[];
    const block = (await http('getblock', [mined, true, true])).result as { stx: { txid: string; version: number; vout: { scriptPubKey: { hex: string } }[] }[] };
    const inBlock = block.stx.find((s) => s.txid === ok.result);
    expect(inBlock?.version).toBe(3);
    expect(inBlock?.vout.at(-1)?.scriptPubKey.hex).toBe(toHex(treasuryVoteScript([{ tspendHash, vote: 1 }])));
  });
});
