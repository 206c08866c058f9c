/**
 * docs/operations.md and deploy/examples: every alert rule carries a runbook_url
 * pointing at a heading of the guide; every example config loads through the real
 * CLI parser and config loader (with the secret-file flags the service manager adds);
 * every relative link of the guide names a file that exists.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { checkCommandLine, CommandLineError, etcdAccessProblems, unknownFlags } from './cli-check.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const GUIDE = join(ROOT, 'docs', 'operations.md');
const guide = readFileSync(GUIDE, 'utf8');
const RUNBOOK_BASE = 'https://github.com/votecluster/votecluster/blob/main/docs/operations.md#';

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function githubSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}
const anchors = new Set([...guide.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => githubSlug(m[1] as string)));

interface Rule {
  alert: string;
  annotations: { runbook_url?: string };
}
const rules = (parseYaml(readFileSync(join(ROOT, 'deploy', 'prometheus', 'alerts.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);

describe('runbooks', () => {
  it.each(rules.map((r) => [r.alert, r.annotations.runbook_url] as const))('%s links to its own runbook heading in docs/operations.md', (alert, url) => {
    expect(url).toBe(`${RUNBOOK_BASE}${alert.toLowerCase()}`);
    expect(anchors.has(alert.toLowerCase()), `heading "### ${alert}"`).toBe(true);
  });

  it('has no runbook for an alert that does not exist', () => {
    const runbooks = guide.slice(guide.indexOf('## Runbooks')).match(/^### (\w+)$/gm)?.map((h) => h.slice(4)) ?? [];
    expect(runbooks.sort()).toEqual(rules.map((r) => r.alert).sort());
  });

  it('the slug function matches GitHub on headings with punctuation', () => {
    expect(githubSlug('Quick start: VSP, three regions behind vspd')).toBe('quick-start-vsp-three-regions-behind-vspd');
    expect(githubSlug('Containers: image, compose, Kubernetes')).toBe('containers-image-compose-kubernetes');
  });
});

describe('docs/operations.md', () => {
  it('every in-page link names a heading and every relative link a file that exists', () => {
    for (const m of guide.matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1] as string;
      if (/^https?:/.test(target)) continue;
      const [file, anchor] = target.split('#');
      if (file) expect(existsSync(join(dirname(GUIDE), file)), target).toBe(true);
      else expect(anchors.has(anchor as string), target).toBe(true);
    }
  });
});

describe('votecluster commands the guide names', () => {
  // Every `votecluster …` command line in the guide's code (spans and blocks, continuation lines joined).
  const code = [
    ...[...guide.matchAll(/^[ \t]*```[^\n]*\n([\s\S]*?)^[ \t]*```/gm)].flatMap((m) => (m[1] as string).replace(/\\\n\s*/g, ' ').split('\n')),
    ...[...guide.replace(/^[ \t]*```[\s\S]*?^[ \t]*```/gm, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1] as string),
  ];
  const lines = code.flatMap((c) => [...c.matchAll(/(?:^|\s)(?<!-[up] )votecluster ((?:\S+ ?)+)/g)].map((m) => (m[1] as string).trim().split(/\s+/)))
    .map((w) => w.filter((x, i) => !(i === 0 && x === 'votecluster')))
    .map((w) => w.slice(0, w.findIndex((x) => /^(#|\||&&|;|>)/.test(x)) >>> 0))
    .filter((w) => w.length > 0 && /^[a-z-]/.test(w[0] as string));

  it('finds the guide\'s command lines', () => {
    expect(lines.length).toBeGreaterThanOrEqual(8);
  });

  it.each(lines.map((w) => [w.join(' '), w] as const))('votecluster %s: every flag exists', async (_l, words) => {
    expect(await unknownFlags(words)).toEqual([]);
  });

  it('the check can fail', async () => {
    expect(await unknownFlags(['key', 'fingerprint', '--file', 'k'])).toEqual(['--file']);
    expect(await unknownFlags(['nope'])).toEqual(['unknown command nope']);
  });
});

describe('deploy/examples', () => {
  const EX = join(ROOT, 'deploy', 'examples');
  // The secret-file flags a service manager adds (systemd LoadCredential=, Kubernetes secret volumes).
  const lines: Record<string, string[]> = {
    'proxy.yaml': ['proxy', '--dcrd-pass-file', '/run/secrets/dcrd.pass'],
    'voter.yaml': ['voter', '--cluster-key-file', '/run/secrets/cluster.key', '--etcd-password-file', '/run/secrets/etcd-pass'],
    'admin.yaml': ['admin', '--cluster-key-file', '/run/secrets/cluster.key', '--etcd-password-file', '/run/secrets/etcd-pass', '--wallet-pass-file', '/run/secrets/wallet.pass', '--wallet-tls-key', '/run/secrets/wallet.key'],
    'etcd-init.yaml': ['etcd', 'init'],
  };

  it('has one example per service and nothing else', () => {
    expect(readdirSync(EX).sort()).toEqual(Object.keys(lines).sort());
  });

  it.each(Object.entries(lines))('%s loads through the real CLI parser and config loader', async (file, argv) => {
    const checked = await checkCommandLine([...argv, '--config', join(EX, file)]);
    expect(checked.config).toBeTypeOf('object');
    // etcd over https with the cluster CA, a client certificate and the service's etcd user.
    expect(etcdAccessProblems(checked), file).toEqual([]);
    expect((checked.config as { network?: unknown; networks?: unknown }).network ?? (checked.config as { networks?: unknown }).networks).toBeDefined();
  });

  it('names the etcd client certificates the guide issues, each with its own key', () => {
    const issued = new Set([...guide.matchAll(/votecluster certs create-client (\S+)/g)].map((m) => m[1] as string));
    const yaml = (f: string): Record<string, unknown> => parseYaml(readFileSync(join(EX, f), 'utf8')) as Record<string, unknown>;
    const etcdOf = (f: string): { cert: unknown; key: unknown } => {
      const y = yaml(f);
      const e = y['etcd'] as Record<string, unknown> | unknown[];
      return Array.isArray(e) ? { cert: y['etcdCert'], key: y['etcdKey'] } : { cert: e['certFile'], key: e['keyFile'] };
    };
    for (const f of ['voter.yaml', 'admin.yaml', 'etcd-init.yaml']) {
      const { cert, key } = etcdOf(f);
      const stem = /^\/etc\/votecluster\/tls\/([\w-]+)\.crt$/.exec(String(cert))?.[1];
      expect(stem, `${f}: etcd client certificate ${String(cert)}`).toBeDefined();
      expect(issued, `${f}: the guide issues ${stem}`).toContain(stem);
      expect(key, f).toBe(`/etc/votecluster/tls/${stem}.key`);
    }
    expect(issued.size).toBeGreaterThanOrEqual(4);
  });

  it('the services read the etcd password files `etcd init` writes', () => {
    const yaml = (f: string): Record<string, unknown> => parseYaml(readFileSync(join(EX, f), 'utf8')) as Record<string, unknown>;
    const init = yaml('etcd-init.yaml');
    expect((yaml('voter.yaml')['etcd'] as Record<string, unknown>)['passwordFile']).toBe(init['voterPasswordFile']);
    expect(yaml('admin.yaml')['etcdPasswordFile']).toBe(init['adminPasswordFile']);
  });

  it('the check refuses an unknown flag and a config of the wrong service', async () => {
    await expect(checkCommandLine(['voter', '--config', join(EX, 'voter.yaml'), '--cluster-key-file', '/k', '--no-such-flag'])).rejects.toThrow(CommandLineError);
    await expect(checkCommandLine(['proxy', '--config', join(EX, 'voter.yaml')])).rejects.toThrow(/dcrd/);
  });
});
