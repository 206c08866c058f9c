/**
 * Prometheus metrics: every metric family votecluster exposes is defined here,
 * in {@link METRIC_FAMILIES}, so names stay consistent across services and
 * deploy/ (alert rules, dashboard) can be checked against them.
 *
 * Names are `votecluster_<component>_<what>_<unit>` (counters end in `_total`,
 * durations are `_seconds`, docs/contributing.md, "Telemetry"). Process metrics
 * (prom-client defaults) get the prefix `votecluster_<service>_`.
 *
 * To add a metric: add one entry to the component's table below (name, help,
 * labels; buckets for a histogram). `createMetrics(...).get(component)` then
 * returns it typed, and the deploy tests know it.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { TelemetryConfigError } from './errors.ts';

/** Buckets for vote-path latencies: 1 ms .. 10 s (a vote t after the draw is missed with p ≈ 1 − exp(−t/300 s): 100 ms ≈ 0.03 % miss, 2 s ≈ 0.7 %). */
export const LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10,
] as const;
/** Buckets for etcd round trips: 0.5 ms .. 2.5 s (a loopback txn takes about 1–2 ms). */
export const ETCD_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

interface CounterDef<L extends string> { type: 'counter'; name: string; help: string; labelNames: readonly L[] }
interface GaugeDef<L extends string> { type: 'gauge'; name: string; help: string; labelNames: readonly L[] }
interface HistogramDef<L extends string> {
  type: 'histogram';
  name: string;
  help: string;
  labelNames: readonly L[];
  buckets: readonly number[];
}
/** Definition of one metric family. */
export type MetricDef = CounterDef<string> | GaugeDef<string> | HistogramDef<string>;

const counter = <const L extends string = never>(name: `votecluster_${string}_total`, help: string, labelNames: readonly L[] = []): CounterDef<L> =>
  ({ type: 'counter', name, help, labelNames });
const gauge = <const L extends string = never>(name: `votecluster_${string}`, help: string, labelNames: readonly L[] = []): GaugeDef<L> =>
  ({ type: 'gauge', name, help, labelNames });
const histogram = <const L extends string = never>(
  name: `votecluster_${string}_seconds`,
  help: string,
  labelNames: readonly L[] = [],
  buckets: readonly number[] = LATENCY_BUCKETS_SECONDS,
): HistogramDef<L> => ({ type: 'histogram', name, help, labelNames, buckets });

/**
 * Every votecluster metric family, by component. A process registers the
 * components it runs (a voter process: `voter` and `cluster`).
 *
 * Label values used by convention: `outcome` ∈ accepted | duplicate | conflict |
 * rejected; `strategy` ∈ lease | single-signer | all-vote; `state` ∈ disconnected | connecting |
 * syncing | synced (one-hot gauge); `result` as documented per family.
 */
