/**
 * etcd client certificates rotated under a running voter and admin, as an operator rotates the
 * cluster CA: the voter's and the admin's CA bundles take the new CA, then their certificates and
 * keys are replaced on disk (a garbage certificate and a certificate with the wrong key on the way
 * are refused with a warning and change nothing; the voter's new certificate, put in place before
 * etcd trusts its CA, is reported as refused by etcd while the voter carries on), etcd is restarted
 * trusting both CAs, then only the new one with a server certificate from it. The voter keeps
 * its session lease and its claims, its watches follow (a change the admin writes while they
 * reconnect, tickets imported after), it reads and writes and votes every draw, and a client with
 * the old certificate is refused while the same client with the new one gets in: the rotation was real.
 */
import { chmodSync, copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Etcd3 } from 'etcd3';
import { expect, it } from 'vitest';
import { openCluster, type Cluster } from '../../services/cluster/index.ts';
import { createCertificateAuthority, issueCertificate, readCaFiles, type PemPair, type TlsFiles } from '../../services/security/index.ts';
import { etcdClientCommonName, ETCD_PEER_COMMON_NAME, isEtcdMemberHealthy, type EtcdMember } from '../../services/sim/devnet/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

const lines: string[] = [];
const logOf = (service: string) =>
  createLogger({ service, level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } }) });
const logged = (msg: string, extra: (l: Record<string, unknown>) => boolean = () => true): Array<Record<string, unknown>> =>
  lines.flatMap((l) => l.split('\n')).filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === msg && extra(l));

const ETCD = 'etcd client';
const reloads = (service: string) => logged('TLS certificate reloaded', (l) => l['service'] === service && l['tls'] === ETCD);
const refusals = (service: string) => logged('TLS files changed but do not check out; keeping the current certificate', (l) => l['service'] === service && l['tls'] === ETCD);
const accepted = (service: string) => logged('etcd accepts the new etcd client certificate', (l) => l['service'] === service && l['tls'] === ETCD);
const probeRefusals = (service: string) => logged(
  'etcd did not accept the new etcd client certificate (err: refused, or etcd unreachable): connections open now keep the previous one; new ones (after an etcd restart or a network break) fail until etcd trusts it',
  (l) => l['service'] === service && l['tls'] === ETCD,
);

