/**
 * Devnet relay through the userspace WAN link: a miner in region a
 * and a follower in region b whose only way to the miner is a 40 ms ± 5 ms link.
 * The follower catches up with the miner's tip, a vote sent to the follower is
 * relayed to the miner about one one-way delay later and mined, and the block
 * comes back about one one-way delay after it was mined.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMNET, encodeTx, toHex } from '../../services/decred/index.ts';
import { createWanTopology, startDevnetNode, type StandaloneDevnetNode, type WanTopology } from '../../services/sim/devnet/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { WsRpc, httpCall, makeVote } from './devnet-rpc-client.ts';

const DELAY_MS = 40;
const JITTER_MS = 5;

describe('devnet follower behind a 40 ms WAN link', () => {
  let wan: WanTopology;
  let miner: StandaloneDevnetNode;
  let follower: StandaloneDevnetNode;
  let followerWs: WsRpc;
  const creds = { rpcUser: 'wan', rpcPass: 'wan-relay-test' };

  beforeAll(async () => {
    wan = createWanTopology({ regions: ['a', 'b'], delayMs: DELAY_MS, jitterMs: JITTER_MS });
    miner = await startDevnetNode({ ...creds, miner: true, host: '127.0.1.1', seed: 'wan-relay', tickets: 64 });
    const via = await wan.reach('b', 'a', '127.0.1.1', Number(new URL(miner.wsUrl).port));
    follower = await startDevnetNode({ ...creds, miner: false, host: '127.0.2.1', index: 1, seed: 'wan-relay', peers: [`ws://${via.host}:${via.port}/ws`] });
  });
  afterAll(async () => {
    followerWs?.close();
    await follower?.stop();
    await miner?.stop();
    await wan?.close();
  });

  it('catches up with the miner through the link, and reports no history as draws', async () => {
    await waitFor(() => follower.height === miner.height, { timeoutMs: 10_000, message: 'follower reaches the miner tip' });
    expect(follower.height).toBeGreaterThan(SIMNET.stakeValidationHeight - 2);
    const [link] = wan.links();
    expect(link!.link.stats().bytes.down).toBeGreaterThan(100_000); // the bootstrap chain crossed the link
    // Only the tip it synced to is a draw at the follower (5 winners), not the bootstrap history.
    await waitFor(() => follower.report().tickets.length === 5, { message: 'follower records the tip draw once synced' });
    expect(new Set(follower.report().tickets.map((t) => t.height))).toEqual(new Set([miner.height]));
  });

  it('relays votes to the miner one one-way delay later, mines them, and relays the block back', async () => {
    followerWs = await WsRpc.open(follower.wsUrl, { user: creds.rpcUser, pass: creds.rpcPass });
    expect((await followerWs.call('notifyblocks')).error).toBeNull();
    const tip = (await httpCall(follower.rpcUrl, creds.rpcUser, creds.rpcPass, 'getbestblockhash')).result as string;
    const byHash = new Map(miner.exportTickets().map((t) => [t.ticketHash, t]));
    const draws = miner.report().tickets.filter((t) => t.blockHash === tip);
    expect(draws).toHaveLength(5);
    const ids: string[] = [];
    for (const d of draws) {
      const r = await httpCall(follower.rpcUrl, creds.rpcUser, creds.rpcPass, 'sendrawtransaction', [toHex(encodeTx(makeVote(byHash.get(d.ticketHash)!, tip, d.height)))]);
      expect(r.error).toBeNull();
      ids.push(r.result as string);
    }
    await waitFor(() => miner.report().tickets.filter((t) => t.blockHash === tip && t.firstVoteAt !== undefined).length === 5, { message: 'votes reach the miner' });
    const atFollower = new Map(follower.report().tickets.map((t) => [t.ticketHash, t.firstVoteAt!]));
    const relayMs = miner.report().tickets.filter((t) => t.blockHash === tip).map((t) => t.firstVoteAt! - atFollower.get(t.ticketHash)!);
    // Date.now() has 1 ms resolution; the link never delivers before delay - jitter.
    for (const ms of relayMs) expect(ms).toBeGreaterThanOrEqual(DELAY_MS - JITTER_MS - 1);
    expect(Math.min(...relayMs)).toBeLessThan(DELAY_MS + JITTER_MS + 250); // loose: a loaded CI box

    const minedAt = Date.now();
    const [next] = await miner.generate(1);
    const note = await waitFor(() => followerWs.notifications.find((n) => n.method === 'blockconnected'), { message: 'block reaches the follower' });
    const arrivedMs = Date.now() - minedAt;
    expect(arrivedMs).toBeGreaterThanOrEqual(DELAY_MS - JITTER_MS - 1);
    expect(typeof note.params[0]).toBe('string');
    await waitFor(() => follower.height === miner.height, { message: 'follower on the new tip' });
    const block = (await httpCall(follower.rpcUrl, creds.rpcUser, creds.rpcPass, 'getblock', [next])).result as { stx: string[] };
    for (const id of ids) expect(block.stx).toContain(id);
    const settled = miner.report().tickets.filter((t) => t.blockHash === tip);
    expect(settled.map((t) => t.outcome)).toEqual(['voted', 'voted', 'voted', 'voted', 'voted']);
  });
});
