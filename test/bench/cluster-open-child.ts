/**
 * Child process of the cluster bench: a fresh process that starts like a voter
 * and prints one JSON line with the time, CPU time and memory of each phase, so
 * RSS is measured without the bench's own state.
 *
 * argv: endpoint, cluster key hex, mode, expected live nodes.
 * - `open`: openCluster without joining (ticket cache load only; `verify` decrypts every key on load).
 * - `start-batch`: open + join, wait for every live node, compute the owned share with
 *   `owners.myShare` (rank over all tickets, yielding every 1,000), claim it with
 *   `owners.claimMany` (batched txns).
 * - `start-voter`: open + join, then services/voter's own Claimer (the voter's start-up path:
 *   `myShare` over `tickets.hashes()`, `claimMany`/`releaseMany`, waits for the claims in the owner cache).
 */
import { openCluster, type Cluster, type EtcdAccess } from '../../services/cluster/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { Claimer, clusterClaimPort } from '../../services/voter/claimer.ts';

const [endpoint, keyHex, mode = 'open', liveArg = '1'] = process.argv.slice(2);
const expectedLive = Number(liveArg);
const NODE_ID = 'a1';

const t0 = performance.now();
const cpu0 = process.cpuUsage();
const rssBefore = process.memoryUsage().rss;
const phases: Record<string, number> = {};
let last = t0;
function mark(name: string): void {
  const now = performance.now();
  phases[`${name}Ms`] = Math.round(now - last);
  last = now;
}
function cpuMs(): number {
  const c = process.cpuUsage(cpu0);
  return Math.round((c.user + c.system) / 1000);
}

const join = mode !== 'open' && mode !== 'verify';
const cluster: Cluster = await openCluster({
  endpoints: [endpoint as string],
  etcdAccess: JSON.parse(process.env['BENCH_ETCD_ACCESS'] ?? '{}') as EtcdAccess,
  network: 'simnet',
  nodeId: join ? NODE_ID : `bench-open-${process.pid}`,
  region: 'a',
  clusterKey: Uint8Array.from(Buffer.from(keyHex as string, 'hex')),
  verifyKeysOnLoad: mode === 'verify',
  ...(process.env['BENCH_TICKET_PAGE'] ? { ticketPageSize: Number(process.env['BENCH_TICKET_PAGE']) } : {}),
  join,
});
mark('open');
const out: Record<string, unknown> = { mode, tickets: cluster.tickets.size };
let leaseLosses = 0;
cluster.membership.onLeaseChange((ev) => {
  if (ev.type === 'lost') leaseLosses++;
});

if (join) {
  // The other nodes are already live; wait until the watch has delivered our own join.
  while (cluster.membership.liveNodes().length < expectedLive) await new Promise((r) => setTimeout(r, 5));
  mark('live');
  out['liveNodes'] = cluster.membership.liveNodes().length;
  if (mode === 'start-batch') {
    const owned = await cluster.owners.myShare(cluster.tickets.hashes());
    mark('share');
    const res = await cluster.owners.claimMany(owned);
    mark('claim');
    out['owned'] = owned.length;
    out['claimedWon'] = res.filter((r) => r.won).length;
  } else {
    const log = createLogger({ service: 'bench', level: 'warn' });
    const c = cluster;
    // Exactly the port services/voter/voter.ts builds.
    const claimer = new Claimer(clusterClaimPort(c, () => c.membership.isLeaseFresh()), log, { debounceMs: 100, periodMs: 5_000 });
    claimer.start();
    await claimer.ready;
    mark('claimerReady');
    out['claimed'] = claimer.stats().claimed;
    out['sweeps'] = claimer.stats().sweeps;
    out['leaseLosses'] = leaseLosses;
    await claimer.stop();
    last = performance.now();
  }
  // Every owned ticket's claim is visible in this node's owner cache.
  const expected = (out['claimedWon'] ?? out['owned'] ?? 0) as number;
  while (cluster.owners.ownedByMe().length < expected) await new Promise((r) => setTimeout(r, 5));
  mark('ownersSeen');
  out['ownedByMe'] = cluster.owners.ownedByMe().length;
}
const totalMs = performance.now() - t0;
const cpu = cpuMs();
globalThis.gc?.();
const mem = process.memoryUsage();
Object.assign(out, phases, {
  totalMs: Math.round(totalMs),
  cpuMs: cpu,
  rssMB: Math.round(mem.rss / 2 ** 20),
  peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  rssBeforeMB: Math.round(rssBefore / 2 ** 20),
  heapUsedMB: Math.round(mem.heapUsed / 2 ** 20),
  heapTotalMB: Math.round(mem.heapTotal / 2 ** 20),
  arrayBuffersMB: Math.round(mem.arrayBuffers / 2 ** 20),
  externalMB: Math.round(mem.external / 2 ** 20),
});
process.stdout.write(`${JSON.stringify(out)}\n`);
await cluster.close();
