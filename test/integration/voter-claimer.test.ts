/**
 * The voter's Claimer against real etcd (docs/architecture.md, invariant 1): each node
 * claims exactly the tickets whose rank 0 it is (myShare + batched claimMany),
 * a joining node takes its share over (the others hand it over in batched,
 * revision- and lease-guarded txns once it accepts claims: no claim ever
 * disappears), a leaving node hands its claims to the next node before its
 * lease goes, and a sweep
 * over 3,000 tickets never blocks the event loop for long (it yields every
 * 1,000 tickets). The unowned-tickets count is exact at start and follows the
 * caches' change events (claims, releases, new tickets) without recounting;
 * settled, no node holds a surplus claim (one whose rank 0 is another node).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClusterKey, openCluster, rankNodes, type Cluster, type ImportTicketInput } from '../../services/cluster/index.ts';
import { SecretKey, createLogger } from '../../services/telemetry/index.ts';
import { Claimer, clusterClaimPort, type ClaimPort } from '../../services/voter/claimer.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';

const N_TICKETS = 3_000;
const clusterKey = generateClusterKey().expose().slice();
const log = createLogger({ service: 'test', level: (process.env['VOTER_TEST_LOG'] as 'info' | undefined) ?? 'silent' });

let etcd: TestEtcd;
const opened: Cluster[] = [];
const claimers: Claimer[] = [];

/** Ticket hash for i: hex of a 32-byte label (not produced by the code under test). */
function th(i: number): string {
  return Buffer.from(`claim:${i}`.padEnd(32, '.').slice(0, 32)).toString('hex');
}

async function node(nodeId: string, region: string): Promise<{ c: Cluster; claimer: Claimer; port: ClaimPort }> {
  const c = await openCluster({ endpoints: etcd.endpoints, etcdAccess: etcd.access('voter'), network: 'simnet', nodeId, region, clusterKey, leaseTtlSec: 5 });
  opened.push(c);
  const port = clusterClaimPort(c, () => c.membership.isLeaseFresh());
  const claimer = new Claimer(port, log, { debounceMs: 50, periodMs: 5_000 });
  claimers.push(claimer);
  return { c, claimer, port };
}

/** Unowned tickets counted from etcd itself: ticket keys without an owners/ key. */
async function unownedInEtcd(c: Cluster): Promise<number> {
  // Ticket records only: not the cluster tip's marker (tickets/chain-tip).
  const tickets = (await c.client.getAll().prefix(c.keyspace.ticketsPrefix()).keys()).filter((k) => c.keyspace.ticketHashOf(k) !== undefined);
  const claims = await claimsInEtcd(c);
  return tickets.filter((k) => !claims.has(k.slice(c.keyspace.ticketsPrefix().length))).length;
}

/** Every ticket's claim in etcd (ticket hash -> node id), read directly. */
async function claimsInEtcd(c: Cluster): Promise<Map<string, string>> {
  const all = await c.client.getAll().prefix(c.keyspace.ownersPrefix()).strings();
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(all)) out.set(k.slice(c.keyspace.ownersPrefix().length), (JSON.parse(v) as { nodeId: string }).nodeId);
  return out;
}

beforeAll(async () => {
  etcd = await startTestEtcd();
  const admin = await openCluster({ endpoints: etcd.endpoints, etcdAccess: etcd.access('admin'), network: 'simnet', nodeId: 'admin', region: 'a', clusterKey, join: false });
  const inputs: ImportTicketInput[] = Array.from({ length: N_TICKETS }, (_, i) => ({
    ticketHash: th(i), ticketHex: `0100${i.toString(16).padStart(8, '0')}`, votingKey: new SecretKey(new Uint8Array(32).fill((i % 250) + 1)),
  }));
  const res = await admin.tickets.importTickets(inputs);
  expect(res.every((r) => r.imported === true)).toBe(true);
  await admin.close();
}, 60_000);

afterAll(async () => {
  for (const cl of claimers) await cl.stop();
  for (const c of opened) await c.close();
  await etcd?.stop();
});

