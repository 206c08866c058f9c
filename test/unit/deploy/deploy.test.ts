import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  METRIC_FAMILIES,
  LATENCY_BUCKETS_SECONDS,
  exposedSeriesNames,
} from '../../../services/telemetry/index.ts';
import { expandGrafanaVars, inspectPromql } from './promql.ts';

const DEPLOY = resolve(import.meta.dirname, '..', '..', '..', 'deploy');
const read = (p: string): string => readFileSync(join(DEPLOY, p), 'utf8');
const KNOWN = exposedSeriesNames();

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string };
}
const rules: Rule[] = (parseYaml(read('prometheus/alerts.yml')) as { groups: Array<{ name: string; rules: Rule[] }> }).groups.flatMap((g) => g.rules);

describe('deploy/prometheus/alerts.yml', () => {
  it('is a well-formed rule file with unique alert names, severities and summaries', () => {
    expect(rules.length).toBeGreaterThanOrEqual(6);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Votecluster[A-Za-z0-9]+$/);
      expect(['page', 'warning']).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smh]$/);
    }
  });

  it.each(rules.map((r) => [r.alert, r.expr] as const))('%s: parses as PromQL and names only defined metrics', (_name, expr) => {
    const info = inspectPromql(expr);
    expect(info.errors, 'syntax errors at offsets').toEqual([]);
    expect(info.metrics.length).toBeGreaterThan(0);
    for (const m of info.metrics) expect(KNOWN.has(m), `${m} is not defined in services/telemetry/metrics.ts`).toBe(true);
  });

  it('has a rule for every failure an operator must hear about', () => {
    const used = new Set(rules.flatMap((r) => inspectPromql(r.expr).metrics));
    const v = METRIC_FAMILIES.voter;
    // missed vote; vote latency p99; no proxy with a synced dcrd; etcd quorum / lease; unowned tickets; voter count.
    expect(used.has(v.missedTickets.name)).toBe(true);
    expect(used.has(`${v.voteLatency.name}_bucket`)).toBe(true);
    expect(used.has(METRIC_FAMILIES.nodeproxy.dcrdSessionState.name)).toBe(true);
    expect(used.has('etcd_server_has_leader')).toBe(true);
    expect(used.has(METRIC_FAMILIES.cluster.leaseAge.name)).toBe(true);
    expect(used.has(METRIC_FAMILIES.cluster.unownedTickets.name)).toBe(true);
    // a ticket record no voter can open (imported with another cluster key, or damaged)
    expect(used.has(METRIC_FAMILIES.cluster.unvotableTickets.name)).toBe(true);
    expect(used.has(v.redundancyTarget.name)).toBe(true);
  });

  it('puts the latency thresholds on histogram bucket bounds (no interpolation at the threshold)', () => {
    const latency = rules.filter((r) => r.expr.includes(METRIC_FAMILIES.voter.voteLatency.name));
    expect(latency.length).toBeGreaterThanOrEqual(1);
    for (const r of latency) {
      const threshold = Number(/>\s*([0-9.]+)\s*$/.exec(r.expr.trim())?.[1]);
      expect((LATENCY_BUCKETS_SECONDS as readonly number[]).includes(threshold), `${r.alert} threshold ${threshold}`).toBe(true);
      // A vote t s late is missed with p ≈ 1 − exp(−t/300): expected miss probability at the threshold stays below 0.5 %.
      expect(1 - Math.exp(-threshold / 300)).toBeLessThan(0.005);
    }
  });

  it('uses only jobs the example scrape config defines', () => {
    const prom = parseYaml(read('prometheus/prometheus.yml')) as { rule_files: string[]; scrape_configs: Array<{ job_name: string }> };
    expect(prom.rule_files).toContain('alerts.yml');
    const jobs = new Set(prom.scrape_configs.map((s) => s.job_name));
    for (const r of rules) for (const m of r.expr.matchAll(/job="([^"]+)"/g)) expect(jobs.has(m[1]!), m[1]).toBe(true);
  });
});

interface Panel {
  id: number;
  title: string;
  targets: Array<{ expr: string; refId: string }>;
}

describe('deploy/grafana/votecluster-dashboard.json', () => {
  const dash = JSON.parse(read('grafana/votecluster-dashboard.json')) as { uid: string; panels: Panel[] };
  const exprs = dash.panels.flatMap((p) => p.targets.map((t) => [p.title, t.expr] as const));

  it('has unique panel ids and at least one query per panel', () => {
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    for (const p of dash.panels) expect(p.targets.length, p.title).toBeGreaterThan(0);
  });

  it.each(exprs)('%s: queries parse and name only defined metrics', (_title, expr) => {
    const info = inspectPromql(expandGrafanaVars(expr));
    expect(info.errors).toEqual([]);
    for (const m of info.metrics) expect(KNOWN.has(m), `${m} is not defined in services/telemetry/metrics.ts`).toBe(true);
  });

  it('filters every query by the region variable', () => {
    for (const [title, expr] of exprs) {
      // Each metric selector of the query names region=~"$region" (the chain judge's series
      // carry the admin's region label, as every scraped target does).
      const selectors = expr.match(/[a-z_:][a-z0-9_:]*\{[^}]*\}|[a-z_:][a-z0-9_:]*(?=\[|\)|$)/g) ?? [];
      const metricSelectors = selectors.filter((s) => /^(votecluster_|etcd_|up\b)/.test(s));
      expect(metricSelectors.length, title).toBeGreaterThan(0);
      for (const sel of metricSelectors) expect(sel, `${title}: ${expr}`).toContain('region=~"$region"');
    }
  });

  it('charts every vote-path and fault metric family', () => {
    const used = new Set(exprs.flatMap(([, e]) => inspectPromql(expandGrafanaVars(e)).metrics));
    const base = (n: string): string => n.replace(/_(bucket|sum|count)$/, '');
    const usedBase = new Set([...used].map(base));
    const f = METRIC_FAMILIES;
    for (const def of [
      f.chain.votedTickets, f.chain.missedTickets,
      f.voter.voteLatency, f.voter.votes, f.voter.missedTickets, f.voter.ownedTickets, f.voter.takeovers, f.voter.hedgeWait,
      f.nodeproxy.streamLag, f.nodeproxy.connectedVoters, f.nodeproxy.dcrdSessionState, f.nodeproxy.dcrdReconnects,
      f.cluster.etcdTxnLatency, f.cluster.leaseAge,
    ]) expect(usedBase.has(def.name), def.name).toBe(true);
  });
});

describe('deploy/systemd examples', () => {
  it('systemd units run votecluster commands and take secrets as files', () => {
    for (const [unit, cmd] of [['votecluster-proxy.service', 'proxy'], ['votecluster-voter.service', 'voter']] as const) {
      const text = read(`systemd/${unit}`);
      const sections = [...text.matchAll(/^\[(\w+)\]$/gm)].map((m) => m[1]);
      expect(sections).toEqual(['Unit', 'Service', 'Install']);
      const exec = /^ExecStart=(.+)$/m.exec(text)?.[1] ?? '';
      expect(exec.split(/\s+/).slice(0, 2)).toEqual(['/usr/bin/votecluster', cmd]);
      // Secrets only as ...-file paths (docs/contributing.md, "Configuration"), never as flag values.
      expect(exec).not.toMatch(/--(dcrd-pass|cluster-key|password|wif)\s/);
      expect(text).toMatch(/^Restart=always$/m);
    }
  });
});
