/**
 * etcd authentication against a real etcd: `votecluster etcd init` turns it on
 * (idempotently, passwords generated into 0600 files), and etcd then enforces one
 * role per kind of service: the voter user writes nodes/ owners/ votes/ only, the
 * admin user tickets/ config/ only, the reader nothing. Wrong or missing
 * credentials fail fast with a typed error. etcd runs with TLS and client
 * certificates required (as everywhere); the client certificates name no etcd
 * user, so a certificate without a password grants nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Etcd3, EtcdPermissionDeniedError } from 'etcd3';
import { SecretKey } from '../../services/telemetry/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ETCD_USER_NAMES,
  generateClusterKey,
  Keyspace,
  openCluster,
  readEtcdPasswordFile,
  type EtcdServiceRole,
} from '../../services/cluster/index.ts';
import { startEtcd, type EtcdServer } from '../../services/sim/etcd/etcd-server.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const ks = new Keyspace('simnet');
const HASH = 'ab'.repeat(32);

let etcd: EtcdServer;
let dir: string;
const files = (): Record<EtcdServiceRole | 'root', string> => ({
  root: join(dir, 'root.pw'),
  voter: join(dir, 'voter.pw'),
  admin: join(dir, 'admin.pw'),
  reader: join(dir, 'reader.pw'),
});

async function init(extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const f = files();
  const args = [
    'etcd', 'init', '--etcd', etcd.endpoints.join(','), '--network', 'simnet', ...tlsFlags(),
    '--root-password-file', f.root, '--voter-password-file', f.voter, '--admin-password-file', f.admin, '--reader-password-file', f.reader,
    ...extra,
  ];
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'bin/votecluster.ts', ...args], { cwd: ROOT, timeout: 30_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The CLI's TLS flags of the root kind's client certificate. */
const tlsFlags = (): string[] => {
  const f = etcd.clientTls?.files.root;
  return f ? ['--etcd-ca', f.caFile, '--etcd-cert', f.certFile, '--etcd-key', f.keyFile] : [];
};
/** etcd3 TLS credentials of the voter kind's client certificate. */
const credentials = (): { credentials: { rootCertificate: Buffer; certChain: Buffer; privateKey: Buffer } } => {
  const p = etcd.clientTls?.pem.voter;
  if (!p) throw new Error('etcd runs without TLS');
  return { credentials: { rootCertificate: p.ca, certChain: p.cert, privateKey: p.key } };
};
/** The openCluster TLS files of the voter kind. */
const tlsFiles = (): { caFile: string; certFile: string; keyFile: string } => {
  const f = etcd.clientTls?.files.voter;
  if (!f) throw new Error('etcd runs without TLS');
  return { caFile: f.caFile, certFile: f.certFile, keyFile: f.keyFile };
};

const clients: Etcd3[] = [];
async function as(who: EtcdServiceRole | 'root'): Promise<Etcd3> {
  const username = who === 'root' ? 'root' : ETCD_USER_NAMES[who];
  const c = new Etcd3({ hosts: etcd.endpoints, ...credentials(), auth: { username, password: await readEtcdPasswordFile(files()[who]) } });
  clients.push(c);
  return c;
}

/** Resolves 'ok' when the put succeeds, 'denied' when etcd's RBAC refuses it. */
async function tryPut(c: Etcd3, key: string): Promise<'ok' | 'denied'> {
  try {
    await c.put(key).value('{}');
    return 'ok';
  } catch (err) {
    if (err instanceof EtcdPermissionDeniedError) return 'denied';
    throw err;
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-etcd-auth-'));
  // Without the launcher's own set-up: this test runs it through the CLI.
  etcd = await startEtcd({ auth: false });
});
afterAll(async () => {
  for (const c of clients) c.close();
  await etcd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('votecluster etcd init', () => {
  it('needs its password files unless told to generate them', async () => {
    const r = await init();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('etcd password file');
    expect(r.stderr).toContain('ENOENT');
  });

  it('generates 0600 password files and turns authentication on; a second run changes nothing', async () => {
    const first = await init(['--generate']);
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout) as { enabledAuth: boolean; passwordFilesCreated: string[]; usersCreated: string[]; permissionsGranted: string[] };
    expect(report.enabledAuth).toBe(true);
    expect(report.passwordFilesCreated.sort()).toEqual(Object.values(files()).sort());
    expect(report.usersCreated.sort()).toEqual(['root', ...Object.values(ETCD_USER_NAMES)].sort());
    for (const f of Object.values(files())) expect((await stat(f)).mode & 0o777).toBe(0o600);
    expect(first.stdout).not.toContain(await readEtcdPasswordFile(files().voter));

    const again = await init(['--generate']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      enabledAuth: false, passwordFilesCreated: [], rolesCreated: [], usersCreated: [], permissionsGranted: [], permissionsRevoked: [],
    });
  });

  it('refuses a request that presents only a cluster client certificate (no etcd user and password) now', async () => {
    // With --client-cert-auth, etcd takes the certificate's CN as the user of a request without
    // a token (etcdserver/v3_server.go AuthInfoFromCtx -> AuthStore.AuthInfoFromTLS); the
    // cluster's client certificates name no etcd user, so the request is refused.
    const anon = new Etcd3({ hosts: etcd.endpoints, ...credentials() });
    clients.push(anon);
    await expect(anon.get(ks.schemaVersion()).string()).rejects.toThrow(/permission denied|user name not found/);
  });
});

