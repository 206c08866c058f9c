/**
 * `ticket import --proxy` behind a dcrd without `--txindex` (the devnet
 * answering as such a dcrd: getrawtransaction finds only mempool transactions,
 * -32603 for any other, decred/dcrd internal/rpcserver handleGetRawTransaction),
 * with real etcd, a real node proxy and the CLI: the export file names each
 * ticket's block, so every ticket is checked against the chain through that
 * block and imported; one ticket given by hash alone is refused with a clear
 * error naming --txindex, and imports once its block is named.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importTicket } from '../../services/admin/index.ts';
import { runCli, startAdminWorld, type AdminWorld } from './admin-harness.ts';

const cli = runCli;

let w: AdminWorld;
beforeAll(async () => {
  w = await startAdminWorld({ devnet: { txIndex: false } });
});
afterAll(() => w?.stop());

describe('ticket import through a proxy whose dcrd has no transaction index', () => {
  it('a ticket given by hash alone is refused naming --txindex; with its block named it imports', async () => {
    const t = w.exported[0]!;
    const deps = { store: w.store, chain: w.chain, params: w.params, log: w.log };
    await expect(importTicket(deps, { ticketHash: t.ticketHash, wif: t.wif })).rejects.toMatchObject({
      code: 'ADMIN_TXINDEX_REQUIRED',
      message: expect.stringContaining('--txindex'),
    });
    expect(w.cluster.tickets.get(t.ticketHash)).toBeUndefined();

    const wifFile = join(w.dir, 'one.wif');
    await writeFile(wifFile, `${t.wif}\n`, { mode: 0o600 });
    const r = await cli(['ticket', 'import', '--ticket', t.ticketHash, '--wif-file', wifFile, '--block-hash', t.blockHash, ...w.cliFlags()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`imported ${t.ticketHash}`);
  });

  it('the export file imports every ticket (each checked through its block)', async () => {
    const res = await cli(['ticket', 'import', '--file', w.exportFile, '--json', ...w.cliFlags()]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const outcomes = JSON.parse(res.stdout) as Array<{ ok: boolean; created: boolean; ticketHash: string; chainStatus: string }>;
    expect(outcomes).toHaveLength(w.exported.length);
    expect(outcomes.filter((o) => !(o.ok && ['live', 'immature'].includes(o.chainStatus)))).toEqual([]);
    await expect.poll(() => w.cluster.tickets.size).toBe(w.exported.length);
    // The stored records carry the block the ticket was found in.
    for (const t of w.exported) expect(w.cluster.tickets.get(t.ticketHash)?.record.blockHash).toBe(t.blockHash);
  });
});
