/**
 * The status page of an admin service: a verdict at the top (OK, DEGRADED, FAILING and
 * why), voted and missed from the chain (the chain judge), each region's voters, owned
 * tickets and draw-to-accepted percentiles, the last misses with their reason, and the
 * recent votes. `GET /status.json` is the data, `GET /` the same data as a small
 * self-contained HTML page (no scripts, refreshes itself). While etcd does not answer,
 * the page shows the last status it gave, marked stale, and recovers by itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NetParams } from '../decred/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { ChainJudge, ChainVerdict } from './chain-judge.ts';
import type { ChainLookup, ChainTip, NodeView, TicketStore, VoteRecordView } from './ports.ts';

/** One node on the status page. */
export interface NodeStatusView extends NodeView {
  ownedTickets: number;
}

/** Draw-to-accepted latency percentiles of one region's signers (ms), from recent vote records. */
export interface RegionLatency {
  region: string;
  votes: number;
  p50?: number;
  p90?: number;
  p99?: number;
}

/** Voted and missed managed tickets over a window, as the chain judged them. */
export interface ChainWindow {
  voted: number;
  missed: number;
}

/** The one-line answer to "are we voting?". */
export interface StatusVerdict {
  level: 'OK' | 'DEGRADED' | 'FAILING';
  /** Why, most severe first; empty when OK. */
  reasons: string[];
}

/** Everything the status page shows. */
export interface AdminStatus {
  network: string;
  generatedAtMs: number;
  verdict: StatusVerdict;
  bestBlock?: { hash: string; height: number };
  /** Why the best block is missing (no proxy, lookup failed). */
  chainError?: string;
  /** etcd as the admin last reached it; `stale` data below is from `lastOkMs`. */
  etcd: { reachable: boolean; lastOkMs?: number; error?: string };
  /** True when etcd did not answer and the figures are the last ones it gave. */
  stale: boolean;
  regions: string[];
  nodes: NodeStatusView[];
  tickets: number;
  /** Tickets with a live owner claim. */
  owned: number;
  /** From the chain judge (absent without a proxy to judge through). */
  chain?: { lastHour: ChainWindow; lastDay: ChainWindow; lastWeek: ChainWindow; sinceMs: number };
  /** The last misses the chain counted, most recent first. */
  incidents: ChainVerdict[];
  latency: RegionLatency[];
  /** Most recent first. */
  recentVotes: VoteRecordView[];
}

/** What the status collector needs. */
export interface StatusDeps {
  store: TicketStore;
  chain?: ChainLookup;
  params: NetParams;
  log: Logger;
  /** The admin's chain judge: missed and voted from the chain. */
  judge?: Pick<ChainJudge, 'recent'> & { readonly startedAtMs?: number };
  now?: () => number;
}

const HOUR_MS = 3_600_000;

function percentile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function windowOf(verdicts: readonly ChainVerdict[], since: number): ChainWindow {
  let voted = 0;
  let missed = 0;
  for (const v of verdicts) {
    if (v.judgedAtMs < since) continue;
    if (v.outcome === 'voted') voted++;
    else missed++;
  }
  return { voted, missed };
}

/** The verdict from what the page shows: FAILING when votes are or will be missed, DEGRADED when redundancy is lost. */
export function statusVerdict(s: Omit<AdminStatus, 'verdict'>): StatusVerdict {
  const failing: string[] = [];
  const degraded: string[] = [];
  if (!s.etcd.reachable) failing.push(`etcd unreachable${s.etcd.error ? `: ${s.etcd.error}` : ''}`);
  if (s.chain && s.chain.lastHour.missed > 0) failing.push(`${s.chain.lastHour.missed} ticket(s) missed on chain in the last hour`);
  if (s.tickets > 0 && s.nodes.length === 0) failing.push('no voter is live');
  if (s.tickets > s.owned && s.nodes.length > 0) degraded.push(`${s.tickets - s.owned} managed ticket(s) without an owner`);
  if (s.chain && s.chain.lastHour.missed === 0 && s.chain.lastDay.missed > 0) degraded.push(`${s.chain.lastDay.missed} ticket(s) missed on chain in the last day`);
  if (!s.bestBlock) degraded.push(`chain tip unknown (${s.chainError ?? 'no proxy'})`);
  if (!s.chain) degraded.push('misses are not judged from the chain (no proxy configured)');
  const regionsWithVoters = new Set(s.nodes.map((n) => n.region));
  for (const r of s.regions) if (!regionsWithVoters.has(r)) degraded.push(`region ${r} has no live voter`);
  if (failing.length > 0) return { level: 'FAILING', reasons: [...failing, ...degraded] };
  if (degraded.length > 0) return { level: 'DEGRADED', reasons: degraded };
  return { level: 'OK', reasons: [] };
}

/**
 * Collects the status from etcd (and the chain tip through the proxy when configured).
 * `knownRegions` (kept by the caller) lets a region whose every voter is gone still show.
 */
