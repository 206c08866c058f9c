/**
 * The status page of an admin service: a verdict at the top (OK, DEGRADED, FAILING and
 * why), voted and missed from the chain (the chain judge), each region with its proxies
 * (dcrd session state, tip, lag), its voters (lease renewal age as etcd sees it, owned
 * tickets) and draw-to-accepted percentiles, etcd's health, the last incidents (misses
 * with their reason, takeovers) and the recent votes with their latency. `GET /status.json`
 * is the data, `GET /` the same data as a small self-contained HTML page (status-html.ts).
 * While etcd does not answer, the page shows the last status it gave, marked stale, with
 * the proxies asked afresh, and recovers by itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NetParams } from '../decred/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { ChainJudge, ChainVerdict } from './chain-judge.ts';
import type { ChainLookup, ChainTip, EtcdMembersView, NodeView, TicketStore, VoteRecordView } from './ports.ts';
import { renderStatusHtml } from './status-html.ts';
import { nearestRank } from '../base/index.ts';

export { renderStatusHtml };

/**
 * A voter renews its session lease every second; one whose lease etcd has not seen renewed
 * for this long is stopped, hung or cut from etcd: the page no longer counts it as live (its
 * claims stay in etcd until the lease expires, and backups vote its draws meanwhile).
 */
export const LEASE_UNRENEWED_MS = 5_000;

/** One node on the status page. */
export interface NodeStatusView extends NodeView {
  ownedTickets: number;
  /** False when etcd has not seen its lease renewed for {@link LEASE_UNRENEWED_MS} (or no longer holds it). */
  responsive: boolean;
}

/** One node proxy the admin dials, as it answered now. */
export interface ProxyStatusView {
  address: string;
  /** The region the admin was told the proxy is in. */
  region?: string;
  /** False when the proxy did not answer GetStatus. */
  reachable: boolean;
  /** The proxy's dcrd session: disconnected, connecting, syncing, ready, failed, stopped. */
  dcrdState?: string;
  bestHeight?: number;
  bestHash?: string;
  /** Blocks behind the highest tip any proxy reports now. */
  lagBlocks?: number;
  /** Open WatchChain streams (voters and the admin's own). */
  watchers?: number;
  reconnects?: number;
  /** The proxy's last dcrd session error, or why the proxy did not answer. */
  error?: string;
}

/** A node proxy as the status page asks it. */
export interface StatusProxy {
  address: string;
  region?: string;
  getStatus(opts?: { deadlineMs?: number }): Promise<{
    dcrd_state: string;
    best_block: { hash: string; height: number } | null;
    watchers: number;
    reconnects: number;
    last_error: string;
  }>;
}

/**
 * Latency percentiles of one region's signers (ms), from the vote records: draw → first dcrd
 * acceptance where the record knows it (the owner's fast path records it when the first answers
 * came within its record delay), and draw → signed for every record that knows its draw time.
 */
