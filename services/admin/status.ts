/**
 * The status page of an admin service: regions, nodes, owners
 * and recent votes with latency. `GET /status.json` is the data, `GET /` the
 * same data as a small self-contained HTML page (no scripts, auto-refresh).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NetParams } from '../decred/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { ChainLookup, ChainTip, NodeView, TicketStore, VoteRecordView } from './ports.ts';

/** One node on the status page. */
export interface NodeStatusView extends NodeView {
  ownedTickets: number;
}

/** Everything the status page shows. */
export interface AdminStatus {
  network: string;
  generatedAtMs: number;
  bestBlock?: { hash: string; height: number };
  /** Why the best block is missing (no proxy, lookup failed). */
  chainError?: string;
  regions: string[];
  nodes: NodeStatusView[];
  tickets: number;
  /** Tickets with a live owner claim. */
  owned: number;
  /** Most recent first. */
  recentVotes: VoteRecordView[];
}

/** What the status collector needs. */
export interface StatusDeps {
  store: TicketStore;
  chain?: ChainLookup;
  params: NetParams;
  log: Logger;
}

/** Collects the status from etcd (and the chain tip through the proxy when configured). */
export async function collectStatus(deps: StatusDeps, recentVotes = 50): Promise<AdminStatus> {
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
  const status: AdminStatus = {
    network: deps.params.name,
    generatedAtMs: Date.now(),
    regions: [...new Set(nodes.map((n) => n.region))].sort(),
    nodes: nodes
      .map((n) => ({ ...n, ownedTickets: ownedBy.get(n.nodeId) ?? 0 }))
      .sort((a, b) => a.region.localeCompare(b.region) || a.nodeId.localeCompare(b.nodeId)),
    tickets: tickets.length,
    owned,
    recentVotes: [...votes]
      .sort((a, b) => b.height - a.height || b.signedAtMs - a.signedAtMs)
      .slice(0, recentVotes),
  };
  if (deps.chain) {
    try {
      const tip: ChainTip = await deps.chain.getBestBlock();
      status.bestBlock = { hash: tip.hash, height: tip.height };
    } catch (err) {
      // The page still shows everything etcd knows; the missing tip is explained on it.
      deps.log.warn({ err }, 'status: best block lookup failed');
      status.chainError = (err as Error).message;
    }
  } else {
    status.chainError = 'no node proxy configured';
  }
  return status;
}

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function short(h: string): string {
  return h.length > 16 ? `${h.slice(0, 8)}…${h.slice(-6)}` : h;
}

/** Renders the status as an HTML page. */
export function renderStatusHtml(s: AdminStatus): string {
  const rows = (cells: unknown[][]): string =>
    cells.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('\n');
  const nodes = rows(s.nodes.map((n) => [n.region, n.nodeId, n.ownedTickets, n.proxies.join(', '), n.version, new Date(n.startedMs).toISOString()]));
  const votes = rows(
    s.recentVotes.map((v) => [v.height, short(v.blockHash), short(v.ticketHash), short(v.voteTxid), v.signer, v.latencyMs === undefined ? '' : `${v.latencyMs.toFixed(1)} ms`]),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>votecluster ${esc(s.network)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}</style>
</head><body>
<h1>votecluster — ${esc(s.network)}</h1>
<p>Best block: ${s.bestBlock ? `${esc(s.bestBlock.height)} (${esc(short(s.bestBlock.hash))})` : `unknown (${esc(s.chainError ?? '')})`}.
Regions: ${esc(s.regions.join(', ') || 'none')}. Tickets: ${esc(s.tickets)}, owned: ${esc(s.owned)}.</p>
<h2>Nodes</h2>
<table><tr><th>region</th><th>node</th><th>owned</th><th>proxies</th><th>version</th><th>started</th></tr>
${nodes}</table>
<h2>Recent votes</h2>
<table><tr><th>height</th><th>block</th><th>ticket</th><th>vote txid</th><th>signer</th><th>latency</th></tr>
${votes}</table>
<p><a href="/status.json">status.json</a> · generated ${esc(new Date(s.generatedAtMs).toISOString())}</p>
</body></html>
`;
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
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/' && path !== '/status.json')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    collectStatus(deps, opts.recentVotes).then(
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
