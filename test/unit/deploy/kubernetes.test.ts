/**
 * deploy/kubernetes, checked offline: each region's overlay is rendered here the way
 * kustomize does for the features it uses (resources, namespace, labels, images,
 * strategic-merge patches of maps and of lists keyed by `name`), every object is
 * validated against the Kubernetes OpenAPI schemas (kubernetes-models 4.5.1; the
 * ServiceMonitor against the prometheus-operator models), and the deployment rules
 * are asserted: proxies beside dcrd, voters per region with anti-affinity, admin,
 * PodDisruptionBudgets, NetworkPolicies, probes on /healthz and /readyz, secrets as
 * files, a ServiceMonitor; every votecluster container's command runs through the
 * real CLI parser and config loader with the rendered ConfigMap, and every one that
 * reaches etcd does so over https with the cluster CA, a client certificate and its
 * etcd user (etcd runs with client and peer TLS and authentication on).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { checkCommandLine, etcdAccessOfChecked, etcdAccessProblems, mutualTlsOf } from './cli-check.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const K8S = join(ROOT, 'deploy', 'kubernetes');
const REGIONS = ['a', 'b', 'c'] as const;
const scratch = mkdtempSync(join(tmpdir(), 'votecluster-k8s-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// Manifests are free-form YAML; the schema check below is what types them.
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Kustomization {
  resources?: string[];
  namespace?: string;
  labels?: Array<{ pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }>;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  patches?: Array<{ path: string }>;
}

const readDocs = (file: string): Obj[] => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Obj).filter((d) => d);
const CLUSTER_SCOPED = new Set(['Namespace']);

/** Strategic merge as kustomize applies it to these manifests: maps merge, lists of named items merge by name, other lists are replaced. */
function merge(base: unknown, patch: unknown): unknown {
  if (Array.isArray(base) && Array.isArray(patch) && patch.every((x) => x && typeof x === 'object' && 'name' in x) && base.every((x) => x && typeof x === 'object' && 'name' in x)) {
    const out = base.map((b: Obj) => {
      const p = patch.find((x: Obj) => x['name'] === b['name']);
      return p ? merge(b, p) : b;
    });
    for (const p of patch as Obj[]) if (!base.some((b: Obj) => b['name'] === p['name'])) out.push(p);
    return out;
  }
  if (base && patch && typeof base === 'object' && typeof patch === 'object' && !Array.isArray(base) && !Array.isArray(patch)) {
    const out: Obj = { ...(base as Obj) };
    for (const [k, v] of Object.entries(patch as Obj)) out[k] = k in out ? merge(out[k], v) : v;
    return out;
  }
  return patch;
}

function podSpecs(o: Obj): Obj[] {
  return o['spec']?.['template']?.['spec'] ? [o['spec']['template']['spec'] as Obj] : [];
}

