/**
 * The seam through which the node proxy receives its process-wide facilities:
 * a pino logger, the telemetry metrics (families `votecluster_nodeproxy_*`,
 * defined in services/telemetry/metrics.ts) and an OpenTelemetry tracer. The
 * CLI wires them from `createLogger` / `createMetrics` / `initTelemetry`;
 * tests may omit everything and get a silent logger, private metrics and the
 * global (no-op unless an SDK is registered) tracer.
 */
import type { Tracer } from '@opentelemetry/api';
import { pino } from 'pino';
import { createMetrics, serviceTracer, type ComponentMetrics, type Logger, type Metrics } from '../telemetry/index.ts';

/** Service name of the proxy's spans (also when it shares a process with voters). */
export const NODEPROXY_TRACE_SERVICE = 'votecluster-proxy';

/** What createNodeProxy needs from its environment. All optional. */
export interface NodeProxyDeps {
  /** Parent logger; the proxy logs through `logger.child({ component })`. */
  logger?: Logger;
  /** The process's telemetry metrics; the proxy uses `metrics.get('nodeproxy')`. */
  metrics?: Metrics;
  /**
   * Tracer for `proxy.notify` / `proxy.send` / `dcrd.accept` spans (default:
   * telemetry's `serviceTracer('votecluster-proxy')`, so the spans name the
   * proxy as their service even in a shared process).
   */
  tracer?: Tracer;
  /** Clock in unix ms. */
  now?: () => number;
}

/** The proxy's metric instruments (telemetry's nodeproxy families). */
export type NodeProxyMetrics = ComponentMetrics<'nodeproxy'>;

/** Deps with every facility resolved. */
export interface ResolvedDeps {
  logger: Logger;
  metrics: NodeProxyMetrics;
  tracer: Tracer;
  now: () => number;
}

/** Fills in defaults. */
export function resolveDeps(deps: NodeProxyDeps = {}): ResolvedDeps {
  const metrics = deps.metrics ?? createMetrics({ service: 'nodeproxy', processMetrics: false });
  return {
    logger: deps.logger ?? pino({ level: 'silent' }),
    metrics: metrics.get('nodeproxy'),
    tracer: deps.tracer ?? serviceTracer(NODEPROXY_TRACE_SERVICE),
    now: deps.now ?? Date.now,
  };
}
