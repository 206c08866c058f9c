/**
 * Node proxy against the devnet (a faithful dcrd stand-in) over real websockets
 * and real gRPC on loopback. Topology: a 2-node devnet (node 0 mines, node 1
 * follows); proxy P0 on node 0, P1 on node 1, P2 on node 0 with a tiny ring.
 * An automatic voter votes every draw through P0 with real signed votes, so
 * the devnet (which needs >= 3 votes per block) can keep mining.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { decodeTx, hashToHex, txHash } from '../../services/decred/index.ts';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import {
  createNodeProxy,
  createNodeProxyClient,
  DcrdAuthError,
  DcrdVersionError,
  DcrdWrongNetworkError,
  VOTE_REJECT_CODES,
  type ChainEvent,
  type NodeProxy,
  type NodeProxyClient,
  type StreamStartInfo,
} from '../../services/nodeproxy/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { healthCheck, makeVoteBuilder, rawWinningTickets, startAutoVoter } from './nodeproxy-harness.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

let dn: Devnet;
let p0: NodeProxy;
let p1: NodeProxy;
let p2: NodeProxy;
let a0: string;
let a1: string;
let a2: string;
const clients: NodeProxyClient[] = [];
let builder: ReturnType<typeof makeVoteBuilder>;
let voter: ReturnType<typeof startAutoVoter>;
let tipHash: string;

function proxyCfg(node: { wsUrl: string; rpcUser: string; rpcPass: string }, extra: Record<string, unknown> = {}) {
  return {
    network: 'simnet',
    dcrd: { url: node.wsUrl, user: node.rpcUser, pass: node.rpcPass, reconnectMinMs: 20, reconnectMaxMs: 200 },
    listen: '127.0.0.1:0', tls: tls.proxy,
    resend: { intervalMs: 0, maxAgeBlocks: 2 },
    ...extra,
  };
}

function client(addr: string, id: string): NodeProxyClient {
  const c = createNodeProxyClient(addr, { clientId: id, tls: tls.clientPem });
  clients.push(c);
  return c;
}

/** Waits for the voter's votes on the tip, mines one block on node 0, waits for its draw. */
async function mineVoted(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const tip = tipHash;
    await waitFor(() => voter.accepted(tip) >= 5, { timeoutMs: 10_000, message: `5 votes accepted for ${tip} (errors: ${voter.state.errors.length})` });
    [tipHash] = (await dn.generate(1)) as [string];
    out.push(tipHash);
    await waitFor(() => voter.latest()?.blockHash === tipHash, { timeoutMs: 10_000, message: `voter sees draw ${tipHash}` });
  }
  return out;
}

/** Records everything one watchChain delivers. */
function record(c: NodeProxyClient, opts: Parameters<NodeProxyClient['watchChain']>[0] = {}) {
  const events: ChainEvent[] = [];
  const starts: StreamStartInfo[] = [];
  const handle = c.watchChain({ ...opts, onStreamStart: (s) => starts.push(s) }, (ev) => events.push(ev));
  return { events, starts, handle, draws: () => events.flatMap((e) => (e.kind === 'winning_tickets' ? [e.draw] : [])) };
}

beforeAll(async () => {
  dn = await startDevnet({ nodes: 2, tickets: 160, blockInterval: { mode: 'manual' } });
  const [n0, n1] = dn.nodes as [Devnet['nodes'][0], Devnet['nodes'][0]];
  p0 = createNodeProxy(proxyCfg(n0));
  p1 = createNodeProxy(proxyCfg(n1));
  p2 = createNodeProxy(proxyCfg(n0, { ringSize: 8 }));
  [{ address: a0 }, { address: a1 }, { address: a2 }] = await Promise.all([p0.start(), p1.start(), p2.start()]);
  builder = makeVoteBuilder(dn);
  const vc = client(a0, 'auto-voter');
  tipHash = (await vc.getBestBlock()).hash;
  voter = startAutoVoter(vc, builder);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([p0?.stop(), p1?.stop(), p2?.stop()]);
  await dn?.stop();
});

