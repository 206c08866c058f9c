/**
 * The cluster key at the process boundary, through the real `votecluster` CLI against real
 * etcd, a real devnet and a real node proxy: the first writer stores the key's fingerprint;
 * `ticket import`, `voter` and `admin` holding another key are refused before they write
 * anything, naming both fingerprints; a key file readable by group or others is refused by
 * each of them; `status`, `ticket list` and `stakeinfo` need no key at all.
 */
import { chmod, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  clusterKeyFingerprint,
  ClusterKeyRecordSchema,
  generateClusterKey,
  Keyring,
  Keyspace,
  openCluster,
} from '../../services/cluster/index.ts';
import { createMetrics } from '../../services/telemetry/index.ts';
import { runCli, startAdminWorld, type AdminWorld } from './admin-harness.ts';

const cli = (args: string[]): ReturnType<typeof runCli> => runCli(args, { timeoutMs: 45_000 });

let w: AdminWorld;
let rightFp: string;
let wrongFile: string;
let wrongFp: string;
let openFile: string;
const ks = new Keyspace('simnet');

beforeAll(async () => {
  w = await startAdminWorld();
  rightFp = (await cli(['key', 'fingerprint', '--key-file', w.clusterKeyFile])).stdout.trim();
  wrongFile = join(w.dir, 'other.key');
  const gen = await cli(['key', 'generate', '--out', wrongFile, '--json']);
  expect(gen.code).toBe(0);
  wrongFp = (JSON.parse(gen.stdout) as { fingerprint: string }).fingerprint;
  openFile = join(w.dir, 'open.key');
  await copyFile(w.clusterKeyFile, openFile);
  await chmod(openFile, 0o644);
}, 120_000);
afterAll(() => w?.stop());

function flags(keyFile?: string): string[] {
  return [...w.etcd.cliFlags('admin'), '--network', 'simnet', ...(keyFile ? ['--cluster-key-file', keyFile] : [])];
}

async function count(prefix: string): Promise<number> {
  return Number(await w.cluster.client.getAll().prefix(prefix).count());
}

function voterArgs(nodeId: string, keyFile: string): string[] {
  return [
    'voter', '--node-id', nodeId, '--region', 'a', '--proxy', `${w.proxyAddress}@a`, ...w.etcd.cliFlags('voter'), '--network', 'simnet',
    '--cluster-key-file', keyFile, '--tls-ca', w.adminTls.caFile, '--tls-cert', w.adminTls.certFile, '--tls-key', w.adminTls.keyFile,
  ];
}

describe('the cluster key fingerprint in etcd', () => {
  it('the first writer stored the fingerprint `key fingerprint` prints', async () => {
    expect(rightFp).toMatch(/^[0-9a-f]{64}$/);
    expect(wrongFp).not.toBe(rightFp);
    const raw = await w.cluster.client.get(ks.clusterKey()).string();
    const rec = ClusterKeyRecordSchema.parse(JSON.parse(raw ?? 'null'));
    expect(rec.fingerprint).toBe(rightFp);
    expect(rec.rotation).toBeUndefined();
  });

  it('ticket import, voter and admin with another cluster key are refused before writing anything, naming both fingerprints', async () => {
    const [imp, voter, admin] = await Promise.all([
      cli(['ticket', 'import', '--file', w.exportFile, ...flags(wrongFile), '--proxy', w.proxyAddress]),
      cli(voterArgs('wrong-key-voter', wrongFile)),
      cli(['admin', ...flags(wrongFile)]),
    ]);
    for (const [name, r] of [['ticket import', imp], ['voter', voter], ['admin', admin]] as const) {
      expect(r.code, `${name}: ${r.stderr}`).toBe(1);
      expect(r.stderr, name).toContain('[CLUSTER_KEY_MISMATCH]');
      expect(r.stderr, name).toContain(rightFp);
      expect(r.stderr, name).toContain(wrongFp);
    }
    expect(await count(ks.ticketsPrefix())).toBe(0);
    expect(await count(ks.nodesPrefix())).toBe(0);
    expect(await count(ks.ownersPrefix())).toBe(0);
  }, 120_000);

  it('a key file readable by group or others is refused by ticket import, voter and admin, naming the file, mode and chmod 600', async () => {
    const [imp, voter, admin] = await Promise.all([
      cli(['ticket', 'import', '--file', w.exportFile, ...flags(openFile)]),
      cli(voterArgs('open-key-voter', openFile)),
      cli(['admin', ...flags(openFile)]),
    ]);
    for (const [name, r] of [['ticket import', imp], ['voter', voter], ['admin', admin]] as const) {
      expect(r.code, `${name}: ${r.stderr}`).toBe(1);
      expect(r.stderr, name).toContain('[SECURITY_FILE_PERMISSIONS]');
      expect(r.stderr, name).toContain(`${openFile} has mode 0644`);
      expect(r.stderr, name).toContain(`chmod 600 ${openFile}`);
    }
    expect(await count(ks.ticketsPrefix())).toBe(0);
    expect(await count(ks.nodesPrefix())).toBe(0);
  }, 120_000);

  it('with the right key the import succeeds; status, ticket list and stakeinfo then work without any key', async () => {
    const imp = await cli(['ticket', 'import', '--file', w.exportFile, ...w.cliFlags(false)]);
    expect(imp.code, imp.stderr).toBe(0);
    const [list, status, stake, text] = await Promise.all([
      cli(['ticket', 'list', '--json', ...flags()]),
      cli(['status', '--json', ...flags()]),
      cli(['stakeinfo', '--json', ...flags()]),
      cli(['status', ...flags()]),
    ]);
    for (const r of [list, status, stake, text]) expect(r.code, r.stderr).toBe(0);
    // The text form: the verdict first (no voter has joined), etcd's health, the tickets.
    expect(text.stdout.split('\n')[0]).toMatch(/^FAILING: no voter is live/);
    expect(text.stdout).toMatch(/^etcd: reachable \(reads \d+ ms, 1 member\(s\), leader elected\)$/m);
    expect(text.stdout).toContain(`tickets ${w.exported.length}, owned 0`);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(w.exported.length);
    expect((JSON.parse(status.stdout) as { tickets: number }).tickets).toBe(w.exported.length);
    expect(JSON.parse(stake.stdout)).toHaveProperty('live');
    // Writing commands still need it.
    const remove = await cli(['ticket', 'remove', w.exported[0]!.ticketHash, ...flags()]);
    expect(remove.code).toBe(2);
    expect(remove.stderr).toContain('--cluster-key-file');
  }, 120_000);
});