export const METRIC_FAMILIES = {
  voter: {
    voteLatency: histogram('votecluster_voter_vote_latency_seconds', 'Draw (proxy received the winning tickets) to the first dcrd acceptance of the vote', ['strategy']),
    votes: counter('votecluster_voter_votes_total', 'Votes by final outcome at dcrd (accepted, duplicate, conflict, rejected)', ['outcome']),
    draws: counter('votecluster_voter_draws_total', 'Draws of managed tickets seen (one per ticket and block hash)'),
    lateTickets: counter('votecluster_voter_late_tickets_total', 'Tickets that entered the cluster while one of their draws was open, voted on that draw'),
    missedTickets: counter('votecluster_voter_missed_tickets_total', 'Managed tickets the chain reports as missed'),
    ownedTickets: gauge('votecluster_voter_owned_tickets', 'Tickets this node currently owns (holds owners/<ticket>)'),
    managedTickets: gauge('votecluster_voter_managed_tickets', 'Tickets in the cluster as seen by this node\'s etcd cache'),
    takeovers: counter('votecluster_voter_takeovers_total', 'Votes this node made as a backup after winning the takeover race'),
    recordConflicts: counter('votecluster_voter_record_conflicts_total', 'Region signer votes whose stored vote record holds a DIFFERENT vote (an alarm: two voters computed different bytes; this voter never sends other bytes)'),
    voteInputs: histogram('votecluster_voter_vote_inputs_seconds', 'Draw arrival to the verdict on its vote inputs (lease strategy), by how: view (provably current at once), waited (own watches caught up), read (read from etcd after raising the tip), none (not canonical: single-signer path)', ['how']),
    hedgeWait: histogram('votecluster_voter_hedge_wait_seconds', 'Time a backup waited for the owner\'s vote record (result: record_seen, took_over, lost_race)', ['result']),
    hedge: gauge('votecluster_voter_hedge_seconds', 'Hedge a backup of this voter waits now before racing a silent signer, by the signer\'s region: learned from observed record waits, never above the configured hedgeMs', ['signer_region']),
    broadcasts: counter('votecluster_voter_broadcasts_total', 'SendVote calls made, by result (accepted, duplicate, conflict, rejected, error)', ['result']),
    connectedProxies: gauge('votecluster_voter_connected_proxies', 'Node proxies with an open WatchChain stream'),
    etcdReachable: gauge('votecluster_voter_etcd_reachable', '1 while etcd answers this voter (no failed call since its last success, session lease confirmed within 2.5 s; it is confirmed every second), else 0'),
    redundancyTarget: gauge('votecluster_voter_redundancy_target', 'Configured minimum number of live voters per region'),
    voteVersion: gauge('votecluster_voter_vote_version', 'Vote version votes carry now: the one committed in etcd (config/vote-version), else the lowest of the versions this voter\'s connected proxies report'),
    voteVersionMismatch: gauge('votecluster_voter_proxy_vote_version_mismatch', '1 while the connected proxies report different vote versions, or one other than the committed version (their dcrd releases differ)'),
    agendasUnknown: counter('votecluster_voter_agendas_unknown_total', 'Votes this voter did not build because it knew no agendas for the vote version (left to voters that know them)'),
  },
  nodeproxy: {
    streamLag: histogram('votecluster_nodeproxy_stream_lag_seconds', 'dcrd notification received to message written on a WatchChain stream'),
    connectedVoters: gauge('votecluster_nodeproxy_connected_voters', 'Open WatchChain streams'),
    dcrdSessionState: gauge('votecluster_nodeproxy_dcrd_session_state', 'dcrd session state, one-hot (disconnected, connecting, syncing, synced)', ['state']),
    dcrdReconnects: counter('votecluster_nodeproxy_dcrd_reconnects_total', 'dcrd websocket reconnects'),
    notifications: counter('votecluster_nodeproxy_notifications_total', 'Notifications received from dcrd', ['type']),
    sendVotes: counter('votecluster_nodeproxy_send_votes_total', 'SendVote results (accepted, duplicate, conflict, rejected, invalid)', ['result']),
    sendVoteDuration: histogram('votecluster_nodeproxy_send_vote_duration_seconds', 'SendVote handling time including dcrd sendrawtransaction', ['result']),
    bestHeight: gauge('votecluster_nodeproxy_best_block_height', 'Height of dcrd\'s best block as last notified'),
  },
  cluster: {
    etcdTxnLatency: histogram('votecluster_cluster_etcd_txn_duration_seconds', 'etcd request latency by operation', ['op'], ETCD_BUCKETS_SECONDS),
    etcdErrors: counter('votecluster_cluster_etcd_errors_total', 'Failed etcd requests by operation and error code', ['op', 'code']),
    leaseAge: gauge('votecluster_cluster_lease_age_seconds', 'Seconds since the session lease\'s last successful keepalive'),
    watchAge: gauge('votecluster_cluster_watch_age_seconds', 'Seconds since the etcd watch last proved live (event or progress notify)'),
    liveNodes: gauge('votecluster_cluster_live_nodes', 'Nodes with a live session lease, by region, as seen by this node', ['region']),
    unownedTickets: gauge('votecluster_cluster_unowned_tickets', 'Live managed tickets without an owners/ key'),
    unvotableTickets: gauge(
      'votecluster_unvotable_tickets',
      'Ticket records this process cannot vote with, by reason: unknown_key (sealed with a cluster key it does not hold), undecryptable (authentication failed), malformed (not a valid record)',
      ['reason'],
    ),
    voteRecords: counter('votecluster_cluster_vote_records_total', 'Vote record writes (created, existing, conflict)', ['result']),
    corruptValues: counter(
      'votecluster_cluster_corrupt_values_total',
      'Corrupt etcd values this process found (reported with the key in its error log, left out, never deleted), by range: tickets, tspends, config, votes, owners, nodes, chain-tip (the cluster tip or a marker: not a height, deleted or lowered)',
      ['range'],
    ),
    chainTipUnreadable: gauge(
      'votecluster_cluster_chain_tip_unreadable',
      '1 while this process finds the cluster tip or one of its markers unreadable (not a height, or deleted): writes that change vote inputs are refused and no draw is provably current until a voter repairs it',
    ),
    chainTipRepairs: counter(
      'votecluster_cluster_chain_tip_repairs_total',
      'Repairs of the cluster tip (config/chain-tip and its markers) by a voter, by what it found: corrupt (not a height), missing (deleted), unequal (markers differ from the tip), lowered (below a tip already applied)',
      ['reason'],
    ),
    forgedOwnerRecords: counter('votecluster_cluster_forged_owner_records_total', 'owners/ records ignored because they were not made by the node they name (reason: lease = not bound to the named lease, node = not that live node\'s lease)', ['reason']),
  },
  admin: {
    requests: counter('votecluster_admin_requests_total', 'Admin and JSON-RPC requests by method and result code', ['method', 'code']),
    requestDuration: histogram('votecluster_admin_request_duration_seconds', 'Admin request handling time', ['method']),
  },
  chain: {
    votedTickets: counter('votecluster_chain_voted_tickets_total', 'Managed tickets whose vote the chain holds in the next main-chain block (judged by the admin from the chain)', ['network']),
    missedTickets: counter('votecluster_chain_missed_tickets_total', 'Managed tickets the chain counts as missed (no vote in the next main-chain block), by reason: unvotable, no-owner, late, unseen-draw, unknown', ['network', 'reason']),
    unjudgedBlocks: counter('votecluster_chain_unjudged_blocks_total', 'Main-chain blocks whose draw the admin could not judge: a gap longer than the backfill bound', ['network']),
  },
  devnet: {
    blocksMined: counter('votecluster_devnet_blocks_mined_total', 'Blocks the devnet mined'),
    ticketsDrawn: counter('votecluster_devnet_tickets_drawn_total', 'Tickets drawn by the lottery'),
    ticketsMissed: counter('votecluster_devnet_tickets_missed_total', 'Drawn tickets whose vote did not make the next block'),
  },
} as const;

