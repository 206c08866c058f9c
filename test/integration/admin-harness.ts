/**
 * Integration world of the admin tests: real etcd (startTestEtcd), a real
 * devnet, one real node proxy over gRPC with mutual TLS (a cluster CA, the
 * proxy's server certificate, the admin's peer certificate, an operator's
 * client certificate), a cluster key file, an opened cluster (no membership
 * join, like the CLI) and the devnet's export file on disk.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterTicketStore, createProxyChainLookup, type ChainLookup, type TicketStore } from '../../services/admin/index.ts';
import { generateClusterKey, openCluster, type Cluster } from '../../services/cluster/index.ts';
import { netParams, type NetParams } from '../../services/decred/index.ts';
import { startDevnet, type Devnet, type DevnetOptions, type ExportedTicket } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxy, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { createCertsDir, grpcChannelCredentials, ROLE, TlsReloader, type TlsFiles } from '../../services/security/index.ts';
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
  /** The admin's TLS files (peer certificate, role admin): what the CLI commands get as --tls-*. */
  adminTls: TlsFiles;
  /** An operator's TLS files (client certificate, role operator) for Admin API calls. */
  operatorTls: TlsFiles;
  /** Common CLI flags for this world (with the admin's --tls-* files). */
  cliFlags(withProxy?: boolean): string[];
  stop(): Promise<void>;
}

export async function startAdminWorld(o: { devnet?: Partial<DevnetOptions> } = {}): Promise<AdminWorld> {
  const log = testLogger();
  const dir = await mkdtemp(join(tmpdir(), 'vc-admin-'));
  const etcd = await startTestEtcd({ preferLocal: true });
  const devnet = await startDevnet({ nodes: 1, tickets: 16, ...o.devnet } as DevnetOptions);
  const node = devnet.nodes[0]!;
  const certs = await createCertsDir(join(dir, 'certs'), [
    { name: 'proxy', commonName: 'proxy', role: ROLE.proxy, usage: 'server', sans: ['127.0.0.1'] },
    { name: 'admin', commonName: 'admin', role: ROLE.admin, usage: 'peer', sans: ['127.0.0.1'] },
    { name: 'operator', commonName: 'operator', role: ROLE.operator, usage: 'client' },
  ]);
  const adminTls = certs.files['admin'] as TlsFiles;
  const proxy = createNodeProxy(
    { network: 'simnet', dcrd: { url: node.wsUrl, user: node.rpcUser, pass: node.rpcPass }, listen: '127.0.0.1:0', tls: certs.files['proxy'] as TlsFiles },
    { logger: testLogger('nodeproxy') },
  );
  const proxyAddress = (await proxy.start()).address;
  const key = generateClusterKey();
  const clusterKeyFile = join(dir, 'cluster.key');
  await writeFile(clusterKeyFile, Buffer.from(key.expose()).toString('hex'), { mode: 0o600 });
  const cluster = await openCluster(
    // The test's own handle also stands in for voters (it records votes): etcd's root user; the CLI runs as the admin user.
    { endpoints: etcd.endpoints, etcdAccess: etcd.access('root'), network: 'simnet', nodeId: 'admin-test', region: 'admin', clusterKey: new Uint8Array(key.expose()), storeKeyFingerprint: true, join: false },
    { log },
  );
  await cluster.owners.start();
  const params = netParams('simnet');
  const proxyTls = new TlsReloader(adminTls);
  const proxyClient = createNodeProxyClient(proxyAddress, { clientId: 'admin-test', credentials: grpcChannelCredentials(proxyTls) });
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
    adminTls,
    operatorTls: certs.files['operator'] as TlsFiles,
    cliFlags(withProxy = true) {
      return [
        ...etcd.cliFlags('admin'), '--network', 'simnet', '--cluster-key-file', clusterKeyFile,
        '--tls-ca', adminTls.caFile, '--tls-cert', adminTls.certFile, '--tls-key', adminTls.keyFile,
        ...(withProxy ? ['--proxy', proxyAddress] : []),
      ];
    },
    async stop() {
      proxyClient.close();
      proxyTls.close();
      await cluster.owners.stop();
      await cluster.close();
      await proxy.stop();
      await devnet.stop();
      await etcd.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