export interface RegionLatency {
  region: string;
  /** Records with a known draw → accepted latency. */
  votes: number;
  p50?: number;
  p90?: number;
  p99?: number;
  /** Draw → signed over every record with a draw time. */
  signed?: { votes: number; p50?: number; p90?: number; p99?: number };
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

/** Something an on-call engineer should know about: a miss on chain, or a backup's takeover. */
export type StatusIncident =
  | ({ kind: 'missed'; atMs: number } & ChainVerdict)
  | { kind: 'takeover'; atMs: number; ticketHash: string; blockHash: string; height: number; signer: string; voteTxid: string };

/** etcd's health as the admin sees it. */
export interface EtcdStatus {
  reachable: boolean;
  /** When etcd last answered the page's reads. */
  lastOkMs?: number;
  error?: string;
  /** How long this collection's etcd reads took (ms). */
  readMs?: number;
  /** Members and leader, when etcd told (absent: not asked or refused). */
  members?: EtcdMembersView['members'];
  leaderId?: string;
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
  etcd: EtcdStatus;
  /** True when etcd did not answer and the figures are the last ones it gave. */
  stale: boolean;
  regions: string[];
  nodes: NodeStatusView[];
  /** The node proxies the admin dials (asked at every collection, also while etcd is down). */
  proxies: ProxyStatusView[];
  tickets: number;
  /** Tickets with a live owner claim. */
  owned: number;
  /** From the chain judge (absent without a proxy to judge through). */
  chain?: { lastHour: ChainWindow; lastDay: ChainWindow; lastWeek: ChainWindow; sinceMs: number };
  /** The last misses the chain counted and the last takeovers, most recent first. */
  incidents: StatusIncident[];
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
  /** The node proxies to show (their dcrd sessions); none: the section is empty. */
  proxies?: readonly StatusProxy[];
  now?: () => number;
}

const HOUR_MS = 3_600_000;
/** Incidents shown. */
const MAX_INCIDENTS = 20;
/** How long a proxy may take to answer GetStatus for the page. */
const PROXY_STATUS_DEADLINE_MS = 1_500;
/** How long the page waits for etcd before it shows the last figures, marked stale. */
const STATUS_ETCD_TIMEOUT_MS = 2_000;

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
  const live = s.nodes.filter((n) => n.responsive);
  if (!s.etcd.reachable) failing.push(`etcd unreachable${s.etcd.error ? `: ${s.etcd.error}` : ''}`);
  if (s.chain && s.chain.lastHour.missed > 0) failing.push(`${s.chain.lastHour.missed} ticket(s) missed on chain in the last hour`);
  if (s.tickets > 0 && live.length === 0 && !s.stale) failing.push('no voter is live');
  if (s.proxies.length > 0 && !s.proxies.some((p) => p.dcrdState === 'ready')) failing.push('no node proxy has a synced dcrd');
  if (s.tickets > s.owned && s.nodes.length > 0) degraded.push(`${s.tickets - s.owned} managed ticket(s) without an owner`);
  for (const n of s.nodes) {
    if (n.responsive) continue;
    degraded.push(n.lease
      ? `voter ${n.nodeId} has not renewed its lease for ${Math.round(n.lease.sinceRenewalMs / 1000)} s (${n.ownedTickets} owned ticket(s) fall to backups)`
      : `voter ${n.nodeId}'s lease is gone`);
  }
  if (s.chain && s.chain.lastHour.missed === 0 && s.chain.lastDay.missed > 0) degraded.push(`${s.chain.lastDay.missed} ticket(s) missed on chain in the last day`);
  if (!s.bestBlock) degraded.push(`chain tip unknown (${s.chainError ?? 'no proxy'})`);
  if (!s.chain) degraded.push('misses are not judged from the chain (no proxy configured)');
  for (const p of s.proxies) {
    if (!p.reachable) degraded.push(`proxy ${p.address} does not answer${p.error ? `: ${p.error}` : ''}`);
    else if (p.dcrdState !== 'ready') degraded.push(`proxy ${p.address}: dcrd ${p.dcrdState ?? 'unknown'}`);
    else if ((p.lagBlocks ?? 0) > 0) degraded.push(`proxy ${p.address}: dcrd ${p.lagBlocks} block(s) behind`);
  }
  if (s.etcd.reachable && s.etcd.members && s.etcd.leaderId === undefined) degraded.push('etcd has no leader');
  const regionsWithVoters = new Set(live.map((n) => n.region));
  for (const r of s.regions) if (!regionsWithVoters.has(r)) degraded.push(`region ${r} has no live voter`);
  if (failing.length > 0) return { level: 'FAILING', reasons: [...failing, ...degraded] };
  if (degraded.length > 0) return { level: 'DEGRADED', reasons: degraded };
  return { level: 'OK', reasons: [] };
}

