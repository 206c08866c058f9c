/**
 * `votecluster voter` shutdown under load (services/cli/lifecycle.ts): several voter
 * processes voting on a devnet that mines every 300 ms, all SIGTERMed at once while draws
 * are in flight; then the same with etcd frozen (SIGSTOP: every etcd call hangs until its
 * deadline). Every voter must exit 0 with its logged stopMs under the 5 s cap, and a
 * record it could not write must be logged by name (ticket, txid), never dropped silently.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { startObsBase, type ObsBase, type VoterProcess } from './observability-harness.ts';
import { waitFor } from '../harness/wait-for.ts';

const VOTERS = Number(process.env['VOTER_SHUTDOWN_VOTERS'] ?? 3);
let base: ObsBase;
let dn: Devnet;

beforeAll(async () => {
  base = await startObsBase();
  dn = await startDevnet({ tickets: Number(process.env['VOTER_SHUTDOWN_TICKETS'] ?? 256), blockInterval: { mode: 'fixed', ms: 300 }, voteWaitMs: 0 });
  await base.importTickets(dn.exportTickets());
}, 120_000);

afterAll(async () => {
  await base?.stop();
  await dn?.stop();
});

/** Starts `VOTERS` voter processes on one proxy and waits until they vote. */
async function votingCluster(prefix: string): Promise<VoterProcess[]> {
  const node = dn.nodes[0]!;
  const proxy = await base.startProxy(`${prefix}-proxy`, { wsUrl: node.wsUrl, user: node.rpcUser, pass: node.rpcPass });
  const voters = await Promise.all(
    Array.from({ length: VOTERS }, (_, i) => base.startVoter(`${prefix}${i}`, 'a', [proxy.address], { extra: ['--log-level', 'info'] })),
  );
  const v0 = dn.report().voted;
  await waitFor(() => dn.report().voted >= v0 + 10, { timeoutMs: 60_000, message: 'cluster voting' });
  return voters;
}

/** SIGTERMs every voter at once; each must exit 0 and log 'stopped' within the cap. */
async function terminateAll(test: string, voters: readonly VoterProcess[]): Promise<Array<Record<string, unknown>>> {
  const t0 = performance.now();
  const results = await Promise.all(voters.map(async (v) => ({ code: await v.child.stop(20_000), ms: Math.round(performance.now() - t0), lines: v.child.lines })));
  const stopped = results.map((r) => r.lines.find((l) => l['msg'] === 'stopped'));
  console.log(JSON.stringify({ test, voters: voters.length, exits: results.map((r) => [r.code, r.ms]), stopMs: stopped.map((l) => l?.['stopMs']) }));
  for (const r of results) {
    const shutdownLines = r.lines.filter((l) => typeof l['msg'] === 'string' && /shut|stop|exceeded|flush|record|duties/.test(l['msg'] as string));
    expect(r.code, JSON.stringify(shutdownLines)).toBe(0);
  }
  for (const l of stopped) expect(l?.['stopMs']).toBeLessThan(5_000);
  return results.flatMap((r) => r.lines);
}

describe('voter SIGTERM under load', () => {
  it('every voter exits 0 and stops within the cap while blocks and votes flow', async () => {
    await terminateAll('voter-shutdown', await votingCluster('sd'));
  }, 180_000);

  it('with etcd frozen (SIGSTOP), every voter still exits 0 within the cap and logs each record it could not write', async () => {
    const voters = await votingCluster('fz');
    const member = base.etcd.members[0];
    if (!member?.pid) throw new Error('needs the local etcd launcher');
    const pid = member.pid;
    process.kill(pid, 'SIGSTOP');
    try {
      // Draws keep coming (the devnet mines on): owners vote and queue records etcd cannot take.
      const v0 = dn.report().voted;
      await waitFor(() => dn.report().voted >= v0 + 5, { timeoutMs: 30_000, message: 'votes while etcd is frozen' });
      const lines = await terminateAll('voter-shutdown-etcd-frozen', voters);
      // Records that could not be written are each named (ticket, txid), never dropped silently.
      for (const l of lines.filter((x) => x['msg'] === 'stopping with vote records not yet written (votes were sent)')) {
        const named = lines.filter((x) => typeof x['msg'] === 'string' && (x['msg'] as string).startsWith('vote record not written before stop'));
        expect(named.length).toBeGreaterThanOrEqual(l['unwritten'] as number);
        for (const n of named) expect(n).toMatchObject({ ticket: expect.any(String), voteTxid: expect.any(String) });
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  }, 180_000);
});
