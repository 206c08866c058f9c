/**
 * A ticket that enters the cluster while its draw is open is voted on that
 * draw, all real: etcd, the devnet (the judge), a node proxy over gRPC, two
 * voters. Three of the open draw's five winners are unknown to the cluster
 * when the voters hear the draw (a single dcrd cannot mine without three of
 * five votes, so the chain waits on them); they are imported afterwards, while
 * the draw is still open, and must be voted at once, by one signer through the
 * record-first path, mined in the next block, with no second different vote.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWif, SIMNET } from '../../services/decred/index.ts';
import { SecretKey } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

let world: VoterWorld;

beforeAll(async () => {
  world = await startVoterWorld({ devnet: { nodes: 1, tickets: 64 } });
}, 60_000);
afterAll(() => world?.stop());

describe('a ticket imported after its draw', () => {
  it('is voted on the open draw, mined in the next block, one vote, one signer', async () => {
    const { devnet, admin } = world;
    const pending = devnet.report().tickets.filter((t) => !t.sideChain && t.outcome === 'pending');
    const tip = Math.max(...pending.map((t) => t.height));
    const draw = pending.filter((t) => t.height === tip);
    expect(draw.length).toBe(5);
    const blockHash = draw[0]!.blockHash;
    // Three winners leave the cluster before any voter runs; two stay (they show the voters heard the draw).
    const late = draw.slice(0, 3).map((t) => t.ticketHash);
    const early = draw.slice(3).map((t) => t.ticketHash);
    for (const t of late) expect(await admin.tickets.removeTicket(t)).toBe(true);

    const voters = [world.makeVoter('a1', 'a'), world.makeVoter('b1', 'b')];
    await Promise.all(voters.map((v) => v.start()));
    const firstVote = (t: string) => devnet.report().tickets.find((x) => x.ticketHash === t && x.blockHash === blockHash)?.firstVoteAt;
    await waitFor(() => early.every((t) => firstVote(t) !== undefined), { timeoutMs: 20_000, message: 'the managed winners voted' });
    // The draw is open and heard; the late winners are not managed, so nothing voted them.
    expect(late.map(firstVote)).toEqual([undefined, undefined, undefined]);

    const exported = new Map(devnet.exportTickets().map((t) => [t.ticketHash, t]));
    for (const t of late) {
      const e = exported.get(t)!;
      const key = new SecretKey(decodeWif(e.wif, SIMNET).privKey);
      await admin.tickets.importTicket({ ticketHash: t, ticketHex: e.ticketHex, votingKey: key });
      key.wipe();
    }
    await waitFor(() => late.every((t) => firstVote(t) !== undefined), { timeoutMs: 15_000, message: 'the late winners voted on the open draw' });

    const [next] = await devnet.generate(1);
    await waitFor(() => devnet.report().tickets.some((t) => t.height === tip + 1), { timeoutMs: 10_000, message: 'next block' });
    const entries = devnet.report().tickets.filter((t) => t.blockHash === blockHash);
    for (const t of late) {
      const e = entries.find((x) => x.ticketHash === t)!;
      expect(e.outcome, t).toBe('voted');
      expect(e.distinctVotes, t).toBe(1);
    }
    expect(next).toBeTruthy();

    // One record per late ticket, from the record-first path (nothing was committed before the draw).
    const records = (await world.voteRecords()).filter((r) => r.blockHash === blockHash && late.includes(r.ticketHash)) as Array<{ ticketHash: string; signer: string; voteTxid: string; path?: string }>;
    expect(records.map((r) => r.ticketHash).sort()).toEqual([...late].sort());
    for (const r of records) {
      expect(r.path).toBe('record-first');
      expect(entries.find((x) => x.ticketHash === r.ticketHash)?.minedVoteTxid).toBe(r.voteTxid);
    }
    expect(devnet.report().conflicting).toBe(0);
  });
});
