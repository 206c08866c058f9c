/**
 * What the node proxy asks dcrd, with and without dcrd's transaction index
 * (the devnet answers as dcrd does: without `--txindex` getrawtransaction
 * finds only mempool transactions and answers -32603 for any other, decred/dcrd
 * internal/rpcserver handleGetRawTransaction). Real devnet, real proxies,
 * real gRPC, real signed votes:
 * - votes dcrd holds or has mined are never sent to it again (the proxy's
 *   re-send pass reads dcrd's mempool and the next block), and mined votes
 *   leave the proxy's re-send list, with or without the index;
 * - a mined ticket is found through the block that holds it when dcrd has no
 *   index, and a lookup that names no block says clearly that the index is
 *   needed;
 * - after a proxy restart, a voter's re-sent vote for an earlier block is
 *   passed to dcrd (which answers -40: it has it) instead of being refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import {
  createNodeProxy, createNodeProxyClient, TxIndexRequiredError, type ClientDraw, type NodeProxy, type NodeProxyClient,
} from '../../services/nodeproxy/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeVoteBuilder, startAutoVoter } from './nodeproxy-harness.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

const log = createLogger({ service: 'nodeproxy', level: (process.env['PROXY_TEST_LOG'] as 'info' | undefined) ?? 'silent' });
const BLOCKS = 6;

describe.each([
  { txIndex: true, name: 'dcrd with --txindex' },
  { txIndex: false, name: 'dcrd without --txindex' },
])('$name', ({ txIndex }) => {
  let devnet: Devnet;
  let proxy: NodeProxy;
  let client: NodeProxyClient;

  const startProxy = async (listen = '127.0.0.1:0'): Promise<string> => {
    const n = devnet.nodes[0]!;
    proxy = createNodeProxy(
      { network: 'simnet', dcrd: { url: n.wsUrl, user: n.rpcUser, pass: n.rpcPass }, listen, tls: tls.proxy, drainMs: 0, resend: { intervalMs: 200, maxAgeBlocks: 2 } },
      { logger: log },
    );
    return (await proxy.start()).address;
  };

  beforeAll(async () => {
    devnet = await startDevnet({ nodes: 1, tickets: 32, txIndex });
    client = createNodeProxyClient(await startProxy(), { clientId: 'holds-test', tls: tls.clientPem });
  });
  afterAll(async () => {
    client?.close();
    await proxy?.stop();
    await devnet?.stop();
  });

  it(`votes of ${BLOCKS} blocks: each sent to dcrd once, mined ones leave the proxy's list, none re-sent`, async () => {
    const auto = startAutoVoter(client, makeVoteBuilder(devnet));
    try {
      for (let i = 0; i < BLOCKS; i++) {
        await waitFor(() => {
          const d = auto.latest();
          return d !== undefined && auto.accepted(d.blockHash) === d.tickets.length;
        }, { timeoutMs: 10_000, message: 'every vote of the tip accepted' });
        // Several re-send passes (every 200 ms) while dcrd holds the votes.
        await new Promise((r) => setTimeout(r, 600));
        await devnet.generate(1);
      }
      await waitFor(() => auto.accepted(auto.latest()!.blockHash) === auto.latest()!.tickets.length, { timeoutMs: 10_000, message: 'last draw voted' });
      // Mined votes leave the list one mined check after their child (1 s); the tip's and its parent's may stay.
      await waitFor(() => proxy.status().pending_votes <= 10, { timeoutMs: 10_000, message: 'mined votes dropped from the re-send list' });
    } finally {
      auto.handle.close();
    }
    const report = devnet.report();
    expect(report.missed).toBe(0);
    expect(report.conflicting).toBe(0);
    expect(proxy.status().votes_resent).toBe('0');
  });

  it('finds a mined ticket through its block; without the index and without a block it says the index is needed', async () => {
    const t = devnet.exportTickets()[0]!;
    const found = await client.getTransactionBlock(t.ticketHash, { blockHash: t.blockHash });
    expect(Buffer.from(found.raw).toString('hex')).toBe(t.ticketHex);
    expect(found.blockHash).toBe(t.blockHash);
    expect(found.blockHeight).toBe(t.blockHeight);
    if (txIndex) {
      expect(Buffer.from(await client.getRawTransaction(t.ticketHash)).toString('hex')).toBe(t.ticketHex);
    } else {
      const err = await client.getRawTransaction(t.ticketHash).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TxIndexRequiredError);
      expect((err as Error).message).toContain('--txindex');
    }
  });

  it('after a proxy restart a re-sent vote for an earlier block goes to dcrd (-40), not refused as unknown', async () => {
    const builder = makeVoteBuilder(devnet);
    // The tip's draw (the last one the proxy replays), voted in full through the first proxy.
    const draws: ClientDraw[] = [];
    const h = client.watchChain({ fromHeight: 0 }, (ev) => {
      if (ev.kind === 'winning_tickets') draws.push(ev.draw);
    });
    const best = await client.getBestBlock();
    const draw = await waitFor(() => draws.find((d) => d.blockHash === best.hash), { timeoutMs: 10_000, message: 'tip draw' });
    h.close();
    for (const t of draw.tickets) {
      const r = await client.sendVote(builder.build(draw, t), { deadlineMs: 5_000 });
      expect(['ACCEPTED', 'DUPLICATE']).toContain(r.status);
    }
    await devnet.generate(1); // the draw's block now has a child: its votes are mined
    await proxy.stop();
    const address = await startProxy('127.0.0.1:0');
    const c2 = createNodeProxyClient(address, { clientId: 'holds-test-2', tls: tls.clientPem });
    try {
      await waitFor(async () => (await c2.getStatus()).serving, { timeoutMs: 10_000, message: 'restarted proxy serving' });
      const r = await c2.sendVote(builder.build(draw, draw.tickets[0]!), { deadlineMs: 5_000 });
      expect(r.status).toBe('DUPLICATE');
      expect(r.dcrd_code).toBe(-40);
      expect(r.deduplicated_by_proxy).toBe(false);
    } finally {
      c2.close();
    }
  });
});
