/**
 * The node proxy's re-send passes outlive a dcrd connection lost in the middle of one. A pass
 * reads dcrd's mempool, then the voted block's child (getblock) to see which pending votes
 * are mined; when dcrd goes away between the two (the devnet closes the connection instead of
 * answering getblock), that pass ends with nothing decided, nothing is left rejected, and the
 * passes after it still run: a vote dcrd later loses (a dcrd restart empties its vote
 * mempool) is re-sent. Real devnet, real proxy, real gRPC with mutual TLS, real signed votes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type ClientDraw, type NodeProxy, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startTestTls } from '../harness/tls.ts';
import { makeVoteBuilder } from './nodeproxy-harness.ts';

const tls = await startTestTls();
afterAll(() => tls.stop());
const log = createLogger({ service: 'nodeproxy', level: (process.env['PROXY_TEST_LOG'] as 'info' | undefined) ?? 'silent' });

describe('re-send passes when dcrd goes away mid-pass', () => {
  let devnet: Devnet;
  let proxy: NodeProxy;
  let client: NodeProxyClient;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    devnet = await startDevnet({ nodes: 1, tickets: 32 });
    const n = devnet.nodes[0]!;
    proxy = createNodeProxy(
      { network: 'simnet', dcrd: { url: n.wsUrl, user: n.rpcUser, pass: n.rpcPass }, listen: '127.0.0.1:0', tls: tls.proxy, drainMs: 0, resend: { intervalMs: 200, maxAgeBlocks: 4 } },
      { logger: log },
    );
    client = createNodeProxyClient((await proxy.start()).address, { clientId: 'resend-cut-test', tls: tls.clientPem });
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    client?.close();
    await proxy?.stop();
    await devnet?.stop();
  });

  /** Votes every ticket of the current tip's draw through the proxy; returns the draw. */
  async function voteTip(builder: ReturnType<typeof makeVoteBuilder>): Promise<ClientDraw> {
    const draws: ClientDraw[] = [];
    const h = client.watchChain({ fromHeight: 0 }, (ev) => {
      if (ev.kind === 'winning_tickets') draws.push(ev.draw);
    });
    try {
      const best = await client.getBestBlock();
      const draw = await waitFor(() => draws.find((d) => d.blockHash === best.hash), { timeoutMs: 10_000, message: 'tip draw' });
      for (const t of draw.tickets) {
        const r = await client.sendVote(builder.build(draw, t), { deadlineMs: 5_000 });
        expect(['ACCEPTED', 'DUPLICATE']).toContain(r.status);
      }
      return draw;
    } finally {
      h.close();
    }
  }

  it('a pass cut off reading the child block ends quietly; later passes still re-send what dcrd lost', async () => {
    const builder = makeVoteBuilder(devnet);
    const node = devnet.nodes[0]!;
    await voteTip(builder);
    // The next block mines those votes; the pass that then looks for them in that block loses
    // its dcrd connection instead of an answer.
    node.dropConnectionOn('getblock', 1);
    await devnet.generate(1);
    await waitFor(() => proxy.status().reconnects >= 1, { timeoutMs: 15_000, message: 'the proxy lost dcrd mid-pass and reconnected' });
    await waitFor(() => proxy.status().dcrd_state === 'ready', { timeoutMs: 15_000, message: 'the proxy synced again' });

    // Votes on the new tip, then a dcrd restart: its vote mempool is empty, the proxy must re-send them.
    const draw = await voteTip(builder);
    const resentBefore = Number(proxy.status().votes_resent);
    await node.restart();
    await waitFor(() => Number(proxy.status().votes_resent) >= resentBefore + draw.tickets.length, {
      timeoutMs: 20_000,
      message: 'the lost votes re-sent after the restart',
    });
    await devnet.generate(1);
    const report = devnet.report();
    expect(report.missed).toBe(0);
    expect(report.conflicting).toBe(0);
    expect(unhandled).toEqual([]);
  }, 90_000);
});
