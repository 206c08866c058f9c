/**
 * GetBlockVotes against the devnet (a real dcrd-compatible node behind a real proxy): the votes
 * on one block, first from dcrd's mempool, then from the main-chain child that mined them. The
 * votes are built and signed by the test (real buildVote/signVote with the devnet's keys) and
 * judged here with services/decred, independent of the proxy's own parsing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTx, hashToHex, parseVote, txHash } from '../../services/decred/index.ts';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxy, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeVoteBuilder, startAutoVoter } from './nodeproxy-harness.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

let dn: Devnet;
let proxy: NodeProxy;
let c: NodeProxyClient;
let voter: ReturnType<typeof startAutoVoter>;

beforeAll(async () => {
  dn = await startDevnet({ nodes: 1, tickets: 64, blockInterval: { mode: 'manual' } });
  const n = dn.nodes[0] as Devnet['nodes'][0];
  proxy = createNodeProxy({
    network: 'simnet', listen: '127.0.0.1:0', tls: tls.proxy, resend: { intervalMs: 0, maxAgeBlocks: 2 },
    dcrd: { url: n.wsUrl, user: n.rpcUser, pass: n.rpcPass, reconnectMinMs: 20, reconnectMaxMs: 200 },
  });
  const { address } = await proxy.start();
  c = createNodeProxyClient(address, { clientId: 'block-votes-test', tls: tls.clientPem });
  voter = startAutoVoter(c, makeVoteBuilder(dn));
}, 60_000);

afterAll(async () => {
  voter?.handle.close();
  c?.close();
  await proxy?.stop();
  await dn?.stop();
});

describe('GetBlockVotes', () => {
  it('returns the votes on a block from the mempool, then from the child block that mined them', async () => {
    const tip = (await c.getBestBlock()).hash;
    await waitFor(() => voter.accepted(tip) >= 5, { timeoutMs: 15_000, message: 'the tip\'s 5 votes accepted' });
    const draw = voter.draws.find((d) => d.blockHash === tip);
    expect(draw).toBeDefined();
    const judge = (votes: Awaited<ReturnType<NodeProxyClient['getBlockVotes']>>): void => {
      expect(votes.map((v) => v.ticket).sort()).toEqual([...(draw?.tickets ?? [])].sort());
      for (const v of votes) {
        const tx = decodeTx(v.raw);
        const info = parseVote(tx);
        expect(hashToHex(txHash(tx))).toBe(v.txid);
        expect(hashToHex(info.ticketHash)).toBe(v.ticket);
        expect(hashToHex(info.blockHash)).toBe(tip);
        expect(info.blockHeight).toBe(draw?.height);
      }
    };
    const inPool = await c.getBlockVotes(tip, draw?.height as number);
    judge(inPool);
    expect(inPool.every((v) => v.minedIn === undefined)).toBe(true);

    const [child] = (await dn.generate(1)) as [string];
    const mined = await waitFor(async () => {
      const v = await c.getBlockVotes(tip, draw?.height as number);
      return v.length === 5 && v.every((x) => x.minedIn === child) ? v : undefined;
    }, { timeoutMs: 10_000, message: 'the votes reported as mined in the child' });
    judge(mined);
    expect(mined.map((v) => v.txid).sort()).toEqual(inPool.map((v) => v.txid).sort());

    // Another height or an unknown block: no votes; a malformed hash: a typed error.
    expect(await c.getBlockVotes(tip, (draw?.height as number) + 7)).toEqual([]);
    expect(await c.getBlockVotes('ab'.repeat(32), draw?.height as number)).toEqual([]);
    await expect(c.getBlockVotes('xyz', 1)).rejects.toMatchObject({ code: 'NODEPROXY_INVALID_REQUEST' });
  }, 60_000);
});
