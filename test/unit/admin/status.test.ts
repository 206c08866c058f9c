/**
 * The status page's verdict and HTML from a given status (pure functions): which conditions
 * make it DEGRADED or FAILING and why, and that the page shows (escaped) what the data says.
 */
import { describe, expect, it } from 'vitest';
import { renderStatusHtml, statusVerdict, type AdminStatus, type NodeStatusView, type ProxyStatusView } from '../../../services/admin/index.ts';

const NOW = 1_800_000_000_000;

function node(nodeId: string, region: string, o: Partial<NodeStatusView> = {}): NodeStatusView {
  return { nodeId, region, proxies: [], version: '1', startedMs: NOW - 60_000, ownedTickets: 2, responsive: true, lease: { ttlSec: 20, sinceRenewalMs: 1_000 }, ...o };
}

function proxy(address: string, region: string, o: Partial<ProxyStatusView> = {}): ProxyStatusView {
  return { address, region, reachable: true, dcrdState: 'ready', bestHeight: 100, lagBlocks: 0, watchers: 2, reconnects: 0, ...o };
}

function base(o: Partial<Omit<AdminStatus, 'verdict'>> = {}): Omit<AdminStatus, 'verdict'> {
  return {
    network: 'simnet', generatedAtMs: NOW, etcd: { reachable: true, lastOkMs: NOW, readMs: 3, members: [{ id: '1', name: 'm0', clientUrls: ['http://127.0.0.1:2379'], leader: true }], leaderId: '1' },
    stale: false, regions: ['a', 'b'], nodes: [node('a1', 'a'), node('b1', 'b')], proxies: [proxy('127.0.1.2:1', 'a'), proxy('127.0.2.2:1', 'b')],
    tickets: 4, owned: 4, bestBlock: { hash: 'ab'.repeat(32), height: 100 },
    chain: { lastHour: { voted: 10, missed: 0 }, lastDay: { voted: 10, missed: 0 }, lastWeek: { voted: 10, missed: 0 }, sinceMs: NOW - 3_600_000 },
    incidents: [], latency: [], recentVotes: [], ...o,
  };
}

describe('statusVerdict', () => {
  it('OK when every region has a live voter, every proxy is synced at the tip, nothing missed', () => {
    expect(statusVerdict(base())).toEqual({ level: 'OK', reasons: [] });
  });

  it('DEGRADED naming a voter that stopped renewing its lease, with its owned tickets, and its region', () => {
    const v = statusVerdict(base({ nodes: [node('a1', 'a'), node('b1', 'b', { responsive: false, lease: { ttlSec: 20, sinceRenewalMs: 7_000 }, ownedTickets: 3 })] }));
    expect(v.level).toBe('DEGRADED');
    expect(v.reasons).toEqual(['voter b1 has not renewed its lease for 7 s (3 owned ticket(s) fall to backups)', 'region b has no live voter']);
  });

  it('DEGRADED for a proxy behind, unsynced or silent; FAILING when no proxy has a synced dcrd', () => {
    const v = statusVerdict(base({ proxies: [proxy('p1', 'a', { lagBlocks: 2, bestHeight: 98 }), proxy('p2', 'b', { reachable: false, dcrdState: undefined, error: 'deadline' })] }));
    expect(v.level).toBe('DEGRADED');
    expect(v.reasons).toEqual(['proxy p1: dcrd 2 block(s) behind', 'proxy p2 does not answer: deadline']);
    const none = statusVerdict(base({ proxies: [proxy('p1', 'a', { dcrdState: 'syncing' })] }));
    expect(none.level).toBe('FAILING');
    expect(none.reasons).toEqual(['no node proxy has a synced dcrd', 'proxy p1: dcrd syncing']);
  });

  it('FAILING for a miss on chain in the last hour and for etcd unreachable; DEGRADED for etcd without a leader', () => {
    expect(statusVerdict(base({ chain: { lastHour: { voted: 9, missed: 1 }, lastDay: { voted: 9, missed: 1 }, lastWeek: { voted: 9, missed: 1 }, sinceMs: NOW } })).reasons)
      .toEqual(['1 ticket(s) missed on chain in the last hour']);
    expect(statusVerdict(base({ etcd: { reachable: false, error: 'timeout' }, stale: true })).reasons[0]).toBe('etcd unreachable: timeout');
    expect(statusVerdict(base({ etcd: { reachable: true, members: [{ id: '1', name: 'm0', clientUrls: [], leader: false }] } }))).toEqual({ level: 'DEGRADED', reasons: ['etcd has no leader'] });
  });
});

describe('renderStatusHtml', () => {
  it('shows each proxy, voter lease age, incident reason and vote latency, escaped', () => {
    const s = base({
      nodes: [node('a1', 'a'), node('b<1>', 'b', { responsive: false, lease: { ttlSec: 20, sinceRenewalMs: 6_000 } })],
      incidents: [
        { kind: 'missed', atMs: NOW - 5_000, ticketHash: 'cd'.repeat(32), blockHash: 'ef'.repeat(32), height: 99, outcome: 'missed', reason: 'unvotable', judgedIn: '00'.repeat(32), judgedAtMs: NOW - 5_000 },
        { kind: 'takeover', atMs: NOW - 9_000, ticketHash: '12'.repeat(32), blockHash: '34'.repeat(32), height: 98, signer: 'a1', voteTxid: '56'.repeat(32) },
      ],
      recentVotes: [{ ticketHash: '78'.repeat(32), blockHash: '9a'.repeat(32), height: 99, voteTxid: 'bc'.repeat(32), signer: 'a1', signedAtMs: NOW, signedAfterMs: 4, latencyMs: 12.4, path: 'fast' }],
      latency: [{ region: 'a', votes: 1, p50: 12, p90: 12, p99: 12, signed: { votes: 1, p50: 4, p99: 4 } }],
    });
    const html = renderStatusHtml({ ...s, verdict: statusVerdict(s) });
    expect(html).toContain('data-level="DEGRADED"');
    expect(html).toContain('<tr data-proxy="127.0.1.2:1" data-state="ready"><td>a</td><td>127.0.1.2:1</td><td>ready</td><td>100</td><td>0 block(s)</td>');
    expect(html).toContain('data-node="b&#60;1&#62;" data-responsive="false" class="bad"><td>b</td><td>b&#60;1&#62;</td><td>not renewing its lease</td><td>6 s (TTL 20 s)</td>');
    expect(html).not.toContain('b<1>');
    expect(html).toMatch(/data-kind="missed" data-ticket="(cd)+" data-reason="unvotable"><td>missed<\/td><td>99<\/td>/);
    expect(html).toMatch(/data-kind="takeover"[^>]*><td>takeover<\/td><td>98<\/td>.*<td>voted by backup a1<\/td>/);
    expect(html).toContain('<td>a1</td><td>fast</td><td>12 ms</td>');
    expect(html).toContain('<td>12 ms</td><td>12 ms</td><td>12 ms</td><td>4 ms / 4 ms</td>');
    expect(html).toContain('leader elected');
  });
});
