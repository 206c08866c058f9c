/**
 * `votecluster admin`: runs the admin service (gRPC Admin, status page and,
 * with --wallet-rpc, the dcrwallet-compatible JSON-RPC endpoint for vspd)
 * against etcd. Secrets arrive as files. SIGTERM/SIGINT stop it.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { z } from 'zod';
import { createAdmin, type AdminConfig } from '../../admin/index.ts';
import { createMetrics, SecretKey, startMetricsServer, type MetricsServer } from '../../telemetry/index.ts';
import { addCommonOptions, adminReadiness, AdminCommandSchema, COMMON_CONFIG_FIELDS, openAdminContext, type CommonOptions } from '../admin-context.ts';
import { ConfigInvalidError, loadConfig, optionSources, type ConfigFieldSpec } from '../config.ts';
import { DEFAULT_SHUTDOWN_CAP_MS, runUntilSignal } from '../lifecycle.ts';
import { parseMetricsListen, warnIfMetricsExposed } from '../metrics-listen.ts';
import { buildIdentity } from '../version.ts';

/**
 * The admin command's fields for the CLI's config loader: the common ones plus the
 * AdminConfig flags (env `VOTECLUSTER_ADMIN_<KEY>`; nested keys by derived name, e.g.
 * `VOTECLUSTER_ADMIN_STATUS__RECENT_VOTES`). Secrets are file paths.
 */
export const ADMIN_CONFIG_FIELDS: readonly ConfigFieldSpec[] = [
  ...COMMON_CONFIG_FIELDS,
  { path: 'grpc.listen', flag: 'grpcListen' },
  { path: 'status.listen', flag: 'statusListen' },
  { path: 'walletRpc.enabled', flag: 'walletRpc' },
  { path: 'walletRpc.listen', flag: 'walletListen' },
  { path: 'walletRpc.username', flag: 'walletUser' },
  { path: 'walletRpc.passwordFile', flag: 'walletPassFile', secret: true },
  { path: 'walletRpc.tlsCertFile', flag: 'walletTlsCert' },
  { path: 'walletRpc.tlsKeyFile', flag: 'walletTlsKey', secret: true },
  { path: 'requireChainChecks', flag: 'requireChainChecks' },
  { path: 'metricsListen', flag: 'metricsListen', env: 'METRICS_LISTEN', extra: true },
];

