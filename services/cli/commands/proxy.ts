/**
 * `votecluster proxy`: runs one node proxy beside a dcrd.
 * Config precedence (lowest first): schema defaults, `--config FILE` (JSON,
 * the NodeProxyConfig shape), env `VOTECLUSTER_PROXY_<KEY>`, flags. The dcrd
 * password only arrives as a file (`--dcrd-pass-file`). SIGTERM/SIGINT drain
 * the streams and stop within 5 s.
 */
import type { Command } from 'commander';
import { createNodeProxy, NodeProxyConfigSchema, NodeProxyError, NODEPROXY_TRACE_SERVICE, SECRET_CONFIG_PATHS, type NodeProxyConfig } from '../../nodeproxy/index.ts';
import { ConfigInvalidError, loadConfig, optionSources, type ConfigFieldSpec } from '../config.ts';
import { createLogger, createMetrics, initTelemetry, startMetricsServer, type MetricsServer, type Telemetry } from '../../telemetry/index.ts';
import { parseMetricsListen, warnIfMetricsExposed } from '../metrics-listen.ts';
import { addTlsOptions, TLS_CONFIG_FIELDS } from '../tls-options.ts';
import { DEFAULT_SHUTDOWN_CAP_MS as SHUTDOWN_CAP_MS, runUntilSignal } from '../lifecycle.ts';

/**
 * The proxy's fields for the CLI's config loader (services/cli/config.ts): flag, short env
 * alias after `VOTECLUSTER_PROXY_` (every schema leaf also has its derived name, e.g.
 * `VOTECLUSTER_PROXY_DCRD__CALL_TIMEOUT_MS`). Extras are the command's own options.
 */
export const PROXY_CONFIG_FIELDS: readonly ConfigFieldSpec[] = [
  { path: 'dcrd.url', flag: 'dcrd', env: 'DCRD' },
  { path: 'dcrd.user', flag: 'dcrdUser', env: 'DCRD_USER' },
  { path: 'dcrd.passFile', flag: 'dcrdPassFile', env: 'DCRD_PASS_FILE', secret: true },
  { path: 'dcrd.caFile', flag: 'dcrdCa', env: 'DCRD_CA' },
  { path: 'listen', flag: 'listen', env: 'LISTEN' },
  { path: 'network', flag: 'network', env: 'NETWORK' },
  ...TLS_CONFIG_FIELDS,
  { path: 'ringSize', flag: 'ringSize', env: 'RING_SIZE' },
  { path: 'maxStreamLagEvents', flag: 'maxStreamLag', env: 'MAX_STREAM_LAG' },
  { path: 'metricsListen', flag: 'metricsListen', env: 'METRICS_LISTEN', extra: true },
  { path: 'traceFile', flag: 'traceFile', env: 'TRACE_FILE', extra: true },
  { path: 'otlpEndpoint', flag: 'otlpEndpoint', env: 'OTLP_ENDPOINT', extra: true },
  { path: 'logLevel', flag: 'logLevel', env: 'LOG_LEVEL', extra: true },
];

/**
 * Loads the proxy's config: defaults < `--config FILE` < env `VOTECLUSTER_PROXY_*` < flags.
 * @throws {ConfigInvalidError} one line per problem, naming field and source.
 */
export function loadProxyConfig(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  flagSource?: (flag: string) => string | undefined,
): { cfg: NodeProxyConfig; metricsListen: { host: string; port: number } | undefined; traceFile?: string; otlpEndpoint?: string; logLevel: string } {
  const { config, extras } = loadConfig({
    service: 'proxy', schema: NodeProxyConfigSchema, fields: PROXY_CONFIG_FIELDS, flags, env, secretPaths: SECRET_CONFIG_PATHS,
    ...(flagSource ? { flagSource } : {}),
  });
  let metricsListen: { host: string; port: number } | undefined;
  try {
    metricsListen = parseMetricsListen(extras['metricsListen'] as string | undefined);
  } catch (err) {
    throw new ConfigInvalidError([(err as Error).message]);
  }
  const traceFile = extras['traceFile'] as string | undefined;
  const otlpEndpoint = extras['otlpEndpoint'] as string | undefined;
  return { cfg: config, metricsListen, ...(traceFile ? { traceFile } : {}), ...(otlpEndpoint ? { otlpEndpoint } : {}), logLevel: (extras['logLevel'] as string | undefined) ?? 'info' };
}

