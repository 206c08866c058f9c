/**
 * The voter's configuration schema: the one place its options, defaults and
 * bounds are declared. `services/cli/config.ts` loads file/env/flags into it;
 * embedders (the demo, the chaos suite) call {@link parseVoterConfig}.
 */
import { z } from 'zod';
import { TlsFilesSchema } from '../security/index.ts';
import { VoterConfigError } from './errors.ts';

/** Backup rank k waits k × hedge for the owner's vote record (docs/architecture.md, invariant 4). */
export const DEFAULT_HEDGE_MS = 250;
/** The voting strategies (`VoterConfig.strategy`). */
export const VOTER_STRATEGIES = ['lease', 'single-signer', 'all-vote'] as const;
/** One of {@link VOTER_STRATEGIES}. */
export type VoterStrategy = (typeof VOTER_STRATEGIES)[number];
/** Whether the strategy claims tickets and hedges (one signer per ticket for non-canonical draws). */
export const usesClaims = (s: VoterStrategy): boolean => s !== 'all-vote';
/**
 * Session lease TTL. Long enough that a 10 s etcd outage does not lose the lease
 * client-side (etcd3 declares a lease lost one TTL after its last confirmed
 * keepalive, and keepalives go out every TTL/3); failover never waits for it
 * (backups take over after rank × hedge).
 */
export const DEFAULT_LEASE_TTL_SEC = 20;
/**
 * An owner whose last successful lease keepalive is older than this does not use the
 * fast path (invariant 5). It must be longer than a short etcd outage (the fault
 * table requires owners to keep voting while etcd is down for 10 s) and it bounds how
 * long a partitioned owner keeps signing alone.
 */
export const DEFAULT_LEASE_MAX_AGE_MS = 18_000;
/** Same bound for the ticket watch (time since the cache was last known to be current). */
export const DEFAULT_WATCH_MAX_AGE_MS = 18_000;
/** Interval of the re-send loop for votes not yet confirmed by every proxy. */
export const DEFAULT_RESEND_INTERVAL_MS = 1_000;
/** A vote on height h is dropped once the tip is more than h + this many blocks. */
export const DEFAULT_MAX_VOTE_AGE_BLOCKS = 2;
/** Deadline of one SendVote call through one proxy. */
export const DEFAULT_SEND_DEADLINE_MS = 2_000;
/** How many block hashes the event deduper remembers (bounded memory). */
export const DEFAULT_DEDUPE_CAPACITY = 4_096;
/** Base delay of the bounded, jittered backoff for reconnecting a proxy stream or retrying a record. */
export const DEFAULT_RETRY_BASE_MS = 100;
/** Upper bound of that backoff. */
export const DEFAULT_RETRY_MAX_MS = 2_000;
/** Default live voters per region the operator wants (alerted on when fewer are up). */
export const DEFAULT_REDUNDANCY_TARGET = 2;

/**
 * The voter's fixed timings (not configurable), each with what it is for. The stop path's
 * bounds are shares of the process stop deadline (services/base/stop-budget.ts).
 */
export const VOTER_TIMING = {
  /**
   * Extra lease confirmations (cluster `leaseConfirmIntervalMs`): the lease age then lags the truth
   * by at most ~1 s instead of TTL/3, so an owner keeps the fast path through an etcd outage almost
   * as long as `staleness.leaseMaxAgeMs` (owners keep voting while quorum is lost).
   */
  leaseConfirmIntervalMs: 1_000,
  /**
   * etcd counts as healthy for a backup's hedge (no extra read at the deadline) while the lease was
   * confirmed this recently (2.5 confirmations).
   */
  etcdHealthyLeaseAgeMs: 2_500,
  /**
   * A claim holder whose draw is not canonical reads fresh inputs first (record-first) only while
   * its lease was confirmed this recently (1.5 confirmations); an older confirmation means etcd is
   * likely not answering, and the owner keeps the outage fast path instead of waiting out a read.
   */
  freshInputsLeaseAgeMs: 1_500,
  /**
   * Early release of standby copies after this many hedges (vote-delivery.ts `standbyCheckMs`): by
   * then the owner's own send has been answered (its record follows its first answers), so a dcrd
   * still without the vote will not get it from the owner. A count of hedges, not ms.
   */
  standbyCheckHedges: 2,
  /** The mined/missed lookups for block X wait this long after X's child connects (the child's own votes go first). */
  missedCheckDelayMs: 1_000,
  /** Debounce of change-triggered claim sweeps (a burst of released claims becomes one sweep). */
  claimDebounceMs: 100,
  /** Safety-net claim sweep interval (a sweep ranks the owner of 100k tickets in ~20-30 ms CPU, in 1,000-ticket chunks). */
  claimPeriodMs: 5_000,
  /** Start-up: claims wait for the first proxy stream (a voter with no proxy cannot vote its claims); a warning every this long. */
  claimStreamWarnMs: 5_000,
  /** How often the ownership gauges (owned, managed, unowned tickets) are refreshed. */
  gaugeRefreshMs: 2_000,
} as const;

const NODE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const HOST_PORT_RE = /^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

/** One node proxy: its gRPC address (`host:port`) and the region it sits in. */
export const ProxyConfigSchema = z.object({
  address: z.string().regex(HOST_PORT_RE, 'expected host:port'),
  region: z.string().min(1).max(64),
});

