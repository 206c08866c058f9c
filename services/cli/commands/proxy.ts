/**
 * `votecluster proxy`: runs one node proxy beside a dcrd.
 * Config precedence (lowest first): schema defaults, `--config FILE` (JSON,
 * the NodeProxyConfig shape), env `VOTECLUSTER_PROXY_<KEY>`, flags. The dcrd
 * password only arrives as a file (`--dcrd-pass-file`). SIGTERM/SIGINT drain
 * the streams and stop within 5 s.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { createNodeProxy, NodeProxyError, NODEPROXY_TRACE_SERVICE, parseNodeProxyConfig, type NodeProxyConfig } from '../../nodeproxy/index.ts';
import { createLogger, createMetrics, initTelemetry, startMetricsServer, type MetricsServer, type Telemetry } from '../../telemetry/index.ts';
import { parseMetricsListen } from '../metrics-listen.ts';
import { DEFAULT_SHUTDOWN_CAP_MS as SHUTDOWN_CAP_MS, runUntilSignal } from '../lifecycle.ts';

/** Flag name → [config path, env suffix]. */
const FIELDS: ReadonlyArray<[flag: string, path: string, env: string]> = [
  ['dcrd', 'dcrd.url', 'DCRD'],
  ['dcrdUser', 'dcrd.user', 'DCRD_USER'],
  ['dcrdPassFile', 'dcrd.passFile', 'DCRD_PASS_FILE'],
  ['dcrdCa', 'dcrd.caFile', 'DCRD_CA'],
  ['listen', 'listen', 'LISTEN'],
  ['network', 'network', 'NETWORK'],
  ['tlsCert', 'tls.certFile', 'TLS_CERT'],
  ['tlsKey', 'tls.keyFile', 'TLS_KEY'],
  ['clientCa', 'tls.clientCaFile', 'CLIENT_CA'],
  ['ringSize', 'ringSize', 'RING_SIZE'],
  ['maxStreamLag', 'maxStreamLagEvents', 'MAX_STREAM_LAG'],
];
const NUMERIC = new Set(['ringSize', 'maxStreamLagEvents']);

/** Hard cap on shutdown (the issue's "stop within 5 s"). */

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** Merges file, env and flags into one raw config object (validated by the caller). */
export function buildProxyConfigInput(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const raw: Record<string, unknown> = flags['config'] ? (JSON.parse(readFileSync(String(flags['config']), 'utf8')) as Record<string, unknown>) : {};
  for (const [flag, path, suffix] of FIELDS) {
    const fromEnv = env[`VOTECLUSTER_PROXY_${suffix}`];
    const v = flags[flag] ?? fromEnv;
    if (v === undefined || v === '') continue;
    const leaf = path.split('.').pop() as string;
    setPath(raw, path, NUMERIC.has(leaf) ? Number(v) : v);
  }
  return raw;
}

/** Registers `proxy`. */
export function register(program: Command): void {
  program
    .command('proxy')
    .description('Run a node proxy: one dcrd websocket session in, the NodeProxy gRPC API out')
    .option('--config <file>', 'JSON config file (NodeProxyConfig shape)')
    .option('--dcrd <url>', 'dcrd websocket URL, e.g. wss://127.0.0.1:19556/ws')
    .option('--dcrd-user <user>', 'dcrd RPC user')
    .option('--dcrd-pass-file <file>', 'file holding the dcrd RPC password')
    .option('--dcrd-ca <file>', "dcrd's rpc.cert (CA to trust for wss://)")
    .option('--listen <host:port>', 'gRPC listen address', undefined)
    .option('--network <name>', 'simnet | testnet3 | mainnet')
    .option('--tls-cert <file>', 'gRPC server certificate (PEM)')
    .option('--tls-key <file>', 'gRPC server key (PEM)')
    .option('--client-ca <file>', 'CA for client certificates (enables mTLS)')
    .option('--ring-size <n>', 'WatchChain ring buffer size (events)')
    .option('--max-stream-lag <n>', 'events a stream may fall behind before it is cut')
    .option('--metrics-listen <host:port>', 'serve Prometheus /metrics here (env VOTECLUSTER_PROXY_METRICS_LISTEN)')
    .option('--trace-file <file>', 'append spans (JSON lines) to this file (env VOTECLUSTER_PROXY_TRACE_FILE)')
    .option('--otlp-endpoint <url>', 'OTLP/gRPC trace collector (env VOTECLUSTER_PROXY_OTLP_ENDPOINT)')
    .option('--log-level <level>', 'pino level', 'info')
    .action(async (flags: Record<string, unknown>) => {
      let cfg: NodeProxyConfig;
      let metricsListen: { host: string; port: number } | undefined;
      const traceFile = (flags['traceFile'] ?? process.env['VOTECLUSTER_PROXY_TRACE_FILE']) as string | undefined;
      const otlpEndpoint = (flags['otlpEndpoint'] ?? process.env['VOTECLUSTER_PROXY_OTLP_ENDPOINT']) as string | undefined;
      try {
        cfg = parseNodeProxyConfig(buildProxyConfigInput(flags, process.env));
        metricsListen = parseMetricsListen((flags['metricsListen'] ?? process.env['VOTECLUSTER_PROXY_METRICS_LISTEN']) as string | undefined);
      } catch (err) {
        process.stderr.write(`votecluster proxy: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const logger = createLogger({ service: 'nodeproxy', level: flags['logLevel'] as 'info' });
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
        if (metricsListen) metricsServer = await startMetricsServer({ ...metricsListen, registry: metrics.registry });
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
      await runUntilSignal(() => proxy.stop(), logger, SHUTDOWN_CAP_MS);
    });
}