/** Registers `proxy`. */
export function register(program: Command): void {
  const cmd = program
    .command('proxy')
    .description('Run a node proxy: one dcrd websocket session in, the NodeProxy gRPC API out')
    .option('--config <file>', 'config file, JSON or YAML (NodeProxyConfig shape)')
    .option('--dcrd <url>', 'dcrd websocket URL, e.g. wss://127.0.0.1:19556/ws')
    .option('--dcrd-user <user>', 'dcrd RPC user')
    .option('--dcrd-pass-file <file>', 'file holding the dcrd RPC password')
    .option('--dcrd-ca <file>', "dcrd's rpc.cert (CA to trust for wss://)")
    .option('--listen <host:port>', 'gRPC listen address', undefined)
    .option('--network <name>', 'simnet | testnet3 | mainnet');
  addTlsOptions(cmd, 'proxy', 'to voters (mutual TLS: clients need a certificate from --tls-ca; without these the proxy serves plaintext on loopback only)')
    .option('--ring-size <n>', 'WatchChain ring buffer size (events)')
    .option('--max-stream-lag <n>', 'events a stream may fall behind before it is cut')
    .option('--metrics-listen <host:port>', 'serve Prometheus /metrics here (env VOTECLUSTER_PROXY_METRICS_LISTEN)')
    .option('--trace-file <file>', 'append spans (JSON lines) to this file (env VOTECLUSTER_PROXY_TRACE_FILE)')
    .option('--otlp-endpoint <url>', 'OTLP/gRPC trace collector (env VOTECLUSTER_PROXY_OTLP_ENDPOINT)')
    .option('--log-level <level>', 'pino level (env VOTECLUSTER_PROXY_LOG_LEVEL)', 'info')
    .action(async (flags: Record<string, unknown>, cmd: Command) => {
      let loaded: ReturnType<typeof loadProxyConfig>;
      try {
        loaded = loadProxyConfig(flags, process.env, optionSources(cmd));
      } catch (err) {
        process.stderr.write(`votecluster proxy: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const { cfg, metricsListen, traceFile, otlpEndpoint } = loaded;
      const logger = createLogger({ service: 'nodeproxy', level: loaded.logLevel as 'info' });
      const metrics = createMetrics({ service: 'nodeproxy' });
      const proxy = createNodeProxy(cfg, { logger, metrics });
      let telemetry: Telemetry | undefined;
      let metricsServer: MetricsServer | undefined;
      const cleanup = async (): Promise<void> => {
        await proxy.stop();
        await metricsServer?.stop();
        await telemetry?.shutdown();
      };
      try {
        if (traceFile || otlpEndpoint) {
          telemetry = await initTelemetry({
            serviceName: NODEPROXY_TRACE_SERVICE,
            ...(traceFile ? { traceFile } : {}),
            ...(otlpEndpoint ? { otlpEndpoint } : {}),
          });
        }
        if (metricsListen) {
          warnIfMetricsExposed(logger, metricsListen);
          metricsServer = await startMetricsServer({
            ...metricsListen, registry: metrics.registry, health: () => proxy.isAlive(), ready: () => proxy.readiness(),
          });
        }
        const { address } = await proxy.start();
        process.stdout.write(`${JSON.stringify({ listening: address, network: cfg.network, ...(metricsServer ? { metrics: metricsServer.url } : {}) })}\n`);
      } catch (err) {
        const e = err as NodeProxyError;
        logger.error({ err: e }, 'node proxy failed to start');
        process.stderr.write(`votecluster proxy: ${e.code ? `[${e.code}] ` : ''}${e.message}\n`);
        process.exitCode = e instanceof NodeProxyError && e.code === 'NODEPROXY_CONFIG' ? 2 : 1;
        await cleanup().catch(() => undefined);
        return;
      }
      // Everything the command started (a /metrics listener left open kept the loop alive past the cap: exit 1).
      await runUntilSignal(cleanup, logger, SHUTDOWN_CAP_MS);
    });
}
