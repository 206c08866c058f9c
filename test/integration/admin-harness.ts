/**
 * Integration world of the admin tests: real etcd (startTestEtcd), a real
 * devnet, one real node proxy over gRPC with mutual TLS (a cluster CA, the
 * proxy's server certificate, the admin's peer certificate, an operator's
 * client certificate), a cluster key file, an opened cluster (no membership
 * join, like the CLI) and the devnet's export file on disk.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import WebSocket from 'ws';
import {
  AdminConfigSchema, clusterTicketStore, createAdmin, createProxyChainLookup,
  type Admin, type AdminEndpoints, type ChainLookup, type TicketStore,
} from '../../services/admin/index.ts';
import { generateClusterKey, openCluster, type Cluster } from '../../services/cluster/index.ts';
import { netParams, type NetParams } from '../../services/decred/index.ts';
import { startDevnet, type Devnet, type DevnetOptions, type ExportedTicket } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxy, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { createCertsDir, createSelfSignedServerCertificate, grpcChannelCredentials, ROLE, TlsReloader, type TlsFiles } from '../../services/security/index.ts';
import { createLogger, SecretKey, type Logger } from '../../services/telemetry/index.ts';
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
  /**
   * Stops the proxy (its dcrd session and gRPC port); the returned function starts a new proxy
   * (a new epoch, nothing held from before) on the same address, which becomes `proxy`.
   */
  cutProxy(): Promise<() => Promise<void>>;
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
  const proxyConfig = (listen: string) => ({ network: 'simnet', dcrd: { url: node.wsUrl, user: node.rpcUser, pass: node.rpcPass }, listen, tls: certs.files['proxy'] as TlsFiles });
  let proxy = createNodeProxy(proxyConfig('127.0.0.1:0'), { logger: testLogger('nodeproxy') });
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
  const world: AdminWorld = {
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
    async cutProxy() {
      await proxy.stop();
      return async () => {
        proxy = createNodeProxy(proxyConfig(proxyAddress), { logger: testLogger('nodeproxy') });
        await proxy.start();
        world.proxy = proxy;
      };
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
  return world;
}

const execFileAsync = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/** Runs `votecluster ARGS` as a child process (`timeoutMs`, default 30 s, at most); a failure gives its exit code and output. */
export async function runCli(args: string[], opts: { timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileAsync(process.execPath, ['--import', 'tsx', 'bin/votecluster.ts', ...args], { cwd: ROOT, timeout: opts.timeoutMs ?? 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * The admin service over a world's store and chain with its dcrwallet-compatible endpoint on:
 * TLS with a fresh self-signed certificate for 127.0.0.1 (`certPem` is what a client pins),
 * user `vspd` with `password`. `config` adds to the admin configuration (e.g. the gRPC API).
 * The caller stops `admin`.
 */
export async function startWalletAdmin(
  w: AdminWorld,
  opts: { password: string; config?: Record<string, unknown> },
): Promise<{ admin: Admin; ep: AdminEndpoints; certPem: string }> {
  const pems = await createSelfSignedServerCertificate({ commonName: '127.0.0.1', sans: ['127.0.0.1'] });
  const cfg = AdminConfigSchema.parse({
    network: 'simnet',
    ...opts.config,
    walletRpc: { enabled: true, listen: '127.0.0.1:0', username: 'vspd', passwordFile: '/unused', tlsCertFile: '/unused', tlsKeyFile: '/unused' },
  });
  const admin = createAdmin(cfg, {
    store: w.store,
    chain: w.chain,
    log: w.log,
    secrets: { walletRpcPassword: new SecretKey(Buffer.from(opts.password)), walletRpcTls: { cert: pems.certPem, key: pems.keyPem } },
  });
  const ep = await admin.start();
  return { admin, ep, certPem: pems.certPem };
}

/** A JSON-RPC reply of the wallet endpoint. */
export type WalletReply = { result: unknown; error: { code: number; message: string } | null };

/** One websocket to the wallet endpoint, as vspd holds it: calls matched to replies by id. */
export interface WalletConn {
  call(method: string, ...params: unknown[]): Promise<WalletReply>;
  close(): void;
}

/**
 * Dials `wsUrl` with Basic auth, pinning `ca` (a wsrpc-style client: JSON-RPC 1.0 requests
 * over one websocket). A refused upgrade rejects with `HTTP <status>` and the answer's `headers`.
 */
export async function dialWallet(wsUrl: string, ca: string, user: string, pass: string): Promise<WalletConn> {
  const ws = new WebSocket(wsUrl, { ca, headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { headers: res.headers })));
  });
  let id = 0;
  const pending = new Map<number, (m: WalletReply) => void>();
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as WalletReply & { id: number };
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
  return {
    call(method, ...params) {
      const myId = ++id;
      return new Promise((resolve) => {
        pending.set(myId, resolve);
        ws.send(JSON.stringify({ jsonrpc: '1.0', id: myId, method, params }));
      });
    },
    close: () => ws.close(),
  };
}
