/**
 * Shared plumbing of the operator commands that talk to etcd directly
 * (`admin`, `ticket …`, `stakeinfo`, `status`): the common flags, their env
 * fallbacks (`VOTECLUSTER_ADMIN_<KEY>`) and config file through the CLI's one
 * loader (config.ts), validation (every issue printed, exit code 2) and opening the cluster (without joining membership) plus an
 * optional node proxy for chain lookups.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { AdminConfigSchema, clusterTicketStore, createProxyChainLookup, type ChainLookup, type TicketStore } from '../admin/index.ts';
import { etcdAccessOf, openCluster, type Cluster, type EtcdAccess } from '../cluster/index.ts';
import { netParams, type NetParams } from '../decred/index.ts';
import { createNodeProxyClient, type NodeProxyClient } from '../nodeproxy/index.ts';
import { grpcChannelCredentials, TlsFilesSchema, TlsReloader } from '../security/index.ts';
import { createLogger, readinessOf, type Logger, type Metrics, type ProbeCheck, type Readiness } from '../telemetry/index.ts';
import { TLS_CONFIG_FIELDS } from './tls-options.ts';
import { ConfigInvalidError, loadConfig, type ConfigFieldSpec } from './config.ts';

/** The flags every operator command accepts. */
export function addCommonOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'config file, JSON or YAML (etcd, network, clusterKeyFile, proxy, logLevel; admin: its AdminConfig keys too)')
    .option('--etcd <urls>', 'etcd client URLs, comma-separated (env VOTECLUSTER_ADMIN_ETCD)')
    .option('--etcd-user <name>', 'etcd user: votecluster-admin, or votecluster-reader for commands that only read (env VOTECLUSTER_ADMIN_ETCD_USER)')
    .option('--etcd-password-file <file>', "file holding the etcd user's password, mode 0600 (env VOTECLUSTER_ADMIN_ETCD_PASSWORD_FILE)")
    .option('--etcd-ca <file>', "PEM CA of etcd's server certificate (env VOTECLUSTER_ADMIN_ETCD_CA)")
    .option('--etcd-cert <file>', 'PEM client certificate for etcd (env VOTECLUSTER_ADMIN_ETCD_CERT)')
    .option('--etcd-key <file>', 'PEM key of --etcd-cert (env VOTECLUSTER_ADMIN_ETCD_KEY)')
    .option('--network <name>', 'mainnet | testnet3 | simnet | regnet (env VOTECLUSTER_ADMIN_NETWORK)')
    .option('--cluster-key-file <file>', 'file holding the 32-byte cluster key, mode 0600 (env VOTECLUSTER_ADMIN_CLUSTER_KEY_FILE; not needed by status, ticket list, stakeinfo)')
    .option('--next-cluster-key-file <file>', 'the next cluster key during a rotation (env VOTECLUSTER_ADMIN_NEXT_CLUSTER_KEY_FILE; read when `key rotate` starts)')
    .option('--proxy <host:port>', 'node proxy for chain lookups (env VOTECLUSTER_ADMIN_PROXY)')
    .option('--log-level <level>', 'log level on stderr (env VOTECLUSTER_ADMIN_LOG_LEVEL; default warn)')
    .option('--tls-ca <file>', 'cluster CA bundle (PEM) the proxy\'s (and, for admin, the Admin API callers\') certificates must come from (env VOTECLUSTER_ADMIN_TLS__CA)')
    .option('--tls-cert <file>', 'certificate (PEM) presented to the proxy (admin: also served on the Admin gRPC API) (env VOTECLUSTER_ADMIN_TLS__CERT)')
    .option('--tls-key <file>', 'private key of --tls-cert, mode 0600 (env VOTECLUSTER_ADMIN_TLS__KEY)');
}

/** Settings shared by every operator command (service `admin` in the env prefix). */
export const CommonSchema = z.object({
  etcd: z.array(z.string().url('each --etcd entry must be a URL like http://127.0.0.1:2379')).min(1, '--etcd is required'),
  etcdUser: z.string().min(1).max(128).optional(),
  etcdPasswordFile: z.string().min(1).optional(),
  etcdCa: z.string().min(1).optional(),
  etcdCert: z.string().min(1).optional(),
  etcdKey: z.string().min(1).optional(),
  network: z.enum(['mainnet', 'testnet3', 'simnet', 'regnet'], { message: '--network must be one of mainnet, testnet3, simnet, regnet' }),
  clusterKeyFile: z.string({ message: '--cluster-key-file is required' }).min(1, '--cluster-key-file is required'),
  nextClusterKeyFile: z.string().min(1).optional(),
  proxy: z.string().regex(/^[^:\s]+:\d{1,5}$/, '--proxy must be host:port').optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  /** Mutual TLS to the node proxy (and, for `admin`, the Admin gRPC listener's identity). */
  tls: TlsFilesSchema.optional(),
});
/** The common settings of the commands that only read (`status`, `ticket list`, `stakeinfo`): no cluster key needed. */
export const ReadOnlyCommonSchema = CommonSchema.extend({ clusterKeyFile: z.string().min(1).optional() });
/** Validated common flags (`clusterKeyFile` is absent only for read-only commands). */
export type CommonOptions = z.infer<typeof ReadOnlyCommonSchema>;