/** Writes `text` to `file` as a rotation tool does: a temporary name, then a rename. */
function put(file: string, text: string, mode = 0o644): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, file);
}
function putPair(files: TlsFiles, pair: PemPair): void {
  put(files.keyFile, pair.keyPem, 0o600);
  put(files.certFile, pair.certPem);
}
/** A copy of a service's etcd client files in its own directory (what an operator's host holds). */
function ownCopy(dir: string, name: string, from: TlsFiles): TlsFiles {
  const files = { caFile: join(dir, `${name}-ca.crt`), certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  copyFileSync(from.caFile, files.caFile);
  copyFileSync(from.certFile, files.certFile);
  copyFileSync(from.keyFile, files.keyFile);
  chmodSync(files.keyFile, 0o600);
  return files;
}

it.each([1, 3] as const)('etcd of %i member(s): a voter and an admin follow a CA rotation of their etcd client certificates with no restart, no lost lease, claim, event or vote', async (members) => {
  // The world is the test's own: the rotation changes etcd's trust for good.
  lines.length = 0;
  const w: VoterWorld = await startVoterWorld({ devnet: { nodes: 1, tickets: 48 }, etcdMembers: members });
  const dir = mkdtempSync(join(tmpdir(), 'vc-etcd-rotation-'));
  try {
    await rotate(w, dir);
  } finally {
    await w.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}, 180_000);

async function rotate(w: VoterWorld, dir: string): Promise<void> {
  const members = w.etcd.members;
  const launcher = w.etcd.clientTls;
  const tlsOf = (m: EtcdMember): TlsFiles => {
    if (!m.tls) throw new Error('the test etcd runs with TLS');
    return m.tls;
  };
  if (members.length === 0 || !launcher) throw new Error('the test etcd runs locally with TLS');
  // One CA file for every member (the launcher's certs directory).
  const etcdCaFile = tlsOf(members[0] as EtcdMember).caFile;
  const oldCa = readCaFiles(join(etcdCaFile, '..'));
  const newCa = await createCertificateAuthority({ commonName: 'votecluster rotation CA' });
  const bundle = `${oldCa.certPem.trim()}\n${newCa.certPem.trim()}\n`;
  const clientPair = (kind: string) => issueCertificate(newCa, { commonName: etcdClientCommonName(kind), role: 'etcd-client', usage: 'client' });

  const voterFiles = ownCopy(dir, 'voter', launcher.files.voter);
  const adminFiles = ownCopy(dir, 'admin', launcher.files.admin);
  const voter = w.makeVoter('rot-a1', 'a', { etcd: { endpoints: w.etcd.endpoints, ...w.etcd.access('voter'), ...voterFiles } }, { log: logOf('voter') });
  // The admin service's cluster handle (no membership), on its own files.
  const admin: Cluster = await openCluster(
    { endpoints: w.etcd.endpoints, etcdAccess: { ...w.etcd.access('admin'), ...adminFiles }, network: 'simnet', nodeId: 'rot-admin', region: 'x', join: false, clusterKey: new Uint8Array(w.clusterKey.expose()) },
    { log: logOf('admin') },
  );
  try {
    await voter.start();
    const c = voter.cluster as Cluster;
    await waitFor(() => c.owners.ownedByMe().length > 0, { timeoutMs: 20_000, message: 'the voter claims tickets' });
    const leaseId = c.membership.leaseId();
    const leaseEvents: string[] = [];
    c.membership.onLeaseChange((ev) => leaseEvents.push(`${ev.type} ${ev.leaseId}`));

    /** Mines `n` blocks; every draw voted; new tickets imported through the rotated admin. */
    const mine = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        await w.awaitPendingVotes(20_000);
        const [hash] = await w.devnet.generate(1);
        await waitFor(() => w.devnet.report().tickets.filter((t) => t.blockHash === hash).every((t) => t.firstVoteAt !== undefined || !w.isManaged(t.ticketHash)), {
          timeoutMs: 20_000, message: `votes for every draw of block ${hash}`,
        });
        await w.importTickets(admin);
      }
    };
    await mine(2);

    // 1. The voter's and the admin's CA bundles take the new CA (etcd's certificate is still
    // from the old one): taken, and etcd accepts the unchanged certificates.
    put(voterFiles.caFile, bundle);
    put(adminFiles.caFile, bundle);
    await waitFor(() => reloads('voter').length === 1 && reloads('admin').length === 1, { timeoutMs: 10_000, message: 'the CA bundles taken' });
    await waitFor(() => accepted('voter').length === 1, { timeoutMs: 10_000, message: 'etcd accepts the voter\'s certificate' });
    const oldFp = reloads('voter')[0]?.['fingerprint'];

    // 2. Garbage, then a certificate with another key: refused, the current set kept.
    put(voterFiles.certFile, 'not a certificate\n');
    await waitFor(() => refusals('voter').length === 1, { timeoutMs: 10_000, message: 'garbage refused' });
    const next = await clientPair('voter');
    const stray = await clientPair('voter');
    put(voterFiles.certFile, next.certPem);
    put(voterFiles.keyFile, stray.keyPem, 0o600);
    await waitFor(() => refusals('voter').some((l) => /does not match the certificate/.test(JSON.stringify(l['err']))), { timeoutMs: 10_000, message: 'wrong key refused' });
    expect(JSON.stringify(refusals('voter')[0]?.['err'])).toMatch(/no PEM certificate found/);
    expect(refusals('voter').every((l) => l['level'] === 40)).toBe(true);
    expect(reloads('voter')).toHaveLength(1);
    await mine(1);

    // 3. The voter's new pair before etcd trusts the new CA (an operator out of order): taken,
    // and the voter says at once that etcd refuses it; its open connections carry on.
    put(voterFiles.keyFile, next.keyPem, 0o600);
    await waitFor(() => reloads('voter').length === 2, { timeoutMs: 10_000, message: 'the voter takes the new certificate' });
    expect(reloads('voter')[1]?.['fingerprint']).not.toBe(oldFp);
    await waitFor(() => probeRefusals('voter').length === 1, { timeoutMs: 20_000, message: 'the voter reports that etcd refuses the new certificate' });
    expect(probeRefusals('voter')[0]?.['fingerprint']).toBe(reloads('voter')[1]?.['fingerprint']);
    expect(probeRefusals('voter')[0]?.['level']).toBe(40);

    // 4. etcd trusts the old and the new CA (restarted: etcd 3.4 reads its trusted CA at start):
    // the voter's connections are made again with its new certificate.
    // Members restart one at a time, as operators do.
    put(etcdCaFile, bundle);
    for (const m of members) {
      await m.stop();
      await m.start();
    }
    await mine(1);

    // 5. The admin's new pair (and the test world's own admin handle's): etcd accepts it.
    putPair(adminFiles, await clientPair('admin'));
    putPair(launcher.files.admin, await clientPair('admin'));
    await waitFor(() => reloads('admin').length === 2, { timeoutMs: 10_000, message: 'the admin takes the new certificate' });
    await waitFor(() => accepted('admin').length === 2, { timeoutMs: 20_000, message: 'etcd accepts the admin\'s new certificate' });
    expect(accepted('admin')[1]?.['fingerprint']).toBe(reloads('admin')[1]?.['fingerprint']);

    // 6. Trust in the old CA revoked: etcd restarted trusting only the new CA, with a server
    // certificate from it. Every connection is re-made; only the new certificates get in.
    const newRoot = await clientPair('root');
    // etcd reads its own certificate for each new connection: every member presents the new one
    // at once, to clients and to its peers; each then restarts trusting only the new CA.
    put(etcdCaFile, newCa.certPem);
    for (const m of members) putPair(tlsOf(m), await issueCertificate(newCa, { commonName: ETCD_PEER_COMMON_NAME, role: 'etcd', usage: 'peer', sans: ['127.0.0.1'] }));
    const newHttp = { ca: Buffer.from(newCa.certPem), cert: Buffer.from(newRoot.certPem), key: Buffer.from(newRoot.keyPem) };
    // A change written after each member's restart, while the voter's connections to it are made
    // again: the voter's watch delivers the last one.
    let hedge = c.config.hedgeMs();
    for (const m of members) {
      await m.stop();
      await m.start({ waitHealthy: false });
      await waitFor(() => isEtcdMemberHealthy(m.listenClientUrl, newHttp), { timeoutMs: 20_000, message: `etcd member ${m.name} healthy with the new CA` });
      hedge += 17;
      await waitFor(() => admin.config.setHedgeMs(hedge).then(() => true, () => false), { timeoutMs: 20_000, message: 'the admin writes through the new certificate' });
    }
    await waitFor(() => c.config.hedgeMs() === hedge, { timeoutMs: 10_000, message: 'the voter\'s watch delivers the change' });
    // A client with the old certificate is refused; the same client with the new one gets in.
    const withCert = async (pair: { cert: Buffer; key: Buffer }): Promise<Error | undefined> => {
      const probe = new Etcd3({
        ...w.etcd.clientOptions('voter'),
        credentials: { rootCertificate: Buffer.from(newCa.certPem), certChain: pair.cert, privateKey: pair.key },
        dialTimeout: 2_000,
      });
      try {
        return await probe.get(c.keyspace.config('hedge')).string().then(() => undefined, (err: unknown) => err as Error);
      } finally {
        probe.close();
      }
    };
    expect((await withCert(launcher.pem.voter))?.message).toMatch(/UNAVAILABLE/);
    expect(await withCert({ cert: Buffer.from(next.certPem), key: Buffer.from(next.keyPem) })).toBeUndefined();

    // Reads, writes and watches through the new certificates: new tickets imported by the admin
    // reach the voter's ticket cache, the voter claims and votes them, every draw voted.
    const before = c.tickets.size;
    await mine(3);
    await waitFor(() => c.tickets.size === admin.tickets.size, { timeoutMs: 10_000, message: 'the voter sees every imported ticket' });
    expect(c.tickets.size).toBeGreaterThan(before);
    expect(await c.owners.claim(c.owners.ownedByMe()[0] as string)).toMatchObject({ owner: 'rot-a1' });
    expect(c.membership.leaseId()).toBe(leaseId);
    expect(leaseEvents).toEqual([]);
    expect(c.owners.ownedByMe().length).toBeGreaterThan(0);
    const report = w.managedReport();
    expect(report.missed).toBe(0);
    expect(report.conflicting).toBe(0);
  } finally {
    await voter.stop();
    await admin.close();
  }
}