/** Asks every proxy for its status (in parallel, each within its deadline); the lag is against the highest tip among them. */
export async function collectProxies(proxies: readonly StatusProxy[]): Promise<ProxyStatusView[]> {
  const views = await Promise.all(proxies.map(async (p): Promise<ProxyStatusView> => {
    const base = { address: p.address, ...(p.region ? { region: p.region } : {}) };
    try {
      const st = await p.getStatus({ deadlineMs: PROXY_STATUS_DEADLINE_MS });
      return {
        ...base, reachable: true, dcrdState: st.dcrd_state, watchers: st.watchers, reconnects: st.reconnects,
        ...(st.best_block ? { bestHeight: st.best_block.height, bestHash: st.best_block.hash } : {}),
        ...(st.last_error ? { error: st.last_error } : {}),
      };
    } catch (err) {
      return { ...base, reachable: false, error: (err as Error).message };
    }
  }));
  const top = Math.max(-1, ...views.map((v) => v.bestHeight ?? -1));
  for (const v of views) if (v.bestHeight !== undefined) v.lagBlocks = top - v.bestHeight;
  return views;
}

/** The incidents: misses judged from the chain and takeovers from the vote records, newest first. */
function incidentsOf(verdicts: readonly ChainVerdict[], votes: readonly VoteRecordView[]): StatusIncident[] {
  const out: StatusIncident[] = [];
  for (let i = verdicts.length - 1; i >= 0 && out.length < MAX_INCIDENTS; i--) {
    const v = verdicts[i] as ChainVerdict;
    if (v.outcome === 'missed') out.push({ kind: 'missed', atMs: v.judgedAtMs, ...v });
  }
  for (const v of votes) {
    if (v.path !== 'takeover') continue;
    out.push({ kind: 'takeover', atMs: v.signedAtMs, ticketHash: v.ticketHash, blockHash: v.blockHash, height: v.height, signer: v.signer, voteTxid: v.voteTxid });
  }
  return out.sort((a, b) => b.atMs - a.atMs || b.height - a.height).slice(0, MAX_INCIDENTS);
}

/** The chain's vote windows at `now` from the judge's verdicts (`{ chain }`), or nothing without a judge. */
function chainWindows(deps: StatusDeps, verdicts: readonly ChainVerdict[], now: number): Pick<AdminStatus, 'chain'> {
  if (!deps.judge) return {};
  return {
    chain: {
      lastHour: windowOf(verdicts, now - HOUR_MS),
      lastDay: windowOf(verdicts, now - 24 * HOUR_MS),
      lastWeek: windowOf(verdicts, now - 7 * 24 * HOUR_MS),
      sinceMs: deps.judge.startedAtMs ?? now,
    },
  };
}

/**
 * The status of a cluster of which etcd has told nothing yet (the page before etcd first
 * answers): marked stale, no nodes, tickets, votes or latency; what does not come from etcd
 * (the proxies' sessions, the chain's verdicts) as given.
 */
export function emptyStatus(
  deps: StatusDeps,
  at: { now: number; etcd: EtcdStatus; regions: string[]; proxies: AdminStatus['proxies']; verdicts: readonly ChainVerdict[] },
): Omit<AdminStatus, 'verdict'> {
  return {
    network: deps.params.name, generatedAtMs: at.now, stale: true, etcd: at.etcd, regions: at.regions, nodes: [], proxies: at.proxies,
    tickets: 0, owned: 0, ...chainWindows(deps, at.verdicts, at.now), incidents: incidentsOf(at.verdicts, []), latency: [], recentVotes: [],
    chainError: 'not asked',
  };
}

/**
 * Collects the status from etcd (and the chain tip and the proxies' sessions when configured).
 * `knownRegions` (kept by the caller) lets a region whose every voter is gone still show.
 */