/** The `admin` command's settings: the service's AdminConfig plus the common ones. */
export const AdminCommandSchema = AdminConfigSchema.extend(CommonSchema.shape);

/** Config-loader fields of the common settings. */
export const COMMON_CONFIG_FIELDS: readonly ConfigFieldSpec[] = [
  { path: 'etcd', flag: 'etcd', env: 'ETCD', kind: 'list' },
  { path: 'etcdUser', flag: 'etcdUser', env: 'ETCD_USER' },
  { path: 'etcdPasswordFile', flag: 'etcdPasswordFile', env: 'ETCD_PASSWORD_FILE', secret: true },
  { path: 'etcdCa', flag: 'etcdCa', env: 'ETCD_CA' },
  { path: 'etcdCert', flag: 'etcdCert', env: 'ETCD_CERT' },
  { path: 'etcdKey', flag: 'etcdKey', env: 'ETCD_KEY', secret: true },
  { path: 'network', flag: 'network', env: 'NETWORK' },
  { path: 'clusterKeyFile', flag: 'clusterKeyFile', env: 'CLUSTER_KEY_FILE', secret: true },
  { path: 'nextClusterKeyFile', flag: 'nextClusterKeyFile', env: 'NEXT_CLUSTER_KEY_FILE', secret: true },
  { path: 'proxy', flag: 'proxy', env: 'PROXY' },
  { path: 'logLevel', flag: 'logLevel', env: 'LOG_LEVEL' },
  ...TLS_CONFIG_FIELDS,
];

/** Thrown after the issues were printed; the action sets exit code 2. */
export class ConfigInvalid extends ConfigInvalidError {}

/**
 * Loads the common settings: defaults < `--config FILE` < env `VOTECLUSTER_ADMIN_*` < flags.
 * Prints every issue with its field and source to stderr and throws {@link ConfigInvalid}.
 */
export function parseCommon(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  extraIssues: string[] = [],
  flagSource?: (flag: string) => string | undefined,
  readOnly = false,
): CommonOptions {
  try {
    return loadConfig({
      service: 'admin', schema: readOnly ? ReadOnlyCommonSchema : CommonSchema, fields: COMMON_CONFIG_FIELDS, flags, env, extraIssues,
      // The admin command's keys in the same env namespace are not typos here.
      envSchema: AdminCommandSchema,
      ...(flagSource ? { flagSource } : {}),
    }).config;
  } catch (err) {
    if (!(err instanceof ConfigInvalidError)) throw err;
    process.stderr.write(`votecluster: ${err.message}\n`);
    throw new ConfigInvalid(err.issues);
  }
}

/** The `etcdAccess` of {@link openCluster} from the common settings (absent when none is set). */
export function etcdAccessField(opts: CommonOptions): { etcdAccess?: EtcdAccess } {
  const access = etcdAccessOf({ username: opts.etcdUser, passwordFile: opts.etcdPasswordFile, caFile: opts.etcdCa, certFile: opts.etcdCert, keyFile: opts.etcdKey });
  return access ? { etcdAccess: access } : {};
}

/** An opened operator context. */
export interface AdminContext {
  cluster: Cluster;
  store: TicketStore;
  chain?: ChainLookup;
  /** The `--proxy` client, when one is configured (chain lookups and the chain judge). */
  proxyClient?: NodeProxyClient;
  params: NetParams;
  log: Logger;
  close(): Promise<void>;
}

/**
 * Opens the cluster (no membership join) and, with `--proxy`, a proxy client.
 * With `deps.metrics` (made with the `cluster` component) the handle feeds the
 * cluster families (etcd txn latency and errors, watch age, live nodes).
 * With `deps.readOnly` no cluster key is read (commands that only read); otherwise the key
 * file is read (mode 0600 required) and checked against the cluster's fingerprint in etcd,
 * which is stored if there is none yet: a wrong key is refused before anything is written.
 */
