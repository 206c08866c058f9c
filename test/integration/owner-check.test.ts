/**
 * What etcd's RBAC cannot express, checked by the cluster itself, against a real
 * etcd with authentication on: an `owners/<ticket>` value put by hand (as with
 * `etcdctl put`), or bound to a lease that is not the session lease of the node
 * it names, does not count as owned; it is logged and counted in
 * `votecluster_cluster_forged_owner_records_total`. A real claim still counts.
 */
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateClusterKey, openCluster, type Cluster, type ClusterLogger } from '../../services/cluster/index.ts';
import { createMetrics, type Metrics } from '../../services/telemetry/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';

const clusterKey = generateClusterKey().expose().slice();
const hashOf = (n: number): string => n.toString(16).padStart(64, '0');

let etcd: TestEtcd;
let a: Cluster;
let b: Cluster;
let root: Etcd3;
let metrics: Metrics;
const warnings: Array<{ obj: Record<string, unknown>; msg: string }> = [];

/** A logger that keeps the warnings (the cluster's logger interface, pino-shaped). */
function capturingLogger(): ClusterLogger {
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (obj: unknown, msg?: string) => void warnings.push({ obj: obj as Record<string, unknown>, msg: msg ?? '' }),
    error: () => undefined,
  } as unknown as ClusterLogger;
}

async function forgedCount(reason: string): Promise<number> {
  const m = (await metrics.registry.getSingleMetric('votecluster_cluster_forged_owner_records_total')?.get())?.values ?? [];
  return m.filter((v) => v.labels['reason'] === reason).reduce((s, v) => s + v.value, 0);
}

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
  metrics = createMetrics({ service: 'voter', components: ['cluster'] });
  const open = (nodeId: string, deps: Parameters<typeof openCluster>[1] = {}): Promise<Cluster> =>
    openCluster({ endpoints: etcd.endpoints, etcdAccess: etcd.access('voter'), network: 'simnet', nodeId, region: 'a', clusterKey, leaseTtlSec: 5 }, deps);
  a = await open('a1', { metrics, log: capturingLogger() });
  b = await open('b1');
  // etcd's root stands for anyone holding write access to owners/ (etcdctl with the voter's or root's password).
  root = new Etcd3(etcd.clientOptions('root'));
});

afterAll(async () => {
  root?.close();
  await b?.close();
  await a?.close();
  await etcd?.stop();
});

it('a claim made by a live node counts', async () => {
  const t = hashOf(1);
  expect((await b.owners.claim(t)).won).toBe(true);
  await waitFor(() => a.owners.ownerOf(t) === 'b1', { timeoutMs: 5_000, message: 'a sees b1 own the ticket' });
});

it('a value put without the lease it names is ignored, logged and counted', async () => {
  const t = hashOf(2);
  const aLease = a.membership.leaseId() as string;
  const before = await forgedCount('lease');
  // As `etcdctl put owners/<t> '{"nodeId":"a1","leaseId":"<a1's lease>",...}'`: no lease attached.
  await root.put(a.keyspace.owner(t)).value(JSON.stringify({ nodeId: 'a1', leaseId: aLease, claimedAt: new Date().toISOString() }));
  await waitFor(async () => (await forgedCount('lease')) === before + 1, { timeoutMs: 5_000, message: 'forged record counted' });
  expect(a.owners.ownerOf(t)).toBeUndefined();
  expect(a.owners.ownedByMe()).not.toContain(t);
  expect(warnings.some((w) => w.msg === 'forged owner record ignored' && w.obj['key'] === a.keyspace.owner(t) && w.obj['reason'] === 'lease')).toBe(true);
  // Ignored, not deleted: the record stays in etcd for the operator to inspect.
  expect(await root.get(a.keyspace.owner(t)).string()).toContain('"a1"');
  // The real owner can still not be created over it (create-if-absent): the claim reports the stored owner as not ours.
  expect((await a.owners.claim(t)).won).toBe(false);
});

it('a value bound to a lease that is not the named node\'s session lease is ignored, logged and counted', async () => {
  const t = hashOf(3);
  const before = await forgedCount('node');
  const lease = root.lease(30, { autoKeepAlive: false });
  const leaseId = await lease.grant();
  // Bound to the lease it names, but that lease is not b1's session lease.
  await lease.put(a.keyspace.owner(t)).value(JSON.stringify({ nodeId: 'b1', leaseId, claimedAt: new Date().toISOString() }));
  await waitFor(async () => (await forgedCount('node')) === before + 1, { timeoutMs: 5_000, message: 'forged record counted' });
  expect(a.owners.ownerOf(t)).toBeUndefined();
  expect(warnings.some((w) => w.msg === 'forged owner record ignored' && w.obj['key'] === a.keyspace.owner(t) && w.obj['reason'] === 'node')).toBe(true);
  await lease.revoke();
});

it('a value naming a node that is not live counts for nobody', async () => {
  const t = hashOf(4);
  const lease = root.lease(30, { autoKeepAlive: false });
  const leaseId = await lease.grant();
  await lease.put(a.keyspace.owner(t)).value(JSON.stringify({ nodeId: 'ghost', leaseId, claimedAt: new Date().toISOString() }));
  await waitFor(async () => (await root.get(a.keyspace.owner(t)).string()) !== null, { timeoutMs: 5_000 });
  // The owners cache has it (same revision as the get above, or soon): it still names no owner.
  await waitFor(() => a.owners.size >= 2, { timeoutMs: 5_000 });
  expect(a.owners.ownerOf(t)).toBeUndefined();
  await lease.revoke();
});
