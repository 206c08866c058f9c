/**
 * `votecluster key rotate`, the command itself (a child process, as an operator runs it, with the
 * admin's etcd user and TLS client certificate), while voters keep voting: blocks are mined and
 * voted during the whole rotation; afterwards no managed draw is missed, no ticket has two
 * different votes, every ticket record is sealed with the new key, and the voters hold it. A
 * second run is harmless.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterKeyFingerprint, clusterKeyId, generateClusterKey, openCluster, type RotationResult } from '../../services/cluster/index.ts';
import { writeSecretFile } from '../../services/security/index.ts';
import { runCli } from './admin-harness.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

let w: VoterWorld;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-rotate-cli-'));
  w = await startVoterWorld({ devnet: { tickets: 64 } });
}, 120_000);
afterAll(async () => {
  await w?.stop();
  await rm(dir, { recursive: true, force: true });
});

const hex = (k: { expose(): Uint8Array }): Buffer => Buffer.from(`${Buffer.from(k.expose()).toString('hex')}\n`);

async function rotate(oldFile: string, newFile: string): Promise<{ code: number; result: RotationResult | undefined; stderr: string }> {
  const r = await runCli([
    'key', 'rotate', ...w.etcd.cliFlags('admin'), '--network', 'simnet',
    '--old-key-file', oldFile, '--new-key-file', newFile, '--wait-voters-sec', '60', '--json',
  ], { timeoutMs: 120_000 });
  return { code: r.code, result: r.code === 0 ? JSON.parse(r.stdout.trim().split('\n').pop() as string) as RotationResult : undefined, stderr: r.stderr };
}

describe('votecluster key rotate', () => {
  it('rotates while the voters vote: nothing missed, no two different votes, every record under the new key', async () => {
    const oldFile = join(dir, 'cluster.key');
    const nextFile = join(dir, 'cluster.key.next');
    await writeSecretFile(oldFile, hex(w.clusterKey), { force: true });
    const voters = ['a1', 'a2'].map((id) => w.makeVoter(id, 'a', { nextClusterKeyFile: nextFile }));
    await Promise.all(voters.map((v) => v.start()));
    for (let i = 0; i < 2; i++) await w.mineAndAwaitVotes(20_000);

    // The new key is put in place on the (one) host while the voters run.
    const newKey = generateClusterKey();
    await writeSecretFile(nextFile, hex(newKey), { force: true });

    // An admin host given both keys keeps importing the tickets the chain sells meanwhile.
    const importer = await openCluster({
      endpoints: w.etcd.endpoints, etcdAccess: w.etcd.access('admin'), network: 'simnet', nodeId: 'importer', region: 'a', join: false, storeKeyFingerprint: true,
      clusterKey: new Uint8Array(w.clusterKey.expose()), nextClusterKeyFile: nextFile,
    });
    let rotating = true;
    let blocksDuring = 0;
    const load = (async () => {
      while (rotating) {
        await w.awaitPendingVotes(20_000);
        await w.devnet.generate(1);
        blocksDuring++;
        await w.importTickets(importer);
      }
    })();
    load.catch(() => undefined); // awaited (and thrown) below
    let out: Awaited<ReturnType<typeof rotate>>;
    try {
      out = await rotate(oldFile, nextFile);
    } finally {
      rotating = false;
      await load;
    }
    expect(out.code, out.stderr).toBe(0);
    expect(out.result).toMatchObject({ alreadyDone: false, oldFingerprint: clusterKeyFingerprint(w.clusterKey), newFingerprint: clusterKeyFingerprint(newKey) });
    expect(out.result?.resealed).toBeGreaterThan(0);
    expect(out.stderr).toContain('re-seal pass');

    // A few blocks after the switch, voted with the new key only (the world's own admin handle holds
    // only the old key now, so tickets enter through the importer).
    for (let i = 0; i < 2; i++) {
      await w.awaitPendingVotes(20_000);
      await w.devnet.generate(1);
      await w.importTickets(importer);
    }
    await w.awaitPendingVotes(20_000);
    expect(importer.keyState()).toBe('current');
    await importer.close();
    // Ticket records only: not the cluster tip's marker (tickets/chain-tip).
    const records = Object.entries(await w.admin.client.getAll().prefix(w.admin.keyspace.ticketsPrefix()).strings())
      .filter(([k]) => w.admin.keyspace.ticketHashOf(k) !== undefined).map(([, v]) => JSON.parse(v) as { votingKey: { kid: string } });
    console.log(JSON.stringify({ test: 'key-rotate-cli', blocksDuringRotation: blocksDuring, ...out.result, tickets: records.length, report: w.managedReport() }));
    expect(blocksDuring).toBeGreaterThanOrEqual(1);
    expect(records.length).toBeGreaterThan(0);
    expect(records.every((r) => r.votingKey.kid === clusterKeyId(newKey))).toBe(true);
    const report = w.managedReport();
    expect(report.drawn).toBeGreaterThan(0);
    expect(report.missed).toBe(0);
    expect(report.conflicting).toBe(0);
    for (const v of voters) expect(v.cluster?.keyFingerprints()).toContain(clusterKeyFingerprint(newKey));

    // Run again (an operator re-running an interrupted rotation): nothing left to do.
    const again = await rotate(oldFile, nextFile);
    expect(again.code, again.stderr).toBe(0);
    expect(again.result).toMatchObject({ alreadyDone: true, resealed: 0 });
  }, 240_000);
});
