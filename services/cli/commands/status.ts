/**
 * `votecluster status`: regions, nodes, owners and recent votes (the data of
 * the admin status page), read from etcd.
 */
import type { Command } from 'commander';
import { collectStatus } from '../../admin/index.ts';
import { addCommonOptions, withAdminContext } from '../admin-context.ts';

/** Registers `status`. */
export function register(program: Command): void {
  addCommonOptions(
    program
      .command('status')
      .description('Cluster status: verdict, etcd, regions, nodes with their lease renewal, owners, recent votes')
      .option('--json', 'print JSON')
      .option('--votes <n>', 'recent votes to show', '20'),
  ).action(async (flags: Record<string, unknown>) => {
    const n = Number(flags['votes']);
    const issues = Number.isInteger(n) && n > 0 ? [] : ['--votes must be a positive integer'];
    await withAdminContext(flags, async (ctx) => {
      const s = await collectStatus({ store: ctx.store, params: ctx.params, log: ctx.log, ...(ctx.chain ? { chain: ctx.chain } : {}) }, n);
      if (flags['json']) {
        process.stdout.write(`${JSON.stringify(s)}\n`);
        return;
      }
      const w = (l: string): boolean => process.stdout.write(`${l}\n`);
      w(`${s.verdict.level}${s.verdict.reasons.length ? `: ${s.verdict.reasons.join('; ')}` : ''}`);
      w(`network ${s.network}; best block ${s.bestBlock ? `${s.bestBlock.height} ${s.bestBlock.hash}` : `unknown (${s.chainError ?? ''})`}`);
      w(`etcd: ${s.etcd.reachable ? `reachable (reads ${s.etcd.readMs ?? '?'} ms${s.etcd.members ? `, ${s.etcd.members.length} member(s), ${s.etcd.leaderId ? 'leader elected' : 'no leader'}` : ''})` : 'unreachable'}`);
      w(`regions: ${s.regions.join(', ') || 'none'}; tickets ${s.tickets}, owned ${s.owned}`);
      for (const node of s.nodes) {
        const lease = node.lease ? `lease renewed ${Math.round(node.lease.sinceRenewalMs / 1000)} s ago (TTL ${node.lease.ttlSec} s)` : 'lease gone';
        w(`  node ${node.nodeId} region ${node.region} ${node.responsive ? 'live' : 'NOT RENEWING ITS LEASE'}, ${lease}, owns ${node.ownedTickets} (${node.version})`);
      }
      w('recent votes:');
      for (const v of s.recentVotes) {
        const lat = v.latencyMs !== undefined ? ` draw → accepted ${v.latencyMs.toFixed(0)} ms` : v.signedAfterMs !== undefined ? ` draw → signed ${v.signedAfterMs.toFixed(0)} ms` : '';
        w(`  ${v.height} ${v.ticketHash.slice(0, 16)} by ${v.signer}${v.path ? ` (${v.path})` : ''}${lat}`);
      }
    }, issues, { readOnly: true });
  });
}