/** Renders a kustomization directory into its objects. */
function render(dir: string): Obj[] {
  const k = readDocs(join(dir, 'kustomization.yaml'))[0] as Kustomization;
  let objs: Obj[] = [];
  for (const r of k.resources ?? []) {
    const p = resolve(dir, r);
    objs.push(...(r.endsWith('.yaml') ? readDocs(p) : render(p)));
  }
  for (const patchRef of k.patches ?? []) {
    for (const patch of readDocs(join(dir, patchRef.path))) {
      const i = objs.findIndex((o) => o['kind'] === patch['kind'] && o['metadata']['name'] === patch['metadata']['name']);
      if (i < 0) throw new Error(`${dir}: patch ${patchRef.path} targets ${patch['kind']}/${patch['metadata']['name']}, which does not exist`);
      objs[i] = merge(objs[i], patch) as Obj;
    }
  }
  for (const l of k.labels ?? []) {
    objs = objs.map((o) => {
      const c = structuredClone(o);
      c['metadata']['labels'] = { ...(c['metadata']['labels'] ?? {}), ...l.pairs };
      if (l.includeTemplates && c['spec']?.['template']) c['spec']['template']['metadata']['labels'] = { ...c['spec']['template']['metadata']['labels'], ...l.pairs };
      return c;
    });
  }
  if (k.namespace) for (const o of objs) if (!CLUSTER_SCOPED.has(o['kind'])) o['metadata']['namespace'] = k.namespace;
  for (const img of k.images ?? []) {
    for (const spec of objs.flatMap(podSpecs)) {
      for (const c of [...(spec['containers'] ?? []), ...(spec['initContainers'] ?? [])] as Obj[]) {
        const [name, tag] = String(c['image']).split(':');
        if (name !== img.name) continue;
        c['image'] = `${img.newName ?? name}:${img.newTag ?? tag ?? 'latest'}`;
      }
    }
  }
  return objs;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const MODELS: Record<string, new (o: any) => { validate(): void }> = {
  'v1/Namespace': Namespace, 'v1/ServiceAccount': ServiceAccount, 'v1/ConfigMap': ConfigMap, 'v1/Service': Service,
  'apps/v1/Deployment': Deployment, 'apps/v1/StatefulSet': StatefulSet, 'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy, 'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};
const key = (o: Obj): string => `${o['apiVersion']}/${o['kind']}`;
const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x['kind'] === kind && x['metadata']['name'] === name);
  if (!o) throw new Error(`no ${kind}/${name}`);
  return o;
};
/** The pod's helper that keeps the 0600 copies of its secrets current (no service of its own). */
const SECRETS_REFRESH = 'secrets-refresh';
const vcContainers = (objs: Obj[]): Array<[Obj, Obj]> =>
  objs.flatMap((o) => podSpecs(o).flatMap((s) => (s['containers'] as Obj[]).filter((c) => String(c['image']).startsWith('votecluster:') && c['name'] !== SECRETS_REFRESH).map((c) => [o, c] as [Obj, Obj])));

