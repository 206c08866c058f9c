/**
 * Untrusted input at the node proxy: a lying dcrd. A websocket relay sits between a real
 * node proxy and a devnet node (which speaks dcrd's JSON-RPC) and injects generated frames
 * into the proxy's session: text that is not JSON, JSON that is not JSON-RPC, notifications
 * with wrong shapes, headers of random bytes, draws for unknown blocks, unsolicited
 * responses. The proxy must drop each one (typed, counted), stay ready, stream only
 * well-formed events, and keep following the real chain: after every batch a real block is
 * mined and its real draw reaches a WatchChain client.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createNodeProxy, createNodeProxyClient, type ChainEvent, type NodeProxy, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeVoteBuilder } from '../integration/nodeproxy-harness.ts';
import { fuzzRuns, fuzzSeed } from './fuzz-runs.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

/** A relay in front of one dcrd that forwards everything and can inject frames toward the proxy. */
async function startLyingRelay(upstreamUrl: string, rewrite?: { winningtickets?: (params: unknown[]) => unknown[] }) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const downs = new Set<WebSocket>();
  wss.on('connection', (down: WebSocket, req: IncomingMessage) => {
    const up = new WebSocket(upstreamUrl, { headers: { authorization: req.headers.authorization ?? '' } });
    const early: string[] = [];
    downs.add(down);
    down.on('message', (d) => (up.readyState === WebSocket.OPEN ? up.send(String(d)) : early.push(String(d))));
    up.on('open', () => {
      for (const m of early.splice(0)) up.send(m);
    });
    up.on('message', (d) => {
      let text = String(d);
      const r = rewrite?.winningtickets;
      if (r) {
        const m = JSON.parse(text) as { method?: string; params?: unknown[] };
        if (m.method === 'winningtickets' && m.params) text = JSON.stringify({ ...m, params: r(m.params) });
      }
      if (down.readyState === WebSocket.OPEN) down.send(text);
    });
    const close = () => {
      downs.delete(down);
      up.close();
      down.close();
    };
    up.on('close', close);
    up.on('error', close);
    down.on('close', close);
    down.on('error', close);
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/ws`,
    inject(frame: string): void {
      for (const d of downs) if (d.readyState === WebSocket.OPEN) d.send(frame);
    },
    async stop(): Promise<void> {
      for (const d of downs) d.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
const anyJson = fc.jsonValue({ maxDepth: 3 });
const notification = (method: fc.Arbitrary<string>, params: fc.Arbitrary<unknown>) =>
  fc.record({ jsonrpc: fc.constant('1.0'), method, params, id: fc.constantFrom(null, undefined) }).map((m) => JSON.stringify(m));

/** One frame a lying dcrd might send. */
const frameArb: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 120 }),
  anyJson.map((v) => JSON.stringify(v)),
  notification(fc.constantFrom('blockconnected', 'blockdisconnected'), fc.oneof(fc.tuple(hex(180)), fc.tuple(hex(179)), fc.tuple(fc.string({ maxLength: 40 })), fc.array(anyJson, { maxLength: 3 }))),
  notification(
    fc.constant('winningtickets'),
    fc.oneof(
      fc.tuple(hex(32), fc.integer({ min: -5, max: 2 ** 40 }), fc.dictionary(fc.nat({ max: 9 }).map(String), hex(32), { maxKeys: 9 })),
      fc.tuple(fc.string({ maxLength: 70 }), anyJson, anyJson),
      fc.array(anyJson, { maxLength: 4 }),
    ),
  ),
  notification(fc.constant('tspend'), fc.oneof(fc.tuple(hex(200)), fc.tuple(fc.string({ maxLength: 80 })), fc.array(anyJson, { maxLength: 2 }))),
  notification(fc.string({ maxLength: 20 }), anyJson),
  // Unsolicited responses: ids the proxy never used.
  fc.record({ id: fc.oneof(fc.integer({ min: 1_000_000_000 }), fc.string({ maxLength: 8 })), result: anyJson, error: fc.constant(null) }).map((m) => JSON.stringify(m)),
);

let dn: Devnet;
let relay: Awaited<ReturnType<typeof startLyingRelay>>;
let proxy: NodeProxy;
let client: NodeProxyClient;
const events: ChainEvent[] = [];
let builder: ReturnType<typeof makeVoteBuilder>;
/** Votes the devnet accepted, per block hash. */
const accepted = new Map<string, number>();

/** Votes every real draw the watcher sees (enough votes for the devnet to mine on). */
function voteReal(ev: ChainEvent): void {
  if (ev.kind !== 'winning_tickets') return;
  for (const t of ev.draw.tickets) {
    let raw: Uint8Array;
    try {
      raw = builder.build(ev.draw, t);
    } catch {
      continue; // a ticket the devnet never sold: a lie the test itself injected
    }
    const block = ev.draw.blockHash;
    client.sendVote(raw, { deadlineMs: 5_000 }).then(
      (r) => {
        if (r.status === 'ACCEPTED' || r.status === 'DUPLICATE') accepted.set(block, (accepted.get(block) ?? 0) + 1);
      },
      () => undefined,
    );
  }
}

beforeAll(async () => {
  dn = await startDevnet({ nodes: 1, tickets: 160, blockInterval: { mode: 'manual' } });
  const node = dn.nodes[0]!;
  relay = await startLyingRelay(node.wsUrl);
  proxy = createNodeProxy({
    network: 'simnet',
    dcrd: { url: relay.url, user: node.rpcUser, pass: node.rpcPass, reconnectMinMs: 20, reconnectMaxMs: 200 },
    listen: '127.0.0.1:0', tls: tls.proxy,
    resend: { intervalMs: 0, maxAgeBlocks: 2 },
  });
  const { address } = await proxy.start();
  builder = makeVoteBuilder(dn);
  client = createNodeProxyClient(address, { clientId: 'fuzz', tls: tls.clientPem });
  client.watchChain({ fromHeight: 0 }, (ev) => {
    events.push(ev);
    voteReal(ev);
  });
  await waitFor(() => events.some((e) => e.kind === 'winning_tickets'), { message: 'first draw through the relay' });
});

afterAll(async () => {
  client?.close();
  await proxy?.stop();
  await relay?.stop();
  await dn?.stop();
});

/** Mines one block once the current tip has its votes, and waits for its real draw at the watcher. */
async function mineAndSeeDraw(): Promise<void> {
  const tip = (await client.getBestBlock()).hash;
  await waitFor(() => (accepted.get(tip) ?? 0) >= 3, { timeoutMs: 10_000, message: `votes for ${tip} accepted` });
  const [next] = (await dn.generate(1)) as [string];
  await waitFor(() => events.some((e) => e.kind === 'winning_tickets' && e.draw.blockHash === next && e.draw.tickets.length === 5), { timeoutMs: 10_000, message: `real draw of ${next} streamed` });
}

describe('a lying dcrd behind the node proxy', () => {
  it('drops every malformed frame, stays ready and keeps streaming the real chain', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 12 }), async (frames) => {
        for (const f of frames) relay.inject(f);
        await mineAndSeeDraw();
      }),
      { numRuns: fuzzRuns(15), seed: fuzzSeed() },
    );
    expect(proxy.status().dcrd_state).toBe('ready');
    for (const e of events) {
      if (e.kind === 'winning_tickets') {
        expect(e.draw.blockHash).toMatch(/^[0-9a-f]{64}$/);
        expect(e.draw.tickets.length).toBeLessThanOrEqual(5);
        expect(e.draw.header).toHaveLength(180);
      }
      if (e.kind === 'block_connected' || e.kind === 'block_disconnected') expect(e.block.header).toHaveLength(180);
    }
  });
});

describe('a dcrd that pads a real draw', () => {
  it('never streams a draw naming more tickets than a block draws', async () => {
    const node = dn.nodes[0]!;
    const extra = Buffer.alloc(32, 7).toString('hex');
    const padded = await startLyingRelay(node.wsUrl, {
      winningtickets: ([hash, height, tickets]) => [hash, height, { ...(tickets as Record<string, string>), 5: extra }],
    });
    const p = createNodeProxy({ network: 'simnet', dcrd: { url: padded.url, user: node.rpcUser, pass: node.rpcPass }, listen: '127.0.0.1:0', tls: tls.proxy });
    const c = createNodeProxyClient((await p.start()).address, { clientId: 'padded', tls: tls.clientPem });
    const seen: ChainEvent[] = [];
    c.watchChain({ fromHeight: 0 }, (ev) => seen.push(ev));
    try {
      await waitFor(() => seen.some((e) => e.kind === 'block_connected'), { message: 'padded proxy streams blocks' });
      await mineAndSeeDraw();
      await waitFor(async () => (await c.getBestBlock()).hash === (await client.getBestBlock()).hash, { message: 'padded proxy follows the tip' });
      expect(seen.filter((e) => e.kind === 'winning_tickets')).toEqual([]);
      expect(p.status().dcrd_state).toBe('ready');
    } finally {
      c.close();
      await p.stop();
      await padded.stop();
    }
  });
});
