/**
 * The layout's voter handles start a voter again when its start fails with a
 * retryable error (etcd unreachable past a call deadline, as on a starved CI
 * machine), and give up at once on anything else. Real etcd behind a WAN link
 * that drops everything until the first failed start is logged.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWanLink, type WanLink } from '../../services/sim/devnet/index.ts';
import { inProcessVoter, type LayoutVoter } from '../../services/sim/layout/voter-handle.ts';
import { createLogger, type Logger } from '../../services/telemetry/index.ts';
import type { VoterConfigInput } from '../../services/voter/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

let w: VoterWorld;
let link: WanLink;
const handles: LayoutVoter[] = [];
beforeAll(async () => {
  w = await startVoterWorld();
  const u = new URL(w.etcd.endpoints[0] as string);
  link = await createWanLink({ name: 'etcd', listenHost: '127.0.0.1', targetHost: u.hostname, targetPort: Number(u.port), delayMs: 0, jitterMs: 0 });
});
afterAll(async () => {
  await Promise.allSettled(handles.map((h) => h.stop()));
  await link?.close();
  await w?.stop();
});

function capture(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ service: 'layout-test', level: 'warn', destination: sink }), lines };
}

function config(nodeId: string, over: Partial<VoterConfigInput> = {}): VoterConfigInput {
  return {
    nodeId, region: 'a', network: 'simnet', etcd: { endpoints: [`https://${link.address}:${link.port}`], ...w.etcd.access('voter') },
    proxies: w.proxyAddresses.map((address) => ({ address, region: 'a' })),
    clusterKeyFile: '/nonexistent/cluster.key', tls: w.voterTls, leaseTtlSec: 5, ...over,
  };
}

it('a start failing while etcd is unreachable is retried and succeeds once etcd answers; the voter then votes', async () => {
  const { log, lines } = capture();
  const h = inProcessVoter({ config: config('retry-1'), log, clusterKey: w.clusterKey });
  handles.push(h);
  link.partition({ mode: 'drop' });
  const started = h.start();
  await waitFor(() => lines.some((l) => l.includes('voter start failed (retryable)') && l.includes('CLUSTER_ETCD_UNAVAILABLE')), {
    timeoutMs: 30_000, message: 'a retryable start failure',
  });
  expect(h.isRunning).toBe(false); // the half-started voter was stopped before the next attempt
  link.heal();
  await started;
  expect(h.isRunning).toBe(true);
  await w.mineAndAwaitVotes();
  expect(w.managedReport().missed).toBe(0);
}, 90_000);

it('a start failing for a reason a retry cannot fix fails at once', async () => {
  const { log, lines } = capture();
  // an invalid config (lease TTL below the minimum) stays invalid however often it is started
  const h = inProcessVoter({ config: config('retry-2', { leaseTtlSec: 1 }), log, clusterKey: w.clusterKey });
  handles.push(h);
  const t0 = Date.now();
  await expect(h.start()).rejects.toThrow();
  expect(Date.now() - t0).toBeLessThan(10_000);
  expect(lines.filter((l) => l.includes('voter start failed (retryable)'))).toEqual([]);
  expect(h.isRunning).toBe(false);
}, 30_000);
