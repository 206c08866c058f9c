/**
 * `votecluster voter`: runs one stateless voter as its own process (the chaos
 * suite SIGKILLs/SIGSTOPs it). Config precedence (lowest first): schema
 * defaults, `--config FILE` (JSON, the VoterConfig shape), env
 * `VOTECLUSTER_VOTER_<KEY>`, flags. The cluster key only arrives as a file.
 * Prints one JSON line `{"voter":"started",...}` once running; SIGTERM/SIGINT
 * stop it cleanly (every loop awaited, lease revoked) within 5 s.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Command } from 'commander';
import { createLogger, createMetrics, initTelemetry, startMetricsServer, type MetricsServer, type Telemetry } from '../../telemetry/index.ts';
import { createVoter, VoterConfigSchema, VOTER_SECRET_FIELDS, VOTER_TRACE_SERVICE, type VoterConfig } from '../../voter/index.ts';
import { ConfigInvalidError, loadConfig, optionSources, type ConfigFieldSpec } from '../config.ts';
import { DEFAULT_SHUTDOWN_CAP_MS as SHUTDOWN_CAP_MS, runUntilSignal } from '../lifecycle.ts';
import { addTlsOptions, TLS_CONFIG_FIELDS } from '../tls-options.ts';
import { warnIfMetricsExposed } from '../metrics-listen.ts';

/** Hard cap on shutdown. */

/** `ADDR[@region]` → proxy entry; the region defaults to the voter's. */
export function parseProxyArg(arg: string, defaultRegion: string | undefined): { address: string; region: string | undefined } {
  const at = arg.lastIndexOf('@');
  return at > 0 ? { address: arg.slice(0, at), region: arg.slice(at + 1) } : { address: arg, region: defaultRegion };
}

/**
 * The voter's fields for the CLI's config loader (services/cli/config.ts): flag and short env
 * alias after `VOTECLUSTER_VOTER_` (every schema leaf also has its derived name, e.g.
 * `VOTECLUSTER_VOTER_ETCD__DIAL_TIMEOUT_MS`). `--proxy` (repeatable) and `VOTECLUSTER_VOTER_PROXIES`
 * (comma-separated) take `ADDR[@region]`, the region defaulting to the merged `region`.
 */
export const VOTER_CONFIG_FIELDS: readonly ConfigFieldSpec[] = [
  { path: 'nodeId', flag: 'nodeId', env: 'NODE_ID' },
  { path: 'region', flag: 'region', env: 'REGION' },
  { path: 'network', flag: 'network', env: 'NETWORK' },
  { path: 'etcd.endpoints', flag: 'etcd', env: 'ETCD', kind: 'list' },
  { path: 'etcd.username', flag: 'etcdUser', env: 'ETCD_USER' },
  { path: 'etcd.passwordFile', flag: 'etcdPasswordFile', env: 'ETCD_PASSWORD_FILE', secret: true },
  { path: 'etcd.caFile', flag: 'etcdCa', env: 'ETCD_CA' },
  { path: 'etcd.certFile', flag: 'etcdCert', env: 'ETCD_CERT' },
  { path: 'etcd.keyFile', flag: 'etcdKey', env: 'ETCD_KEY', secret: true },
  { path: 'clusterKeyFile', flag: 'clusterKeyFile', env: 'CLUSTER_KEY_FILE', secret: true },
  { path: 'nextClusterKeyFile', flag: 'nextClusterKeyFile', env: 'NEXT_CLUSTER_KEY_FILE', secret: true },
  ...TLS_CONFIG_FIELDS,
  { path: 'hedgeMs', flag: 'hedgeMs', env: 'HEDGE_MS' },
  { path: 'leaseTtlSec', flag: 'leaseTtlSec', env: 'LEASE_TTL_SEC' },
  { path: 'strategy', flag: 'strategy', env: 'STRATEGY' },
  { path: 'resendIntervalMs', flag: 'resendIntervalMs', env: 'RESEND_INTERVAL_MS' },
  { path: 'redundancyTarget', flag: 'redundancyTarget', env: 'REDUNDANCY_TARGET' },
  { path: 'metrics.listen', flag: 'metricsListen', env: 'METRICS_LISTEN' },
  { path: 'trace.file', flag: 'traceFile', env: 'TRACE_FILE' },
  { path: 'trace.otlpEndpoint', flag: 'otlpEndpoint', env: 'OTLP_ENDPOINT' },
  {
    path: 'proxies', flag: 'proxy', env: 'PROXIES',
    convert: (v, merged) => {
      const list = Array.isArray(v) ? v.map(String) : String(v).split(',').map((x) => x.trim()).filter(Boolean);
      const region = typeof merged['region'] === 'string' ? merged['region'] : undefined;
      return list.map((a) => parseProxyArg(a, region));
    },
  },
  { path: 'logLevel', flag: 'logLevel', env: 'LOG_LEVEL', extra: true },
];

