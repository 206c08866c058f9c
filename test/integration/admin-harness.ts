/**
 * Integration world of the admin tests: real etcd (startTestEtcd), a real
 * devnet, one real node proxy over gRPC, a cluster key file, an opened cluster
 * (no membership join, like the CLI) and the devnet's export file on disk.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterTicketStore, createProxyChainLookup, type ChainLookup, type TicketStore } from '../../services/admin/index.ts';
import { generateClusterKey, openCluster, type Cluster } from '../../services/cluster/index.ts';
import { netParams, type NetParams } from '../../services/decred/index.ts';
import { startDevnet, type Devnet, type DevnetOptions, type ExportedTicket } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxy, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { createLogger, type Logger } from '../../services/telemetry/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';

/** Silent unless ADMIN_TEST_LOG names a level. */
export function testLogger(service = 'admin'): Logger {
  return createLogger({ service, level: (process.env['ADMIN_TEST_LOG'] as 'info' | undefined) ?? 'silent' });
}

export interface AdminWorld {
  etcd: TestEtcd;
  devnet: Devnet;
  proxy: NodeProxy;
  proxyAddress: string;
  proxyClient: NodeProxyClient;
  cluster: Cluster;
  store: TicketStore;
  chain: ChainLookup;
  params: NetParams;
  log: Logger;
  dir: string;
  clusterKeyFile: string;
  exportFile: string;
  exported: ExportedTicket[];
  /** Common CLI flags for this world. */
  cliFlags(withProxy?: boolean): string[];
  stop(): Promise<void>;
}

export async function startAdminWorld(o: { devnet?: Partial<DevnetOptions> } = {}): Promise<AdminWorld> {
  const log = testLogger();
  const dir = await mkdtemp(join(tmpdir(), 'vc-admin-'));
  const etcd = await startTestEtcd({ preferLocal: true });
  const devnet = await startDevnet({ nodes: 1, tickets: 16, ...o.devnet } as DevnetOptions);
  const node = devnet.nodes[0]!;
  const proxy = createNodeProxy(
    { network: 'simnet', dcrd: { url: node.wsUrl, user: node.rpcUser, pass: node.rpcPass }, listen: '127.0.0.1:0' },
    { logger: testLogger('nodeproxy') },
  );
  const proxyAddress = (await proxy.start()).address;
  const key = generateClusterKey();
  const clusterKeyFile = join(dir, 'cluster.key');
  await writeFile(clusterKeyFile, Buffer.from(key.expose()).toString('hex'), { mode: 0o600 });
  const cluster = await openCluster(
    { endpoints: etcd.endpoints, network: 'simnet', nodeId: 'admin-test', region: 'admin', clusterKey: new Uint8Array(key.expose()), storeKeyFingerprint: true, join: false },
    { log },
  );
  await cluster.owners.start();
  const params = netParams('simnet');
  const proxyClient = createNodeProxyClient(proxyAddress, { clientId: 'admin-test' });
  const exported = devnet.exportTickets();
  const exportFile = join(dir, 'export.json');
  await writeFile(exportFile, JSON.stringify(exported));
  return {
    etcd,
    devnet,
    proxy,
    proxyAddress,
    proxyClient,
    cluster,
    store: clusterTicketStore(cluster),
    chain: createProxyChainLookup(proxyClient, { params }),
    params,
    log,
    dir,
    clusterKeyFile,
    exportFile,
    exported,
    cliFlags(withProxy = true) {
      return ['--etcd', etcd.endpoints.join(','), '--network', 'simnet', '--cluster-key-file', clusterKeyFile, ...(withProxy ? ['--proxy', proxyAddress] : [])];
    },
    async stop() {
      proxyClient.close();
      await cluster.owners.stop();
      await cluster.close();
      await proxy.stop();
      await devnet.stop();
      await etcd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
