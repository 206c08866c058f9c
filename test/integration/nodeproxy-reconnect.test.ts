/**
 * A client's WatchChain stream comes back quickly once a restarted proxy
 * listens again on the same address: real devnet, real proxies, real gRPC.
 * The proxy is stopped, stays down long enough for the client's reconnect
 * backoff to grow (3 s), then a new proxy starts on the same port; the time
 * from the new proxy listening to the client's next stream_start is measured
 * over several runs. The bound asserted is generous (a shared, loaded
 * machine); the measured numbers are printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxy } from '../../services/nodeproxy/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

const RUNS = Number(process.env['PROXY_RECONNECT_RUNS'] ?? 5);
const DOWN_MS = 3_000;
const log = createLogger({ service: 'nodeproxy', level: 'silent' });

let devnet: Devnet;
beforeAll(async () => {
  devnet = await startDevnet({ nodes: 1, tickets: 16 });
});
afterAll(async () => {
  await devnet?.stop();
});

function proxyAt(listen: string): NodeProxy {
  const n = devnet.nodes[0]!;
  return createNodeProxy({ network: 'simnet', dcrd: { url: n.wsUrl, user: n.rpcUser, pass: n.rpcPass }, listen, tls: tls.proxy, drainMs: 0 }, { logger: log });
}

describe('client reconnect to a restarted proxy', () => {
  it(`the stream is back soon after the proxy listens again (median of ${RUNS} runs)`, async () => {
    let proxy = proxyAt('127.0.0.1:0');
    const address = (await proxy.start()).address;
    const client = createNodeProxyClient(address, { clientId: 'reconnect-test', tls: tls.clientPem });
    const starts: number[] = [];
    const handle = client.watchChain({ autoResume: true, onStreamStart: () => starts.push(performance.now()) }, () => undefined);
    const samples: number[] = [];
    try {
      await waitFor(() => starts.length >= 1, { timeoutMs: 10_000, message: 'first stream_start' });
      for (let run = 0; run < RUNS; run++) {
        await proxy.stop();
        await new Promise((r) => setTimeout(r, DOWN_MS));
        proxy = proxyAt(address);
        const before = starts.length;
        await proxy.start();
        const listening = performance.now();
        await waitFor(() => starts.length > before, { timeoutMs: 30_000, message: 'stream back after the restart' });
        samples.push(Math.round((starts[before] as number) - listening));
      }
    } finally {
      handle.close();
      client.close();
      await proxy.stop();
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] as number;
    console.log(JSON.stringify({ test: 'proxy-reconnect', downMs: DOWN_MS, samplesMs: samples, medianMs: median }));
    expect(median).toBeLessThan(2_000);
  });
});