/**
 * Loads the voter's config: defaults < `--config FILE` < env `VOTECLUSTER_VOTER_*` < flags.
 * @throws {ConfigInvalidError} one line per problem, naming field and source.
 */
export function loadVoterConfig(
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  flagSource?: (flag: string) => string | undefined,
): { cfg: VoterConfig; logLevel: string } {
  const { config, extras } = loadConfig({
    service: 'voter', schema: VoterConfigSchema, fields: VOTER_CONFIG_FIELDS, flags, env, secretPaths: VOTER_SECRET_FIELDS,
    ...(flagSource ? { flagSource } : {}),
  });
  return { cfg: config, logLevel: (extras['logLevel'] as string | undefined) ?? 'info' };
}

function hostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

/**
 * Full, compacting GCs around start-up (the target: 100k tickets in < 300 MB RSS, peak
 * included). Node has no public API for them: `--expose-gc` set at runtime exposes `gc` to new
 * contexts. Each is one ~100-200 ms pause.
 * - `guardStart()`: while the voter starts, a GC whenever RSS grew {@link STARTUP_GC_GROWTH_MB}
 *   above what the last one left (and is above {@link STARTUP_GC_FLOOR_MB}), at most every
 *   {@link STARTUP_GC_MIN_GAP_MS}. V8 sizes its heap for throughput and frees the etcd response
 *   buffers of the cache load (~120 MB of JSON for 100k tickets; it reacts to external memory
 *   only 64 MB above its last GC) at a major GC only: without this, RSS peaked ~60 MB above the
 *   steady state before the start-up GC. 2-3 GCs at 100k tickets (measured).
 * - `collect()` right after start-up: the load's remaining garbage and buffers at once (RSS
 *   -20..-40 MB measured) instead of at V8's next major GC (minutes on an idle voter).
 * - `shrinkYoungGenerationLater()`: V8 shrinks its young generation (to ~1 MB) at a full GC only
 *   when the allocation rate of the last 5 s was low, never true right after the load; module
 *   loading and the load grow it to its 33.6 MB maximum (20-30 MB resident). One more GC
 *   {@link YOUNG_GEN_SHRINK_AFTER_MS} after start-up, when the voter is idle, returns it (RSS
 *   -15..-30 MB measured). (Limiting its growth instead, with V8's semi-space growth factor,
 *   made the load promote the etcd pages to the old generation: a higher peak, measured.)
 */
class StartupMemory {
  #lastGcAt = 0;
  #rssAfterGc = 0;
  #guardGcs = 0;
  #shrinkTimer: NodeJS.Timeout | undefined;

  /** GCs run by the guard so far. */
  get guardGcs(): number {
    return this.#guardGcs;
  }

  collect(): void {
    try {
      this.#lastGcAt = Date.now();
      setFlagsFromString('--expose-gc');
      (runInNewContext('gc') as () => void)();
      this.#rssAfterGc = process.memoryUsage.rss();
    } catch {
      // Best effort: memory is only returned later.
    }
  }

  /** Starts the start-up guard; returns its stop function. */
  guardStart(): () => void {
    const t = setInterval(() => {
      const limit = Math.max(STARTUP_GC_FLOOR_MB * 1e6, this.#rssAfterGc + STARTUP_GC_GROWTH_MB * 1e6);
      if (process.memoryUsage.rss() > limit && Date.now() - this.#lastGcAt >= STARTUP_GC_MIN_GAP_MS) {
        this.collect();
        this.#guardGcs++;
      }
    }, STARTUP_GC_POLL_MS);
    t.unref();
    return () => clearInterval(t);
  }

  shrinkYoungGenerationLater(onDone: () => void): void {
    this.#shrinkTimer = setTimeout(() => {
      this.collect();
      onDone();
    }, YOUNG_GEN_SHRINK_AFTER_MS);
    this.#shrinkTimer.unref();
  }

  stop(): void {
    clearTimeout(this.#shrinkTimer);
  }
}
const STARTUP_GC_FLOOR_MB = 200;
const STARTUP_GC_GROWTH_MB = 40;
const STARTUP_GC_MIN_GAP_MS = 1_000;
const STARTUP_GC_POLL_MS = 100;
const YOUNG_GEN_SHRINK_AFTER_MS = 5_000;

/** Resident bytes of V8's young generation, MB (start-up line). */
function youngGenMb(): number {
  const s = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  return Math.round((s?.physical_space_size ?? 0) / 1e6);
}

