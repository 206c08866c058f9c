/**
 * The on-call view agrees with the chain. A layout with two regions (devnet, etcd, one node
 * proxy per region, voter processes), the demo's admin (chain judge on every proxy, status
 * page, Prometheus endpoint). One managed ticket is made unvotable (its record re-sealed with
 * a foreign cluster key) and blocks are mined until it has been drawn; region b's voters are
 * stopped (SIGSTOP) for a block (held until a draw names a ticket they own) and resumed. Then
 * the devnet, which judges votes as dcrd does, is the referee, and four views must show
 * exactly its misses, with their reasons:
 * - the chain judge's verdicts, and `votecluster_chain_missed_tickets_total` scraped from the
 *   admin's endpoint (the counters' increase per reason);
 * - the paging rule VoteclusterChainMissedTicket, parsed with Prometheus' grammar and
 *   evaluated on the two scrapes (increase over the window = after - before);
 * - stake info (`getstakeinfo`: missed, voted, proportionmissed);
 * - the status page (`/status.json` and the page in a headless browser when chromium is
 *   installed): missed in the last hour, the incidents with their reasons, the takeovers of
 *   the block region b was stopped for, the recent votes with their draw-to-accepted latency.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { classifyTickets, getStakeInfo, stakeInfoToWalletJson, type AdminStatus, type ChainVerdict } from '../../services/admin/index.ts';
import { generateClusterKey, Keyring } from '../../services/cluster/index.ts';
import { netParams } from '../../services/decred/index.ts';
import { mineOne, startDemoAdmin, startLayout, type DemoAdmin, type Layout } from '../../services/sim/layout/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { inspectPromql } from '../unit/deploy/promql.ts';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', '..', 'bench-results');
/** How long a round waits for the votes of the tip's draws before mining anyway (late = missed). */
const VOTE_DEADLINE_MS = 6_000;
/** Rounds mined at most while waiting for the unvotable ticket's draw (6 live tickets, 5 drawn per block). */
const MAX_ROUNDS = 14;

// One pass only: the test changes the cluster (an unvotable record, a stopped region), so a
// second attempt on the same layout would judge a different cluster.
let layout: Layout;
let demo: DemoAdmin;
/** Every voter's finished duties (the failure message names them). */
const duties: string[] = [];

beforeAll(async () => {
  // A small live pool (6, 5 drawn per block): the unvotable ticket is drawn within a few blocks.
  layout = await startLayout({
    // One signer per ticket (strategy single-signer): a stopped region's draws are taken over by the
    // other region after the hedge, which the page must show (region signers would sign them at once).
    regions: 2, votersPerRegion: 1, voterMode: 'process', tickets: 6, blockInterval: { mode: 'manual' }, strategy: 'single-signer',
    onDuty: (e) => duties.push(`${e.height} ${e.ticketHex.slice(0, 8)} ${e.nodeId} rank ${e.rank} ${e.outcome}`),
  });
  demo = await startDemoAdmin(layout, layout.log);
}, 180_000);

afterAll(async () => {
  await demo?.stop();
  await layout?.stop();
}, 60_000);

/** The admin's Prometheus endpoint, scraped. */
async function scrape(): Promise<string> {
  const res = await fetch(demo.metricsUrl);
  expect(res.status).toBe(200);
  return res.text();
}

/** `votecluster_chain_missed_tickets_total` per reason in one scrape. */
function missedByReason(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^votecluster_chain_missed_tickets_total\{[^}]*reason="([^"]+)"[^}]*\} (\d+)$/gm)) out.set(m[1]!, (out.get(m[1]!) ?? 0) + Number(m[2]));
  return out;
}

async function status(): Promise<AdminStatus> {
  const res = await fetch(new URL('status.json', demo.statusUrl));
  expect(res.status).toBe(200);
  return (await res.json()) as AdminStatus;
}

/** The miner's main-chain draws at the tip. */
function tipDrawsAtMiner(): Array<{ ticketHash: string; blockHash: string; height: number; voted: boolean }> {
  const ts = layout.devnet.minerReport().tickets.filter((t) => !t.sideChain);
  const h = Math.max(...ts.map((t) => t.height));
  return ts.filter((t) => t.height === h).map((t) => ({ ticketHash: t.ticketHash, blockHash: t.blockHash, height: t.height, voted: t.firstVoteAt !== undefined }));
}

/** One round: wait for a vote at the miner for every tip draw but the unvotable ticket's, import new tickets, mine. */
async function round(unvotable: string | undefined, during?: () => Promise<void>): Promise<void> {
  await waitFor(() => tipDrawsAtMiner().every((d) => d.voted || d.ticketHash === unvotable), { timeoutMs: VOTE_DEADLINE_MS, message: 'tip votes at the miner' }).catch(() => undefined);
  await layout.importAllTickets();
  await during?.();
  await mineOne(layout);
}

