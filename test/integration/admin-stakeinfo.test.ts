/**
 * `stakeinfo` against the devnet's own report for a short run: three of the
 * five winners of each block vote (sent through the proxy and recorded in
 * etcd, as a voter does), two are missed. The devnet is the judge.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createChainJudge, getStakeInfo, importExportEntries, parseExportFile, storeLookups } from '../../services/admin/index.ts';
import { decodeTx, hashToHex, txHash } from '../../services/decred/index.ts';
import type { ClientDraw } from '../../services/nodeproxy/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startAdminWorld, type AdminWorld } from './admin-harness.ts';
import { makeVoteBuilder } from './nodeproxy-harness.ts';
import { readFile } from 'node:fs/promises';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const BLOCKS = 2;
const VOTES_PER_BLOCK = 3;

let w: AdminWorld;
beforeAll(async () => {
  w = await startAdminWorld();
});
afterAll(() => w?.stop());

it('stakeinfo matches the devnet report after a short run', async () => {
  const deps = { store: w.store, chain: w.chain, params: w.params, log: w.log };
  const outcomes = await importExportEntries(deps, parseExportFile(await readFile(w.exportFile, 'utf8')));
  expect(outcomes.every((o) => o.ok)).toBe(true);
  await waitFor(() => w.cluster.tickets.size === w.exported.length, { message: 'tickets cached' });

  const builder = makeVoteBuilder(w.devnet);
  const draws = new Map<string, ClientDraw>();
  const watch = w.proxyClient.watchChain({ fromHeight: 0 }, (ev) => {
    if (ev.kind === 'winning_tickets') draws.set(ev.draw.blockHash, ev.draw);
  });
  try {
    for (let b = 0; b < BLOCKS; b++) {
      const tip = await w.proxyClient.getBestBlock();
      const draw = await waitFor(() => draws.get(tip.hash), { message: `draw of ${tip.hash}` });
      for (const ticketHash of draw.tickets.slice(0, VOTES_PER_BLOCK)) {
        const raw = builder.build(draw, ticketHash);
        const sent = await w.proxyClient.sendVote(raw);
        expect(['ACCEPTED', 'DUPLICATE']).toContain(sent.status);
        const voteTxid = hashToHex(txHash(decodeTx(raw)));
        await w.cluster.votes.recordVote({
          height: draw.height,
          blockHash: draw.blockHash,
          ticketHash,
          voteTxHex: Buffer.from(raw).toString('hex'),
          voteTxid,
          signer: 'test-voter',
          choicesRevision: 0,
          voteBits: 1,
          voteVersion: draw.voteVersion,
          treasuryVotes: [],
          createdAt: new Date().toISOString(),
        });
      }
      await w.devnet.generate(1); // mines the votes: this draw is settled (voted/missed)
    }
  } finally {
    watch.close();
  }

  const report = w.devnet.report();
  const settled = report.tickets.filter((t) => !t.sideChain && t.outcome !== 'pending');
  const votedTickets = new Set(settled.filter((t) => t.outcome === 'voted').map((t) => t.ticketHash));
  const missedTickets = new Set(settled.filter((t) => t.outcome === 'missed').map((t) => t.ticketHash));
  expect(votedTickets.size).toBe(BLOCKS * VOTES_PER_BLOCK);
  expect(missedTickets.size).toBe(BLOCKS * (5 - VOTES_PER_BLOCK));

  await waitFor(() => w.cluster.votes.list().length === BLOCKS * VOTES_PER_BLOCK, { message: 'vote records cached' });
  const s = await getStakeInfo(deps);
  expect(s.voted).toBe(votedTickets.size);
  expect(s.missed).toBe(missedTickets.size);
  const tip = await w.proxyClient.getBestBlock();
  expect(s.blockHeight).toBe(tip.height);
  // live = what dcrd says is live among ours; everything else is immature, voted or missed
  const live = await w.proxyClient.existsLiveTickets(w.exported.map((t) => t.ticketHash));
  expect(s.live).toBe(live.filter(Boolean).length);
  expect(s.live + s.immature + s.voted + s.missed).toBe(w.exported.length);
  expect(s.proportionMissed).toBeCloseTo(missedTickets.size / (votedTickets.size + missedTickets.size));
  // total subsidy: the stakebase of each mined vote
  let subsidy = 0n;
  for (const d of settled.filter((t) => t.outcome === 'voted')) {
    const raw = await w.proxyClient.getRawTransaction(d.minedVoteTxid!);
    subsidy += decodeTx(raw).inputs[0]!.valueIn;
  }
  expect(s.totalSubsidy).toBe(subsidy);
  expect(s.poolSize).toBeGreaterThan(0);
  // the ticket price: what our tickets paid (the devnet's price is constant), read from the chain
  const ticketTx = decodeTx(await w.proxyClient.getRawTransaction(w.exported[0]!.ticketHash));
  expect(s.difficulty).toBe(ticketTx.outputs[0]!.value);

  // the CLI prints the same numbers with dcrwallet's field names
  const r = await run(process.execPath, ['--import', 'tsx', 'bin/votecluster.ts', 'stakeinfo', '--json', ...w.cliFlags()], { cwd: ROOT, timeout: 30_000 });
  const j = JSON.parse(r.stdout) as Record<string, number>;
  expect(j).toMatchObject({ voted: s.voted, missed: s.missed, live: s.live, immature: s.immature, blockheight: s.blockHeight, poolsize: s.poolSize, difficulty: Number(s.difficulty) / 1e8 });
  expect(j['totalsubsidy']).toBeCloseTo(Number(subsidy) / 1e8, 8);
});

it('a vote the chain mined counts as voted before its record is written, from the chain judge', async () => {
  const deps = { store: w.store, chain: w.chain, params: w.params, log: w.log };
  const judge = createChainJudge({ proxies: [w.proxyClient], lookups: storeLookups(w.store, w.params), network: 'simnet', log: w.log });
  judge.start();
  try {
    await judge.following();
    const before = await getStakeInfo(deps);
    const builder = makeVoteBuilder(w.devnet);
    /** Votes three winners of the tip's draw (dcrd's minimum to mine on it), records nothing, mines. */
    const voteUnrecordedAndMine = async (): Promise<string[]> => {
      const tip = await w.proxyClient.getBestBlock();
      const draw = await new Promise<ClientDraw>((resolve) => {
        const h = w.proxyClient.watchChain({ fromHeight: tip.height }, (ev) => {
          if (ev.kind === 'winning_tickets' && ev.draw.blockHash === tip.hash) {
            h.close();
            resolve(ev.draw);
          }
        });
      });
      const voted = draw.tickets.slice(0, 3);
      for (const ticketHash of voted) expect(['ACCEPTED', 'DUPLICATE']).toContain((await w.proxyClient.sendVote(builder.build(draw, ticketHash))).status);
      await w.devnet.generate(1);
      return voted;
    };
    // The first draw's votes are mined, and a second block confirms them for the judge.
    const sent = await voteUnrecordedAndMine();
    await voteUnrecordedAndMine();
    await waitFor(async () => {
      await judge.idle();
      return sent.every((t) => judge.verdictOf(t)?.outcome === 'voted');
    }, { message: 'the judge saw the votes mined' });

    const recordsOnly = await getStakeInfo(deps);
    expect(recordsOnly.voted).toBe(before.voted);
    const withJudge = await getStakeInfo({ ...deps, chainVerdicts: judge });
    expect(withJudge.voted).toBe(before.voted + sent.length);
    expect(recordsOnly.missed - withJudge.missed).toBe(sent.length);
    let subsidy = 0n;
    for (const t of sent) subsidy += decodeTx(await w.proxyClient.getRawTransaction(judge.verdictOf(t)!.voteTxid!)).inputs[0]!.valueIn;
    expect(withJudge.totalSubsidy).toBe(recordsOnly.totalSubsidy + subsidy);
  } finally {
    await judge.stop();
  }
});
