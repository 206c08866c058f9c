/**
 * The status cache before etcd has ever answered: the page shows an empty, stale status
 * (no nodes, tickets or votes), verdict FAILING with the reason, and the chain's windows
 * from the judge, which does not depend on etcd.
 */
import { describe, expect, it } from 'vitest';
import { createStatusCache, type StatusDeps, type TicketStore } from '../../../services/admin/index.ts';
import { netParams } from '../../../services/decred/index.ts';
import { createLogger } from '../../../services/telemetry/index.ts';

/** A store whose etcd never answers. */
const silent = new Proxy({}, { get: () => () => new Promise(() => {}) }) as TicketStore;

describe('status cache', () => {
  it('before etcd first answers: an empty status marked stale, FAILING, with the chain windows', async () => {
    const now = 10 * 3_600_000;
    const deps: StatusDeps = {
      store: silent,
      params: netParams('simnet'),
      log: createLogger({ service: 'test', level: 'silent' }),
      judge: { recent: () => [], startedAtMs: now - 1_000 },
      now: () => now,
    };
    const s = await createStatusCache(deps, { recentVotes: 10, timeoutMs: 20 }).get();
    expect(s).toMatchObject({
      network: 'simnet', generatedAtMs: now, stale: true, nodes: [], proxies: [], tickets: 0, owned: 0,
      latency: [], recentVotes: [], incidents: [], chainError: 'not asked',
      etcd: { reachable: false, error: 'etcd did not answer within 20 ms' },
      chain: { lastHour: { voted: 0, missed: 0 }, sinceMs: now - 1_000 },
    });
    expect(s.verdict.level).toBe('FAILING');
    expect(s.verdict.reasons[0]).toMatch(/^etcd unreachable/);
  });
});
