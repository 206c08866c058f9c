/**
 * A cluster node in its own process, for fault tests that SIGKILL a node:
 * opens the cluster from argv (JSON config), claims the ticket hashes given,
 * prints `ready <json>` on stdout and then idles until killed.
 *
 * Usage: node --import tsx test/harness/cluster-node-process.ts '<ClusterConfigInput json>' <ticketHash>...
 */
import { openCluster } from '../../services/cluster/index.ts';

const [cfgJson, ...tickets] = process.argv.slice(2);
const cfg = JSON.parse(cfgJson ?? '{}') as Record<string, unknown>;
if (typeof cfg.clusterKeyHex === 'string') {
  cfg.clusterKey = Uint8Array.from(Buffer.from(cfg.clusterKeyHex, 'hex'));
  delete cfg.clusterKeyHex;
}
const cluster = await openCluster(cfg as unknown as Parameters<typeof openCluster>[0]);
const claims = [];
for (const t of tickets) claims.push({ ticket: t, ...(await cluster.owners.claim(t)) });
process.stdout.write(`ready ${JSON.stringify({ leaseId: cluster.membership.leaseId(), claims })}\n`);
process.on('SIGTERM', () => {
  void cluster.close().then(() => process.exit(0));
});
setInterval(() => undefined, 1 << 30);