/** A component with metric families. */
export type MetricComponent = keyof typeof METRIC_FAMILIES;
/** Services that run as processes and expose process metrics. */
export const METRIC_SERVICES = ['voter', 'nodeproxy', 'admin', 'devnet'] as const;

type LabelOf<D> = D extends { labelNames: readonly (infer L)[] } ? (L extends string ? L : never) : never;
type MetricOf<D> = D extends { type: 'counter' }
  ? Counter<LabelOf<D>>
  : D extends { type: 'gauge' }
    ? Gauge<LabelOf<D>>
    : D extends { type: 'histogram' }
      ? Histogram<LabelOf<D>>
      : never;

/** The typed metric objects of one component. */
export type ComponentMetrics<C extends MetricComponent> = {
  readonly [K in keyof (typeof METRIC_FAMILIES)[C]]: MetricOf<(typeof METRIC_FAMILIES)[C][K]>;
};

/**
 * Metric families defined outside votecluster that deploy/ relies on: etcd's
 * own metrics (scraped from each etcd member's /metrics) and Prometheus'
 * synthetic `up`.
 */
export const EXTERNAL_METRIC_FAMILIES = [
  'up',
  'etcd_server_has_leader',
  'etcd_server_leader_changes_seen_total',
  'etcd_server_proposals_failed_total',
  'etcd_mvcc_db_total_size_in_bytes',
] as const;

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** The process's service (`voter`, `nodeproxy`, ...), used for the process metrics prefix. */
  service: string;
  /** Registry to use (default: a new one; never prom-client's global). */
  registry?: Registry;
  /** Components to register now (default: `service` if it is a component). */
  components?: readonly MetricComponent[];
  /** Collect prom-client's process metrics (default true). */
  processMetrics?: boolean;
  /** Labels on every series (e.g. `{ region: 'a', node: 'a1' }`). */
  defaultLabels?: Record<string, string>;
}

