/**
 * deploy/systemd: each unit's ExecStart runs through the real CLI parser and config
 * loader with the example config it names (deploy/examples); where systemd-analyze
 * exists, `systemd-analyze security --offline=true` scores every votecluster unit at
 * exposure <= 2.0 (the score docs/operations.md records) and `systemd-analyze verify`
 * accepts the units and the etcd drop-in in a scratch root holding the installed
 * command. Skips the systemd-analyze checks where the tool is absent.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { checkCommandLine, etcdAccessProblems } from './cli-check.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const SYSTEMD = join(ROOT, 'deploy', 'systemd');
const UNITS = readdirSync(SYSTEMD).filter((f) => /^votecluster-.*\.service$/.test(f)).sort();
const read = (f: string): string => readFileSync(join(SYSTEMD, f), 'utf8');
const hasAnalyze = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
const scratch = mkdtempSync(join(tmpdir(), 'votecluster-systemd-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The unit's ExecStart split into words, with ${CREDENTIALS_DIRECTORY} and /etc/votecluster config paths mapped into the repository. */
function execStart(unit: string): string[] {
  const line = /^ExecStart=(.+)$/m.exec(read(unit))?.[1] ?? '';
  return line.split(/\s+/);
}
const toRepo = (arg: string): string =>
  arg.replace(/^\/etc\/votecluster\/(\w+)\.yaml$/, join(ROOT, 'deploy', 'examples', '$1.yaml')).replace('${CREDENTIALS_DIRECTORY}', '/run/credentials/unit');