/** Registers `admin`. */
export function register(program: Command): void {
  addCommonOptions(
    program
      .command('admin')
      .description('Run the admin service: gRPC Admin API, status page, optional vspd wallet JSON-RPC')
      .option('--grpc-listen <host:port>', 'gRPC Admin listen address', '127.0.0.1:0')
      .option('--status-listen <host:port>', 'status page listen address', '127.0.0.1:0')
      .option('--wallet-rpc', 'serve the dcrwallet-compatible JSON-RPC (vspd voting wallet)')
      .option('--wallet-listen <host:port>', 'wallet JSON-RPC listen address', '127.0.0.1:0')
      .option('--wallet-user <user>', 'wallet JSON-RPC basic-auth user', 'votecluster')
      .option('--wallet-pass-file <file>', 'file holding the wallet JSON-RPC password')
      .option('--wallet-tls-cert <file>', 'wallet JSON-RPC TLS certificate (PEM); vspd dials wss://')
      .option('--wallet-tls-key <file>', 'wallet JSON-RPC TLS key (PEM)')
      .option('--require-chain-checks', 'refuse imports when no proxy can confirm the ticket')
      .option('--metrics-listen <host:port>', 'serve Prometheus /metrics here (env VOTECLUSTER_ADMIN_METRICS_LISTEN)'),
  ).action(async (flags: Record<string, unknown>, cmd: Command) => {
    let loaded: { config: z.infer<typeof AdminCommandSchema>; extras: Record<string, unknown> };
    let metricsListen: { host: string; port: number } | undefined;
    try {
      loaded = loadConfig({ service: 'admin', schema: AdminCommandSchema, fields: ADMIN_CONFIG_FIELDS, flags, env: process.env, flagSource: optionSources(cmd) });
      const c = loaded.config;
      const extra: string[] = [];
      try {
        metricsListen = parseMetricsListen(loaded.extras['metricsListen'] as string | undefined);
      } catch (err) {
        extra.push((err as Error).message);
      }
      if (c.walletRpc.enabled && !c.walletRpc.passwordFile) extra.push('--wallet-pass-file is required with --wallet-rpc');
      if (extra.length > 0) throw new ConfigInvalidError(extra);
    } catch (err) {
      if (!(err instanceof ConfigInvalidError)) throw err;
      process.stderr.write(`votecluster: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    const { etcd, network, clusterKeyFile, nextClusterKeyFile, proxy, logLevel, etcdUser, etcdPasswordFile, etcdCa, etcdCert, etcdKey, ...adminOnly } = loaded.config;
    const etcdAccess = { etcdUser, etcdPasswordFile, etcdCa, etcdCert, etcdKey };
    const common: CommonOptions = {
      etcd, network, clusterKeyFile, logLevel, ...(proxy ? { proxy } : {}), ...(adminOnly.tls ? { tls: adminOnly.tls } : {}),
      ...(Object.fromEntries(Object.entries(etcdAccess).filter(([, v]) => v !== undefined)) as Partial<typeof etcdAccess>),
      ...(nextClusterKeyFile !== undefined ? { nextClusterKeyFile } : {}),
    };
    const cfg: AdminConfig = { ...adminOnly, network };
    const metrics = createMetrics({ service: 'admin', components: ['admin', 'cluster', 'chain'] });
    const ctx = await openAdminContext({ ...common, logLevel: common.logLevel === 'warn' ? 'info' : common.logLevel }, 'admin', { metrics });
    // Ticket records and vote defaults of an older version (no height their inputs apply from)
    // are never canonical: their draws take the record-first path. Give them one (idempotent).
    try {
      const tickets = await ctx.cluster.tickets.migrateVoteInputs();
      const defaults = await ctx.cluster.config.migrateVoteDefaults();
      if (tickets > 0 || defaults) ctx.log.info({ tickets, defaults }, 'vote inputs of an older version now apply from height 0');
    } catch (err) {
      ctx.log.warn({ err }, 'vote inputs of an older version not migrated (retried at the next start)');
    }
    const w = cfg.walletRpc;
    const password = w.passwordFile ? new SecretKey(Buffer.from((await readFile(w.passwordFile, 'utf8')).trim())) : undefined;
    const tls = w.tlsCertFile && w.tlsKeyFile ? { cert: await readFile(w.tlsCertFile), key: await readFile(w.tlsKeyFile) } : undefined;
    const admin = createAdmin(cfg, {
      metrics,
      store: ctx.store,
      ...(ctx.chain ? { chain: ctx.chain } : {}),
      ...(ctx.proxyClient && proxy ? { judgeProxies: [ctx.proxyClient], statusProxies: [{ address: proxy, getStatus: (o) => (ctx.proxyClient as NonNullable<typeof ctx.proxyClient>).getStatus(o) }] } : {}),
      log: ctx.log,
      version: buildIdentity().version,
      secrets: { ...(password ? { walletRpcPassword: password } : {}), ...(tls ? { walletRpcTls: tls } : {}) },
    });
    let metricsServer: MetricsServer | undefined;
    let serving = false;
    let stopped = false;
    try {
      if (metricsListen) {
        warnIfMetricsExposed(ctx.log, metricsListen);
        metricsServer = await startMetricsServer({
          ...metricsListen, registry: metrics.registry, health: () => !stopped, ready: () => adminReadiness(ctx.cluster, () => serving && !stopped),
        });
      }
      const endpoints = await admin.start();
      serving = true;
      process.stdout.write(`${JSON.stringify({ network: cfg.network, ...endpoints, ...(metricsServer ? { metrics: metricsServer.url } : {}) })}\n`);
    } catch (err) {
      await admin.stop();
      await metricsServer?.stop();
      await ctx.close();
      throw err;
    }
    await runUntilSignal(async () => {
      stopped = true;
      await admin.stop();
      await metricsServer?.stop();
      await ctx.close();
    }, ctx.log, DEFAULT_SHUTDOWN_CAP_MS);
    password?.wipe();
  });
}
