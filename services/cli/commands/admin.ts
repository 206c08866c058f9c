/**
 * `votecluster admin`: runs the admin service (gRPC Admin, status page and,
 * with --wallet-rpc, the dcrwallet-compatible JSON-RPC endpoint for vspd)
 * against etcd. Secrets arrive as files. SIGTERM/SIGINT stop it.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AdminConfigSchema, createAdmin } from '../../admin/index.ts';
import { createMetrics, SecretKey, startMetricsServer, type MetricsServer } from '../../telemetry/index.ts';
import { addCommonOptions, ConfigInvalid, openAdminContext, parseCommon } from '../admin-context.ts';
import { parseMetricsListen } from '../metrics-listen.ts';

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
  ).action(async (flags: Record<string, unknown>) => {
    const raw = {
      network: flags['network'] ?? process.env['VOTECLUSTER_ADMIN_NETWORK'],
      grpc: { listen: flags['grpcListen'] },
      status: { listen: flags['statusListen'] },
      walletRpc: {
        enabled: Boolean(flags['walletRpc']),
        listen: flags['walletListen'],
        username: flags['walletUser'],
        ...(flags['walletPassFile'] ? { passwordFile: flags['walletPassFile'] } : {}),
        ...(flags['walletTlsCert'] ? { tlsCertFile: flags['walletTlsCert'] } : {}),
        ...(flags['walletTlsKey'] ? { tlsKeyFile: flags['walletTlsKey'] } : {}),
      },
      requireChainChecks: Boolean(flags['requireChainChecks']),
    };
    const parsed = AdminConfigSchema.safeParse(raw);
    const extra = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    let metricsListen: { host: string; port: number } | undefined;
    try {
      metricsListen = parseMetricsListen((flags['metricsListen'] ?? process.env['VOTECLUSTER_ADMIN_METRICS_LISTEN']) as string | undefined);
    } catch (err) {
      extra.push((err as Error).message);
    }
    if (parsed.success && parsed.data.walletRpc.enabled && !parsed.data.walletRpc.passwordFile) extra.push('--wallet-pass-file is required with --wallet-rpc');
    let common;
    try {
      common = parseCommon(flags, process.env, extra);
    } catch (err) {
      if (err instanceof ConfigInvalid) {
        process.exitCode = 2;
        return;
      }
      throw err;
    }
    const cfg = parsed.data!;
    // The admin's cluster handle feeds the cluster families too (etcd txn latency/errors, watch age, live nodes).
    const metrics = createMetrics({ service: 'admin', components: ['admin', 'cluster'] });
    const ctx = await openAdminContext({ ...common, logLevel: common.logLevel === 'warn' ? 'info' : common.logLevel }, 'admin', { metrics });
    const w = cfg.walletRpc;
    const password = w.passwordFile ? new SecretKey(Buffer.from((await readFile(w.passwordFile, 'utf8')).trim())) : undefined;
    const tls = w.tlsCertFile && w.tlsKeyFile ? { cert: await readFile(w.tlsCertFile), key: await readFile(w.tlsKeyFile) } : undefined;
    const admin = createAdmin(cfg, {
      metrics,
      store: ctx.store,
      ...(ctx.chain ? { chain: ctx.chain } : {}),
      log: ctx.log,
      secrets: { ...(password ? { walletRpcPassword: password } : {}), ...(tls ? { walletRpcTls: tls } : {}) },
    });
    let metricsServer: MetricsServer | undefined;
    try {
      if (metricsListen) metricsServer = await startMetricsServer({ ...metricsListen, registry: metrics.registry });
      const endpoints = await admin.start();
      process.stdout.write(`${JSON.stringify({ network: cfg.network, ...endpoints, ...(metricsServer ? { metrics: metricsServer.url } : {}) })}\n`);
    } catch (err) {
      await admin.stop();
      await metricsServer?.stop();
      await ctx.close();
      throw err;
    }
    await new Promise<void>((resolve) => {
      const onSignal = (): void => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        resolve();
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
    await admin.stop();
    await metricsServer?.stop();
    await ctx.close();
    password?.wipe();
  });
}