export async function openAdminContext(
  opts: CommonOptions,
  service = 'admin',
  deps: { metrics?: Metrics; readOnly?: boolean } = {},
): Promise<AdminContext> {
  const log = createLogger({ service, level: opts.logLevel, destination: 2 });
  const readOnly = deps.readOnly === true;
  if (!readOnly && opts.clusterKeyFile === undefined) throw new ConfigInvalid(['--cluster-key-file is required']);
  const cluster = await openCluster(
    {
      endpoints: opts.etcd,
      ...etcdAccessField(opts),
      network: opts.network,
      nodeId: `${service}-${process.pid}`,
      region: 'admin',
      ...(readOnly
        ? { readOnly: true }
        : {
          clusterKeyFile: opts.clusterKeyFile as string,
          storeKeyFingerprint: true,
          ...(opts.nextClusterKeyFile !== undefined ? { nextClusterKeyFile: opts.nextClusterKeyFile } : {}),
        }),
      join: false,
    },
    { log: log.child({ component: 'cluster' }), ...(deps.metrics ? { metrics: deps.metrics } : {}) },
  );
  let proxyClient: NodeProxyClient | undefined;
  let proxyTls: TlsReloader | undefined;
  try {
    // Owner claims are shown by list/status; without joining, the owners cache is not started by openCluster.
    await cluster.owners.start();
  } catch (err) {
    await cluster.close();
    throw err;
  }
  const params = netParams(opts.network);
  const ctx: AdminContext = {
    cluster,
    store: clusterTicketStore(cluster),
    params,
    log,
    async close() {
      proxyClient?.close();
      proxyTls?.close();
      await cluster.owners.stop();
      await cluster.close();
    },
  };
  if (opts.proxy) {
    proxyTls = opts.tls ? new TlsReloader(opts.tls, { log }) : undefined;
    proxyClient = createNodeProxyClient(opts.proxy, { clientId: service, ...(proxyTls ? { credentials: grpcChannelCredentials(proxyTls) } : {}) });
    ctx.chain = createProxyChainLookup(proxyClient, { params });
    ctx.proxyClient = proxyClient;
  }
  return ctx;
}

/** How long the `/readyz` etcd probe of the admin service may take before etcd counts as unreachable. */
export const ADMIN_ETCD_PROBE_TIMEOUT_MS = 1_500;
const ZERO_HASH = '0'.repeat(64);

/**
 * Readiness of the admin service (`/readyz`): its endpoints are up (`serving`), etcd answers a
 * linearizable read within {@link ADMIN_ETCD_PROBE_TIMEOUT_MS}, and the cluster's watch caches
 * (tickets, owners) are current, so imports, listings and vspd's wallet calls see the cluster as it is.
 */
export async function adminReadiness(
  cluster: Pick<Cluster, 'votes' | 'isWatchHealthy'>,
  serving: () => boolean,
  timeoutMs = ADMIN_ETCD_PROBE_TIMEOUT_MS,
): Promise<Readiness> {
  let timer: NodeJS.Timeout | undefined;
  const etcd = await Promise.race([
    cluster.votes.getVote(0, ZERO_HASH, ZERO_HASH).then(
      () => ({ ok: true, detail: 'reachable' }),
      (err: unknown) => ({ ok: false, detail: `unreachable (${(err as { code?: string }).code ?? (err as Error).message})` }),
    ),
    new Promise<ProbeCheck>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  const watch = cluster.isWatchHealthy();
  return readinessOf({
    serving: { ok: serving(), detail: serving() ? 'endpoints up' : 'not serving' },
    etcd,
    watch: { ok: watch, detail: watch ? 'caches current' : 'watch reconnecting' },
  });
}

/**
 * Runs `fn` with an opened context and closes it afterwards; maps ConfigInvalid to exit code 2.
 * `readOnly` commands (`status`, `ticket list`, `stakeinfo`) open without the cluster key.
 */
export async function withAdminContext(
  flags: Record<string, unknown>,
  fn: (ctx: AdminContext) => Promise<void>,
  extraIssues: string[] = [],
  opts2: { readOnly?: boolean } = {},
): Promise<void> {
  let opts: CommonOptions;
  const readOnly = opts2.readOnly === true;
  try {
    opts = parseCommon(flags, process.env, extraIssues, undefined, readOnly);
  } catch (err) {
    if (err instanceof ConfigInvalid) {
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const ctx = await openAdminContext(opts, 'admin', { readOnly });
  try {
    await fn(ctx);
  } finally {
    await ctx.close();
  }
}
