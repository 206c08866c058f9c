/**
 * `ticket import --proxy` behind a dcrd without `--txindex` (the devnet
 * answering as such a dcrd: getrawtransaction finds only mempool transactions,
 * -32603 for any other, decred/dcrd internal/rpcserver handleGetRawTransaction),
 * with real etcd, a real node proxy and the CLI: the export file names each
 * ticket's block, so every ticket is checked against the chain through that
 * block and imported; one ticket given by hash alone is refused with a clear
 * error naming --txindex, and imports once its block is named. Stake info then
 * finds the cluster's mined votes through the voted block's child (GetBlockVotes),
 * as it does with the index.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStakeInfo, importTicket } from '../../services/admin/index.ts';
import { decodeTx, hashToHex, txHash } from '../../services/decred/index.ts';
import type { ClientDraw } from '../../services/nodeproxy/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { runCli, startAdminWorld, type AdminWorld } from './admin-harness.ts';
import { makeVoteBuilder } from './nodeproxy-harness.ts';

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

  it('stake info counts the mined votes and the misses without the index', async () => {
    const deps = { store: w.store, chain: w.chain, params: w.params, log: w.log };
    await waitFor(() => w.cluster.tickets.size === w.exported.length, { message: 'tickets cached' });
    const builder = makeVoteBuilder(w.devnet);
    const draws = new Map<string, ClientDraw>();
    const watch = w.proxyClient.watchChain({ fromHeight: 0 }, (ev) => {
      if (ev.kind === 'winning_tickets') draws.set(ev.draw.blockHash, ev.draw);
    });
    let subsidy = 0n;
    try {
      for (let b = 0; b < 2; b++) {
        const tip = await w.proxyClient.getBestBlock();
        const draw = await waitFor(() => draws.get(tip.hash), { message: `draw of ${tip.hash}` });
        for (const ticketHash of draw.tickets.slice(0, 3)) {
          const raw = builder.build(draw, ticketHash);
          expect(['ACCEPTED', 'DUPLICATE']).toContain((await w.proxyClient.sendVote(raw)).status);
          // Input 0 of a vote is the stakebase; its valueIn is the vote subsidy.
          subsidy += decodeTx(raw).inputs[0]!.valueIn;
          await w.cluster.votes.recordVote({
            height: draw.height,
            blockHash: draw.blockHash,
            ticketHash,
            voteTxHex: Buffer.from(raw).toString('hex'),
            voteTxid: hashToHex(txHash(decodeTx(raw))),
            signer: 'test-voter',
            choicesRevision: 0,
            voteBits: 1,
            voteVersion: draw.voteVersion,
            treasuryVotes: [],
            createdAt: new Date().toISOString(),
          });
        }
        await w.devnet.generate(1);
      }
    } finally {
      watch.close();
    }
    const settled = w.devnet.report().tickets.filter((t) => !t.sideChain && t.outcome !== 'pending');
    await waitFor(() => w.cluster.votes.list().length === 6, { message: 'vote records cached' });
    const s = await getStakeInfo(deps);
    expect(s.voted).toBe(settled.filter((t) => t.outcome === 'voted').length);
    expect(s.voted).toBe(6);
    expect(s.missed).toBe(settled.filter((t) => t.outcome === 'missed').length);
    expect(s.totalSubsidy).toBe(subsidy);
  });
});