export async function collectStatus(deps: StatusDeps, recentVotes = 50, knownRegions: Set<string> = new Set()): Promise<AdminStatus> {
  const now = (deps.now ?? Date.now)();
  const [nodes, owners, tickets, votes] = await Promise.all([
    deps.store.listNodes(),
    deps.store.listOwners(),
    deps.store.listTickets(),
    deps.store.listVotes(),
  ]);
  const ownedBy = new Map<string, number>();
  for (const nodeId of owners.values()) ownedBy.set(nodeId, (ownedBy.get(nodeId) ?? 0) + 1);
  const managed = new Set(tickets.map((t) => t.ticketHash));
  let owned = 0;
  for (const t of owners.keys()) if (managed.has(t)) owned++;
  for (const n of nodes) knownRegions.add(n.region);
  const regionOf = new Map(nodes.map((n) => [n.nodeId, n.region]));
  const byRegion = new Map<string, number[]>();
  for (const v of votes) {
    if (v.latencyMs === undefined) continue;
    const r = regionOf.get(v.signer) ?? 'unknown';
    const list = byRegion.get(r) ?? [];
    list.push(v.latencyMs);
    byRegion.set(r, list);
  }
  const latency: RegionLatency[] = [...byRegion].sort(([a], [b]) => a.localeCompare(b)).map(([region, l]) => {
    const sorted = [...l].sort((a, b) => a - b);
    const p50 = percentile(sorted, 0.5);
    const p90 = percentile(sorted, 0.9);
    const p99 = percentile(sorted, 0.99);
    return { region, votes: sorted.length, ...(p50 !== undefined ? { p50 } : {}), ...(p90 !== undefined ? { p90 } : {}), ...(p99 !== undefined ? { p99 } : {}) };
  });
  const verdicts = deps.judge?.recent() ?? [];
  const base: Omit<AdminStatus, 'verdict'> = {
    network: deps.params.name,
    generatedAtMs: now,
    etcd: { reachable: true, lastOkMs: now },
    stale: false,
    regions: [...knownRegions].sort(),
    nodes: nodes
      .map((n) => ({ ...n, ownedTickets: ownedBy.get(n.nodeId) ?? 0 }))
      .sort((a, b) => a.region.localeCompare(b.region) || a.nodeId.localeCompare(b.nodeId)),
    tickets: tickets.length,
    owned,
    ...(deps.judge
      ? { chain: { lastHour: windowOf(verdicts, now - HOUR_MS), lastDay: windowOf(verdicts, now - 24 * HOUR_MS), lastWeek: windowOf(verdicts, now - 7 * 24 * HOUR_MS), sinceMs: deps.judge.startedAtMs ?? now } }
      : {}),
    incidents: verdicts.filter((v) => v.outcome === 'missed').slice(-20).reverse(),
    latency,
    recentVotes: [...votes]
      .sort((a, b) => b.height - a.height || b.signedAtMs - a.signedAtMs)
      .slice(0, recentVotes),
  };
  if (deps.chain) {
    try {
      const tip: ChainTip = await deps.chain.getBestBlock();
      base.bestBlock = { hash: tip.hash, height: tip.height };
    } catch (err) {
      // The page still shows everything etcd knows; the missing tip is explained on it.
      deps.log.warn({ err }, 'status: best block lookup failed');
      base.chainError = (err as Error).message;
    }
  } else {
    base.chainError = 'no node proxy configured';
  }
  return { ...base, verdict: statusVerdict(base) };
}

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function short(h: string): string {
  return h.length > 16 ? `${h.slice(0, 8)}…${h.slice(-6)}` : h;
}

