/**
 * The process stop deadline and how the stop paths spend it. A supervisor (or an
 * operator's Ctrl-C) gets the process down within {@link SHUTDOWN_DEADLINE_MS};
 * every bounded wait on a stop path is a named share of it, so the shares can be
 * checked against the deadline in one place (test/unit/base/stop-budget.test.ts)
 * instead of being numbers in five files that must add up by luck.
 *
 * Voter stop, in order: claims handed over ({@link STOP_BUDGET_MS}.claimHandover),
 * then aborted duties and the other loops together (dutyGrace), then queued records
 * flushed (recordFlush), then the etcd watch caches (watchCancel) and last the lease
 * revoke (leaseRevoke). Node proxy stop: streams drained (its `drainMs`, at most
 * {@link MAX_STREAM_DRAIN_MS}), then the gRPC server (grpcServerClose).
 */

/** From the stop signal to process exit; past it the process exits with code 1. */
export const SHUTDOWN_DEADLINE_MS = 5_000;

/** Shares of {@link SHUTDOWN_DEADLINE_MS} spent by the bounded waits of the stop paths, in ms. */
export const STOP_BUDGET_MS = {
  /** Voter: hand every claim to its next signer (one batched txn round). */
  claimHandover: 750,
  /** Voter: aborted duties still inside an etcd txn or a proxy query. */
  dutyGrace: 1_000,
  /** Voter: write queued and in-flight vote records. */
  recordFlush: 1_000,
  /** Cluster: cancel each watch and wait for a resync in progress (the caches stop together). */
  watchCancel: 500,
  /** Cluster: revoke the session lease (left to expire by its TTL after this). */
  leaseRevoke: 500,
  /** gRPC servers: graceful close before open streams are forced shut. */
  grpcServerClose: 1_000,
} as const;

/** Upper bound of a node proxy's configurable stream drain at stop. */
export const MAX_STREAM_DRAIN_MS = 4_000;

/** The voter's stop path, summed in the order it spends its shares (must stay below the deadline). */
export const VOTER_STOP_WORST_MS =
  STOP_BUDGET_MS.claimHandover + STOP_BUDGET_MS.dutyGrace + STOP_BUDGET_MS.recordFlush + STOP_BUDGET_MS.watchCancel + STOP_BUDGET_MS.leaseRevoke;
