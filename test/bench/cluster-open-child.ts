/**
 * Child process of the cluster bench: opens the cluster (loading the ticket
 * cache) in a fresh process and prints one JSON line with the time it took and
 * the process's memory, so RSS is measured without the bench's own state.
 * argv: endpoint, cluster key hex, verifyKeysOnLoad (true|false).
 */
import { openCluster } from '../../services/cluster/index.ts';

const [endpoint, keyHex, verify] = process.argv.slice(2);
const rssBefore = process.memoryUsage().rss;
const t0 = performance.now();
const cluster = await openCluster({
  endpoints: [endpoint as string],
  network: 'simnet',
  nodeId: `bench-open-${process.pid}`,
  region: 'a',
  clusterKey: Uint8Array.from(Buffer.from(keyHex as string, 'hex')),
  verifyKeysOnLoad: verify !== 'false',
});
const openMs = performance.now() - t0;
globalThis.gc?.();
const mem = process.memoryUsage();
process.stdout.write(
  `${JSON.stringify({ openMs, tickets: cluster.tickets.size, rssMB: mem.rss / 2 ** 20, rssBeforeMB: rssBefore / 2 ** 20, heapUsedMB: mem.heapUsed / 2 ** 20 })}\n`,
);
await cluster.close();
