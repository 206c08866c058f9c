/**
 * services/voter: the stateless voter. Watches every node proxy, dedupes
 * draws by block hash, and for each drawn ticket it manages: the owner signs
 * from its cache and fans the vote out to every proxy at once, then records
 * it; backups wait rank × hedge for the record and otherwise race the
 * create-if-absent record. See README.md and docs/architecture.md.
 */

/**
 * The voter's options (zod): node id, region, network, etcd endpoints,
 * proxies (local first), cluster key file, hedge, lease TTL, strategy,
 * re-send and staleness bounds, metrics and trace options.
 */
export { VoterConfigSchema, ProxyConfigSchema, parseVoterConfig, VOTER_SECRET_FIELDS, VOTER_STRATEGIES } from './config.ts';
/** Named defaults of {@link VoterConfigSchema}. */
export {
  DEFAULT_HEDGE_MS,
  DEFAULT_LEASE_TTL_SEC,
  DEFAULT_LEASE_MAX_AGE_MS,
  DEFAULT_WATCH_MAX_AGE_MS,
  DEFAULT_RESEND_INTERVAL_MS,
  DEFAULT_MAX_VOTE_AGE_BLOCKS,
  DEFAULT_SEND_DEADLINE_MS,
  DEFAULT_DEDUPE_CAPACITY,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_MAX_MS,
  DEFAULT_REDUNDANCY_TARGET,
} from './config.ts';
export type { VoterConfig, VoterConfigInput, ProxyConfig, VoterStrategy } from './config.ts';

/**
 * Creates a voter: `start()` joins the cluster and starts every loop,
 * `stop()` awaits them and leaves, `stats()` reports counters (duties,
 * outcomes, takeovers, broadcasts per proxy, records, claims, latencies).
 * Throws VoterConfigError for a bad config.
 */
export { createVoter } from './voter.ts';
export type { Voter, VoterDeps, VoterStats, DutyEvent } from './voter.ts';

/** Pure building blocks, exported for the bench and the demo. */
export { planDuty, signerOrder } from './duty-plan.ts';
/** The trace a duty continues (per-ticket `proxy.notify` context, first arrival), and the voter's span service name. */
export { ticketTraceparent } from './duty.ts';
export { VOTER_TRACE_SERVICE } from './voter.ts';
export type { DutyPlan, DutyPath, SlowPathReason } from './duty-plan.ts';
/** Region signers of a canonical draw: a region's voters in rank order for a ticket, and one voter's plan (region-plan.ts). */
export { coveringRegion, planRegion, regionOrder, uncoveredRegions } from './region-plan.ts';
export type { RegionPlan, RegionPlanInput } from './region-plan.ts';
export { voteBitsFromChoices, selectChoices, VOTE_BITS_PREV_VALID } from './vote-factory.ts';
export type { DutyOutcome } from './duty-common.ts';
export type { DeliveryStats } from './vote-delivery.ts';
/** The learned hedge as `stats().hedge` reports it (hedge.ts). */
export type { HedgeStatus, RegionHedge } from './hedge.ts';

/** Errors (codes `VOTER_*`). */
export {
  VoterError,
  VoterConfigError,
  ClusterKeyFileError,
  ChainEventError,
  TicketNotManagedError,
  RecordUnavailableError,
  VoterStateError,
  VoterAgendasUnknownError,
  VoterVoteVersionCorruptError,
} from './errors.ts';