describe('deploy/systemd units', () => {
  it('cover the proxy, the voter and the admin service', () => {
    expect(UNITS).toEqual(['votecluster-admin.service', 'votecluster-proxy.service', 'votecluster-voter.service']);
  });

  it.each(UNITS)('%s: ExecStart is the installed command with flags and config the real CLI accepts', async (unit) => {
    const argv = execStart(unit);
    expect(argv[0]).toBe('/usr/bin/votecluster');
    const checked = await checkCommandLine(argv.slice(1), {}, toRepo);
    expect(unit).toBe(`votecluster-${checked.command}.service`);
    // etcd over https with the cluster CA, a client certificate and the service's etcd user.
    expect(etcdAccessProblems(checked), unit).toEqual([]);
    // Secrets only as files from LoadCredential=, never as values.
    const creds = [...read(unit).matchAll(/^LoadCredential=([^:]+):/gm)].map((m) => m[1]);
    for (const a of argv.filter((x) => x.includes('CREDENTIALS_DIRECTORY'))) expect(creds).toContain(a.split('/').at(-1));
    expect(argv.join(' ')).not.toMatch(/--(dcrd-pass|password|wif)\s/);
  });

  it.each(UNITS)('%s: TLS keys are read in place (followed on rotation), never copied once as a credential', (unit) => {
    const t = read(unit);
    expect(t).not.toMatch(/--(tls-key|etcd-key)\s+\$\{CREDENTIALS_DIRECTORY\}/);
    for (const m of t.matchAll(/^LoadCredential=[^:]+:(\S+)$/gm)) {
      // The wallet JSON-RPC key is read at start (vspd pins its certificate).
      if ((m[1] as string).startsWith('/etc/votecluster/tls/')) expect(m[1]).toBe('/etc/votecluster/tls/wallet.key');
    }
  });

  it.each(['voter', 'admin'])('votecluster-%s.service: the etcd password is a credential, the file `etcd init` writes', (kind) => {
    const t = read(`votecluster-${kind}.service`);
    const init = parseYaml(readFileSync(join(ROOT, 'deploy', 'examples', 'etcd-init.yaml'), 'utf8')) as Record<string, string>;
    expect(t).toMatch(/--etcd-password-file \$\{CREDENTIALS_DIRECTORY\}\/etcd-pass(\s|$)/);
    expect(/^LoadCredential=etcd-pass:(\S+)$/m.exec(t)?.[1]).toBe(init[`${kind}PasswordFile`]);
  });

  it('the etcd drop-in signs auth tokens (jwt, ES256) with keys that arrive as credentials', () => {
    const t = readFileSync(join(SYSTEMD, 'etcd.service.d', 'votecluster.conf'), 'utf8');
    const token = /^Environment=ETCD_AUTH_TOKEN=(\S+)$/m.exec(t)?.[1] ?? '';
    const opts = Object.fromEntries(token.split(',').slice(1).map((kv) => kv.split('=') as [string, string]));
    expect(token.split(',')[0]).toBe('jwt');
    expect(opts['sign-method']).toBe('ES256');
    expect(opts['ttl']).toMatch(/^\d+h$/);
    const creds = new Map([...t.matchAll(/^LoadCredential=([^:]+):(\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
    for (const k of ['pub-key', 'priv-key']) {
      const name = /^%d\/(.+)$/.exec(opts[k] ?? '')?.[1];
      expect(name, `${k} from the credentials directory`).toBeDefined();
      expect(creds.get(name as string), `LoadCredential=${name}:...`).toMatch(/^\/etc\/etcd\//);
    }
  });

  it.each(UNITS)('%s: restarts always, runs unprivileged with an empty capability set', (unit) => {
    const t = read(unit);
    expect(t).toMatch(/^Restart=always$/m);
    expect(t).toMatch(/^User=votecluster$/m);
    expect(t).toMatch(/^CapabilityBoundingSet=$/m);
    expect(t).toMatch(/^NoNewPrivileges=yes$/m);
  });

  it.skipIf(!hasAnalyze).each(UNITS)('%s: systemd-analyze security exposure <= 2.0, as docs/operations.md records', (unit) => {
    const out = execFileSync('systemd-analyze', ['security', '--offline=true', '--no-pager', join(SYSTEMD, unit)], { encoding: 'utf8' });
    const score = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(out)?.[1]);
    expect(score).toBeLessThanOrEqual(2.0);
    const docs = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    expect(docs).toContain(`| \`${unit}\` | ${score.toFixed(1)} |`);
  });

  it.skipIf(!hasAnalyze)('systemd-analyze verify accepts the units and the etcd drop-in (and refuses a unit whose command is missing)', () => {
    const root = join(scratch, 'root');
    const etc = join(root, 'etc', 'systemd', 'system');
    mkdirSync(join(etc, 'etcd.service.d'), { recursive: true });
    mkdirSync(join(root, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(root, 'usr', 'lib', 'systemd'), { recursive: true });
    // The stock units (targets the services order against) and the installed command.
    if (existsSync('/usr/lib/systemd/system')) cpSync('/usr/lib/systemd/system', join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true });
    const units = [...UNITS];
    for (const u of UNITS) copyFileSync(join(SYSTEMD, u), join(etc, u));
    const bad = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...units], { encoding: 'utf8' });
    expect(bad.status, 'verify fails while /usr/bin/votecluster is missing').not.toBe(0);
    expect(bad.stderr).toMatch(/votecluster.*(not executable|No such file)/);
    copyFileSync(join(ROOT, 'bin', 'votecluster'), join(root, 'usr', 'bin', 'votecluster'));
    chmodSync(join(root, 'usr', 'bin', 'votecluster'), 0o755);
    // The etcd drop-in on top of Debian's etcd-server unit (as packaged here, else a minimal stand-in).
    const stock = '/lib/systemd/system/etcd.service';
    if (existsSync(stock)) copyFileSync(stock, join(etc, 'etcd.service'));
    else writeFileSync(join(etc, 'etcd.service'), '[Unit]\nDescription=etcd\n[Service]\nType=notify\nUser=etcd\nExecStart=/usr/bin/etcd\n[Install]\nWantedBy=multi-user.target\n');
    writeFileSync(join(root, 'usr', 'bin', 'etcd'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    copyFileSync(join(SYSTEMD, 'etcd.service.d', 'votecluster.conf'), join(etc, 'etcd.service.d', 'votecluster.conf'));
    units.push('etcd.service');
    const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, ...units], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
