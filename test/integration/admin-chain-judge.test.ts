/**
 * The chain judge against the devnet (which judges votes by dcrd's rules): every managed
 * ticket drawn gets the same verdict from the judge as from the devnet's own ledger, with
 * no voter running at all. Some ticket records are re-sealed with a foreign cluster key (no
 * voter could use them). Blocks are mined with 3 to 5 of their 5 votes: a drawn unvotable
 * ticket is left out while 3 votes remain, and 0 to 2 others besides. The judge names each
 * miss (unvotable, or no-owner: no voter held it), Prometheus has the same counts, and the
 * paging alert rule, evaluated on the samples scraped before and after, fires for each reason.
 * A draw no proxy streamed (the proxy was down while the block was mined and its child too) is
 * judged all the same, from the child's votes and its automatic revocations; a judge bounded to a
 * shorter walk skips the gap and counts the blocks it did not judge.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createChainJudge, importExportEntries, parseExportFile, storeLookups, type ChainVerdict } from '../../services/admin/index.ts';
import { generateClusterKey, Keyring } from '../../services/cluster/index.ts';
import { SIMNET, toHex, voteSubsidy } from '../../services/decred/index.ts';
import type { ClientDraw } from '../../services/nodeproxy/index.ts';
import { createMetrics } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startAdminWorld, type AdminWorld } from './admin-harness.ts';
import { httpCall } from './devnet-rpc-client.ts';
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
  // Every third ticket re-sealed with a foreign cluster key: still in the cluster, unvotable.
  const foreign = new Keyring([generateClusterKey()]);
  const unvotable = new Set(w.exported.filter((_, i) => i % 3 === 0).map((t) => t.ticketHash));
  for (const t of unvotable) {
    const key = w.cluster.keyspace.ticket(t);
    const rec = JSON.parse((await w.cluster.client.get(key).string())!) as { votingKey: unknown };
    rec.votingKey = foreign.sealVotingKey('simnet', t, generateClusterKey());
    await w.cluster.client.put(key).value(JSON.stringify(rec));
  }
  await waitFor(() => w.store.unvotableTickets!().size === unvotable.size, { message: 'foreign records seen as unvotable' });

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
  const before = await metrics.registry.metrics();
  judge.start();
  await judge.following();

  const builder = makeVoteBuilder(w.devnet);
  const draws = new Map<string, ClientDraw>();
  const watch = w.proxyClient.watchChain({ fromHeight: 0 }, (ev) => {
    if (ev.kind === 'winning_tickets') draws.set(ev.draw.blockHash, ev.draw);
  });
  const skipped: string[] = [];
  try {
    // The tip's draw came before the judge started (judged all the same, from the chain): vote
    // it fully. Then five draws with 1, 2, 0, 1 and 2 of their votes left out, and two more
    // blocks so the last draws have their confirmation (a draw at h is judged when h + 2
    // connects): seven draws judged, the tip's and six heard.
    let tip = (await w.proxyClient.getBestBlock()).hash;
    [tip] = await mineVoted(tip, 5);
    for (let i = 1; i <= 5; i++) [tip] = await mineVoted(tip, 5 - (i % 3));
    [tip] = await mineVoted(tip, 5);
    [tip] = await mineVoted(tip, 5);

    async function mineVoted(parent: string, n: number): Promise<[string]> {
      await waitFor(() => draws.has(parent), { message: `draw of ${parent}` });
      const d = draws.get(parent)!;
      // Leave out the unvotable ones while 3 votes remain, then more up to 5 - n in all.
      const out = new Set<string>();
      for (const t of d.tickets) if (unvotable.has(t) && d.tickets.length - out.size > 3) out.add(t);
      for (const t of d.tickets) if (out.size < 5 - n && !out.has(t)) out.add(t);
      const votes = d.tickets.filter((t) => !out.has(t));
      skipped.push(...[...out].map((t) => `${t}@${parent}`));
      const results = await Promise.all(votes.map((t) => w.proxyClient.sendVote(builder.build(d, t))));
      expect(results.every((r) => r.status === 'ACCEPTED' || r.status === 'DUPLICATE')).toBe(true);
      return (await w.devnet.generate(1)) as [string];
    }

    await waitFor(async () => {
      await judge.idle();
      return verdicts.length >= 7 * 5;
    }, { timeoutMs: 15_000, message: 'judge gave 35 verdicts' });
    expect(verdicts).toHaveLength(35);

    // The devnet's ledger is the referee: same verdict for every judged (ticket, block).
    const ledger = new Map(w.devnet.report().tickets.map((t) => [`${t.ticketHash}@${t.blockHash}`, t.outcome]));
    for (const v of verdicts) expect(`${v.ticketHash}@${v.blockHash}:${v.outcome}`).toBe(`${v.ticketHash}@${v.blockHash}:${ledger.get(`${v.ticketHash}@${v.blockHash}`)}`);
    const missed = verdicts.filter((v) => v.outcome === 'missed');
    expect(missed.map((v) => `${v.ticketHash}@${v.blockHash}`).sort()).toEqual(skipped.filter((s) => verdicts.some((v) => `${v.ticketHash}@${v.blockHash}` === s)).sort());
    expect(missed.length).toBeGreaterThanOrEqual(6);
    for (const v of missed) expect(`${v.ticketHash}:${v.reason}`).toBe(`${v.ticketHash}:${unvotable.has(v.ticketHash) ? 'unvotable' : 'no-owner'}`);
    const byReason = { unvotable: missed.filter((v) => v.reason === 'unvotable').length, 'no-owner': missed.filter((v) => v.reason === 'no-owner').length };
    expect(byReason.unvotable, 'a drawn unvotable ticket').toBeGreaterThan(0);
    // The same numbers reach Prometheus.
    const text = await metrics.registry.metrics();
    for (const [reason, n] of Object.entries(byReason)) {
      if (n > 0) expect(text).toContain(`votecluster_chain_missed_tickets_total{network="simnet",reason="${reason}"} ${n}`);
    }
    expect(text).toContain(`votecluster_chain_voted_tickets_total{network="simnet"} ${verdicts.length - missed.length}`);
    // The paging rule, evaluated on the two scrapes (increase over the window = after - before).
    const rules = (parseYaml(await readFile(new URL('../../deploy/prometheus/alerts.yml', import.meta.url), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
    const rule = rules.find((r) => r.alert === 'VoteclusterChainMissedTicket')!;
    expect(rule.expr).toBe('sum by (reason) (increase(votecluster_chain_missed_tickets_total[15m])) > 0');
    const sample = (scrape: string): Map<string, number> => {
      const out = new Map<string, number>();
      for (const m of scrape.matchAll(/^votecluster_chain_missed_tickets_total\{[^}]*reason="([^"]+)"[^}]*\} (\d+)$/gm)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
      return out;
    };
    const b = sample(before);
    const firing = [...sample(text)].filter(([reason, v]) => v - (b.get(reason) ?? 0) > 0).map(([reason]) => reason).sort();
    expect(firing).toEqual(Object.entries(byReason).filter(([, n]) => n > 0).map(([r]) => r).sort());
    expect(judge.totals()).toMatchObject({ voted: verdicts.length - missed.length, missed: missed.length });
  } finally {
    watch.close();
    await judge.stop();
  }
});

it('judges a draw no proxy streamed: a miss while the proxy was down is counted, as the devnet judges it', async () => {
  const metrics = createMetrics({ service: 'admin', components: ['chain'], processMetrics: false });
  const chain = metrics.get('chain');
  const verdicts: ChainVerdict[] = [];
  const judge = createChainJudge({
    proxies: [w.proxyClient],
    lookups: storeLookups(w.store),
    network: 'simnet',
    log: w.log,
    metrics: { voted: chain.votedTickets, missed: chain.missedTickets, unjudged: chain.unjudgedBlocks },
    onVerdict: (v) => verdicts.push(v),
  });
  // A second judge that walks at most one block to close a gap: it skips this one, and says so.
  const cappedMetrics = createMetrics({ service: 'admin', components: ['chain'], processMetrics: false });
  const capped = createChainJudge({
    proxies: [w.proxyClient],
    lookups: storeLookups(w.store),
    network: 'simnet',
    log: w.log,
    maxBackfill: 1,
    metrics: { voted: cappedMetrics.get('chain').votedTickets, missed: cappedMetrics.get('chain').missedTickets, unjudged: cappedMetrics.get('chain').unjudgedBlocks },
  });
  judge.start();
  capped.start();
  await judge.following();
  await capped.following();
  const builder = makeVoteBuilder(w.devnet);
  const node = w.devnet.nodes[0]!;
  const draws = new Map<string, ClientDraw>();
  const watch = w.proxyClient.watchChain({ fromHeight: 0, autoResume: true }, (ev) => {
    if (ev.kind === 'winning_tickets') draws.set(ev.draw.blockHash, ev.draw);
  });
  const winnersOf = (blockHash: string): string[] => w.devnet.report().tickets.filter((t) => t.blockHash === blockHash).map((t) => t.ticketHash);
  // Votes straight to dcrd (the devnet's JSON-RPC), the way another wallet's reach the miner.
  const voteDirect = async (blockHash: string, height: number, tickets: readonly string[], like: ClientDraw): Promise<void> => {
    const d = { blockHash, height, voteVersion: like.voteVersion, voteSubsidy: voteSubsidy(height, SIMNET, like.subsidySplit) };
    for (const t of tickets) {
      const r = await httpCall(node.rpcUrl, node.rpcUser, node.rpcPass, 'sendrawtransaction', [toHex(builder.build(d, t))]);
      expect(r.error, `vote ${t} on ${blockHash}`).toBeNull();
    }
  };
  let restore: (() => Promise<void>) | undefined;
  try {
    // Two blocks fully voted through the proxy: the judge follows the chain.
    let tip = (await w.proxyClient.getBestBlock()).hash;
    for (let i = 0; i < 2; i++) {
      await waitFor(() => draws.has(tip), { message: `draw of ${tip}` });
      const d = draws.get(tip)!;
      expect(voteSubsidy(d.height, SIMNET, d.subsidySplit)).toBe(d.voteSubsidy);
      await Promise.all(d.tickets.map((t) => w.proxyClient.sendVote(builder.build(d, t))));
      [tip] = (await w.devnet.generate(1)) as [string];
    }
    await waitFor(() => draws.has(tip), { message: `draw of ${tip}` });
    const last = draws.get(tip)!;

    // The proxy goes down; block B (its draw streamed to no one) and its child C are mined,
    // C without the vote of one of B's winners, then D on C.
    restore = await w.cutProxy();
    await voteDirect(tip, last.height, last.tickets, last);
    const [b] = (await w.devnet.generate(1)) as [string];
    const bWinners = winnersOf(b);
    expect(bWinners).toHaveLength(5);
    const missedTicket = bWinners.find((t) => !w.store.unvotableTickets!().has(t))!;
    await voteDirect(b, last.height + 1, bWinners.filter((t) => t !== missedTicket), last);
    const [c] = (await w.devnet.generate(1)) as [string];
    await voteDirect(c, last.height + 2, winnersOf(c), last);
    const [d] = (await w.devnet.generate(1)) as [string];
    await restore();
    restore = undefined;

    // Two more blocks through the restored proxy: the judge hears a height past the gap.
    tip = d;
    await voteDirect(tip, last.height + 3, winnersOf(tip), last);
    [tip] = (await w.devnet.generate(1)) as [string];
    await voteDirect(tip, last.height + 4, winnersOf(tip), last);
    await w.devnet.generate(1);

    await waitFor(async () => {
      await judge.idle();
      return verdicts.some((v) => v.blockHash === c);
    }, { timeoutMs: 15_000, message: 'judge walked past the gap' });
    // The proxies never streamed B's or C's draw: the judge read them from the chain.
    expect(draws.has(b)).toBe(false);
    expect(draws.has(c)).toBe(false);
    // The proxy names B's child and the winner it revokes (DCP-0009 automatic revocation).
    const redeemers = await w.proxyClient.getBlockRedeemers(b, last.height + 1);
    expect(redeemers.childHash).toBe(c);
    expect(redeemers.revoked).toEqual([missedTicket]);

    // Every verdict is the devnet ledger's; B has its five, with the one miss named unseen-draw.
    const ledger = new Map(w.devnet.report().tickets.map((t) => [`${t.ticketHash}@${t.blockHash}`, t.outcome]));
    for (const v of verdicts) expect(`${v.ticketHash}@${v.blockHash}:${v.outcome}`).toBe(`${v.ticketHash}@${v.blockHash}:${ledger.get(`${v.ticketHash}@${v.blockHash}`)}`);
    expect(verdicts.filter((v) => v.blockHash === b).map((v) => v.ticketHash).sort()).toEqual([...bWinners].sort());
    const missed = verdicts.filter((v) => v.outcome === 'missed');
    expect(missed.map((v) => `${v.ticketHash}@${v.blockHash}:${v.reason}`)).toEqual([`${missedTicket}@${b}:unseen-draw`]);
    expect(judge.totals()).toMatchObject({ missed: 1, unjudgedBlocks: 0, byReason: { 'unseen-draw': 1 } });
    expect(await metrics.registry.metrics()).toContain('votecluster_chain_missed_tickets_total{network="simnet",reason="unseen-draw"} 1');

    // The capped judge did not walk the gap: no verdict for B or C, the skipped blocks counted.
    await waitFor(async () => {
      await capped.idle();
      return capped.totals().unjudgedBlocks > 0;
    }, { timeoutMs: 15_000, message: 'capped judge skipped the gap' });
    expect(capped.recent().filter((v) => v.blockHash === b || v.blockHash === c)).toEqual([]);
    const unjudged = capped.totals().unjudgedBlocks;
    expect(unjudged).toBeGreaterThanOrEqual(3);
    expect(await cappedMetrics.registry.metrics()).toContain(`votecluster_chain_unjudged_blocks_total{network="simnet"} ${unjudged}`);
  } finally {
    watch.close();
    await capped.stop();
    await judge.stop();
    await restore?.();
  }
});