it('the chain counter, the alert rule, stake info and the status page show exactly the devnet\'s misses, with reasons', { retry: 0 }, async () => {
  const judge = demo.admin.judge!;
  // The admin's /readyz checks what it needs (endpoints up, etcd answers, caches current).
  const ready = await fetch(demo.metricsUrl.replace(/\/metrics$/, '/readyz'));
  expect(ready.status).toBe(200);
  expect(((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks).toMatchObject({ serving: { ok: true }, etcd: { ok: true }, watch: { ok: true } });
  await layout.awaitOwnershipSettled(60_000);
  // Two fully voted blocks: the judge is watching, every voter runs.
  await round(undefined);
  await round(undefined);
  await judge.idle();
  const before = await scrape();
  const verdictsBefore = judge.recent().length;

  // One managed ticket, live and not drawn yet, re-sealed with a cluster key no voter holds.
  const drawnNow = new Set(tipDrawsAtMiner().map((d) => d.ticketHash));
  const imported = [...layout.importedTickets()].filter((t) => !drawnNow.has(t)).sort();
  const live = await demo.chain.existsLiveTickets(imported);
  const unvotable = imported.find((_, i) => live[i] === true);
  expect(unvotable, 'a live, undrawn managed ticket').toBeDefined();
  const key = layout.admin.keyspace.ticket(unvotable!);
  const rec = JSON.parse((await layout.admin.client.get(key).string())!) as { votingKey: unknown };
  rec.votingKey = new Keyring([generateClusterKey()]).sealVotingKey('simnet', unvotable!, generateClusterKey());
  await layout.admin.client.put(key).value(JSON.stringify(rec));
  await waitFor(() => demo.store.unvotableTickets!().has(unvotable!), { message: 'the admin sees the record as unvotable' });

  // Region b's voters stopped for a block: SIGSTOP before it is mined, held past the page's
  // 5 s lease-renewal limit (the status page must say so), resumed once its draws are voted.
  const regionB = layout.voters.filter((v) => v.region === 'b');
  let pausedView: AdminStatus | undefined;
  const pausedAt = (await demo.chain.getBestBlock()).height;
  await round(unvotable, async () => {
    for (const v of regionB) v.pause();
  });
  try {
    pausedView = await waitFor(async () => {
      const s = await status();
      return s.nodes.some((n) => n.region === 'b' && !n.responsive) ? s : undefined;
    }, { timeoutMs: 20_000, message: 'the status page stops counting region b\'s stopped voter' });
    await screenshot('status-page-region-stopped');
    // Held until a draw names a ticket region b owns (its owner stopped: region a takes it over).
    const bIds = new Set(regionB.map((v) => v.nodeId));
    const bOwned = (): boolean => tipDrawsAtMiner().some((d) => bIds.has(layout.admin.owners.ownerOf(d.ticketHash) ?? ''));
    for (let i = 0; i < 8 && !bOwned(); i++) await round(unvotable);
    expect(bOwned(), 'a draw names a ticket region b owns').toBe(true);
    await waitFor(() => tipDrawsAtMiner().every((d) => d.voted || d.ticketHash === unvotable), { timeoutMs: VOTE_DEADLINE_MS, message: 'region b\'s draws voted by region a' }).catch(() => undefined);
  } finally {
    for (const v of regionB) v.resume();
  }
  expect(pausedView!.verdict.reasons).toContain('region b has no live voter');

  // Mine until the unvotable ticket has been drawn, then two more blocks so its draw is judged.
  let drawnAt: { blockHash: string; height: number } | undefined;
  const seen = (): typeof drawnAt => layout.devnet.report().tickets.find((t) => t.ticketHash === unvotable && !t.sideChain);
  for (let i = 0; i < MAX_ROUNDS && !(drawnAt = seen()); i++) await round(unvotable);
  expect(drawnAt, `ticket ${unvotable} drawn within ${MAX_ROUNDS} blocks`).toBeDefined();
  await round(unvotable);
  await round(unvotable);
  await round(unvotable);
  const tip = (await demo.chain.getBestBlock()).height;
  await waitFor(async () => {
    await judge.idle();
    return judge.recent().some((v) => v.height >= tip - 2);
  }, { timeoutMs: 20_000, message: 'the judge has judged the draws up to tip - 2' });
  const after = await scrape();
  const s = await status();

  // The referee: the devnet's ledger of the managed draws the judge covered.
  const verdicts = judge.recent().slice(verdictsBefore);
  const heights = new Set(verdicts.map((v) => v.height));
  const minH = Math.min(...heights);
  const managed = layout.importedTickets();
  const ledger = layout.devnet.report().tickets.filter((t) => !t.sideChain && managed.has(t.ticketHash) && t.height >= minH && t.height <= tip - 2);
  const key2 = (t: { ticketHash: string; blockHash: string }): string => `${t.ticketHash}@${t.blockHash}`;
  const devMissed = ledger.filter((t) => t.outcome === 'missed').map(key2).sort();
  const judgeMissed = verdicts.filter((v) => v.outcome === 'missed');
  expect(ledger.map((t) => `${key2(t)}:${t.outcome}`).sort()).toEqual(verdicts.map((v) => `${key2(v)}:${v.outcome}`).sort());
  expect(judgeMissed.map(key2).sort()).toEqual(devMissed);
  expect(devMissed).toContain(`${unvotable}@${drawnAt!.blockHash}`);
  const reasonOf = new Map(judgeMissed.map((v) => [key2(v), v.reason]));
  expect(reasonOf.get(`${unvotable}@${drawnAt!.blockHash}`)).toBe('unvotable');
  for (const v of judgeMissed) expect(v.reason, key2(v)).toBeDefined();
  const byReason = new Map<string, number>();
  for (const v of judgeMissed) byReason.set(v.reason!, (byReason.get(v.reason!) ?? 0) + 1);

  // The counter, scraped: its increase per reason is the devnet's misses by the judge's reason.
  const b = missedByReason(before);
  const a = missedByReason(after);
  const increase = new Map([...a].map(([r, n]) => [r, n - (b.get(r) ?? 0)] as const).filter(([, n]) => n > 0));
  expect(Object.fromEntries(increase)).toEqual(Object.fromEntries(byReason));

  // The paging rule, parsed with Prometheus' grammar and evaluated on the two scrapes.
  const rules = (parseYaml(await readFile(new URL('../../deploy/prometheus/alerts.yml', import.meta.url), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }).groups.flatMap((g) => g.rules);
  const rule = rules.find((r) => r.alert === 'VoteclusterChainMissedTicket')!;
  const parsed = inspectPromql(rule.expr);
  expect(parsed.errors).toEqual([]);
  expect(parsed.metrics).toEqual(['votecluster_chain_missed_tickets_total']);
  expect(rule.expr).toBe('sum by (reason) (increase(votecluster_chain_missed_tickets_total[15m])) > 0');
  const firing = [...a].filter(([reason, n]) => n - (b.get(reason) ?? 0) > 0).map(([reason]) => reason).sort();
  expect(firing).toEqual([...byReason.keys()].sort());

  // Stake info: every managed ticket the devnet drew (the unvotable one included), from the chain.
  const all = layout.devnet.report().tickets.filter((t) => !t.sideChain && managed.has(t.ticketHash));
  // As the admin asks it: vote records, the chain, and the judge's verdicts (a vote the chain
  // mined counts before its record is written).
  const stakeDeps = { store: demo.store, chain: demo.chain, params: netParams('simnet'), chainVerdicts: judge };
  const info = await getStakeInfo(stakeDeps);
  const wallet = stakeInfoToWalletJson(info);
  const devAllMissed = all.filter((t) => t.outcome === 'missed').length;
  const devAllVoted = all.filter((t) => t.outcome === 'voted').length;
  const disagree = async (): Promise<string> => {
    const { tickets } = await classifyTickets(stakeDeps);
    const byTicket = new Map(tickets.map((c) => [c.ticket.ticketHash, c.status]));
    const recorded = new Set(layout.voteRecords().map((r) => `${r.ticketHash}@${r.blockHash}`));
    const adminRecorded = new Set((await demo.store.listVotes()).map((r) => `${r.ticketHash}@${r.blockHash}`));
    return all.filter((t) => byTicket.get(t.ticketHash) !== t.outcome).map((t) =>
      `${t.ticketHash.slice(0, 8)} drawn ${t.height} devnet ${t.outcome} stakeinfo ${byTicket.get(t.ticketHash) ?? 'unvotable/absent'} record ${recorded.has(key2(t)) ? 'yes' : 'no'} admin-cache ${adminRecorded.has(key2(t)) ? 'yes' : 'no'}`).join('\n');
  };
  if (wallet['missed'] !== devAllMissed || wallet['voted'] !== devAllVoted) expect.soft(await disagree(), `tip ${tip}`).toBe('');
  expect({ missed: wallet['missed'], voted: wallet['voted'] }).toEqual({ missed: devAllMissed, voted: devAllVoted });
  expect(wallet['proportionmissed']).toBeCloseTo(devAllMissed / (devAllMissed + devAllVoted), 9);
  // Nothing lost: every vote the chain mined for a managed ticket gets its record in etcd.
  const unrecorded = (): string[] => {
    const recorded = new Set(layout.voteRecords().map((r) => `${r.ticketHash}@${r.blockHash}`));
    return all.filter((t) => t.outcome === 'voted' && !recorded.has(key2(t))).map(key2);
  };
  await waitFor(() => unrecorded().length === 0, { timeoutMs: 20_000, message: 'a record for every mined vote' }).catch(() => undefined);
  expect(unrecorded(), 'mined votes without a record').toEqual([]);

  // The status page: the chain's figures, the incidents with their reasons, the takeovers.
  expect(s.chain!.lastHour.missed).toBe(judge.totals().missed);
  const pageMissed = s.incidents.filter((i): i is Extract<typeof i, { kind: 'missed' }> => i.kind === 'missed');
  const inRange = pageMissed.filter((i) => i.height >= minH);
  expect(inRange.map((i) => `${key2(i)}:${i.reason}`).sort()).toEqual(judgeMissed.map((v: ChainVerdict) => `${key2(v)}:${v.reason}`).sort());
  const takeoverRecords = layout.voteRecords().filter((r) => r.path === 'takeover');
  const pageTakeovers = s.incidents.filter((i) => i.kind === 'takeover').map((i) => `${key2(i)}:${i.kind === 'takeover' ? i.signer : ''}`).sort();
  const recordTakeovers = takeoverRecords.map((r) => `${r.ticketHash}@${r.blockHash}:${r.signer}`).sort();
  // The page lists the last 20 incidents: every takeover when they fit, else only takeovers that happened.
  if (takeoverRecords.length + judge.totals().missed <= 20) expect(pageTakeovers).toEqual(recordTakeovers);
  else for (const t of pageTakeovers) expect(recordTakeovers).toContain(t);
  // Region b stopped for a block: its owned draws were taken over by region a.
  expect(takeoverRecords.length, `takeovers while region b was stopped (paused at height ${pausedAt}); duties:\n${duties.join('\n')}`).toBeGreaterThan(0);
  // Recent votes carry their latency: every record knows when its draw reached the signer
  // (draw → signed); an owner's fast-path record also knows the first acceptance when the
  // answers came within its record delay (draw → accepted, after the signing).
  expect(s.recentVotes.length).toBeGreaterThan(0);
  for (const v of s.recentVotes) {
    expect(v.signedAfterMs, `${v.ticketHash} drawn → signed`).toBeGreaterThanOrEqual(0);
    if (v.latencyMs !== undefined) expect(v.latencyMs, `${v.ticketHash} drawn → accepted`).toBeGreaterThanOrEqual(v.signedAfterMs!);
  }
  for (const r of ['a', 'b']) expect(s.latency.find((l) => l.region === r)?.signed?.p50, `region ${r} draw → signed p50`).toBeDefined();
  expect(s.proxies.map((p) => `${p.region}:${p.dcrdState}`).sort()).toEqual(['a:ready', 'b:ready']);
  await waitFor(async () => (await status()).nodes.every((n) => n.responsive), { timeoutMs: 20_000, message: 'region b live again on the page' });
  const rows = await screenshot('status-page-after-misses');
  if (rows) expect(rows.filter((r) => r.kind === 'missed').map((r) => `${r.ticket}:${r.reason}`)).toContain(`${unvotable}:unvotable`);

  process.stdout.write(`ON_CALL_VIEW ${JSON.stringify({
    judged: verdicts.length, missed: devMissed.length, byReason: Object.fromEntries(byReason), takeovers: takeoverRecords.length,
    stakeinfo: { missed: wallet['missed'], voted: wallet['voted'], proportionmissed: wallet['proportionmissed'] },
    latencyMs: s.latency,
  })}\n`);
});

/** Screenshot of the status page in a headless browser (when chromium is installed); the incident rows it shows. */
async function screenshot(name: string): Promise<Array<{ kind: string; ticket: string; reason: string }> | undefined> {
  if (!existsSync(CHROMIUM)) return undefined;
  const { default: puppeteer } = await import('puppeteer-core');
  mkdirSync(SHOTS, { recursive: true });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    await page.goto(demo.statusUrl, { waitUntil: 'load', timeout: 15_000 });
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
    return await page.$$eval('#incidents tr[data-kind]', (trs) => trs.map((tr) => ({
      kind: tr.getAttribute('data-kind') ?? '', ticket: tr.getAttribute('data-ticket') ?? '', reason: tr.getAttribute('data-reason') ?? '',
    })));
  } finally {
    await browser.close();
  }
}
