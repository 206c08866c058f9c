/**
 * The demo's admin service: what an operator runs beside the voters, on the layout's
 * cluster: the Admin gRPC API (mutual TLS with the layout's cluster CA; callers' roles from
 * their certificates), the status page (verdict, misses from the chain, regions), the chain
 * judge on every region's proxy, and a Prometheus endpoint with the admin, cluster and chain
 * families beside `/healthz` and `/readyz` (the admin service's checks). Listens on loopback only.
 */
import { AdminConfigSchema, clusterTicketStore, createAdmin, createProxyChainLookup, type Admin, type ChainLookup, type TicketStore } from '../../admin/index.ts';
import { adminReadiness } from '../../cli/index.ts';
import { netParams } from '../../decred/index.ts';
import { createNodeProxyClient, type NodeProxyClient } from '../../nodeproxy/index.ts';
import { loadTlsMaterial, ROLE } from '../../security/index.ts';
import { createMetrics, startMetricsServer, type Logger, type MetricsServer } from '../../telemetry/index.ts';
import type { Layout } from './layout.ts';

/** A running demo admin. */
export interface DemoAdmin {
  /** Admin gRPC `host:port` (mutual TLS: callers need a certificate of the layout's CA with role operator or read-only). */
  readonly grpcAddress: string;
  readonly statusUrl: string;
  readonly metricsUrl: string;
  readonly admin: Admin;
  /** The admin's cluster store and chain lookup (stake info, ticket listings). */
  readonly store: TicketStore;
  readonly chain: ChainLookup;
  stop(): Promise<void>;
}

/** Starts the admin service (status page, chain judge, metrics) for `layout`. */
export async function startDemoAdmin(layout: Layout, log: Logger): Promise<DemoAdmin> {
  // The proxies accept only client certificates of the cluster CA (mutual TLS, as in production).
  const adminTls = await layout.issueServerTls('demo-admin', ROLE.admin, ['127.0.0.1']);
  const tls = loadTlsMaterial(adminTls);
  const clients: NodeProxyClient[] = layout.proxies.map((p) =>
    createNodeProxyClient(p.address, { clientId: 'demo-admin', tls: { caPem: tls.ca, certPem: tls.cert, keyPem: tls.key } }));
  const metrics = createMetrics({ service: 'admin', components: ['admin', 'cluster', 'chain'] });
  const store = clusterTicketStore(layout.admin);
  const chain = createProxyChainLookup(clients[0] as NodeProxyClient, { params: netParams('simnet') });
  const admin = createAdmin(
    AdminConfigSchema.parse({
      network: 'simnet', tls: adminTls, grpc: { enabled: true, listen: '127.0.0.1:0' }, walletRpc: { enabled: false }, status: { enabled: true, listen: '127.0.0.1:0' },
    }),
    {
      store,
      chain,
      judgeProxies: clients,
      statusProxies: layout.proxies.map((p, i) => ({ address: p.address, region: p.region, getStatus: (o) => (clients[i] as NodeProxyClient).getStatus(o) })),
      log: log.child({ component: 'admin' }),
      metrics,
    },
  );
  let server: MetricsServer | undefined;
  // The layout's admin handle does not join; the status page reads owner claims from its cache.
  await layout.admin.owners.start();
  try {
    const endpoints = await admin.start();
    let serving = true;
    // The same /healthz and /readyz as `votecluster admin --metrics-listen`: endpoints up, etcd answers, caches current.
    server = await startMetricsServer({
      host: '127.0.0.1', port: 0, registry: metrics.registry, health: () => serving, ready: () => adminReadiness(layout.admin, () => serving),
    });
    return {
      grpcAddress: endpoints.grpc as string,
      statusUrl: endpoints.status as string,
      metricsUrl: `${server.url}/metrics`,
      admin,
      store,
      chain,
      async stop() {
        serving = false;
        await admin.stop();
        await server?.stop();
        for (const c of clients) c.close();
        await layout.admin.owners.stop();
      },
    };
  } catch (err) {
    await admin.stop();
    await server?.stop();
    for (const c of clients) c.close();
    await layout.admin.owners.stop();
    throw err;
  }
}
