/**
 * The fault-side metric families move when their fault happens
 * (the happy-path run of observability-metrics.test.ts leaves them at 0):
 * - `votecluster_voter_takeovers_total` and `hedge_wait_seconds{result="took_over"}`:
 *   voter B is cut off from every dcrd (its only proxy address is dead), so the
 *   draws of the tickets it owns are taken over by voter A after the hedge;
 * - `votecluster_nodeproxy_dcrd_reconnects_total` and `dcrd_session_state`: the
 *   proxy's dcrd stops (state leaves `synced`) and restarts (reconnect, `synced`).
 *
 * World: real etcd, a real devnet, a real node proxy over gRPC, two in-process
 * voters, each with its own Prometheus registry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeProxy, type NodeProxy } from '../../services/nodeproxy/index.ts';
import { createMetrics, type Metrics } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startVoterWorld, testLogger, type VoterWorld } from './voter-harness.ts';

/** Sum of every sample of `name` in a registry (optionally filtered by a label). */
async function sum(m: Metrics, name: string, label?: [string, string]): Promise<number> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} not registered`);
  const values = (await metric.get()).values as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
  return values
    .filter((v) => (v.metricName === undefined || v.metricName === name || v.metricName === `${name}_count`))
    .filter((v) => !label || v.labels[label[0]] === label[1])
    .reduce((n, v) => n + (v.metricName === `${name}_sum` || v.metricName === `${name}_bucket` ? 0 : v.value), 0);
}

describe('fault metrics move', () => {
  let world: VoterWorld;
  let proxy: NodeProxy;
  let bProxy: NodeProxy;
  const proxyMetrics = createMetrics({ service: 'nodeproxy', processMetrics: false });
  const mA = createMetrics({ service: 'voter', components: ['voter', 'cluster'], processMetrics: false });
  const mB = createMetrics({ service: 'voter', components: ['voter', 'cluster'], processMetrics: false });

  beforeAll(async () => {
    world = await startVoterWorld({ devnet: { tickets: 24 } });
    const node = world.devnet.nodes[0]!;
    proxy = createNodeProxy(
      { network: 'simnet', dcrd: { url: node.wsUrl, user: node.rpcUser, pass: node.rpcPass, reconnectMinMs: 20, reconnectMaxMs: 200 }, listen: '127.0.0.1:0', tls: world.proxyTls },
      { logger: testLogger('nodeproxy'), metrics: proxyMetrics },
    );
    const { address } = await proxy.start();
    // B's own proxy: up while B starts and claims (a voter claims only with a proxy stream),
    // then gone, so B owns tickets but never sees their draws.
    bProxy = createNodeProxy(
      { network: 'simnet', dcrd: { url: node.wsUrl, user: node.rpcUser, pass: node.rpcPass }, listen: '127.0.0.1:0', tls: world.proxyTls },
      { logger: testLogger('nodeproxy') },
    );
    const bAddress = (await bProxy.start()).address;
    // One signer per ticket (strategy single-signer): the owner's draws are taken over by its backup.
    const a = world.makeVoter('fa', 'a', { proxies: [{ address, region: 'a' }], strategy: 'single-signer' }, { metrics: mA });
    const b = world.makeVoter('fb', 'a', { proxies: [{ address: bAddress, region: 'a' }], strategy: 'single-signer' }, { metrics: mB });
    await Promise.all([a.start(), b.start()]);
    await waitFor(async () => (await sum(mB, 'votecluster_voter_owned_tickets')) > 0, { timeoutMs: 20_000, message: 'B owns tickets' });
    await bProxy.stop();
  }, 60_000);

  afterAll(async () => {
    await world?.stop();
    await proxy?.stop();
  });

  it('takeovers and took_over hedge waits when the owner never sees the draw', async () => {
    const before = await sum(mA, 'votecluster_voter_takeovers_total');
    // B owns about half the tickets; within a few blocks one of its tickets is drawn.
    await waitFor(async () => {
      await world.mineAndAwaitVotes(20_000);
      return (await sum(mA, 'votecluster_voter_takeovers_total')) > before;
    }, { timeoutMs: 60_000, intervalMs: 1, message: 'A took over a draw of B' });
    expect(await sum(mA, 'votecluster_voter_hedge_wait_seconds', ['result', 'took_over'])).toBeGreaterThan(0);
    expect(await sum(mB, 'votecluster_voter_connected_proxies')).toBe(0);
    expect(await sum(mB, 'votecluster_voter_takeovers_total')).toBe(0);
  }, 90_000);

  it('dcrd session state and reconnects follow a dcrd restart', async () => {
    const synced = (): Promise<number> => sum(proxyMetrics, 'votecluster_nodeproxy_dcrd_session_state', ['state', 'synced']);
    await waitFor(async () => (await synced()) === 1, { timeoutMs: 10_000, message: 'synced before' });
    const reconnects = await sum(proxyMetrics, 'votecluster_nodeproxy_dcrd_reconnects_total');
    const node = world.devnet.nodes[0]!;
    await node.stop();
    await waitFor(async () => (await synced()) === 0, { timeoutMs: 10_000, message: 'session state leaves synced' });
    await node.restart();
    await waitFor(async () => (await synced()) === 1, { timeoutMs: 15_000, message: 'synced again' });
    expect(await sum(proxyMetrics, 'votecluster_nodeproxy_dcrd_reconnects_total')).toBeGreaterThan(reconnects);
    // One-hot: exactly one state is 1.
    expect(await sum(proxyMetrics, 'votecluster_nodeproxy_dcrd_session_state')).toBe(1);
  }, 60_000);
});
