/**
 * Treasury votes end to end, all real: etcd, the devnet (judge), a node proxy and
 * the Admin API over gRPC, a voter. Two signed simnet tspends are posted to the
 * devnet; policies are set through Admin (a global tspend policy, a per-ticket
 * override, a global Pi-key policy); the voter records the tspends its proxy
 * streams, and the votes on the first draw at or above the recorded `from`
 * height are mined with the
 * 'T','V' output carrying exactly the vote bytes of dcrwallet's lookup order,
 * and the vote records list the same treasury votes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterTicketStore, createAdminClient, startAdminGrpcServer } from '../../services/admin/index.ts';
import { SIMNET, encodeTx, hashFromHex, hashToHex, toHex, treasuryVoteScript, txHash } from '../../services/decred/index.ts';
import { createTestTSpend } from '../../services/sim/devnet/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { httpCall } from './devnet-rpc-client.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

let world: VoterWorld;
let admin: Awaited<ReturnType<typeof startAdminGrpcServer>>;
let client: ReturnType<typeof createAdminClient>;

const call = (method: string, req: Record<string, unknown>): Promise<unknown> =>
  new Promise((resolve, reject) => {
    (client[method] as (r: unknown, cb: (err: Error | null, res: unknown) => void) => void).call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
  });

const rpc = (method: string, params: unknown[] = []) => {
  const n = world.devnet.nodes[0]!;
  return httpCall(n.rpcUrl, n.rpcUser, n.rpcPass, method, params);
};

beforeAll(async () => {
  world = await startVoterWorld({ devnet: { nodes: 1, tickets: 32 } });
  // Mutual TLS as in production: the admin's certificate, an operator calling.
  admin = await startAdminGrpcServer({ store: clusterTicketStore(world.admin), params: SIMNET, log: world.log, recentVotes: 10 }, { host: '127.0.0.1', port: 0, tls: world.adminTls });
  client = createAdminClient(admin.address, { tls: world.operatorTls });
}, 60_000);

afterAll(async () => {
  client?.close();
  await admin?.stop();
  await world?.stop();
});

describe('treasury votes through admin, proxy, voter and devnet', () => {
  it('the mined votes carry the TV output with the vote byte of the policy lookup order', async () => {
    // Expiry 194 = 4 TVIs + 2: the window [48, 192] holds the next draws (SVH-1 = 143 on).
    const a = createTestTSpend(SIMNET, { nextHeight: 144, tag: 1, expiry: 194 });
    const b = createTestTSpend(SIMNET, { nextHeight: 144, tag: 2, expiry: 194 });
    for (const t of [a, b]) expect((await rpc('sendrawtransaction', [toHex(encodeTx(t))])).error).toBeNull();
    const [hashA, hashB] = [hashToHex(txHash(a)), hashToHex(txHash(b))];

    // The next draw's winners are not known yet, so every managed ticket gets policies that make
    // each vote byte come from a different level of the lookup order (decred/dcrwallet: wallet/wallet.go TSpendPolicy, TreasuryKeyPolicy):
    // (adjacent levels disagree, so a swap of any two levels changes some byte):
    //   global: tspend A no, Pi key no;  even tickets: tspend A yes;  odd tickets: Pi key yes.
    //   even: A = yes (1: ticket tspend beats 2: default tspend), B = no (4: default Pi key)
    //   odd:  A = no (2: default tspend beats 3: ticket Pi key), B = yes (3: ticket Pi key beats 4)
    const piKey = toHex(a.inputs[0]!.sigScript.slice(66, 99));
    await call('SetTSpendPolicy', { tspend_hash: hashA, policy: 'no', ticket_hash: '' });
    await call('SetTreasuryPolicy', { key: piKey, policy: 'no', ticket_hash: '' });
    const tickets = world.devnet.exportTickets().map((t) => t.ticketHash).sort();
    const even = new Set(tickets.filter((_, i) => i % 2 === 0));
    for (const t of tickets) {
      if (even.has(t)) await call('SetTSpendPolicy', { tspend_hash: hashA, policy: 'yes', ticket_hash: t });
      else await call('SetTreasuryPolicy', { key: piKey, policy: 'yes', ticket_hash: t });
    }
    // A stored abstain is no answer: odd ticket 1 still votes B yes from its Pi-key policy.
    await call('SetTSpendPolicy', { tspend_hash: hashB, policy: 'abstain', ticket_hash: tickets[1] });

    const v = world.makeVoter('v1', 'a');
    await v.start();
    await world.awaitPendingVotes(20_000);
    // Votes carry a tspend once the cluster recorded it (the voter records what its proxy
    // streams) and from its `from` height on: the cluster tip when recorded + 2.
    const recorded = await waitFor(() => {
      const rs = [hashA, hashB].map((h) => world.admin.tspends.get(h));
      return rs.every((r) => r !== undefined) ? rs : undefined;
    }, { timeoutMs: 10_000, message: 'both tspends recorded in the cluster' });
    const from = Math.max(...recorded.map((r) => r?.from ?? 0));
    let next: string;
    let height: number;
    do {
      next = await world.mineAndAwaitVotes(20_000); // block h: the votes on h - 1
      height = ((await rpc('getblock', [next, true])).result as { height: number }).height;
    } while (height < from + 1);
    const block = (await rpc('getblock', [next, true, true])).result as {
      stx: { txid: string; version: number; vin: { txid: string }[]; vout: { scriptPubKey: { hex: string } }[] }[];
    };
    const votes = block.stx.filter((s) => s.vin.length === 2);
    expect(votes.length).toBeGreaterThanOrEqual(3);
    const sorted = [hashA, hashB].sort();
    for (const vote of votes) {
      const ticket = vote.vin[1]!.txid;
      const byte = (h: string): 1 | 2 => ((h === hashA) === even.has(ticket) ? 1 : 2);
      expect(vote.version).toBe(3);
      expect(vote.vout.at(-1)!.scriptPubKey.hex).toBe(toHex(treasuryVoteScript(sorted.map((h) => ({ tspendHash: hashFromHex(h), vote: byte(h) })))));
    }

    // The records hold the same treasury votes.
    const records = await waitFor(async () => {
      const rs = (await world.voteRecords()) as unknown as Array<{ ticketHash: string; voteTxid: string; treasuryVotes: { tspendHash: string; vote: string }[] }>;
      const mine = rs.filter((r) => votes.some((x) => x.txid === r.voteTxid));
      return mine.length === votes.length ? mine : undefined;
    }, { timeoutMs: 10_000, message: 'vote records of the mined votes' });
    for (const r of records) {
      expect(r.treasuryVotes).toEqual(sorted.map((h) => ({ tspendHash: h, vote: (h === hashA) === even.has(r.ticketHash) ? 'yes' : 'no' })));
    }
    // Every draw of the managed tickets voted, nothing conflicting.
    expect(world.managedReport()).toMatchObject({ missed: 0, conflicting: 0 });
  }, 90_000);

  it('two voters building every vote independently (all-vote) make byte-identical treasury votes: no conflicts', async () => {
    await Promise.all(world.voters.map((v) => v.stop()));
    const voters = [world.makeVoter('all-a', 'a', { strategy: 'all-vote' }), world.makeVoter('all-b', 'b', { strategy: 'all-vote' })];
    await Promise.all(voters.map((v) => v.start()));
    let last = '';
    for (let i = 0; i < 2; i++) last = await world.mineAndAwaitVotes(20_000);
    const block = (await rpc('getblock', [last, true, true])).result as { stx: { version: number; vin: unknown[] }[] };
    const votes = block.stx.filter((s) => s.vin.length === 2);
    expect(votes.length).toBeGreaterThanOrEqual(3);
    expect(votes.every((v) => v.version === 3)).toBe(true);
    // A second, different vote for a (ticket, block) would be counted as conflicting by the judge.
    expect(world.managedReport()).toMatchObject({ missed: 0, conflicting: 0 });
  }, 90_000);
});
