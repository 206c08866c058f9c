/**
 * The status page as HTML: server-rendered, self-contained (no external resources, no
 * script), refreshing itself every 5 s. Every table has an id and every row the node,
 * proxy or ticket it shows (`data-*`), so a browser test or a scraper can find them.
 */
import type { AdminStatus, ChainWindow } from './status.ts';

function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function short(h: string): string {
  return h.length > 16 ? `${h.slice(0, 8)}…${h.slice(-6)}` : h;
}

const ms = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(0)} ms`);
const ago = (t: number, now: number): string => {
  const s = Math.max(0, Math.round((now - t) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

/** A table row; `attrs` are data attributes of the row. */
function row(cells: unknown[], attrs: Record<string, string> = {}, cls = ''): string {
  const a = Object.entries(attrs).map(([k, v]) => ` data-${k}="${esc(v)}"`).join('');
  return `<tr${a}${cls ? ` class="${cls}"` : ''}>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
}

/** Renders the status as an HTML page (server-rendered, refreshes itself every 5 s). */
export function renderStatusHtml(s: AdminStatus): string {
  const now = s.generatedAtMs;
  const regions = s.regions.map((r) => {
    const voters = s.nodes.filter((n) => n.region === r);
    const live = voters.filter((n) => n.responsive);
    const proxies = s.proxies.filter((p) => p.region === r);
    const lat = s.latency.find((l) => l.region === r);
    return row([
      r, `${live.length} of ${voters.length}`, voters.reduce((a, n) => a + n.ownedTickets, 0),
      proxies.map((p) => `${p.address} ${p.dcrdState ?? 'unreachable'}`).join(', ') || '–',
      lat?.votes ?? 0, ms(lat?.p50), ms(lat?.p90), ms(lat?.p99), `${ms(lat?.signed?.p50)} / ${ms(lat?.signed?.p99)}`,
    ], { region: r });
  }).join('\n');
  const proxies = s.proxies.map((p) => row([
    p.region ?? '–', p.address, p.reachable ? (p.dcrdState ?? '?') : 'unreachable',
    p.bestHeight ?? '–', p.lagBlocks === undefined ? '–' : `${p.lagBlocks} block(s)`, p.watchers ?? '–', p.reconnects ?? '–', p.error ?? '',
  ], { proxy: p.address, state: p.reachable ? (p.dcrdState ?? '') : 'unreachable' }, p.reachable && p.dcrdState === 'ready' && !p.lagBlocks ? '' : 'bad')).join('\n');
  const nodes = s.nodes.map((n) => row([
    n.region, n.nodeId, n.responsive ? 'live' : 'not renewing its lease',
    n.lease ? `${Math.round(n.lease.sinceRenewalMs / 1000)} s (TTL ${n.lease.ttlSec} s)` : 'gone',
    n.ownedTickets, n.proxies.join(', '), n.version, ago(n.startedMs, now),
  ], { node: n.nodeId, responsive: String(n.responsive) }, n.responsive ? '' : 'bad')).join('\n');
  const votes = s.recentVotes.map((v) => row([
    v.height, short(v.blockHash), short(v.ticketHash), short(v.voteTxid), v.signer, v.path ?? '',
    v.latencyMs !== undefined ? ms(v.latencyMs) : v.signedAfterMs !== undefined ? `signed after ${ms(v.signedAfterMs)}` : '',
  ], { ticket: v.ticketHash })).join('\n');
  const incidents = s.incidents.map((i) => row(
    i.kind === 'missed'
      ? ['missed', i.height, short(i.blockHash), short(i.ticketHash), i.reason ?? 'unknown', ago(i.atMs, now)]
      : ['takeover', i.height, short(i.blockHash), short(i.ticketHash), `voted by backup ${i.signer}`, ago(i.atMs, now)],
    { kind: i.kind, ticket: i.ticketHash, ...(i.kind === 'missed' ? { reason: i.reason ?? 'unknown' } : {}) },
  )).join('\n');
  const members = (s.etcd.members ?? []).map((m) => row([m.name, m.id, m.clientUrls.join(', '), m.leader ? 'leader' : ''], { member: m.name })).join('\n');
  const win = (w: ChainWindow | undefined): string => (w ? `${w.voted} voted, ${w.missed} missed` : 'not judged');
  const colour = { OK: '#1a7f37', DEGRADED: '#9a6700', FAILING: '#cf222e' }[s.verdict.level];
  const etcdLine = s.etcd.reachable
    ? `reachable (reads ${s.etcd.readMs ?? '?'} ms${s.etcd.members ? `, ${s.etcd.members.length} member(s), ${s.etcd.leaderId ? 'leader elected' : 'NO LEADER'}` : ''})`
    : `unreachable${s.etcd.error ? ` (${s.etcd.error})` : ''}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>${esc(s.verdict.level)} · votecluster ${esc(s.network)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}
#verdict{color:#fff;background:${colour};padding:.6em 1em;font-size:1.4em;border-radius:4px}#verdict ul{font-size:.7em;margin:.3em 0 0}.stale{background:#fff8c5;padding:.4em .8em}tr.bad td{background:#ffebe9}</style>
</head><body>
<h1>votecluster — ${esc(s.network)}</h1>
<div id="verdict" data-level="${esc(s.verdict.level)}">${esc(s.verdict.level)}${s.verdict.reasons.length ? `<ul>${s.verdict.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>` : ''}</div>
${s.stale ? `<p class="stale" id="stale">etcd is unreachable: the figures below are the last it gave (${esc(s.etcd.lastOkMs ? ago(s.etcd.lastOkMs, now) : 'never')}); proxies and the chain's verdicts are current.</p>` : ''}
<p>Best block: ${s.bestBlock ? `${esc(s.bestBlock.height)} (${esc(short(s.bestBlock.hash))})` : `unknown (${esc(s.chainError ?? '')})`}.
etcd: <span id="etcd">${esc(etcdLine)}</span>. Tickets: ${esc(s.tickets)}, owned: ${esc(s.owned)}.</p>
<h2>From the chain</h2>
<table id="chain"><tr><th>last hour</th><th>last day</th><th>last week</th></tr>
<tr><td>${esc(win(s.chain?.lastHour))}</td><td>${esc(win(s.chain?.lastDay))}</td><td>${esc(win(s.chain?.lastWeek))}</td></tr></table>
<h2>Regions</h2>
<table id="regions"><tr><th>region</th><th>live voters</th><th>owned</th><th>proxies (dcrd)</th><th>votes measured</th><th>draw → accepted p50</th><th>p90</th><th>p99</th><th>draw → signed p50 / p99</th></tr>
${regions}</table>
<h2>Node proxies</h2>
<table id="proxies"><tr><th>region</th><th>proxy</th><th>dcrd session</th><th>tip</th><th>lag</th><th>streams</th><th>reconnects</th><th>last error</th></tr>
${proxies}</table>
<h2>Voters</h2>
<table id="nodes"><tr><th>region</th><th>node</th><th>state</th><th>lease renewed</th><th>owned</th><th>proxies</th><th>version</th><th>started</th></tr>
${nodes}</table>
<h2>etcd</h2>
<table id="etcd-members"><tr><th>member</th><th>id</th><th>client URLs</th><th>role</th></tr>
${members}</table>
<h2>Incidents</h2>
<table id="incidents"><tr><th>what</th><th>height</th><th>block</th><th>ticket</th><th>reason</th><th>when</th></tr>
${incidents}</table>
<h2>Recent votes</h2>
<table id="votes"><tr><th>height</th><th>block</th><th>ticket</th><th>vote txid</th><th>signer</th><th>path</th><th>draw → accepted</th></tr>
${votes}</table>
<p><a href="/status.json">status.json</a> · generated ${esc(new Date(s.generatedAtMs).toISOString())}</p>
</body></html>
`;
}
