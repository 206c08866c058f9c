/**
 * `/healthz` (liveness) and `/readyz` (readiness) of the three services over real HTTP,
 * against real components: etcd (a local member the test stops and restarts), a devnet
 * node as dcrd, a node proxy over real gRPC and an in-process voter.
 * - proxy: ready only while its dcrd session is synced and its gRPC API is bound;
 * - voter: ready only while running with a proxy stream up, etcd reachable and its lease fresh;
 * - admin: ready only while serving, etcd answers and its watch caches are current;
 * - liveness turns false once a service has stopped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminReadiness } from '../../services/cli/index.ts';
import { createNodeProxy, type NodeProxy } from '../../services/nodeproxy/index.ts';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createMetrics, startMetricsServer, type MetricsServer, type Readiness } from '../../services/telemetry/index.ts';
import type { Voter } from '../../services/voter/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startVoterWorld, testLogger, type VoterWorld } from './voter-harness.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

interface Probe {
  healthz(): Promise<number>;
  readyz(): Promise<{ status: number; body: Readiness }>;
}

async function serveProbes(health: () => boolean, ready: () => Readiness | Promise<Readiness>): Promise<MetricsServer & Probe> {
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: createMetrics({ service: 'voter', processMetrics: false }).registry, health, ready });
  return {
    ...server,
    async healthz() {
      return (await fetch(`${server.url}/healthz`)).status;
    },
    async readyz() {
      const res = await fetch(`${server.url}/readyz`);
      return { status: res.status, body: (await res.json()) as Readiness };
    },
  };
}

describe('metrics server probes', () => {
  it('/readyz answers 200 with the checks when all hold, 503 naming the failing one otherwise', async () => {
    let dcrdOk = true;
    const srv = await serveProbes(() => true, () => ({ ready: dcrdOk, checks: { dcrd: { ok: dcrdOk, detail: dcrdOk ? 'synced' : 'connecting' } } }));
    try {
      expect(await srv.readyz()).toEqual({ status: 200, body: { ready: true, checks: { dcrd: { ok: true, detail: 'synced' } } } });
      dcrdOk = false;
      expect(await srv.readyz()).toEqual({ status: 503, body: { ready: false, checks: { dcrd: { ok: false, detail: 'connecting' } } } });
      expect(await srv.healthz()).toBe(200);
    } finally {
      await srv.stop();
    }
  });
});

describe('proxy readiness follows its dcrd session', () => {
  let devnet: Devnet;
  let proxy: NodeProxy;
  let srv: MetricsServer & Probe;
  beforeAll(async () => {
    devnet = await startDevnet({ nodes: 1, tickets: 20 });
    const n = devnet.nodes[0]!;
    proxy = createNodeProxy(
      { network: 'simnet', dcrd: { url: n.wsUrl, user: n.rpcUser, pass: n.rpcPass, reconnectMinMs: 50, reconnectMaxMs: 200 }, listen: '127.0.0.1:0', tls: tls.proxy },
      { logger: testLogger('nodeproxy') },
    );
    srv = await serveProbes(() => proxy.isAlive(), () => proxy.readiness());
  });
  afterAll(async () => {
    await srv?.stop();
    await proxy?.stop();
    await devnet?.stop();
  });

  it('not ready before start, ready once synced, not ready when dcrd goes away, not alive once stopped', async () => {
    const before = await srv.readyz();
    expect(before.status).toBe(503);
    expect(before.body.checks['grpc']).toEqual({ ok: false, detail: 'not bound' });
    expect(before.body.checks['dcrd']?.ok).toBe(false);
    expect(await srv.healthz()).toBe(200);

    await proxy.start();
    const up = await waitFor(async () => { const r = await srv.readyz(); return r.status === 200 ? r : undefined; }, { timeoutMs: 10_000, message: 'proxy ready' });
    expect(up.body.checks).toEqual({ grpc: { ok: true, detail: 'listening' }, dcrd: { ok: true, detail: 'synced' } });

    await devnet.stop();
    const down = await waitFor(async () => { const r = await srv.readyz(); return r.status === 503 ? r : undefined; }, { timeoutMs: 10_000, message: 'proxy not ready without dcrd' });
    expect(down.body.checks['dcrd']?.ok).toBe(false);
    expect(down.body.checks['grpc']?.ok).toBe(true);
    expect(await srv.healthz()).toBe(200); // alive: it keeps reconnecting

    await proxy.stop();
    expect(await srv.healthz()).toBe(503);
    expect((await srv.readyz()).body.checks['grpc']).toEqual({ ok: false, detail: 'stopping' });
  });
});

describe('voter and admin readiness follow etcd, the lease and the proxy streams', () => {
  let world: VoterWorld;
  let voter: Voter;
  let voterProbe: MetricsServer & Probe;
  let adminProbe: MetricsServer & Probe;
  const LEASE_MAX_AGE_MS = 3_000;
  const voterMetrics = createMetrics({ service: 'voter', components: ['voter', 'cluster'], processMetrics: false });
  /** The voter's `votecluster_voter_etcd_reachable` gauge as scraped. */
  const etcdReachable = async (): Promise<number | undefined> => {
    const m = /^votecluster_voter_etcd_reachable (\d+)$/m.exec(await voterMetrics.registry.metrics());
    return m ? Number(m[1]) : undefined;
  };
  beforeAll(async () => {
    world = await startVoterWorld({ devnet: { nodes: 1, tickets: 40 } });
    voter = world.makeVoter('a1', 'a', { staleness: { leaseMaxAgeMs: LEASE_MAX_AGE_MS } }, { metrics: voterMetrics });
    voterProbe = await serveProbes(() => voter.isAlive(), () => voter.readiness());
    adminProbe = await serveProbes(() => true, () => adminReadiness(world.admin, () => true, 500));
  });
  afterAll(async () => {
    await voterProbe?.stop();
    await adminProbe?.stop();
    await world?.stop();
  });

  it('voter: not ready before start; ready running; not ready without etcd (etcd, lease), ready again after; not ready without proxy streams; not alive after stop', async () => {
    const before = await voterProbe.readyz();
    expect(before.status).toBe(503);
    expect(before.body.checks['running']).toEqual({ ok: false, detail: 'new' });

    await voter.start();
    const ready = await waitFor(async () => { const r = await voterProbe.readyz(); return r.status === 200 ? r : undefined; }, { timeoutMs: 15_000, message: 'voter ready' });
    expect(ready.body.checks['proxies']).toEqual({ ok: true, detail: '1 of 1 proxy streams up' });
    expect(ready.body.checks['etcd']).toEqual({ ok: true, detail: 'reachable' });
    expect((await adminProbe.readyz()).status).toBe(200);
    await waitFor(async () => (await etcdReachable()) === 1, { timeoutMs: 10_000, message: 'etcd_reachable gauge 1' });

    const member = world.etcd.members[0]!;
    await member.stop();
    const lost = await waitFor(async () => { const r = await voterProbe.readyz(); return r.status === 503 ? r : undefined; }, { timeoutMs: 20_000, message: 'voter not ready without etcd' });
    expect(lost.body.checks['lease']?.ok).toBe(false);
    expect(lost.body.checks['proxies']?.ok).toBe(true);
    await waitFor(async () => (await etcdReachable()) === 0, { timeoutMs: 10_000, message: 'etcd_reachable gauge 0 while etcd is down' });
    expect(await voterProbe.healthz()).toBe(200);
    const adminLost = await adminProbe.readyz();
    expect(adminLost.status).toBe(503);
    expect(adminLost.body.checks['etcd']?.ok).toBe(false);

    await member.start();
    await waitFor(async () => (await voterProbe.readyz()).status === 200, { timeoutMs: 30_000, message: 'voter ready after etcd returned' });
    await waitFor(async () => (await etcdReachable()) === 1, { timeoutMs: 10_000, message: 'etcd_reachable gauge 1 after etcd returned' });
    await waitFor(async () => (await adminProbe.readyz()).status === 200, { timeoutMs: 15_000, message: 'admin ready after etcd returned' });

    await world.proxies[0]!.stop();
    const noProxy = await waitFor(async () => { const r = await voterProbe.readyz(); return r.status === 503 ? r : undefined; }, { timeoutMs: 15_000, message: 'voter not ready without proxies' });
    expect(noProxy.body.checks['proxies']).toEqual({ ok: false, detail: '0 of 1 proxy streams up' });
    expect(noProxy.body.checks['etcd']?.ok).toBe(true);

    await voter.stop();
    expect(await voterProbe.healthz()).toBe(503);
    expect((await voterProbe.readyz()).body.checks['running']).toEqual({ ok: false, detail: 'stopped' });
  });
});