/** A process's metrics: its registry and typed access to component metrics. */
export interface Metrics {
  readonly registry: Registry;
  readonly service: string;
  /** The metrics of `component`, registering them on first use (idempotent). */
  get<C extends MetricComponent>(component: C): ComponentMetrics<C>;
}

function register(def: MetricDef, registry: Registry): unknown {
  const existing = registry.getSingleMetric(def.name);
  if (existing) return existing;
  const base = { name: def.name, help: def.help, labelNames: [...def.labelNames], registers: [registry] };
  switch (def.type) {
    case 'counter':
      return new Counter(base);
    case 'gauge':
      return new Gauge(base);
    case 'histogram':
      return new Histogram({ ...base, buckets: [...def.buckets] });
  }
}

function processPrefix(service: string): string {
  return `votecluster_${service}_`;
}

/**
 * Creates a process's metrics registry with process metrics and the typed
 * families of its components.
 *
 * @example
 * const m = createMetrics({ service: 'voter', components: ['voter', 'cluster'] });
 * m.get('voter').votes.inc({ outcome: 'accepted' });
 * m.get('cluster').etcdTxnLatency.observe({ op: 'record' }, 0.0017);
 * const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: m.registry });
 */
export function createMetrics(opts: MetricsOptions): Metrics {
  if (!/^[a-z][a-z0-9_]*$/.test(opts.service)) {
    throw new TelemetryConfigError(`createMetrics: service ${JSON.stringify(opts.service)} must match [a-z][a-z0-9_]*`);
  }
  const registry = opts.registry ?? new Registry();
  if (opts.defaultLabels) registry.setDefaultLabels(opts.defaultLabels);
  const prefix = processPrefix(opts.service);
  if ((opts.processMetrics ?? true) && !registry.getSingleMetric(`${prefix}process_cpu_seconds_total`)) {
    collectDefaultMetrics({ register: registry, prefix });
  }
  const cache = new Map<MetricComponent, unknown>();
  const metrics: Metrics = {
    registry,
    service: opts.service,
    get<C extends MetricComponent>(component: C): ComponentMetrics<C> {
      let m = cache.get(component);
      if (!m) {
        const defs = METRIC_FAMILIES[component] as Record<string, MetricDef>;
        if (!defs) throw new TelemetryConfigError(`createMetrics: unknown metric component ${JSON.stringify(component)}`);
        const out: Record<string, unknown> = {};
        for (const [key, def] of Object.entries(defs)) out[key] = register(def, registry);
        m = Object.freeze(out);
        cache.set(component, m);
      }
      return m as ComponentMetrics<C>;
    },
  };
  const initial = opts.components ?? (opts.service in METRIC_FAMILIES ? [opts.service as MetricComponent] : []);
  for (const c of initial) metrics.get(c);
  return metrics;
}

/** Every metric family definition, flattened. */
export function allMetricDefs(): MetricDef[] {
  return Object.values(METRIC_FAMILIES).flatMap((c) => Object.values(c) as MetricDef[]);
}

/**
 * Every series name votecluster can expose (histograms expanded to
 * `_bucket`/`_sum`/`_count`), including each service's process metrics and
 * {@link EXTERNAL_METRIC_FAMILIES}. deploy/ tests check queries against it.
 */
export function exposedSeriesNames(): Set<string> {
  const out = new Set<string>(EXTERNAL_METRIC_FAMILIES);
  const add = (name: string, type: string): void => {
    if (type === 'histogram' || type === 'summary') {
      for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
    } else out.add(name);
  };
  for (const d of allMetricDefs()) add(d.name, d.type);
  for (const service of METRIC_SERVICES) {
    const reg = new Registry();
    collectDefaultMetrics({ register: reg, prefix: processPrefix(service) });
    for (const m of reg.getMetricsAsArray()) add(m.name, (m as unknown as { type: string }).type);
  }
  return out;
}