describe('etcd roles', () => {
  it('the voter writes nodes/, owners/, votes/ and the agendas it reads from the chain, nothing else', async () => {
    const v = await as('voter');
    expect(await tryPut(v, ks.node('v1'))).toBe('ok');
    expect(await tryPut(v, ks.config('agendas-v12'))).toBe('ok');
    expect(await tryPut(v, ks.config('cluster-key'))).toBe('denied');
    expect(await tryPut(v, ks.owner(HASH))).toBe('ok');
    expect(await tryPut(v, ks.vote(7, HASH, HASH))).toBe('ok');
    expect(await tryPut(v, ks.ticket(HASH))).toBe('denied');
    expect(await tryPut(v, ks.config('vote-defaults'))).toBe('denied');
    // The cluster tip and its markers (exactly those keys) and the recorded tspends.
    expect(await tryPut(v, ks.chainTip())).toBe('ok');
    expect(await tryPut(v, ks.ticketsTipMarker())).toBe('ok');
    expect(await tryPut(v, ks.tspendsTipMarker())).toBe('ok');
    expect(await tryPut(v, ks.tspend(HASH))).toBe('ok');
    // The committed vote version (exactly that key).
    expect(await tryPut(v, ks.voteVersion())).toBe('ok');
    expect(await tryPut(v, `${ks.voteVersion()}s`)).toBe('denied');
    expect(await tryPut(v, ks.config('chain-tips'))).toBe('denied');
    expect(await tryPut(v, `${ks.ticketsTipMarker()}x`)).toBe('denied');
    expect(await tryPut(v, ks.schemaVersion())).toBe('denied');
    expect(await tryPut(v, '/elsewhere')).toBe('denied');
    expect(await tryPut(v, new Keyspace('mainnet').owner(HASH))).toBe('denied');
    await expect(v.get(ks.schemaVersion()).string()).resolves.toContain('version');
  });

  it('the admin writes tickets/ and config/ and not what voters write', async () => {
    const a = await as('admin');
    expect(await tryPut(a, ks.ticket(HASH))).toBe('ok');
    expect(await tryPut(a, ks.config('vote-defaults'))).toBe('ok');
    expect(await tryPut(a, ks.owner(HASH))).toBe('denied');
    expect(await tryPut(a, ks.node('a1'))).toBe('denied');
    expect(await tryPut(a, ks.vote(7, HASH, HASH))).toBe('denied');
    // Deleting is writing: the admin cannot drop an owner claim either.
    await expect(a.delete().key(ks.owner(HASH))).rejects.toBeInstanceOf(EtcdPermissionDeniedError);
  });

  it('the reader reads everything of the keyspace and writes nothing', async () => {
    const r = await as('reader');
    expect(await r.get(ks.owner(HASH)).string()).toBe('{}');
    expect(await r.getAll().prefix(ks.prefix).keys()).toContain(ks.ticket(HASH));
    for (const key of [ks.node('r1'), ks.owner(HASH), ks.vote(8, HASH, HASH), ks.ticket(HASH), ks.config('hedge')]) {
      expect(await tryPut(r, key)).toBe('denied');
    }
  });

  it('a voter that opens the cluster works, and its attempt to import a ticket is a typed permission error', async () => {
    const clusterKey = generateClusterKey().expose().slice();
    const c = await openCluster({
      endpoints: etcd.endpoints, network: 'simnet', nodeId: 'v-open', region: 'a', clusterKey, leaseTtlSec: 5,
      etcdAccess: { username: ETCD_USER_NAMES.voter, passwordFile: files().voter, ...tlsFiles() },
    });
    try {
      expect(c.membership.liveNodes().map((n) => n.nodeId)).toContain('v-open');
      await expect(c.config.setHedgeMs(100)).rejects.toMatchObject({ code: 'CLUSTER_ETCD_PERMISSION_DENIED' });
      // The voter advances the cluster tip (one txn over the three keys) under its role.
      await c.client.delete().key(ks.chainTip()).exec();
      await expect(c.advanceTip(5)).resolves.toBe(true);
      await expect(c.advanceTip(9)).resolves.toBe(true);
      expect(await c.client.get(ks.chainTip()).string()).toBe('0000000009');
      expect(await c.client.get(ks.ticketsTipMarker()).string()).toBe('0000000009');
      // A vote input is the admin's: the voter's guarded ticket import is refused.
      await expect(c.tickets.importTicket({ ticketHash: 'ab'.repeat(32), ticketHex: '01000000', votingKey: new SecretKey(new Uint8Array(32).fill(3)) }))
        .rejects.toMatchObject({ code: 'CLUSTER_ETCD_PERMISSION_DENIED' });
    } finally {
      await c.close();
    }
  });

  it('a wrong password is refused at once with CLUSTER_ETCD_AUTH_FAILED', async () => {
    const t0 = Date.now();
    await expect(
      openCluster({
        endpoints: etcd.endpoints, network: 'simnet', nodeId: 'v-bad', region: 'a', clusterKey: generateClusterKey().expose().slice(),
        etcdAccess: { username: ETCD_USER_NAMES.voter, password: 'not-the-password', ...tlsFiles() },
      }),
    ).rejects.toMatchObject({ code: 'CLUSTER_ETCD_AUTH_FAILED', message: expect.stringContaining('refused the user name or password') });
    // Not a retry loop until some deadline: one refusal ends it (bound far above one round trip).
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  it('no credentials against an authenticated etcd is CLUSTER_ETCD_AUTH_FAILED too', async () => {
    await expect(
      openCluster({ endpoints: etcd.endpoints, etcdAccess: tlsFiles(), network: 'simnet', nodeId: 'v-none', region: 'a', clusterKey: generateClusterKey().expose().slice(), join: false }),
    ).rejects.toMatchObject({ code: 'CLUSTER_ETCD_AUTH_FAILED', message: expect.stringContaining('no etcd user is configured') });
  });
});
