/**
 * The chain judge against the devnet (which judges votes by dcrd's rules): every managed
 * ticket drawn gets the same verdict from the judge as from the devnet's own ledger, with
 * no voter running at all. Blocks are mined with 3 to 5 of their 5 votes; the tickets left
 * out are missed on chain, and the judge names them (reason no-owner: no voter held them).
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createChainJudge, importExportEntries, parseExportFile, storeLookups, type ChainVerdict } from '../../services/admin/index.ts';
import type { ClientDraw } from '../../services/nodeproxy/index.ts';
import { createMetrics } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startAdminWorld, type AdminWorld } from './admin-harness.ts';
import { makeVoteBuilder } from './nodeproxy-harness.ts';

let w: AdminWorld;
beforeAll(async () => {
  w = await startAdminWorld({ devnet: { tickets: 64, blockInterval: { mode: 'manual' } } });
});
afterAll(() => w?.stop());

it('counts voted and missed managed tickets from the chain, as the devnet judges them', async () => {
  const deps = { store: w.store, chain: w.chain, params: w.params, log: w.log };
  const outcomes = await importExportEntries(deps, parseExportFile(await readFile(w.exportFile, 'utf8')));
  expect(outcomes.every((o) => o.ok)).toBe(true);
  await waitFor(() => w.cluster.tickets.size === w.exported.length, { message: 'tickets cached' });

  const metrics = createMetrics({ service: 'admin', components: ['chain'], processMetrics: false });
  const chain = metrics.get('chain');
  const verdicts: ChainVerdict[] = [];
  const judge = createChainJudge({
    proxies: [w.proxyClient],
    lookups: storeLookups(w.store),
    network: 'simnet',
    log: w.log,
    metrics: { voted: chain.votedTickets, missed: chain.missedTickets },
    onVerdict: (v) => verdicts.push(v),
  });
  judge.start();

  const builder = makeVoteBuilder(w.devnet);
  const draws = new Map<string, ClientDraw>();
  const watch = w.proxyClient.watchChain({ fromHeight: 0 }, (ev) => {
    if (ev.kind === 'winning_tickets') draws.set(ev.draw.blockHash, ev.draw);
  });
  const skipped: string[] = [];
  try {
    // The tip's draw came before the judge started (not judged): vote it fully. Then five
    // judged draws with 1, 2, 0, 1 and 2 of their votes left out, and one more block so the
    // last of them has its confirmation (a draw at h is judged when h + 2 connects).
    let tip = (await w.proxyClient.getBestBlock()).hash;
    [tip] = await mineVoted(tip, 5);
    for (let i = 1; i <= 5; i++) [tip] = await mineVoted(tip, 5 - (i % 3));
    [tip] = await mineVoted(tip, 5);
    [tip] = await mineVoted(tip, 5);

    async function mineVoted(parent: string, n: number): Promise<[string]> {
      await waitFor(() => draws.has(parent), { message: `draw of ${parent}` });
      const d = draws.get(parent)!;
      const votes = d.tickets.slice(0, n);
      skipped.push(...d.tickets.slice(n).map((t) => `${t}@${parent}`));
      const results = await Promise.all(votes.map((t) => w.proxyClient.sendVote(builder.build(d, t))));
      expect(results.every((r) => r.status === 'ACCEPTED' || r.status === 'DUPLICATE')).toBe(true);
      return (await w.devnet.generate(1)) as [string];
    }

    await waitFor(async () => {
      await judge.idle();
      return verdicts.length >= 5 * 5;
    }, { timeoutMs: 15_000, message: 'judge gave 25 verdicts' });
    expect(verdicts).toHaveLength(25);

    // The devnet's ledger is the referee: same verdict for every judged (ticket, block).
    const ledger = new Map(w.devnet.report().tickets.map((t) => [`${t.ticketHash}@${t.blockHash}`, t.outcome]));
    for (const v of verdicts) expect(`${v.ticketHash}@${v.blockHash}:${v.outcome}`).toBe(`${v.ticketHash}@${v.blockHash}:${ledger.get(`${v.ticketHash}@${v.blockHash}`)}`);
    const missed = verdicts.filter((v) => v.outcome === 'missed');
    expect(missed.map((v) => `${v.ticketHash}@${v.blockHash}`).sort()).toEqual(skipped.filter((s) => verdicts.some((v) => `${v.ticketHash}@${v.blockHash}` === s)).sort());
    expect(missed).toHaveLength(6);
    expect(new Set(missed.map((v) => v.reason))).toEqual(new Set(['no-owner']));
    // The same numbers reach Prometheus.
    const text = await metrics.registry.metrics();
    expect(text).toContain(`votecluster_chain_missed_tickets_total{network="simnet",reason="no-owner"} ${missed.length}`);
    expect(text).toContain(`votecluster_chain_voted_tickets_total{network="simnet"} ${verdicts.length - missed.length}`);
    expect(judge.totals()).toMatchObject({ voted: verdicts.length - missed.length, missed: missed.length });
  } finally {
    watch.close();
    await judge.stop();
  }
});
