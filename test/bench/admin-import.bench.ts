/**
 * Admin bulk import of a devnet export file (`importExportEntries`), offline
 * checks (network, WIF, ticket bytes, key controls the ticket; no proxy), into
 * a real local etcd: the batched path (`TicketStore.importTickets`, 127 tickets
 * per etcd txn) against the per-entry path (the same store without its batch
 * write: one create-if-absent txn per ticket), each followed by an idempotent
 * re-import. The per-entry run uses its own network keyspace and fewer entries.
 */
import { clusterTicketStore, importExportEntries, parseExportFile, type ExportEntry } from '../../services/admin/index.ts';
import { generateClusterKey, openCluster, type Network } from '../../services/cluster/index.ts';
import { netParams } from '../../services/decred/index.ts';
import { startDevnet, startEtcd } from '../../services/sim/devnet/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';

/** Runs the admin-import bench; returns its figures (also printed by test/bench/run.ts). */
export async function runAdminImportBench(opts: { tickets?: number; perEntryTickets?: number } = {}): Promise<Record<string, unknown>> {
  const nTickets = opts.tickets ?? 10_000;
  const nPerEntry = opts.perEntryTickets ?? 3_000;
  const devnet = await startDevnet({ tickets: nTickets });
  const etcd = await startEtcd();
  try {
    const entries: ExportEntry[] = parseExportFile(JSON.stringify(devnet.exportTickets()));
    const key = generateClusterKey().expose().slice();
    const log = createLogger({ service: 'bench', level: 'warn' });
    const params = netParams('simnet');
    const out: Record<string, unknown> = { exported: entries.length, checks: 'offline (no proxy)' };
    for (const [name, batched, keyspace, n] of [
      ['batched', true, 'simnet', entries.length],
      ['perEntry', false, 'testnet3', Math.min(nPerEntry, entries.length)],
    ] as Array<[string, boolean, Network, number]>) {
      // The keyspace's network only separates the two runs' keys; the entries are checked as simnet.
      const c = await openCluster({ endpoints: etcd.endpoints, etcdAccess: etcd.access('admin'), network: keyspace, nodeId: 'bench-admin', region: 'a', clusterKey: key, join: false });
      try {
        const store = clusterTicketStore(c);
        const deps = { store: batched ? store : { ...store, importTickets: undefined }, params, log };
        const slice = entries.slice(0, n);
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        const first = await importExportEntries(deps, slice);
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const t1 = performance.now();
        const again = await importExportEntries(deps, slice);
        out[name] = {
          entries: n,
          created: first.filter((o) => o.ok && o.created).length,
          ms: Math.round(ms),
          perSec: Math.round((n / ms) * 1000),
          cpuMs: Math.round((cpu.user + cpu.system) / 1000),
          reimportMs: Math.round(performance.now() - t1),
          reimportUnchanged: again.every((o) => o.ok && !o.created),
        };
      } finally {
        await c.close();
      }
    }
    return out;
  } finally {
    await devnet.stop();
    await etcd.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runAdminImportBench()));
}
