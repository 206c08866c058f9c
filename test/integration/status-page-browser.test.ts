/**
 * The admin's status page in a real headless browser (Debian's chromium driven by
 * puppeteer-core), in three states of a running cluster (real etcd, devnet, node proxy,
 * voters' cluster sessions in two regions): healthy, voters down (one that stops renewing
 * its lease while etcd still holds it, as a killed or hung voter does, and a region's only
 * voter gone), and etcd frozen (SIGSTOP) and back. Each state is asserted on what the page
 * shows (verdict, regions, the proxy's dcrd session, voters' lease renewal, etcd members)
 * and saved as a screenshot in bench-results/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminConfigSchema, createAdmin, importExportEntries, parseExportFile, type Admin } from '../../services/admin/index.ts';
import { generateClusterKey, openCluster, type Cluster } from '../../services/cluster/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startAdminWorld, type AdminWorld } from './admin-harness.ts';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
// CI installs chromium (.ci/run); a developer machine without it skips this file.
const haveBrowser = existsSync(CHROMIUM) || process.env['CI'] === 'true';
const SHOTS = join(import.meta.dirname, '..', '..', 'bench-results');

let w: AdminWorld;
let admin: Admin;
let url: string;
let browser: Browser;
let page: Page;
const voters: Cluster[] = [];

beforeAll(async () => {
  if (!haveBrowser) return;
  mkdirSync(SHOTS, { recursive: true });
  w = await startAdminWorld({ devnet: { tickets: 24 } });
  const deps = { store: w.store, chain: w.chain, params: w.params, log: w.log };
  const outcomes = await importExportEntries(deps, parseExportFile(await readFile(w.exportFile, 'utf8')));
  expect(outcomes.every((o) => o.ok)).toBe(true);
  // Two voters' cluster sessions (membership and claims, as a voter holds them), one per region.
  const key = (await readFile(w.clusterKeyFile, 'utf8')).trim();
  for (const [nodeId, region] of [['voter-a1', 'a'], ['voter-b1', 'b']] as const) {
    voters.push(await openCluster({ endpoints: w.etcd.endpoints, etcdAccess: w.etcd.access('voter'), network: 'simnet', nodeId, region, clusterKey: new Uint8Array(Buffer.from(key, 'hex')) }, { log: w.log }));
  }
  const hashes = w.exported.map((t) => t.ticketHash);
  await voters[0]!.owners.claimMany(hashes.filter((_, i) => i % 2 === 0));
  await voters[1]!.owners.claimMany(hashes.filter((_, i) => i % 2 === 1));
  admin = createAdmin(AdminConfigSchema.parse({ network: 'simnet', grpc: { enabled: false }, walletRpc: { enabled: false }, status: { enabled: true, listen: '127.0.0.1:0' } }), {
    store: w.store,
    chain: w.chain,
    log: w.log,
    judgeProxies: [w.proxyClient],
    statusProxies: [{ address: w.proxyAddress, region: 'a', getStatus: (o) => w.proxyClient.getStatus(o) }],
  });
  url = (await admin.start()).status!;
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 900 });
});

afterAll(async () => {
  await browser?.close();
  await admin?.stop();
  for (const v of voters) await v.close().catch(() => undefined);
  await w?.stop();
});

async function show(state: string): Promise<{ level: string; text: string }> {
  await page.goto(url, { waitUntil: 'load', timeout: 15_000 });
  await page.screenshot({ path: join(SHOTS, `status-page-${state}.png`), fullPage: true });
  const level = await page.$eval('#verdict', (e) => e.getAttribute('data-level') ?? '');
  const text = await page.$eval('body', (e) => (e as unknown as { innerText: string }).innerText);
  return { level, text };
}

describe.skipIf(!haveBrowser)('status page in a browser', () => {
  it('healthy: OK, both regions with their voters, owned tickets, the proxy\'s dcrd session and etcd\'s leader', async () => {
    await waitFor(async () => (await show('healthy')).level === 'OK', { timeoutMs: 15_000, message: 'page says OK' });
    const { text } = await show('healthy');
    expect(text).toContain('voter-a1');
    expect(text).toContain('voter-b1');
    expect(text).toMatch(new RegExp(`Tickets: ${w.exported.length}, owned: ${w.exported.length}`));
    expect(text).toMatch(/Best block: \d+/);
    expect(text).toMatch(/etcd: reachable \(reads \d+ ms, 1 member\(s\), leader elected\)/);
    // The proxy: its dcrd session synced, at the tip, no lag.
    const proxy = await rowCells(`#proxies tr[data-proxy="${w.proxyAddress}"]`);
    expect(proxy).toEqual(['a', w.proxyAddress, 'ready', String((await w.proxyClient.getBestBlock()).height), '0 block(s)', expect.any(String), expect.any(String), '']);
    // Each voter: live, its lease renewed within the last seconds as etcd sees it, half the tickets.
    for (const id of ['voter-a1', 'voter-b1']) {
      const cells = await rowCells(`#nodes tr[data-node="${id}"]`);
      expect(cells[2]).toBe('live');
      expect(cells[3]).toMatch(/^[0-4] s \(TTL \d+ s\)$/);
      expect(Number(cells[4])).toBe(w.exported.length / 2);
    }
    expect(await page.$$eval('#etcd-members tr[data-member]', (rows) => rows.map((r) => (r as unknown as { innerText: string }).innerText))).toEqual([expect.stringContaining('leader')]);
  });

  it('voters down: one not renewing its lease is named with its owned tickets, a region without a live voter is named', async () => {
    // A voter that stops renewing its session lease (killed or hung): etcd still holds its
    // record and claims until the lease expires; the page stops counting it within 5 s.
    const etcdVoter = new Etcd3(w.etcd.clientOptions('voter'));
    const lease = etcdVoter.lease(60, { autoKeepAlive: false });
    const leaseId = await lease.grant();
    await etcdVoter.put(w.cluster.keyspace.node('voter-a2')).value(JSON.stringify({ region: 'a', proxies: [w.proxyAddress], version: 'test', startedAt: new Date().toISOString(), acceptsClaims: true })).lease(leaseId);
    try {
      await waitFor(async () => (await show('voter-down')).text.includes('voter voter-a2 has not renewed its lease'), { timeoutMs: 20_000, message: 'page names the voter not renewing its lease' });
      const hung = await rowCells('#nodes tr[data-node="voter-a2"]');
      expect(hung[2]).toBe('not renewing its lease');
      expect(Number(/^(\d+) s/.exec(hung[3] ?? '')?.[1])).toBeGreaterThanOrEqual(5);
      // Region b's only voter leaves: its claims go with its lease.
      await voters[1]!.close();
      const { level, text } = await show('voter-down');
      expect(level).toBe('DEGRADED');
      expect(text).toContain('region b has no live voter');
      expect(text).toMatch(/managed ticket\(s\) without an owner/);
      expect(text).not.toContain('voter-b1');
      expect(await rowCells('#regions tr[data-region="a"]')).toEqual(expect.arrayContaining(['1 of 2']));
      expect(await rowCells('#regions tr[data-region="b"]')).toEqual(expect.arrayContaining(['0 of 0']));
    } finally {
      await lease.revoke();
      etcdVoter.close();
    }
  });

  it('etcd frozen: FAILING with the last figures marked stale and the proxy asked afresh; back to the live view when etcd returns', async () => {
    const member = w.etcd.members[0]!;
    process.kill(member.pid!, 'SIGSTOP');
    try {
      const { level, text } = await show('etcd-down');
      expect(level).toBe('FAILING');
      expect(text).toContain('etcd unreachable');
      expect(text).toContain('the figures below are the last it gave');
      expect(text).toContain('voter-a1');
      expect((await rowCells(`#proxies tr[data-proxy="${w.proxyAddress}"]`))[2]).toBe('ready');
    } finally {
      process.kill(member.pid!, 'SIGCONT');
    }
    await waitFor(async () => !(await show('etcd-back')).text.includes('etcd unreachable'), { timeoutMs: 20_000, message: 'page recovers after etcd returns' });
    expect((await show('etcd-back')).level).toBe('DEGRADED');
  });
});

async function rowCells(selector: string): Promise<string[]> {
  return page.$$eval(`${selector} td`, (tds) => tds.map((td) => (td as unknown as { innerText: string }).innerText.trim()));
}
