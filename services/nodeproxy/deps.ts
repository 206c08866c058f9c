/**
 * The seam through which the node proxy receives its process-wide facilities:
 * a pino logger, a prom-client registry and an OpenTelemetry tracer. The CLI
 * wires the telemetry service in here (`createLogger`, its registry and
 * tracer); tests may omit everything and get a silent logger, a private
 * registry and the global (no-op unless an SDK is registered) tracer.
 */
import { trace, type Tracer } from '@opentelemetry/api';
import { pino, type Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What createNodeProxy needs from its environment. All optional. */
export interface NodeProxyDeps {
  /** Parent logger; the proxy logs through `logger.child({ component })`. */
  logger?: Logger;
  /** Where the proxy registers its metrics (`votecluster_nodeproxy_*`). */
  metrics?: Registry;
  /** Tracer for `proxy.notify` / `proxy.send` spans. */
  tracer?: Tracer;
  /** Clock in unix ms (tests may pin it). */
  now?: () => number;
}

/** The proxy's metric instruments. */
export interface NodeProxyMetrics {
  registry: Registry;
  events: Counter<'kind'>;
  watchers: Gauge;
  streamLag: Gauge<'client'>;
  streamLagMax: Gauge;
  streamsCut: Counter;
  sendVote: Counter<'status'>;
  sendVoteSeconds: Histogram<'status'>;
  votesResent: Counter;
  dcrdUp: Gauge;
  dcrdReconnects: Counter;
  badNotifications: Counter;
}

/** Deps with every facility resolved. */
export interface ResolvedDeps {
  logger: Logger;
  metrics: NodeProxyMetrics;
  tracer: Tracer;
  now: () => number;
}

/** Fills in defaults and registers the metric instruments on the registry. */
export function resolveDeps(deps: NodeProxyDeps = {}): ResolvedDeps {
  const registry = deps.metrics ?? new Registry();
  const reg = [registry];
  const metrics: NodeProxyMetrics = {
    registry,
    events: new Counter({ name: 'votecluster_nodeproxy_events_total', help: 'WatchChain events published, by kind', labelNames: ['kind'], registers: reg }),
    watchers: new Gauge({ name: 'votecluster_nodeproxy_watchers', help: 'Open WatchChain streams', registers: reg }),
    streamLag: new Gauge({ name: 'votecluster_nodeproxy_stream_lag_events', help: 'Events queued but not yet written, per stream', labelNames: ['client'], registers: reg }),
    streamLagMax: new Gauge({ name: 'votecluster_nodeproxy_stream_lag_max_events', help: 'Largest queue of any stream at the last publish', registers: reg }),
    streamsCut: new Counter({ name: 'votecluster_nodeproxy_streams_cut_total', help: 'Streams ended because they lagged past the bound', registers: reg }),
    sendVote: new Counter({ name: 'votecluster_nodeproxy_send_vote_total', help: 'SendVote outcomes', labelNames: ['status'], registers: reg }),
    sendVoteSeconds: new Histogram({
      name: 'votecluster_nodeproxy_send_vote_seconds',
      help: 'SendVote handling time',
      labelNames: ['status'],
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: reg,
    }),
    votesResent: new Counter({ name: 'votecluster_nodeproxy_votes_resent_total', help: 'Accepted votes re-sent to dcrd', registers: reg }),
    dcrdUp: new Gauge({ name: 'votecluster_nodeproxy_dcrd_up', help: '1 while the dcrd session is ready', registers: reg }),
    dcrdReconnects: new Counter({ name: 'votecluster_nodeproxy_dcrd_reconnects_total', help: 'dcrd websocket reconnects', registers: reg }),
    badNotifications: new Counter({ name: 'votecluster_nodeproxy_bad_notifications_total', help: 'dcrd notifications that failed validation', registers: reg }),
  };
  return {
    logger: deps.logger ?? pino({ level: 'silent' }),
    metrics,
    tracer: deps.tracer ?? trace.getTracer('votecluster-nodeproxy'),
    now: deps.now ?? Date.now,
  };
}