/** Registers `voter`. */
export function register(program: Command): void {
  const cmd = program
    .command('voter')
    .description('Run a stateless voter: watch every node proxy, sign owned draws, hedge for the others')
    .option('--config <file>', 'config file, JSON or YAML (VoterConfig shape)')
    .option('--node-id <id>', 'unique node id in the cluster')
    .option('--region <name>', 'region of this voter')
    .option('--network <name>', 'simnet | testnet3 | mainnet | regnet')
    .option('--etcd <urls>', 'etcd client URLs, comma-separated')
    .option('--etcd-user <name>', 'etcd user (votecluster-voter; env VOTECLUSTER_VOTER_ETCD_USER)')
    .option('--etcd-password-file <file>', "file holding the etcd user's password, mode 0600 (env VOTECLUSTER_VOTER_ETCD_PASSWORD_FILE)")
    .option('--etcd-ca <file>', "PEM CA of etcd's server certificate (env VOTECLUSTER_VOTER_ETCD_CA)")
    .option('--etcd-cert <file>', 'PEM client certificate for etcd (env VOTECLUSTER_VOTER_ETCD_CERT)')
    .option('--etcd-key <file>', 'PEM key of --etcd-cert (env VOTECLUSTER_VOTER_ETCD_KEY)')
    .option('--proxy <addr>', 'node proxy gRPC address as host:port[@region] (repeatable; local region first)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--cluster-key-file <file>', 'file holding the 32-byte cluster key (mode 0600)')
    .option('--next-cluster-key-file <file>', 'the next cluster key during a rotation (read when `key rotate` starts; may be absent otherwise)');
  addTlsOptions(cmd, 'voter', 'to the node proxies (mutual TLS; the proxies\' certificates must come from --tls-ca and name the --proxy address)')
    .option('--hedge-ms <ms>', 'backup hedge delay per rank')
    .option('--lease-ttl-sec <s>', 'session lease TTL')
    .option('--strategy <name>', 'lease (default: region signers for canonical draws, else one signer) | single-signer | all-vote')
    .option('--resend-interval-ms <ms>', 're-send interval for undelivered votes')
    .option('--redundancy-target <n>', 'live voters wanted per region (exported for alerting)')
    .option('--metrics-listen <host:port>', 'serve Prometheus metrics here')
    .option('--trace-file <file>', 'append spans (JSON lines) to this file')
    .option('--otlp-endpoint <url>', 'OTLP/gRPC trace collector')
    .option('--log-level <level>', 'pino level (env VOTECLUSTER_VOTER_LOG_LEVEL)', 'info')
    .action(async (flags: Record<string, unknown>, cmd: Command) => {
      let cfg: VoterConfig;
      let logLevel: string;
      try {
        ({ cfg, logLevel } = loadVoterConfig(flags, process.env, optionSources(cmd)));
      } catch (err) {
        const issues = err instanceof ConfigInvalidError ? err.issues : [(err as Error).message];
        for (const i of issues) process.stderr.write(`votecluster voter: ${i}\n`);
        process.exitCode = 2;
        return;
      }
      const log = createLogger({ service: 'voter', region: cfg.region, nodeId: cfg.nodeId, level: logLevel as 'info' });
      const metrics = createMetrics({ service: 'voter', components: ['voter', 'cluster'], defaultLabels: { region: cfg.region, node: cfg.nodeId } });
      let telemetry: Telemetry | undefined;
      let metricsServer: MetricsServer | undefined;
      const voter = createVoter(cfg, { log, metrics });
      const memory = new StartupMemory();
      const cleanup = async (): Promise<void> => {
        memory.stop();
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
        if (cfg.metrics.listen) {
          warnIfMetricsExposed(log, hostPort(cfg.metrics.listen));
          metricsServer = await startMetricsServer({
            ...hostPort(cfg.metrics.listen), registry: metrics.registry, health: () => voter.isAlive(), ready: () => voter.readiness(),
          });
        }
        const started = Date.now();
        const stopGuard = memory.guardStart();
        try {
          await voter.start();
        } finally {
          stopGuard();
        }
        memory.collect();
        const s = voter.stats();
        process.stdout.write(`${JSON.stringify({
          voter: 'started', nodeId: cfg.nodeId, region: cfg.region, strategy: cfg.strategy, startMs: Date.now() - started,
          managed: s.managedTickets, owned: s.ownedTickets, rssMb: Math.round(process.memoryUsage().rss / 1e6),
          // Since process start (module loading included), CPU of the whole process, peak RSS: the start-up bench reads these.
          processMs: Math.round(process.uptime() * 1000), cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
          peakRssMb: Math.round((process.resourceUsage().maxRSS * 1024) / 1e6), heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1e6),
          heapTotalMb: Math.round(process.memoryUsage().heapTotal / 1e6), arrayBuffersMb: Math.round(process.memoryUsage().arrayBuffers / 1e6),
          youngGenMb: youngGenMb(), startupGcs: memory.guardGcs,
          ...(metricsServer ? { metrics: metricsServer.url } : {}),
        })}\n`);
        memory.shrinkYoungGenerationLater(() =>
          log.info({ youngGenMb: youngGenMb(), rssMb: Math.round(process.memoryUsage.rss() / 1e6) }, 'young generation returned after start-up'));
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
