/**
 * The etcd launcher's start-up wait on a starved machine (services/sim/etcd/etcd-server.ts):
 * a member that has had no CPU is not "failed to start" at its deadline; it is waited for
 * (bounded) and the wait ends as soon as it is healthy. Starvation is modelled exactly:
 * the real member process is SIGSTOPped (it gets no CPU at all) past the deadline.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startEtcd, type EtcdServer } from '../../services/sim/devnet/index.ts';
import { waitFor } from '../harness/wait-for.ts';

describe('etcd launcher: start-up wait under CPU starvation', () => {
  let etcd: EtcdServer | undefined;
  afterAll(async () => {
    await etcd?.stop();
  });

  it('a member that got no CPU past its deadline is waited for, and healthy once it runs', async () => {
    etcd = await startEtcd({ members: 1 });
    const m = etcd.members[0];
    if (!m) throw new Error('one member expected');
    await m.stop('SIGKILL');
    await m.start({ waitHealthy: false });
    const pid = m.pid as number;
    process.kill(pid, 'SIGSTOP'); // the member gets no CPU from here on
    const t0 = Date.now();
    const wait = m.start({ timeoutMs: 1_000 }); // already spawned: only the health wait
    const settled = wait.then(() => 'healthy', (err: Error) => err.message);
    // The fault: starved for 2.5 s, well past the 1 s deadline.
    await waitFor(() => Date.now() - t0 >= 2_500, { timeoutMs: 10_000, intervalMs: 50, message: 'starvation window' });
    // An already settled wait wins the race (it subscribed first).
    expect(await Promise.race([settled, Promise.resolve('still waiting')]), 'the wait ended while the member had had no CPU').toBe('still waiting');
    process.kill(pid, 'SIGCONT');
    expect(await settled).toBe('healthy');
    const waitedMs = Date.now() - t0;
    expect(waitedMs).toBeGreaterThanOrEqual(2_500);
    console.log(JSON.stringify({ test: 'etcd-start-starved', waitedMs }));
  });
});
