/**
 * A vote that reaches a proxy before the proxy has seen its block (the voter heard the draw
 * from another region's proxy first; block relay to this dcrd is one WAN delay) waits for the
 * block's draw instead of being refused, so it lands at this dcrd the moment the block is
 * there (services/nodeproxy send-vote.ts, UNKNOWN_BLOCK_WAIT_MS). Real devnet, real gRPC:
 * proxy "late" reads its dcrd's notifications through a link that delays them 400 ms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeTx, hashToHex, txHash } from '../../services/decred/index.ts';
import { createWanLink, startDevnet, type Devnet, type WanLink } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, VOTE_REJECT_CODES, type NodeProxy, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeVoteBuilder, startAutoVoter } from './nodeproxy-harness.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

const NOTIFY_DELAY_MS = 400;

let dn: Devnet;
let link: WanLink;
const proxies: NodeProxy[] = [];
const clients: NodeProxyClient[] = [];

async function proxyAt(url: string, user: string, pass: string): Promise<NodeProxyClient> {
  const p = createNodeProxy({
    network: 'simnet', listen: '127.0.0.1:0', tls: tls.proxy, resend: { intervalMs: 0, maxAgeBlocks: 2 },
    dcrd: { url, user, pass, reconnectMinMs: 20, reconnectMaxMs: 200 },
  });
  proxies.push(p);
  const c = createNodeProxyClient((await p.start()).address, { clientId: `late-block-${proxies.length}`, tls: tls.clientPem });
  clients.push(c);
  return c;
}

beforeAll(async () => {
  dn = await startDevnet({ nodes: 1, tickets: 64, blockInterval: { mode: 'manual' } });
  const n = dn.nodes[0] as Devnet['nodes'][0];
  const u = new URL(n.wsUrl);
  link = await createWanLink({
    listenHost: '127.0.0.1', targetHost: u.hostname, targetPort: Number(u.port), delayMs: 0, jitterMs: 0, down: { delayMs: NOTIFY_DELAY_MS },
  });
  await proxyAt(n.wsUrl, n.rpcUser, n.rpcPass);
  await proxyAt(`ws://127.0.0.1:${link.port}${u.pathname}`, n.rpcUser, n.rpcPass);
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of proxies) await p.stop();
  await link?.close();
  await dn?.stop();
});

describe('SendVote for a block the proxy has not seen yet', () => {
  it('waits for the draw and is accepted; a block that never comes is refused after the wait', async () => {
    const [fast, late] = clients as [NodeProxyClient, NodeProxyClient];
    const builder = makeVoteBuilder(dn);
    const seen = startAutoVoter(fast, builder);
    try {
      // The current tip needs its votes before a block can be mined on it.
      const parent = (await fast.getBestBlock()).hash;
      await waitFor(() => seen.accepted(parent) >= 3, { timeoutMs: 15_000, message: 'votes on the current tip' });
      seen.state.enabled = false;
      const [tip] = (await dn.generate(1)) as [string];
      // The fast proxy announces the draw; the late one is still 400 ms behind.
      const draw = await waitFor(() => seen.draws.find((d) => d.blockHash === tip), { message: 'draw on the fast proxy' });
      const vote = builder.build(draw, draw.tickets[0] as string);
      const t0 = performance.now();
      const r = await late.sendVote(vote, { deadlineMs: 5_000 });
      const waited = performance.now() - t0;
      expect(r).toMatchObject({ status: 'ACCEPTED', txid: hashToHex(txHash(decodeTx(vote))) });
      // It waited for the late proxy's own draw (the notification delay), not for a re-send.
      expect(waited).toBeGreaterThan(NOTIFY_DELAY_MS / 4);
      expect(waited).toBeLessThan(NOTIFY_DELAY_MS + 1_000);
      // A block no proxy will ever see: refused once the wait is over.
      const bogus = await late.sendVote(builder.build({ ...draw, blockHash: '22'.repeat(32) }, draw.tickets[1] as string));
      expect(bogus).toMatchObject({ status: 'REJECTED', reject_code: VOTE_REJECT_CODES.UNKNOWN_BLOCK });
    } finally {
      seen.handle.close();
    }
  }, 60_000);
});
