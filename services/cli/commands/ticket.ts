/**
 * `votecluster ticket import|list|remove|choices`: ticket intake and vote
 * preferences, straight against etcd (services/cluster) with optional chain
 * lookups through a node proxy. A WIF only arrives in a file and is never
 * printed. Refusals exit 1 with `[ADMIN_*] message`; bad flags exit 2.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  AdminBadRequestError,
  getVoteChoices,
  importExportEntries,
  importTicket,
  listManagedTickets,
  parseExportFile,
  removeManagedTicket,
  setTreasuryPolicy,
  setTSpendPolicy,
  setVoteChoices,
  AdminUnknownTicketError,
} from '../../admin/index.ts';
import { addCommonOptions, withAdminContext } from '../admin-context.ts';

const DCR = 1e8;

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function jsonReplacer(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? Number(v) : v;
}

/** Registers `ticket` and its subcommands. */
export function register(program: Command): void {
  const ticket = program.command('ticket').description('Manage the tickets the cluster votes for');

  addCommonOptions(
    ticket
      .command('import')
      .description('Import tickets with their voting keys (from a devnet export file, or one ticket)')
      .option('--file <export.json>', 'devnet export file: JSON list of {ticketHash, ticketHex, blockHash, blockHeight, wif, network}')
      .option('--ticket <hash>', 'ticket hash (display hex)')
      .option('--wif-file <file>', "file holding the ticket's voting key as WIF")
      .option('--ticket-hex <hex>', 'the raw ticket (otherwise fetched through --proxy)')
      .option('--block-height <n>', 'height of the block holding the ticket (for the immature check)')
      .option('--block-hash <hash>', 'block holding the ticket: lets the proxy find it when its dcrd runs without --txindex')
      .option('--json', 'print the outcome as JSON'),
  ).action(async (flags: Record<string, unknown>) => {
    const issues: string[] = [];
    const file = flags['file'] as string | undefined;
    const one = flags['ticket'] as string | undefined;
    if (!file && !one) issues.push('one of --file or --ticket is required');
    if (file && one) issues.push('--file and --ticket are exclusive');
    if (one && !flags['wifFile']) issues.push('--ticket needs --wif-file');
    const bh = flags['blockHeight'];
    if (bh !== undefined && !/^\d+$/.test(String(bh))) issues.push('--block-height must be a non-negative integer');
    const bhash = flags['blockHash'] as string | undefined;
    if (bhash !== undefined && !/^[0-9a-fA-F]{64}$/.test(bhash)) issues.push('--block-hash must be 64 hex characters');
    await withAdminContext(flags, async (ctx) => {
      const deps = { store: ctx.store, params: ctx.params, log: ctx.log, ...(ctx.chain ? { chain: ctx.chain } : {}) };
      let outcomes;
      if (file) {
        outcomes = await importExportEntries(deps, parseExportFile(await readFile(file, 'utf8')));
      } else {
        const wif = (await readFile(flags['wifFile'] as string, 'utf8')).trim();
        const hex = flags['ticketHex'] as string | undefined;
        if (hex !== undefined && (hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex))) {
          throw new AdminBadRequestError('--ticket-hex is not hex');
        }
        const r = await importTicket(deps, {
          ticketHash: one as string,
          wif,
          ...(hex ? { rawTicket: Uint8Array.from(Buffer.from(hex, 'hex')) } : {}),
          ...(bh !== undefined ? { blockHeight: Number(bh) } : {}),
          ...(bhash !== undefined ? { blockHash: bhash.toLowerCase() } : {}),
        });
        outcomes = [{ ok: true as const, ...r }];
      }
      if (flags['json']) out(JSON.stringify(outcomes, jsonReplacer));
      else {
        for (const o of outcomes) {
          if (o.ok) out(`${o.created ? 'imported' : 'already managed'} ${o.ticketHash} (${o.votingAddress}, ${Number(o.price) / DCR} DCR, ${o.chainStatus})`);
          else out(`refused ${o.ticketHash}: [${o.code}] ${o.message}`);
        }
      }
      const refused = outcomes.filter((o) => !o.ok);
      if (refused.length > 0) {
        process.stderr.write(`votecluster: ${refused.length} of ${outcomes.length} tickets refused\n`);
        process.exitCode = 1;
      }
    }, issues);
  });

  addCommonOptions(ticket.command('list').description('List managed tickets').option('--json', 'print JSON')).action(
    async (flags: Record<string, unknown>) => {
      await withAdminContext(flags, async (ctx) => {
        const list = await listManagedTickets({ store: ctx.store, params: ctx.params, log: ctx.log, ...(ctx.chain ? { chain: ctx.chain } : {}) });
        if (flags['json']) {
          out(JSON.stringify(list, jsonReplacer));
          return;
        }
        out(['ticket', 'status', 'height', 'price', 'owner', 'voting address'].join('\t'));
        for (const t of list) {
          out([t.ticketHash, t.status, t.blockHeight ?? '-', `${Number(t.price) / DCR}`, t.owner ?? '-', t.votingAddress].join('\t'));
        }
        out(`${list.length} tickets`);
      }, [], { readOnly: true });
    },
  );

  addCommonOptions(ticket.command('remove').description('Stop managing a ticket').argument('<hash>', 'ticket hash')).action(
    async (hash: string, flags: Record<string, unknown>) => {
      await withAdminContext(flags, async (ctx) => {
        const removed = await removeManagedTicket({ store: ctx.store, params: ctx.params, log: ctx.log }, hash);
        if (!removed) throw new AdminUnknownTicketError(`ticket ${hash} is not managed by this cluster`);
        out(`removed ${hash.toLowerCase()}`);
      });
    },
  );

  addCommonOptions(
    ticket
      .command('choices')
      .description('Set vote choices and treasury policies, for one ticket (--ticket) or as the default')
      .option('--ticket <hash>', 'the ticket (default: the cluster-wide default)')
      .option('--agenda <id>', 'agenda id (with --choice)')
      .option('--choice <id>', 'choice id (with --agenda)')
      .option('--tspend <hash>', 'tspend hash (with --policy)')
      .option('--treasury-key <pikey>', 'treasury Pi key, 33-byte compressed hex (with --policy)')
      .option('--policy <yes|no|abstain>', 'policy for --tspend or --treasury-key')
      .option('--json', 'print JSON'),
  ).action(async (flags: Record<string, unknown>) => {
    const issues: string[] = [];
    const agenda = flags['agenda'] as string | undefined;
    const choice = flags['choice'] as string | undefined;
    const tspend = flags['tspend'] as string | undefined;
    const piKey = flags['treasuryKey'] as string | undefined;
    const policy = flags['policy'] as string | undefined;
    if ((agenda === undefined) !== (choice === undefined)) issues.push('--agenda and --choice go together');
    if ((tspend !== undefined || piKey !== undefined) && policy === undefined) issues.push('--tspend/--treasury-key need --policy');
    if (policy !== undefined && tspend === undefined && piKey === undefined) issues.push('--policy needs --tspend or --treasury-key');
    if (tspend !== undefined && piKey !== undefined) issues.push('--tspend and --treasury-key are exclusive');
    if (agenda === undefined && tspend === undefined && piKey === undefined) issues.push('nothing to set: give --agenda/--choice, --tspend/--policy or --treasury-key/--policy');
    await withAdminContext(flags, async (ctx) => {
      const deps = { store: ctx.store, params: ctx.params, log: ctx.log, ...(ctx.chain ? { chain: ctx.chain } : {}) };
      const t = flags['ticket'] as string | undefined;
      if (agenda !== undefined && choice !== undefined) await setVoteChoices(deps, [{ agendaId: agenda, choiceId: choice }], t);
      if (tspend !== undefined) await setTSpendPolicy(deps, tspend, policy as string, t);
      if (piKey !== undefined) await setTreasuryPolicy(deps, piKey, policy as string, t);
      const now = await getVoteChoices(deps, t);
      if (flags['json']) out(JSON.stringify(now));
      else {
        out(`${t ? `ticket ${t.toLowerCase()}` : 'default'}: votebits 0x${now.voteBits.toString(16).padStart(4, '0')} (vote version ${now.voteVersion})`);
        for (const c of now.choices) out(`  ${c.agendaId} = ${c.choiceId}`);
      }
    }, issues);
  });
}