const ms = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(1)} ms`);
const ago = (t: number, now: number): string => {
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

/** Renders the status as an HTML page (server-rendered, refreshes itself every 5 s). */
export function renderStatusHtml(s: AdminStatus): string {
  const rows = (cells: unknown[][]): string =>
    cells.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  const now = s.generatedAtMs;
  const regions = s.regions.map((r) => {
    const voters = s.nodes.filter((n) => n.region === r);
    const lat = s.latency.find((l) => l.region === r);
    return [r, voters.length, voters.reduce((a, n) => a + n.ownedTickets, 0), [...new Set(voters.flatMap((n) => n.proxies))].join(', ') || '–', ms(lat?.p50), ms(lat?.p90), ms(lat?.p99)];
  });
  const nodes = rows(s.nodes.map((n) => [n.region, n.nodeId, n.ownedTickets, n.proxies.join(', '), n.version, ago(n.startedMs, now)]));
  const votes = rows(
    s.recentVotes.map((v) => [v.height, short(v.blockHash), short(v.ticketHash), short(v.voteTxid), v.signer, v.latencyMs === undefined ? '' : `${v.latencyMs.toFixed(1)} ms`]),
  );
  const incidents = rows(s.incidents.map((v) => [v.height, short(v.blockHash), short(v.ticketHash), v.reason ?? '', ago(v.judgedAtMs, now)]));
  const win = (w: ChainWindow | undefined): string => (w ? `${w.voted} voted, ${w.missed} missed` : 'not judged');
  const colour = { OK: '#1a7f37', DEGRADED: '#9a6700', FAILING: '#cf222e' }[s.verdict.level];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>${esc(s.verdict.level)} · votecluster ${esc(s.network)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}
#verdict{color:#fff;background:${colour};padding:.6em 1em;font-size:1.4em;border-radius:4px}#verdict ul{font-size:.7em;margin:.3em 0 0}.stale{background:#fff8c5;padding:.4em .8em}</style>
</head><body>
<h1>votecluster — ${esc(s.network)}</h1>
<div id="verdict" data-level="${esc(s.verdict.level)}">${esc(s.verdict.level)}${s.verdict.reasons.length ? `<ul>${s.verdict.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : ''}</div>
${s.stale ? `<p class="stale" id="stale">etcd is unreachable: the figures below are the last it gave (${esc(s.etcd.lastOkMs ? ago(s.etcd.lastOkMs, now) : 'never')}).</p>` : ''}
<p>Best block: ${s.bestBlock ? `${esc(s.bestBlock.height)} (${esc(short(s.bestBlock.hash))})` : `unknown (${esc(s.chainError ?? '')})`}.
etcd: <span id="etcd">${s.etcd.reachable ? 'reachable' : 'unreachable'}</span>. Tickets: ${esc(s.tickets)}, owned: ${esc(s.owned)}.</p>
<h2>From the chain</h2>
<table id="chain"><tr><th>last hour</th><th>last day</th><th>last week</th></tr>
<tr><td>${esc(win(s.chain?.lastHour))}</td><td>${esc(win(s.chain?.lastDay))}</td><td>${esc(win(s.chain?.lastWeek))}</td></tr></table>
<h2>Regions</h2>
<table id="regions"><tr><th>region</th><th>live voters</th><th>owned</th><th>proxies</th><th>p50</th><th>p90</th><th>p99</th></tr>
${rows(regions)}</table>
<h2>Voters</h2>
<table id="nodes"><tr><th>region</th><th>node</th><th>owned</th><th>proxies</th><th>version</th><th>started</th></tr>
${nodes}</table>
<h2>Missed on chain</h2>
<table id="incidents"><tr><th>height</th><th>block</th><th>ticket</th><th>reason</th><th>judged</th></tr>
${incidents}</table>
<h2>Recent votes</h2>
<table id="votes"><tr><th>height</th><th>block</th><th>ticket</th><th>vote txid</th><th>signer</th><th>draw → accepted</th></tr>
${votes}</table>
<p><a href="/status.json">status.json</a> · generated ${esc(new Date(s.generatedAtMs).toISOString())}</p>
</body></html>
`;
}

/**
 * Collects status with a deadline, keeping the last good answer: when etcd does not answer
 * within `timeoutMs`, the last status comes back marked stale with etcd unreachable (verdict
 * FAILING), and the next collection that succeeds replaces it.
 */
export function createStatusCache(deps: StatusDeps, opts: { recentVotes: number; timeoutMs?: number }): { get(): Promise<AdminStatus> } {
  const knownRegions = new Set<string>();
  const timeoutMs = opts.timeoutMs ?? 2_000;
  let last: AdminStatus | undefined;
  let inflight: Promise<AdminStatus> | undefined;
  return {
    async get() {
      inflight ??= collectStatus(deps, opts.recentVotes, knownRegions).finally(() => {
        inflight = undefined;
      });
      const attempt = inflight;
      let timer: NodeJS.Timeout | undefined;
      try {
        last = await Promise.race([
          attempt,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`etcd did not answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return last;
      } catch (err) {
        deps.log.warn({ err: { message: (err as Error).message } }, 'status: collection failed; showing the last status');
        attempt.catch(() => undefined);
        const now = (deps.now ?? Date.now)();
        const prev: Omit<AdminStatus, 'verdict'> = last
          ? { ...last, generatedAtMs: now, stale: true, etcd: { reachable: false, ...(last.etcd.lastOkMs ? { lastOkMs: last.etcd.lastOkMs } : {}), error: (err as Error).message } }
          : { network: deps.params.name, generatedAtMs: now, stale: true, etcd: { reachable: false, error: (err as Error).message }, regions: [...knownRegions], nodes: [], tickets: 0, owned: 0, incidents: [], latency: [], recentVotes: [], chainError: 'not asked' };
        return { ...prev, verdict: statusVerdict(prev) };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** A running status page. */
export interface StatusServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Serves `GET /` (HTML) and `GET /status.json` on `host:port` (0: free port). */
export async function startStatusServer(
  deps: StatusDeps,
  opts: { host: string; port: number; recentVotes: number },
): Promise<StatusServer> {
  const cache = createStatusCache(deps, { recentVotes: opts.recentVotes });
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/' && path !== '/status.json')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    cache.get().then(
      (s) => {
        if (path === '/status.json') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(s));
        } else {
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(renderStatusHtml(s));
        }
      },
      (err: unknown) => {
        deps.log.warn({ err }, 'status: collection failed');
        const code = (err as { code?: unknown }).code;
        res.writeHead(503, { 'content-type': 'application/json' }).end(
          JSON.stringify({ error: { code: typeof code === 'string' ? code : 'ADMIN_STORE', message: (err as Error).message } }),
        );
      },
    );
  };
  const server: Server = createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host}:${port}/`,
    port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
