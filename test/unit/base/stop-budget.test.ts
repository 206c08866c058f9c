import { describe, expect, it } from 'vitest';
import { MAX_STREAM_DRAIN_MS, SHUTDOWN_DEADLINE_MS, STOP_BUDGET_MS, VOTER_STOP_WORST_MS } from '../../../services/base/index.ts';
import { DEFAULT_SHUTDOWN_CAP_MS } from '../../../services/cli/lifecycle.ts';
import { LEASE_REVOKE_AT_STOP_MS } from '../../../services/cluster/membership.ts';
import { WATCH_STOP_WAIT_MS } from '../../../services/cluster/watch-cache.ts';
import { DEFAULT_STOP_FLUSH_MS } from '../../../services/voter/record-queue.ts';

describe('stop budget', () => {
  it('the voter stop path, every bounded wait spent in full, ends before the shutdown deadline', () => {
    expect(VOTER_STOP_WORST_MS).toBeLessThan(SHUTDOWN_DEADLINE_MS);
  });

  it('the node proxy stop path (longest drain, then the gRPC server) ends before the shutdown deadline', () => {
    expect(MAX_STREAM_DRAIN_MS + STOP_BUDGET_MS.grpcServerClose).toBeLessThanOrEqual(SHUTDOWN_DEADLINE_MS);
  });

  it('the services spend the named shares, and the CLI enforces the same deadline', () => {
    expect(DEFAULT_SHUTDOWN_CAP_MS).toBe(SHUTDOWN_DEADLINE_MS);
    expect(LEASE_REVOKE_AT_STOP_MS).toBe(STOP_BUDGET_MS.leaseRevoke);
    expect(WATCH_STOP_WAIT_MS).toBe(STOP_BUDGET_MS.watchCancel);
    expect(DEFAULT_STOP_FLUSH_MS).toBe(STOP_BUDGET_MS.recordFlush);
  });
});
