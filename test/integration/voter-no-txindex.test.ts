/**
 * A voter behind a dcrd without `--txindex` (the devnet answering as such a
 * dcrd: getrawtransaction finds only mempool transactions, decred/dcrd
 * internal/rpcserver handleGetRawTransaction): real etcd, proxy and gRPC.
 * Every draw is voted and mined, and the voter's check of each signed vote
 * against the next block finds it there (the proxy reads that block), so no
 * vote is reported as unchecked or missed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../services/telemetry/index.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

const BLOCKS = 4;
let world: VoterWorld;
beforeAll(async () => {
  world = await startVoterWorld({ devnet: { nodes: 1, tickets: 32, txIndex: false } });
}, 60_000);
afterAll(() => world?.stop());

describe('voter with a dcrd without --txindex', () => {
  it(`votes ${BLOCKS} blocks; every signed vote is found mined in the next block`, async () => {
    const lines: Array<{ msg?: string; level?: number }> = [];
    const log = createLogger({ service: 'voter', level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as { msg?: string }) } });
    const v = world.makeVoter('a1', 'a', {}, { log });
    await v.start();
    await world.awaitPendingVotes(20_000);
    for (let i = 0; i < BLOCKS; i++) await world.mineAndAwaitVotes(20_000);
    // The voter checks a block's votes 1 s after its child connects.
    const signed = (): number => lines.filter((l) => l.msg === 'duty done').length;
    await new Promise((r) => setTimeout(r, 2_500));
    const r = world.managedReport();
    expect(r.missed).toBe(0);
    expect(r.conflicting).toBe(0);
    expect(signed()).toBeGreaterThanOrEqual(BLOCKS * 3);
    const msgs = lines.map((l) => l.msg ?? '');
    expect(msgs.filter((m) => m === 'could not check whether the vote was mined')).toEqual([]);
    expect(msgs.filter((m) => m.startsWith('ticket missed'))).toEqual([]);
  });
});
