/**
 * Treasury spends through a real proxy in front of the devnet: a tspend posted
 * before the proxy connected is found by the catch-up's `getrawmempool false
 * tspend`, a tspend posted later arrives by dcrd's `tspend` notification; each
 * is streamed once in WatchChain, and a stream opened later (live, no resume
 * point) gets both at once. A dcrd restart (reconnect + catch-up) does not
 * publish them again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMNET, encodeTx, hashToHex, toHex, txHash } from '../../services/decred/index.ts';
import { createTestTSpend, startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type ChainEvent, type NodeProxy, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { httpCall } from './devnet-rpc-client.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

let dn: Devnet;
let proxy: NodeProxy;
let c: NodeProxyClient;

const post = async (tag: number): Promise<string> => {
  const n = dn.nodes[0]!;
  const height = (await httpCall(n.rpcUrl, n.rpcUser, n.rpcPass, 'getblockcount')).result as number;
  const tx = createTestTSpend(SIMNET, { nextHeight: height + 1, tag });
  const r = await httpCall(n.rpcUrl, n.rpcUser, n.rpcPass, 'sendrawtransaction', [toHex(encodeTx(tx))]);
  expect(r.error).toBeNull();
  return hashToHex(txHash(tx));
};

const tspendsOf = (events: ChainEvent[]) => events.flatMap((e) => (e.kind === 'tspend' ? [e.tspend.hash] : []));

beforeAll(async () => {
  dn = await startDevnet({ nodes: 1, tickets: 32, blockInterval: { mode: 'manual' } });
}, 60_000);

afterAll(async () => {
  c?.close();
  await proxy?.stop();
  await dn?.stop();
});

describe('NodeProxy tspends', () => {
  it('backfills tspends on connect, streams new ones once, and replays the held ones to a new stream', async () => {
    const before = await post(1);
    const n = dn.nodes[0]!;
    proxy = createNodeProxy({
      network: 'simnet', listen: '127.0.0.1:0', tls: tls.proxy, resend: { intervalMs: 0, maxAgeBlocks: 2 },
      dcrd: { url: n.wsUrl, user: n.rpcUser, pass: n.rpcPass, reconnectMinMs: 20, reconnectMaxMs: 200 },
    });
    const { address } = await proxy.start();
    c = createNodeProxyClient(address, { clientId: 'tspend-test', tls: tls.clientPem });
    const first: ChainEvent[] = [];
    const h1 = c.watchChain({ fromHeight: 0 }, (ev) => first.push(ev));
    await waitFor(() => tspendsOf(first).includes(before), { message: 'backfilled tspend streamed' });
    const after = await post(2);
    await waitFor(() => tspendsOf(first).includes(after), { message: 'notified tspend streamed' });
    const ev = first.find((e) => e.kind === 'tspend' && e.tspend.hash === after);
    expect(ev?.kind === 'tspend' && ev.tspend.expiry).toBe(338);

    // A dcrd restart: reconnect and catch-up find both again in the mempool, publish neither twice.
    const r0 = (await c.getStatus()).reconnects;
    await n.restart();
    await waitFor(async () => {
      const s = await c.getStatus();
      return s.reconnects > r0 && s.dcrd_state === 'ready';
    }, { timeoutMs: 10_000, message: 'proxy reconnected and caught up' });
    // The catch-up was queued when the session became ready; a tspend notified now is handled after it.
    const third = await post(3);
    await waitFor(() => tspendsOf(first).includes(third), { message: 'tspend after the restart streamed' });
    expect(tspendsOf(first).sort()).toEqual([before, after, third].sort());

    // A new live stream (no resume point) gets the held tspends first.
    const second: ChainEvent[] = [];
    const h2 = c.watchChain({}, (e) => second.push(e));
    await waitFor(() => tspendsOf(second).length === 3, { message: 'held tspends replayed to a live stream' });
    expect(tspendsOf(second)).toEqual([before, after, third]);
    h1.close();
    h2.close();
  }, 60_000);
});