/** The voter's options. Secret material arrives only as a file path (`clusterKeyFile`). */
export const VoterConfigSchema = z.object({
  /** Unique id of this voter in the cluster (etcd `nodes/<nodeId>`). */
  nodeId: z.string().regex(NODE_ID_RE, 'letters, digits, _ . - (max 63)'),
  /** Region label; ownership is region-aware. */
  region: z.string().min(1).max(64),
  network: z.enum(['mainnet', 'testnet3', 'simnet', 'regnet']),
  etcd: z.object({
    endpoints: z.array(z.string().url()).min(1),
    dialTimeoutMs: z.number().int().positive().default(3_000),
    /** etcd user of voters (`votecluster-voter`, made by `votecluster etcd init`). */
    username: z.string().min(1).max(128).optional(),
    /** File holding that user's password (mode 0600). Secret. */
    passwordFile: z.string().min(1).optional(),
    /** PEM CA of etcd's server certificate (the cluster CA). */
    caFile: z.string().min(1).optional(),
    /** PEM client certificate for etcd, and its key (secret). */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  }),
  /** Node proxies, the local region's first; every one is watched and every vote goes to all. */
  proxies: z.array(ProxyConfigSchema).min(1),
  /**
   * Mutual TLS to the node proxies: the cluster CA the proxies' certificates must be issued by
   * (and name the dialled address), and this voter's client certificate and key. Files are
   * re-read when they change. Without it the voter dials plaintext.
   */
  tls: TlsFilesSchema.optional(),
  /** File holding the 32-byte cluster key (hex or raw) that decrypts voting keys. Secret. */
  clusterKeyFile: z.string().min(1),
  /**
   * The next cluster key during a rotation (`votecluster key rotate`): read when the rotation
   * starts (the file may be put in place while the voter runs); absent outside a rotation.
   */
  nextClusterKeyFile: z.string().min(1).optional(),
  hedgeMs: z.number().int().min(0).max(60_000).default(DEFAULT_HEDGE_MS),
  leaseTtlSec: z.number().int().min(2).max(300).default(DEFAULT_LEASE_TTL_SEC),
  /**
   * `lease` (the design): a draw whose vote is canonical (a pure function of the chain and of
   * cluster state committed before the draw) is signed at once by the best-ranked live voter of
   * EVERY region, each sending to its own region's dcrd (region-plan.ts); any other draw has one
   * signer per ticket (claim holder's fast path, hedged backups, record-first).
   * `single-signer`: one signer per ticket for every draw (for comparison).
   * `all-vote`: every replica votes (vspd's behaviour, for comparison).
   */
  strategy: z.enum(VOTER_STRATEGIES).default('lease'),
  resendIntervalMs: z.number().int().min(10).max(60_000).default(DEFAULT_RESEND_INTERVAL_MS),
  maxVoteAgeBlocks: z.number().int().min(1).max(100).default(DEFAULT_MAX_VOTE_AGE_BLOCKS),
  sendDeadlineMs: z.number().int().min(10).max(60_000).default(DEFAULT_SEND_DEADLINE_MS),
  staleness: z
    .object({
      leaseMaxAgeMs: z.number().int().positive().default(DEFAULT_LEASE_MAX_AGE_MS),
      watchMaxAgeMs: z.number().int().positive().default(DEFAULT_WATCH_MAX_AGE_MS),
    })
    .prefault({}),
  dedupeCapacity: z.number().int().min(16).max(1_000_000).default(DEFAULT_DEDUPE_CAPACITY),
  retry: z
    .object({
      baseMs: z.number().int().positive().default(DEFAULT_RETRY_BASE_MS),
      maxMs: z.number().int().positive().default(DEFAULT_RETRY_MAX_MS),
    })
    .prefault({}),
  /**
   * Minimum number of live voters a region should have; exported as
   * `votecluster_voter_redundancy_target` for the alert that compares it with the voters up.
   */
  redundancyTarget: z.number().int().min(1).max(1_000).default(DEFAULT_REDUNDANCY_TARGET),
  metrics: z
    .object({
      /** `host:port` for the Prometheus endpoint (served by the CLI), absent = off. */
      listen: z.string().regex(HOST_PORT_RE, 'expected host:port').optional(),
    })
    .prefault({}),
  trace: z
    .object({
      /** Append finished spans as JSON lines to this file (read by `votecluster trace`). */
      file: z.string().min(1).optional(),
      /** OTLP/gRPC collector URL. */
      otlpEndpoint: z.string().url().optional(),
    })
    .prefault({}),
});

/** Validated voter configuration (all defaults applied). */
export type VoterConfig = z.infer<typeof VoterConfigSchema>;
/** Voter configuration as a caller writes it (defaults optional). */
export type VoterConfigInput = z.input<typeof VoterConfigSchema>;
/** One proxy entry. */
export type ProxyConfig = z.infer<typeof ProxyConfigSchema>;

/** Names of the secret fields; the effective-config dump redacts them. */
export const VOTER_SECRET_FIELDS: readonly string[] = ['clusterKeyFile', 'nextClusterKeyFile', 'etcd.passwordFile', 'etcd.keyFile'];

/**
 * Validates `input` and applies defaults.
 * @throws {VoterConfigError} listing every issue with its path.
 */
export function parseVoterConfig(input: unknown): VoterConfig {
  const r = VoterConfigSchema.safeParse(input);
  if (!r.success) {
    throw new VoterConfigError(r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return r.data;
}