describe('a cluster whose tickets predate the fingerprint', () => {
  it('the first writer with another key is refused and stores nothing; the right key stores its fingerprint', async () => {
    const network = 'testnet3';
    const tks = new Keyspace(network);
    const key = generateClusterKey();
    const other = generateClusterKey();
    const base = { endpoints: w.etcd.endpoints, etcdAccess: w.etcd.access('admin'), network, region: 'admin', join: false } as const;
    // Tickets written without a fingerprint (as by a release that did not store one).
    const legacy = await openCluster({ ...base, nodeId: 'legacy', clusterKey: new Uint8Array(key.expose()) });
    await legacy.tickets.importTickets(
      Array.from({ length: 3 }, (_, i) => ({ ticketHash: String(i + 1).padStart(64, '0'), ticketHex: '00', votingKey: key })),
    );
    await legacy.close();
    await w.cluster.client.delete().key(tks.clusterKey()).exec();

    const err = await openCluster({ ...base, nodeId: 'other', clusterKey: new Uint8Array(other.expose()), storeKeyFingerprint: true }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CLUSTER_KEY_MISMATCH' });
    expect((err as Error).message).toContain(clusterKeyFingerprint(other));
    expect(await w.cluster.client.get(tks.clusterKey()).string()).toBeNull();

    const ok = await openCluster({ ...base, nodeId: 'right', clusterKey: new Uint8Array(key.expose()), storeKeyFingerprint: true });
    expect(ok.keyRecord?.fingerprint).toBe(clusterKeyFingerprint(key));
    await ok.close();
    // A voter of that cluster with the other key is refused too.
    const voter = await openCluster({ ...base, etcdAccess: w.etcd.access('voter'), nodeId: 'v-other', clusterKey: new Uint8Array(other.expose()), join: true }).catch((e: unknown) => e);
    expect(voter).toMatchObject({ code: 'CLUSTER_KEY_MISMATCH' });
  });
});

describe('votecluster_unvotable_tickets', () => {
  it('counts records sealed with another key and records that fail authentication, by reason', async () => {
    const network = 'regnet';
    const rks = new Keyspace(network);
    const key = generateClusterKey();
    const base = { endpoints: w.etcd.endpoints, etcdAccess: w.etcd.access('admin'), network, region: 'admin', join: false } as const;
    const writer = await openCluster({ ...base, nodeId: 'uv-writer', clusterKey: new Uint8Array(key.expose()), storeKeyFingerprint: true });
    const th = (i: number): string => String(i).padStart(64, 'a');
    await writer.tickets.importTickets(Array.from({ length: 4 }, (_, i) => ({ ticketHash: th(i), ticketHex: '00', votingKey: key })));
    // One record re-sealed with a foreign key (as an import with another key by a release without
    // the fingerprint check would have stored), one with a flipped ciphertext byte.
    const foreign = JSON.parse((await writer.client.get(rks.ticket(th(1))).string())!) as { votingKey: unknown };
    foreign.votingKey = new Keyring([generateClusterKey()]).sealVotingKey(network, th(1), key);
    await writer.client.put(rks.ticket(th(1))).value(JSON.stringify(foreign));
    const tampered = JSON.parse((await writer.client.get(rks.ticket(th(2))).string())!) as { votingKey: { ct: string } };
    const ct = tampered.votingKey.ct;
    tampered.votingKey.ct = `${ct.slice(0, -2)}${ct.endsWith('00') ? '01' : '00'}`;
    await writer.client.put(rks.ticket(th(2))).value(JSON.stringify(tampered));
    await writer.close();

    const metrics = createMetrics({ service: 'voter', components: ['cluster'] });
    const c = await openCluster({ ...base, nodeId: 'uv-reader', clusterKey: new Uint8Array(key.expose()) }, { metrics });
    try {
      const gauge = async (reason: string): Promise<number> => {
        const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'votecluster_unvotable_tickets');
        return (m?.values as Array<{ value: number; labels: Record<string, string> }> | undefined)?.find((v) => v.labels['reason'] === reason)?.value ?? -1;
      };
      await expect.poll(() => gauge('unknown_key'), { timeout: 5_000 }).toBe(1);
      expect(await gauge('undecryptable')).toBe(0);
      // A tampered ciphertext is found when the key is opened (at sign time, or when verified).
      expect(await c.tickets.verifyVotingKeys()).toBe(1);
      await expect.poll(() => gauge('undecryptable'), { timeout: 5_000 }).toBe(1);
      expect(await gauge('malformed')).toBe(0);
    } finally {
      await c.close();
    }
  });
});
