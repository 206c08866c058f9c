import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import {
  createMetrics,
  startMetricsServer,
  allMetricDefs,
  exposedSeriesNames,
  METRIC_FAMILIES,
  MetricsServerError,
  TelemetryConfigError,
  type MetricsServer,
} from '../../../services/telemetry/index.ts';

const servers: MetricsServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.stop();
});

const CLUSTER_WIDE = new Set(['votecluster_unvotable_tickets']);

describe('metric definitions', () => {
  it('follow votecluster_<component>_<what>_<unit> and are unique', () => {
    const names = allMetricDefs().map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const [component, defs] of Object.entries(METRIC_FAMILIES)) {
      for (const d of Object.values(defs)) {
        // Cluster-wide figures every process reports under one name (alert rules aggregate them
        // across voters and the admin) carry no component.
        if (!CLUSTER_WIDE.has(d.name)) expect(d.name.startsWith(`votecluster_${component}_`), d.name).toBe(true);
        if (d.type === 'counter') expect(d.name).toMatch(/_total$/);
        if (d.type === 'histogram') expect(d.name).toMatch(/_seconds$/);
      }
    }
  });

  it('cover every family the dashboards and alerts use', () => {
    const names = new Set(allMetricDefs().map((d) => d.name));
    for (const n of [
      'votecluster_voter_vote_latency_seconds',
      'votecluster_voter_votes_total',
      'votecluster_voter_missed_tickets_total',
      'votecluster_voter_owned_tickets',
      'votecluster_voter_takeovers_total',
      'votecluster_voter_hedge_wait_seconds',
      'votecluster_nodeproxy_stream_lag_seconds',
      'votecluster_nodeproxy_connected_voters',
      'votecluster_nodeproxy_dcrd_session_state',
      'votecluster_nodeproxy_dcrd_reconnects_total',
      'votecluster_cluster_etcd_txn_duration_seconds',
      'votecluster_cluster_lease_age_seconds',
    ]) expect(names.has(n), n).toBe(true);
  });

  it('vote latency buckets span 1 ms .. 10 s', () => {
    const b = METRIC_FAMILIES.voter.voteLatency.buckets;
    expect(b[0]).toBe(0.001);
    expect(b[b.length - 1]).toBe(10);
  });
});

/** Value of the sample `name{labels...}` in exposition text (label order ignored). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[3]);
  }
  return undefined;
}

describe('createMetrics + startMetricsServer', () => {
  it('serves process and component metrics that move, and /healthz', async () => {
    const m = createMetrics({ service: 'voter', components: ['voter', 'cluster'], defaultLabels: { region: 'a' } });
    const srv = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: m.registry });
    servers.push(srv);
    const scrape = async (): Promise<string> => {
      const res = await fetch(`${srv.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      return res.text();
    };
    const before = await scrape();
    expect(before).toContain('# TYPE votecluster_voter_vote_latency_seconds histogram');
    expect(before).toContain('# TYPE votecluster_cluster_lease_age_seconds gauge');
    expect(before).toMatch(/^votecluster_voter_process_cpu_seconds_total\{region="a"\} /m);
    m.get('voter').votes.inc({ outcome: 'accepted' });
    m.get('voter').votes.inc({ outcome: 'accepted' });
    m.get('voter').voteLatency.observe({ strategy: 'lease' }, 0.012);
    m.get('cluster').etcdTxnLatency.observe({ op: 'record' }, 0.0017);
    const after = await scrape();
    expect(sample(after, 'votecluster_voter_votes_total', { outcome: 'accepted', region: 'a' })).toBe(2);
    expect(sample(after, 'votecluster_voter_vote_latency_seconds_bucket', { le: '0.02', strategy: 'lease', region: 'a' })).toBe(1);
    expect(sample(after, 'votecluster_voter_vote_latency_seconds_bucket', { le: '0.01', strategy: 'lease', region: 'a' })).toBe(0);
    expect(sample(after, 'votecluster_cluster_etcd_txn_duration_seconds_count', { op: 'record', region: 'a' })).toBe(1);
    // Everything exposed is a known series name (what deploy/ is checked against).
    const known = exposedSeriesNames();
    for (const line of after.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      const name = line.split(/[{ ]/)[0]!;
      expect(known.has(name), name).toBe(true);
    }
    const health = await fetch(`${srv.url}/healthz`);
    expect(health.status).toBe(200);
    expect((await fetch(`${srv.url}/nope`)).status).toBe(404);
  });

  it('is idempotent on a shared registry and reports unhealthy', async () => {
    const registry = new Registry();
    const a = createMetrics({ service: 'nodeproxy', registry });
    const b = createMetrics({ service: 'nodeproxy', registry });
    expect(a.get('nodeproxy').dcrdReconnects).toBe(b.get('nodeproxy').dcrdReconnects);
    const srv = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, health: () => false });
    servers.push(srv);
    expect((await fetch(`${srv.url}/healthz`)).status).toBe(503);
  });

  it('rejects bad input with typed errors', async () => {
    expect(() => createMetrics({ service: 'Bad Name' })).toThrow(TelemetryConfigError);
    await expect(startMetricsServer({ host: '127.0.0.1', port: 70000, registry: new Registry() })).rejects.toBeInstanceOf(MetricsServerError);
    const srv = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: new Registry() });
    servers.push(srv);
    await expect(startMetricsServer({ host: '127.0.0.1', port: srv.port, registry: new Registry() })).rejects.toMatchObject({ code: 'TELEMETRY_METRICS_SERVER' });
  });
});