describe('voter claimer', () => {
  it('claims each rank-0 share in batches, rebalances when a node joins, and keeps the event loop responsive', async () => {
    const a = await node('a1', 'a');
    const b = await node('b1', 'b');
    await waitFor(() => a.c.membership.liveNodes().length === 2 && b.c.membership.liveNodes().length === 2, { message: 'two live nodes' });
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    expect(a.claimer.unowned).toBeUndefined();
    a.claimer.start();
    // Counted once at start (nothing is claimed yet), then only changed by events.
    expect(a.claimer.unowned).toBe(N_TICKETS);
    b.claimer.start();
    await Promise.all([a.claimer.ready, b.claimer.ready]);
    lag.disable();
    // `ready`: the won claims are visible in the node's own owner cache (the fast path reads it).
    const ownerBy = (live: Cluster[]) => (t: string): string => rankNodes(t, live.flatMap((c) => c.membership.liveNodes().filter((n) => n.nodeId === c.membership.nodeId)))[0]!.nodeId;
    const expected2 = ownerBy([a.c, b.c]);
    const aShare = Array.from({ length: N_TICKETS }, (_, i) => th(i)).filter((t) => expected2(t) === 'a1');
    expect(aShare.length).toBeGreaterThan(N_TICKETS / 3);
    expect(a.c.owners.ownedByMe().sort()).toEqual(aShare.sort());
    // Every ticket is claimed by its rank-0 node, and only once (etcd keys are unique).
    await waitFor(async () => (await claimsInEtcd(a.c)).size === N_TICKETS, { timeoutMs: 10_000, message: 'all tickets claimed' });
    for (const [t, owner] of await claimsInEtcd(a.c)) expect(owner).toBe(expected2(t));
    // Batched: a handful of sweeps, not one per ticket; no long event-loop stall while ranking 3k tickets.
    expect(a.claimer.stats().claimed).toBe(aShare.length);
    expect(lag.max / 1e6).toBeLessThan(1_000);
    await waitFor(() => a.claimer.unowned === 0 && b.claimer.unowned === 0, { message: 'unowned counts reach 0 through claim events' });

    // A third node joins: a1 and b1 hand its share straight to it (no claim ever disappears).
    let vanished = 0;
    const unsubVanish = a.port.onClaimChange((_t, claimed) => {
      if (!claimed) vanished++;
    });
    const c = await node('c1', 'c');
    await waitFor(() => c.c.membership.liveNodes().length === 3, { message: 'three live nodes' });
    c.claimer.start();
    const expected3 = (t: string): string => rankNodes(t, c.c.membership.liveNodes())[0]!.nodeId;
    const cShare = Array.from({ length: N_TICKETS }, (_, i) => th(i)).filter((t) => expected3(t) === 'c1');
    await waitFor(async () => {
      const claims = await claimsInEtcd(c.c);
      if (claims.size !== N_TICKETS) return false;
      for (const [t, owner] of claims) if (owner !== expected3(t)) return false;
      return true;
    }, { timeoutMs: 20_000, intervalMs: 200, message: 'claims follow the 3-node ranking' });
    await waitFor(() => c.c.owners.ownedByMe().length === cShare.length, { message: 'c1 sees its claims' });
    expect(a.claimer.stats().released + b.claimer.stats().released).toBe(cShare.length);
    // Handed over, not released and re-claimed: c1 created no claim, and no ticket was ever unowned.
    expect(c.claimer.stats().claimed).toBe(0);
    await c.claimer.ready;
    unsubVanish();
    expect(vanished).toBe(0);
    const all = [a, b, c];
    // Releases and re-claims moved the counts both ways; settled, they equal etcd's and a recount.
    await waitFor(() => all.every((n) => n.claimer.unowned === 0), { message: 'unowned 0 after the rebalance' });
    expect(await unownedInEtcd(a.c)).toBe(0);
    // Settled: no node holds a claim that belongs to another rank-0 node.
    await waitFor(() => all.every((n) => n.claimer.surplus() === 0), { message: 'no surplus claims after the rebalance' });

    // New tickets: counted as unowned when they appear (the claim follows), then claimed.
    const admin = await openCluster({ endpoints: etcd.endpoints, etcdAccess: etcd.access('admin'), network: 'simnet', nodeId: 'admin2', region: 'a', clusterKey, join: false });
    opened.push(admin);
    const seen: number[] = [];
    const unsub = a.port.onManagedChange(() => seen.push(a.claimer.unowned as number));
    const extra = Array.from({ length: 4 }, (_, i) => ({ ticketHash: th(N_TICKETS + i), ticketHex: '0100ffff', votingKey: new SecretKey(new Uint8Array(32).fill(7)) }));
    expect((await admin.tickets.importTickets(extra)).every((r) => r.imported === true)).toBe(true);
    await waitFor(() => all.every((n) => n.c.tickets.size === N_TICKETS + 4 && n.claimer.unowned === 0), { timeoutMs: 10_000, message: 'new tickets claimed' });
    unsub();
    // Each new ticket's event saw it unowned (a count above 0 before its claim arrived).
    expect(seen.length).toBe(4);
    expect(Math.max(...seen)).toBeGreaterThan(0);
    for (const n of all) expect(n.claimer.unowned).toBe(n.port.countUnowned());
    // A removed ticket whose claim stays is not counted (not managed); its claim is left alone here.
    expect(await admin.tickets.removeTicket(th(0))).toBe(true);
    await waitFor(() => all.every((n) => n.c.tickets.size === N_TICKETS + 3), { message: 'removal seen' });
    for (const n of all) expect(n.claimer.unowned).toBe(0);
    expect(await unownedInEtcd(a.c)).toBe(0);

    // Graceful leave: c1 stops accepting and hands every claim to the ticket's next node, before its lease goes.
    const held = c.c.owners.ownedByMe();
    expect(held.length).toBeGreaterThan(0);
    await c.claimer.stop();
    expect(await c.claimer.leave(10_000)).toBe(held.length);
    const claims = await claimsInEtcd(a.c);
    for (const t of held) expect(claims.get(t)).toBe(rankNodes(t, c.c.membership.liveNodes()).find((n) => n.nodeId !== 'c1')!.nodeId);
    await c.c.close();
    await waitFor(() => a.c.membership.liveNodes().length === 2, { message: 'c1 gone' });
    expect(await unownedInEtcd(a.c)).toBe(0);
  }, 60_000);
});