describe.each(REGIONS)('deploy/kubernetes overlay region-%s', (region) => {
  const objs = render(join(K8S, 'overlays', `region-${region}`));

  it('every object validates against the Kubernetes schemas', () => {
    expect(objs.length).toBeGreaterThanOrEqual(12);
    for (const o of objs) {
      const Model = MODELS[key(o)];
      expect(Model, `a model for ${key(o)}`).toBeDefined();
      expect(() => new (Model as NonNullable<typeof Model>)(o).validate(), `${o['kind']}/${o['metadata']['name']}`).not.toThrow();
    }
  });

  it('runs the proxy beside dcrd, voters with anti-affinity, the admin service, and labels all with the region', () => {
    const sts = find(objs, 'StatefulSet', 'dcrd-proxy');
    expect((sts['spec']['template']['spec']['containers'] as Obj[]).map((c) => c['name']).sort()).toEqual(['dcrd', 'proxy', SECRETS_REFRESH]);
    const voter = find(objs, 'Deployment', 'voter');
    expect(voter['spec']['replicas']).toBeGreaterThanOrEqual(2);
    const anti = voter['spec']['template']['spec']['affinity']['podAntiAffinity']['requiredDuringSchedulingIgnoredDuringExecution'] as Obj[];
    expect(anti.some((t) => t['topologyKey'] === 'kubernetes.io/hostname' && t['labelSelector']['matchLabels']['app.kubernetes.io/name'] === 'voter')).toBe(true);
    find(objs, 'Deployment', 'admin');
    for (const o of objs) {
      expect(o['metadata']['labels']?.['votecluster.io/region'], `${o['kind']}/${o['metadata']['name']}`).toBe(region);
      if (o['spec']?.['template']) expect(o['spec']['template']['metadata']['labels']['votecluster.io/region']).toBe(region);
    }
    expect(JSON.stringify(objs)).not.toContain('"dcrd:'); // the overlay sets the dcrd image
  });

  it('has a PodDisruptionBudget for each workload, selecting its pods', () => {
    const pdbs = objs.filter((o) => o['kind'] === 'PodDisruptionBudget');
    for (const w of objs.filter((o) => ['Deployment', 'StatefulSet'].includes(o['kind']))) {
      const labels = w['spec']['template']['metadata']['labels'] as Record<string, string>;
      const pdb = pdbs.find((p) => Object.entries(p['spec']['selector']['matchLabels'] as Record<string, string>).every(([k, v]) => labels[k] === v));
      expect(pdb, `PDB for ${w['metadata']['name']}`).toBeDefined();
    }
    expect(find(objs, 'PodDisruptionBudget', 'voter')['spec']['minAvailable']).toBeGreaterThanOrEqual(1);
  });

  it('denies ingress by default and opens across regions only the TLS-protected gRPC port', () => {
    const deny = find(objs, 'NetworkPolicy', 'default-deny-ingress');
    expect(deny['spec']['podSelector']).toEqual({});
    expect(deny['spec']['ingress']).toBeUndefined();
    for (const np of objs.filter((o) => o['kind'] === 'NetworkPolicy')) {
      for (const rule of (np['spec']['ingress'] ?? []) as Obj[]) {
        if (!(rule['from'] as Obj[] | undefined)?.some((f) => f['ipBlock'])) continue;
        expect((rule['ports'] as Obj[]).map((p) => p['port']), np['metadata']['name']).toEqual([9110]);
      }
    }
  });

  it('probes every votecluster container on /healthz (liveness) and /readyz (readiness) at a declared port', () => {
    const cs = vcContainers(objs);
    expect(cs.length).toBe(3);
    for (const [, c] of cs) {
      const ports = new Set((c['ports'] as Obj[]).map((p) => p['name']));
      expect(c['livenessProbe']['httpGet']['path'], c['name']).toBe('/healthz');
      expect(c['readinessProbe']['httpGet']['path'], c['name']).toBe('/readyz');
      expect(ports.has(c['livenessProbe']['httpGet']['port'])).toBe(true);
      expect(ports.has(c['readinessProbe']['httpGet']['port'])).toBe(true);
    }
  });

  it('mounts secrets as files (never env values), runs unprivileged with a read-only root', () => {
    for (const spec of objs.flatMap(podSpecs)) {
      expect(spec['securityContext']['runAsNonRoot']).toBe(true);
      for (const c of [...spec['containers'], ...(spec['initContainers'] ?? [])] as Obj[]) {
        expect(c['securityContext']['readOnlyRootFilesystem'], c['name']).toBe(true);
        expect(c['securityContext']['allowPrivilegeEscalation']).toBe(false);
        for (const e of (c['env'] ?? []) as Obj[]) expect(e['valueFrom']?.['secretKeyRef'], `${c['name']} env ${e['name']}`).toBeUndefined();
      }
    }
    for (const [, c] of vcContainers(objs)) {
      const mounts = (c['volumeMounts'] as Obj[]).map((m) => m['mountPath']);
      expect(mounts).toEqual(expect.arrayContaining(['/tmp', '/run/secrets/votecluster']));
    }
  });

  it('keeps the secret copies current while the pod runs, so rotated certificates and keys reach the services', () => {
    for (const spec of objs.flatMap(podSpecs)) {
      const init = (spec['initContainers'] ?? []) as Obj[];
      if (!init.some((c) => c['name'] === 'secrets')) continue;
      const refresh = (spec['containers'] as Obj[]).find((c) => c['name'] === SECRETS_REFRESH);
      expect(refresh, 'a secrets-refresh container beside the init copy').toBeDefined();
      const mounts = Object.fromEntries(((refresh as Obj)['volumeMounts'] as Obj[]).map((m) => [m['mountPath'], m]));
      expect(mounts['/secrets-in']?.['readOnly']).toBe(true);
      expect(mounts['/run/secrets/votecluster']?.['readOnly']).toBeUndefined();
      const script = ((refresh as Obj)['command'] as string[]).join(' ');
      // The same mode as the init copy, written under another name and renamed (never half a file).
      expect(script).toMatch(/install -m 0600 .*\.new.* && mv -f /);
      expect(script).toMatch(/while sleep \d+/);
    }
  });

  it('has a ServiceMonitor whose jobs are the scrape jobs the alert rules use', () => {
    const sm = find(objs, 'ServiceMonitor', 'votecluster');
    expect(sm['spec']['jobLabel']).toBe('votecluster.io/job');
    const jobs = objs.filter((o) => o['kind'] === 'Service').map((s) => s['metadata']['labels']['votecluster.io/job']).sort();
    expect(jobs).toEqual(['votecluster-admin', 'votecluster-nodeproxy', 'votecluster-voter']);
    // The same job names as the example scrape config (the alert rules select by them).
    const prom = readFileSync(join(ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8');
    for (const j of jobs) expect(prom).toContain(`job_name: ${j}`);
    for (const s of objs.filter((o) => o['kind'] === 'Service')) expect((s['spec']['ports'] as Obj[]).some((p) => p['name'] === sm['spec']['endpoints'][0]['port'])).toBe(true);
  });

  it('every votecluster container command passes the real CLI parser and config loader with the rendered config', async () => {
    const cm = find(objs, 'ConfigMap', 'votecluster-config')['data'] as Record<string, string>;
    const dir = join(scratch, region);
    mkdirSync(dir, { recursive: true });
    for (const [f, text] of Object.entries(cm)) writeFileSync(join(dir, f), text);
    for (const [o, c] of vcContainers(objs)) {
      const env: Record<string, string> = {};
      for (const e of (c['env'] ?? []) as Obj[]) env[e['name']] = e['value'] ?? `${o['metadata']['name']}-7d9f8-x2x4k`;
      const rewrite = (a: string): string => a.replace(/^\/etc\/votecluster\//, `${dir}/`);
      const checked = await checkCommandLine(c['args'] as string[], env, rewrite);
      // etcd over https with the cluster CA, a client certificate and the service's etcd user;
      // every file it names is in the pod's secrets (installed mode 0600 by the init container).
      expect(etcdAccessProblems(checked), `${checked.command} etcd access`).toEqual([]);
      const access = etcdAccessOfChecked(checked);
      if (access) {
        const projected = new Set(
          (podSpecs(o)[0]!['volumes'] as Obj[])
            .flatMap((v) => (v['projected']?.['sources'] ?? []) as Obj[])
            .flatMap((src) => (src['secret']?.['items'] ?? []) as Obj[])
            .map((i) => `/run/secrets/votecluster/${i['path']}`),
        );
        for (const k of ['caFile', 'certFile', 'keyFile', 'passwordFile'] as const) expect(projected.has(access[k] as string), `${checked.command} etcd ${k} ${String(access[k])}`).toBe(true);
        const plain = await checkCommandLine([...(c['args'] as string[]), '--etcd', 'http://etcd-a.vc.example:2379'], env, rewrite);
        expect(etcdAccessProblems(plain)).toEqual(['etcd endpoint http://etcd-a.vc.example:2379 is not https']);
      }
      // Mutual TLS with the cluster CA on every gRPC link (the key as a secret file).
      const tls = mutualTlsOf(checked);
      if (tls) for (const k of ['caFile', 'certFile', 'keyFile'] as const) expect(tls[k], `${checked.command} tls.${k}`).toMatch(/^\//);
      if (checked.command === 'voter') {
        const cfg = checked.config as { region: string; proxies: Array<{ region: string }> };
        expect(cfg.region).toBe(region);
        expect(cfg.proxies[0]?.region).toBe(region);
        expect(new Set(cfg.proxies.map((p) => p.region))).toEqual(new Set(REGIONS));
      }
    }
  });
});

describe('the overlay renderer and the schema check can fail', () => {
  it('refuses an invalid object and a patch of a missing object', () => {
    expect(() => new Deployment({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { selector: {}, template: { spec: { containers: [{ name: 'x', ports: [{ containerPort: 'x' }] }] } } } } as never).validate()).toThrow(/containerPort/);
    writeFileSync(join(scratch, 'cm.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n');
    expect(() => {
      const d = mkdtempSync(join(scratch, 'k-'));
      writeFileSync(join(d, 'kustomization.yaml'), 'resources: [../cm.yaml]\npatches: [{ path: p.yaml }]\n');
      writeFileSync(join(d, 'p.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: b }\n');
      render(d);
    }).toThrow(/does not exist/);
  });
});
