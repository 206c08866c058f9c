/**
 * `votecluster stakeinfo`: what `dcrctl --wallet getstakeinfo` shows, for the
 * tickets the cluster manages (etcd records + chain lookups via --proxy).
 */
import type { Command } from 'commander';
import { getStakeInfo, stakeInfoToWalletJson } from '../../admin/index.ts';
import { addCommonOptions, withAdminContext } from '../admin-context.ts';

/** Registers `stakeinfo`. */
export function register(program: Command): void {
  addCommonOptions(
    program.command('stakeinfo').description('Stake info of the managed tickets (dcrwallet getstakeinfo fields)').option('--json', 'print JSON (dcrwallet field names)'),
  ).action(async (flags: Record<string, unknown>) => {
    await withAdminContext(flags, async (ctx) => {
      const s = await getStakeInfo({ store: ctx.store, params: ctx.params, ...(ctx.chain ? { chain: ctx.chain } : {}) });
      const fields = stakeInfoToWalletJson(s);
      if (flags['json']) {
        process.stdout.write(`${JSON.stringify(fields)}\n`);
        return;
      }
      const width = Math.max(...Object.keys(fields).map((k) => k.length));
      for (const [k, v] of Object.entries(fields)) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
      if (!s.chainChecked) process.stdout.write('(no --proxy: chain-derived fields are 0)\n');
    }, [], { readOnly: true });
  });
}