export async function collectStatus(deps: StatusDeps, recentVotes = 50, knownRegions: Set<string> = new Set()): Promise<AdminStatus> {
  const now = (deps.now ?? Date.now)();
  const proxiesP = collectProxies(deps.proxies ?? []);
  const readStart = Date.now();
  const [nodes, owners, tickets, votes] = await Promise.all([
    deps.store.listNodes(),
    deps.store.listOwners(),
    deps.store.listTickets(),
    deps.store.listVotes(),
  ]);
  const readMs = Date.now() - readStart;
  let members: EtcdMembersView | undefined;
  try {
    members = await deps.store.etcdMembers?.();
  } catch (err) {
    // Shown as "members unknown"; the reads above already proved etcd answers.
    deps.log.debug({ err: { message: (err as Error).message } }, 'status: etcd member list failed');
  }
  const ownedBy = new Map<string, number>();
  for (const nodeId of owners.values()) ownedBy.set(nodeId, (ownedBy.get(nodeId) ?? 0) + 1);
  const managed = new Set(tickets.map((t) => t.ticketHash));
  let owned = 0;
  for (const t of owners.keys()) if (managed.has(t)) owned++;
  for (const n of nodes) knownRegions.add(n.region);
  const proxies = await proxiesP;
  for (const p of proxies) if (p.region) knownRegions.add(p.region);
  const regionOf = new Map(nodes.map((n) => [n.nodeId, n.region]));
  const accepted = new Map<string, number[]>();
  const signed = new Map<string, number[]>();
  const add = (m: Map<string, number[]>, r: string, v: number): void => {
    const list = m.get(r) ?? [];
    list.push(v);
    m.set(r, list);
  };
  for (const v of votes) {
    const r = regionOf.get(v.signer) ?? 'unknown';
    if (v.latencyMs !== undefined) add(accepted, r, v.latencyMs);
    if (v.signedAfterMs !== undefined) add(signed, r, v.signedAfterMs);
  }
  const pcts = (l: readonly number[]): { votes: number; p50?: number; p90?: number; p99?: number } => {
    const sorted = [...l].sort((a, b) => a - b);
    const p50 = nearestRank(sorted, 0.5);
    const p90 = nearestRank(sorted, 0.9);
    const p99 = nearestRank(sorted, 0.99);
    return { votes: sorted.length, ...(p50 !== undefined ? { p50 } : {}), ...(p90 !== undefined ? { p90 } : {}), ...(p99 !== undefined ? { p99 } : {}) };
  };
  const latency: RegionLatency[] = [...new Set([...accepted.keys(), ...signed.keys()])].sort().map((region) => ({
    region, ...pcts(accepted.get(region) ?? []), ...(signed.has(region) ? { signed: pcts(signed.get(region) ?? []) } : {}),
  }));
  const verdicts = deps.judge?.recent() ?? [];
  const base: Omit<AdminStatus, 'verdict'> = {
    network: deps.params.name,
    generatedAtMs: now,
    etcd: {
      reachable: true, lastOkMs: now, readMs,
      ...(members ? { members: members.members, ...(members.leaderId ? { leaderId: members.leaderId } : {}) } : {}),
    },
    stale: false,
    regions: [...knownRegions].sort(),
    nodes: nodes
      .map((n) => ({ ...n, ownedTickets: ownedBy.get(n.nodeId) ?? 0, responsive: n.lease !== undefined && n.lease.sinceRenewalMs < LEASE_UNRENEWED_MS }))
      .sort((a, b) => a.region.localeCompare(b.region) || a.nodeId.localeCompare(b.nodeId)),
    proxies,
    tickets: tickets.length,
    owned,
    ...chainWindows(deps, verdicts, now),
    incidents: incidentsOf(verdicts, votes),
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

/**
 * Collects status with a deadline, keeping the last good answer: when etcd does not answer
 * within `timeoutMs`, the last status comes back marked stale with etcd unreachable (verdict
 * FAILING), and the next collection that succeeds replaces it.
 */
export function createStatusCache(deps: StatusDeps, opts: { recentVotes: number; timeoutMs?: number }): { get(): Promise<AdminStatus> } {
  const knownRegions = new Set<string>();
  const timeoutMs = opts.timeoutMs ?? STATUS_ETCD_TIMEOUT_MS;
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
        // What does not come from etcd is current: the proxies' sessions and the chain's verdicts.
        const proxies = await collectProxies(deps.proxies ?? []);
        const verdicts = deps.judge?.recent() ?? [];
        const etcd: EtcdStatus = { reachable: false, ...(last?.etcd.lastOkMs ? { lastOkMs: last.etcd.lastOkMs } : {}), error: (err as Error).message };
        const prev: Omit<AdminStatus, 'verdict'> = last
          ? { ...last, generatedAtMs: now, stale: true, etcd, proxies, ...chainWindows(deps, verdicts, now), incidents: incidentsOf(verdicts, last.recentVotes) }
          : emptyStatus(deps, { now, etcd, regions: [...knownRegions], proxies, verdicts });
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