describe('nodeproxy against the devnet', () => {
  it('delivers every winning-tickets notification to every watching client exactly once and in order; a client resuming by seq misses nothing', async () => {
    const raw = await rawWinningTickets(dn.nodes[0]!.wsUrl, dn.nodes[0]!.rpcUser, dn.nodes[0]!.rpcPass);
    const watchers = [
      ...Array.from({ length: 5 }, (_, i) => record(client(a0, `w0-${i}`))),
      ...Array.from({ length: 3 }, (_, i) => record(client(a1, `w1-${i}`))),
    ];
    await waitFor(() => watchers.every((w) => w.starts.length === 1), { message: 'streams started' });
    const resumer = record(client(a0, 'resumer'));
    const mined = await mineVoted(4);
    // Drop the resumer mid-run, keep mining, resume with its last seq + 1.
    await waitFor(() => resumer.draws().some((d) => d.blockHash === mined[3]), { message: 'resumer saw 4 draws' });
    resumer.handle.close();
    const lastSeq = resumer.handle.lastSeq;
    const epoch = resumer.handle.epoch as string;
    mined.push(...(await mineVoted(4)));
    const resumed = record(client(a0, 'resumer-2'), { fromSeq: lastSeq + 1, epoch });
    mined.push(...(await mineVoted(4)));
    const last = mined[mined.length - 1] as string;
    for (const w of [...watchers, resumed]) {
      await waitFor(() => w.draws().some((d) => d.blockHash === last), { timeoutMs: 10_000, message: 'every watcher sees the last draw' });
    }
    await waitFor(() => raw.got.some((g) => g.blockHash === last), { message: 'raw dcrd subscriber sees the last draw' });
    raw.close();
    // What dcrd notified, per block, for the blocks mined in this test.
    const expected = mined.map((h) => ({ blockHash: h, tickets: raw.got.find((g) => g.blockHash === h)?.tickets }));
    expect(expected.every((e) => e.tickets?.length === 5)).toBe(true);
    for (const w of watchers) {
      const draws = w.draws().filter((d) => mined.includes(d.blockHash));
      expect(draws.map((d) => ({ blockHash: d.blockHash, tickets: d.tickets }))).toEqual(expected);
      const seqs = w.events.map((e) => e.seq);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size).toBe(seqs.length);
      // Each draw names its own height and carries the header and trace context.
      for (const d of draws) {
        expect(d.header).toHaveLength(180);
        expect(d.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
        expect(d.network).toBe('simnet');
      }
    }
    // On one proxy, every stream carries the same seq for the same event.
    const bySeq = (w: (typeof watchers)[number]) => w.events.map((e) => `${e.seq}:${e.kind}`);
    for (const w of watchers.slice(1, 5)) expect(bySeq(w)).toEqual(bySeq(watchers[0]!));
    // The resumed stream continues exactly where the first one stopped.
    expect(resumed.starts[0]?.resumeStatus).toBe('resumed');
    const joined = [...resumer.events, ...resumed.events].map((e) => `${e.seq}:${e.kind}`);
    const reference = bySeq(watchers[0]!).filter((s) => Number(s.split(':')[0]) >= resumer.events[0]!.seq);
    expect(joined).toEqual(reference.slice(0, joined.length));
    expect(joined.length).toBe(reference.length);
  });

  it('reports a gap when the ring buffer no longer holds the requested seq', async () => {
    const c = client(a2, 'gap');
    const st = await c.getStatus();
    expect(Number(st.last_seq)).toBeGreaterThan(8);
    const r = record(c, { fromSeq: 1, epoch: st.epoch });
    await waitFor(() => r.starts.length === 1 && r.events.length >= 8, { message: 'replay of the ring' });
    const s = r.starts[0]!;
    expect(s.resumeStatus).toBe('gap');
    expect(s.missedFromSeq).toBe(1);
    expect(s.missedToSeq).toBe(s.oldestSeq - 1);
    expect(r.events[0]?.seq).toBe(s.oldestSeq);
    expect(r.events.map((e) => e.seq)).toEqual(Array.from({ length: r.events.length }, (_, i) => s.oldestSeq + i));
  });

  it('SendVote classifies accepted, duplicate (proxy and dcrd), conflict and rejected', async () => {
    const c0 = client(a0, 'sender-0');
    const c1 = client(a1, 'sender-1');
    // A fresh draw nobody votes on yet.
    voter.state.enabled = false;
    const tip = tipHash;
    await waitFor(() => voter.accepted(tip) >= 5, { timeoutMs: 10_000, message: 'votes for the tip' });
    [tipHash] = (await dn.generate(1)) as [string];
    const draw = await waitFor(() => (voter.latest()?.blockHash === tipHash ? voter.latest() : undefined), { message: 'fresh draw' });
    const [t0, t1] = draw.tickets as [string, string];

    const v0 = builder.build(draw, t0);
    const txid0 = hashToHex(txHash(decodeTx(v0)));
    const accepted = await c0.sendVote(v0);
    expect(accepted).toMatchObject({ status: 'ACCEPTED', txid: txid0 });
    expect(await c0.sendVote(v0)).toMatchObject({ status: 'DUPLICATE', txid: txid0, deduplicated_by_proxy: true });
    // Node 1 learns the vote by relay; P1 never sent it, so dcrd answers -40.
    await waitFor(() => c1.getRawTransaction(txid0), { message: 'vote relayed to node 1' });
    expect(await c1.sendVote(v0)).toMatchObject({ status: 'DUPLICATE', deduplicated_by_proxy: false, dcrd_code: -40 });
    // A different vote for the same ticket and block.
    expect(await c0.sendVote(builder.build(draw, t0, { voteBits: 0 }))).toMatchObject({ status: 'CONFLICT', dcrd_code: -1 });
    // dcrd's own rule check: a wrong stakebase (vote subsidy) is refused with its code and message.
    const bad = await c0.sendVote(builder.build(draw, t1, { subsidyDelta: 1n }));
    expect(bad).toMatchObject({ status: 'REJECTED', reject_code: VOTE_REJECT_CODES.DCRD_REJECTED });
    expect(bad.dcrd_code).not.toBe(0);
    expect(bad.message).not.toBe('');
    // Local refusals, without asking dcrd.
    const notDrawn = [...builder.tickets.keys()].find((t) => !draw.tickets.includes(t)) as string;
    expect(await c0.sendVote(builder.build(draw, notDrawn))).toMatchObject({ status: 'REJECTED', reject_code: VOTE_REJECT_CODES.TICKET_NOT_DRAWN });
    expect(await c0.sendVote(builder.build({ ...draw, blockHash: '11'.repeat(32) }, t1))).toMatchObject({
      status: 'REJECTED',
      reject_code: VOTE_REJECT_CODES.UNKNOWN_BLOCK,
    });
    expect(await c0.sendVote(Uint8Array.of(1, 2, 3))).toMatchObject({ status: 'REJECTED', reject_code: VOTE_REJECT_CODES.DECODE });
    const ticketTx = Buffer.from(builder.tickets.get(t1)!.ticketHex, 'hex');
    expect(await c0.sendVote(ticketTx)).toMatchObject({ status: 'REJECTED', reject_code: VOTE_REJECT_CODES.NOT_A_VOTE });
    await expect(c0.sendVote(new Uint8Array())).rejects.toMatchObject({ code: 'NODEPROXY_INVALID_REQUEST' });
    // Vote the rest normally.
    voter.state.enabled = true;
    voter.voteLatest();
  });

  it('a dcrd restart loses no draw, health follows the session, and accepted votes not yet mined are re-sent', async () => {
    const c1 = client(a1, 'restart');
    const w = record(c1);
    await waitFor(() => w.starts.length === 1, { message: 'P1 stream started' });
    // Votes for a fresh tip, through P1 only.
    voter.state.enabled = false;
    const tip = tipHash;
    await waitFor(() => voter.accepted(tip) >= 5, { timeoutMs: 10_000, message: 'votes for the tip' });
    [tipHash] = (await dn.generate(1)) as [string];
    const draw = await waitFor(() => (voter.latest()?.blockHash === tipHash ? voter.latest() : undefined), { message: 'fresh draw' });
    await waitFor(() => w.draws().some((d) => d.blockHash === draw.blockHash), { message: 'P1 sees the draw' });
    const results = await Promise.all(draw.tickets.map((t) => c1.sendVote(builder.build(draw, t))));
    expect(results.map((r) => r.status)).toEqual(Array(5).fill('ACCEPTED'));
    // The previous tip's votes leave once the proxy's deferred mined check (1 s) finds them mined.
    await waitFor(async () => (await c1.getStatus()).pending_votes === 5, { timeoutMs: 10_000, message: 'only the fresh draw\'s votes pending' });

    // Restart dcrd (node 1): P1 goes NOT_SERVING, reconnects, re-sends all five.
    const node1 = dn.nodes[1]!;
    await node1.stop();
    await waitFor(async () => (await healthCheck(a1, tls.clientPem)) === 'NOT_SERVING', { message: 'P1 NOT_SERVING while dcrd is down' });
    expect(await healthCheck(a0, tls.clientPem)).toBe('SERVING');
    expect((await c1.sendVote(builder.build(draw, draw.tickets[0]!, { voteBits: 5 }))).status).toBe('UNAVAILABLE');
    await node1.restart();
    await waitFor(async () => (await healthCheck(a1, tls.clientPem)) === 'SERVING', { timeoutMs: 10_000, message: 'P1 SERVING again' });
    await waitFor(async () => Number((await c1.getStatus()).votes_resent) >= 5, { timeoutMs: 10_000, message: 'pending votes re-sent' });

    // Mine while node 1 is down: the P1 stream must still see every block and the new tip's draw.
    await node1.stop();
    voter.state.enabled = true;
    voter.voteLatest();
    const mined = await mineVoted(3);
    await node1.restart();
    const last = mined[mined.length - 1] as string;
    await waitFor(() => w.draws().some((d) => d.blockHash === last), { timeoutMs: 15_000, message: 'P1 stream gets the draw of the tip mined while dcrd was down' });
    const connected = w.events.flatMap((e) => (e.kind === 'block_connected' ? [e.block.hash] : []));
    for (const h of mined) expect(connected.filter((x) => x === h)).toHaveLength(1);
    const drawHashes = w.draws().map((d) => d.blockHash);
    expect(new Set(drawHashes).size).toBe(drawHashes.length);
    // The re-sent votes were mined (or aged out) and are no longer kept.
    await waitFor(async () => (await c1.getStatus()).pending_votes === 0, { timeoutMs: 10_000, message: 'pending votes cleared' });
    // Every vote of the draw sent through P1 was mined: the devnet's judge says voted, with our txid.
    const entries = dn.report().tickets.filter((t) => t.blockHash === draw.blockHash);
    expect(entries.map((e) => e.ticketHash).sort()).toEqual([...draw.tickets].sort());
    for (const e of entries) {
      expect(e.outcome).toBe('voted');
      expect(e.minedVoteTxid).toBe(results[draw.tickets.indexOf(e.ticketHash)]?.txid);
    }
  });

  it('streams a competing tip\'s draw once and follows the reorg to it; votes for the losing block stop', async () => {
    const c0 = client(a0, 'reorg');
    const w = record(c0);
    await waitFor(() => w.starts.length === 1, { message: 'stream started' });
    voter.state.enabled = true;
    const mined = await mineVoted(1);
    const loser = mined[0] as string;
    await waitFor(() => voter.accepted(loser) >= 5, { timeoutMs: 10_000, message: 'votes for the soon-losing tip' });
    // A sibling of the tip: dcrd draws winners for it too (a tip candidate), without a blockconnected.
    const side = await dn.forkNextBlock();
    await waitFor(() => w.draws().some((d) => d.blockHash === side), { message: 'draw of the competing tip' });
    await waitFor(() => voter.accepted(side) >= 3, { timeoutMs: 10_000, message: 'votes for the competing tip' });
    // Extend the side chain: dcrd reorganizes to it.
    const [winner] = (await dn.mineOn(side, 1)) as [string];
    tipHash = winner;
    await waitFor(() => w.draws().some((d) => d.blockHash === winner), { message: 'draw after the reorg' });
    const after = w.events.slice(w.events.findIndex((e) => e.kind === 'winning_tickets' && e.draw.blockHash === side));
    expect(after.map((e) => `${e.kind}:${e.kind === 'winning_tickets' ? e.draw.blockHash : e.kind === 'tspend' ? e.tspend.hash : e.block.hash}`)).toEqual([
      `winning_tickets:${side}`,
      `block_disconnected:${loser}`,
      `block_connected:${side}`,
      `block_connected:${winner}`,
      `winning_tickets:${winner}`,
    ]);
    const drawHashes = w.draws().map((d) => d.blockHash);
    expect(new Set(drawHashes).size).toBe(drawHashes.length);
    // The losing block is no longer a tip candidate: a vote for it is refused locally.
    const loserDraw = w.draws().find((d) => d.blockHash === loser)!;
    const r = await c0.sendVote(builder.build(loserDraw, loserDraw.tickets[0]!, { voteBits: 5 }));
    expect(r).toMatchObject({ status: 'REJECTED', reject_code: VOTE_REJECT_CODES.STALE_BLOCK });
  });

  it('refuses a dcrd on another network', async () => {
    const p = createNodeProxy({ ...proxyCfg(dn.nodes[0]!), network: 'testnet3' });
    await expect(p.start()).rejects.toBeInstanceOf(DcrdWrongNetworkError);
    await p.stop();
  });

  it('refuses wrong credentials', async () => {
    const n = dn.nodes[0]!;
    const p = createNodeProxy(proxyCfg({ wsUrl: n.wsUrl, rpcUser: n.rpcUser, rpcPass: `${n.rpcPass}x` }));
    await expect(p.start()).rejects.toBeInstanceOf(DcrdAuthError);
    await p.stop();
  });

  it('refuses an incompatible JSON-RPC API version', async () => {
    // A test double of dcrd's `version` reply only: major 7 must be refused before anything else is asked.
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    const asked: string[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const req = JSON.parse(String(data)) as { id: number; method: string };
        asked.push(req.method);
        const result = req.method === 'version' ? { dcrdjsonrpcapi: { versionstring: '7.9.0', major: 7, minor: 9, patch: 0 } } : null;
        ws.send(JSON.stringify({ id: req.id, result, error: null }));
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    try {
      const p = createNodeProxy(proxyCfg({ wsUrl: `ws://127.0.0.1:${port}/ws`, rpcUser: 'u', rpcPass: 'p' }));
      const err = await p.start().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DcrdVersionError);
      expect((err as DcrdVersionError).code).toBe('NODEPROXY_DCRD_VERSION');
      expect(asked).toEqual(['version']);
      await p.stop();
    } finally {
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});
