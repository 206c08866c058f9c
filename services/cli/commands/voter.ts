/**
 * `votecluster voter`: runs one stateless voter as its own process (the chaos
 * suite SIGKILLs/SIGSTOPs it). Config precedence (lowest first): schema
 * defaults, `--config FILE` (JSON, the VoterConfig shape), env
 * `VOTECLUSTER_VOTER_<KEY>`, flags. The cluster key only arrives as a file.
 * Prints one JSON line `{"voter":"started",...}` once running; SIGTERM/SIGINT
 * stop it cleanly (every loop awaited, lease revoked) within 5 s.
 */
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Command } from 'commander';
import { createLogger, createMetrics, initTelemetry, startMetricsServer, type MetricsServer, type Telemetry } from '../../telemetry/index.ts';
import { createVoter, parseVoterConfig, VoterConfigError, VOTER_TRACE_SERVICE, type VoterConfig } from '../../voter/index.ts';
import { DEFAULT_SHUTDOWN_CAP_MS as SHUTDOWN_CAP_MS, runUntilSignal } from '../lifecycle.ts';

/** Hard cap on shutdown. */

/** Flag → [config path, env suffix, kind]. */
const FIELDS: ReadonlyArray<[flag: string, path: string, env: string, kind: 'string' | 'number' | 'list']> = [
  ['nodeId', 'nodeId', 'NODE_ID', 'string'],
  ['region', 'region', 'REGION', 'string'],
  ['network', 'network', 'NETWORK', 'string'],
  ['etcd', 'etcd.endpoints', 'ETCD', 'list'],
  ['clusterKeyFile', 'clusterKeyFile', 'CLUSTER_KEY_FILE', 'string'],
  ['hedgeMs', 'hedgeMs', 'HEDGE_MS', 'number'],
  ['leaseTtlSec', 'leaseTtlSec', 'LEASE_TTL_SEC', 'number'],
  ['strategy', 'strategy', 'STRATEGY', 'string'],
  ['resendIntervalMs', 'resendIntervalMs', 'RESEND_INTERVAL_MS', 'number'],
  ['redundancyTarget', 'redundancyTarget', 'REDUNDANCY_TARGET', 'number'],
  ['metricsListen', 'metrics.listen', 'METRICS_LISTEN', 'string'],
  ['traceFile', 'trace.file', 'TRACE_FILE', 'string'],
  ['otlpEndpoint', 'trace.otlpEndpoint', 'OTLP_ENDPOINT', 'string'],
];

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof node[p] !== 'object' || node[p] === null) node[p] = {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

/** `ADDR[@region]` → proxy entry; the region defaults to the voter's. */
export function parseProxyArg(arg: string, defaultRegion: string | undefined): { address: string; region: string | undefined } {
  const at = arg.lastIndexOf('@');
  return at > 0 ? { address: arg.slice(0, at), region: arg.slice(at + 1) } : { address: arg, region: defaultRegion };
}

/** Merges file, env and flags into one raw config (validated by the caller). */
export function buildVoterConfigInput(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const raw: Record<string, unknown> = flags['config'] ? (JSON.parse(readFileSync(String(flags['config']), 'utf8')) as Record<string, unknown>) : {};
  for (const [flag, path, suffix, kind] of FIELDS) {
    const v = flags[flag] ?? env[`VOTECLUSTER_VOTER_${suffix}`];
    if (v === undefined || v === '') continue;
    const s = String(v);
    setPath(raw, path, kind === 'number' ? Number(s) : kind === 'list' ? s.split(',').map((x) => x.trim()).filter(Boolean) : s);
  }
  const fromFlags = Array.isArray(flags['proxy']) && flags['proxy'].length > 0 ? (flags['proxy'] as string[]) : undefined;
  const proxyArgs = fromFlags ?? env['VOTECLUSTER_VOTER_PROXIES']?.split(',').map((x) => x.trim()).filter(Boolean);
  if (proxyArgs && proxyArgs.length > 0) {
    const region = typeof raw['region'] === 'string' ? raw['region'] : undefined;
    raw['proxies'] = proxyArgs.map((a) => parseProxyArg(a, region));
  }
  return raw;
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/**
 * One full, compacting GC right after start-up. Loading 100k tickets leaves ~40 MB of parsed
 * JSON/strings in the old generation and ~40 MB of etcd response buffers that V8 would otherwise
 * keep until its next major GC (minutes on an idle voter); this returns them at once (RSS
 * -20..-40 MB measured, one ~100-200 ms pause before the voter reports started).
 * Node has no public API for it: `--expose-gc` set at runtime exposes `gc` to new contexts.
 */
function reclaimStartupGarbage(): void {
  try {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  } catch {
    // Best effort: memory is only returned later.
  }
}

/** Registers `voter`. */
export function register(program: Command): void {
  program
    .command('voter')
    .description('Run a stateless voter: watch every node proxy, sign owned draws, hedge for the others')
    .option('--config <file>', 'JSON config file (VoterConfig shape)')
    .option('--node-id <id>', 'unique node id in the cluster')
    .option('--region <name>', 'region of this voter')
    .option('--network <name>', 'simnet | testnet3 | mainnet | regnet')
    .option('--etcd <urls>', 'etcd client URLs, comma-separated')
    .option('--proxy <addr>', 'node proxy gRPC address as host:port[@region] (repeatable; local region first)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--cluster-key-file <file>', 'file holding the 32-byte cluster key')
    .option('--hedge-ms <ms>', 'backup hedge delay per rank')
    .option('--lease-ttl-sec <s>', 'session lease TTL')
    .option('--strategy <name>', 'lease | all-vote')
    .option('--resend-interval-ms <ms>', 're-send interval for undelivered votes')
    .option('--redundancy-target <n>', 'live voters wanted per region (exported for alerting)')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics here')
    .option('--trace-file <file>', 'append spans (JSON lines) to this file')
    .option('--otlp-endpoint <url>', 'OTLP/gRPC trace collector')
    .option('--log-level <level>', 'pino level', 'info')
    .action(async (flags: Record<string, unknown>) => {
      let cfg: VoterConfig;
      try {
        cfg = parseVoterConfig(buildVoterConfigInput(flags, process.env));
      } catch (err) {
        const issues = err instanceof VoterConfigError ? err.issues : [(err as Error).message];
        for (const i of issues) process.stderr.write(`votecluster voter: ${i}\n`);
        process.exitCode = 2;
        return;
      }
      const log = createLogger({ service: 'voter', region: cfg.region, nodeId: cfg.nodeId, level: flags['logLevel'] as 'info' });
      const metrics = createMetrics({ service: 'voter', components: ['voter', 'cluster'], defaultLabels: { region: cfg.region, node: cfg.nodeId } });
      let telemetry: Telemetry | undefined;
      let metricsServer: MetricsServer | undefined;
      const voter = createVoter(cfg, { log, metrics });
      const cleanup = async (): Promise<void> => {
        await voter.stop();
        await metricsServer?.stop();
        await telemetry?.shutdown();
      };
      try {
        if (cfg.trace.file || cfg.trace.otlpEndpoint) {
          telemetry = await initTelemetry({
            serviceName: VOTER_TRACE_SERVICE, region: cfg.region, nodeId: cfg.nodeId,
            ...(cfg.trace.file ? { traceFile: cfg.trace.file } : {}),
            ...(cfg.trace.otlpEndpoint ? { otlpEndpoint: cfg.trace.otlpEndpoint } : {}),
          });
        }
        if (cfg.metrics.listen) metricsServer = await startMetricsServer({ ...hostPort(cfg.metrics.listen), registry: metrics.registry });
        const started = Date.now();
        await voter.start();
        reclaimStartupGarbage();
        const s = voter.stats();
        process.stdout.write(`${JSON.stringify({
          voter: 'started', nodeId: cfg.nodeId, region: cfg.region, strategy: cfg.strategy, startMs: Date.now() - started,
          managed: s.managedTickets, owned: s.ownedTickets, rssMb: Math.round(process.memoryUsage().rss / 1e6),
          // Since process start (module loading included), CPU of the whole process, peak RSS: the start-up bench reads these.
          processMs: Math.round(process.uptime() * 1000), cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
          peakRssMb: Math.round((process.resourceUsage().maxRSS * 1024) / 1e6), heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1e6),
          heapTotalMb: Math.round(process.memoryUsage().heapTotal / 1e6), arrayBuffersMb: Math.round(process.memoryUsage().arrayBuffers / 1e6),
          ...(metricsServer ? { metrics: metricsServer.url } : {}),
        })}\n`);
      } catch (err) {
        const e = err as { code?: string; message?: string };
        log.error({ err }, 'voter failed to start');
        process.stderr.write(`votecluster voter: ${e.code ? `[${e.code}] ` : ''}${e.message ?? String(err)}\n`);
        process.exitCode = 1;
        await cleanup().catch(() => undefined);
        return;
      }
      await runUntilSignal(() => cleanup(), log, SHUTDOWN_CAP_MS);
    });
}
