/**
 * `openCluster`: the composition of the cluster module for one process —
 * one etcd client, schema check, membership, ownership, vote records, ticket
 * store and config store, each with its own watch cache — and its `close()`,
 * which stops every background loop and revokes the session lease.
 */
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { netParams } from '../decred/index.ts';
import type { Metrics } from '../telemetry/index.ts';
import { VoteInputsView, type FreshInputs } from './canonical.ts';
import { ChainTip, type TipKnowledge } from './chain-tip.ts';
import { ConfigStore } from './config-store.ts';
import { EtcdAccessSchema, followEtcdTls, loadEtcdAccess } from './etcd-access.ts';
import { createEtcdClient, DEFAULT_CALL_TIMEOUT_MS, DEFAULT_DIAL_TIMEOUT_MS, probeEtcdTls, type ClusterMetricsHooks } from './etcd-client.ts';
import { Keyring, loadClusterKeyFile, parseClusterKey } from './envelope.ts';
import { ClusterConfigError, EtcdAuthError, EtcdPermissionError, type CorruptValueError } from './errors.ts';
import { HashIndex } from './hash-index.ts';
import { CHAIN_TIP_MARKER, Keyspace, NETWORKS } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { DEFAULT_LEASE_TTL_SEC, Membership } from './membership.ts';
import { Ownership } from './ownership.ts';
import { ClusterKeys, type ClusterKeyState } from './cluster-keys.ts';
import { ensureClusterKey, readClusterKeyRecord, type ClusterKeyRecord } from './key-guard.ts';
import { ensureSchema } from './schema.ts';
import { TicketStore } from './ticket-store.ts';
import { TSpendStore } from './tspend-store.ts';
import type { CanonicalInputs } from './vote-inputs.ts';
import { VoteRecords } from './vote-record.ts';

/** Configuration of {@link openCluster}. */
export const ClusterConfigSchema = z
  .object({
    /** etcd client URLs (`https://127.0.0.1:2379`). */
    endpoints: z.array(z.string().url()).min(1),
    /** etcd user (password file) and TLS files; see etcd-access.ts. */
    etcdAccess: EtcdAccessSchema.optional(),
    network: z.enum(NETWORKS),
    /** Unique id of this process in the cluster (`nodes/<nodeId>`). */
    nodeId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/),
    region: z.string().min(1).max(64),
    /** Node proxies this node uses (informational, published in `nodes/<id>`). */
    proxies: z.array(z.string()).default([]),
    /** Software version published in `nodes/<id>`. */
    version: z.string().default('0.1.0'),
    /** Session lease TTL in seconds (>= 2: etcd's minimum is ~1.5 x election timeout). */
    leaseTtlSec: z.number().int().min(2).max(300).default(DEFAULT_LEASE_TTL_SEC),
    /** Path of the 32-byte cluster key (raw or hex). Secret: never logged. */
    clusterKeyFile: z.string().min(1).optional(),
    /** The cluster key bytes (tests, or a caller that already read the file). Secret. */
    clusterKey: z.instanceof(Uint8Array).optional(),
    /**
     * Open without a cluster key (`status`, `ticket list`, `stakeinfo`): records are read and
     * listed, nothing is sealed or opened. Default false: a key is required.
     */
    readOnly: z.boolean().default(false),
    /**
     * The next cluster key during a rotation (`votecluster key rotate`): read when a rotation
     * names a key this process does not hold (at start, and whenever the record changes), so the
     * file may be put in place while the process runs; absent is fine outside a rotation. Secret.
     */
    nextClusterKeyFile: z.string().min(1).optional(),
    /** The next cluster key bytes (tests, `key rotate`). Secret. */
    nextClusterKey: z.instanceof(Uint8Array).optional(),
    /**
     * Store the key's fingerprint in etcd (`config/cluster-key`) when there is none yet: true for
     * processes that write tickets (admin, `ticket import`). Every opening with a key compares its
     * fingerprint with the stored one and is refused (ClusterKeyMismatchError) when they differ.
     */
    storeKeyFingerprint: z.boolean().default(false),
    dialTimeoutMs: z.number().int().min(100).default(DEFAULT_DIAL_TIMEOUT_MS),
    callTimeoutMs: z.number().int().min(100).default(DEFAULT_CALL_TIMEOUT_MS),
    /** How long joining waits for a previous session of this nodeId to expire (default TTL + 2 s). */
    joinWaitMs: z.number().int().min(0).optional(),
    /** Extra one-shot lease keepalives every this many ms (see Membership `confirmIntervalMs`); default off. */
    leaseConfirmIntervalMs: z.number().int().min(100).optional(),
    /** Join membership (lease + `nodes/<id>`); tools like `ticket import` set false. */
    join: z.boolean().default(true),
    /**
     * Decrypt every voting key while loading the ticket cache (detects bad ciphertexts at start,
     * costs ~16 µs per ticket). Default false: keys are decrypted lazily at sign time, and a bad
     * one is reported then (records sealed with a key this node lacks are still caught on load).
     */
    verifyKeysOnLoad: z.boolean().default(false),
    /** Keys per range page when loading the ticket cache (default 5,000). */
    ticketPageSize: z.number().int().min(1).max(100_000).default(2_500),
  })
  .refine((c) => c.readOnly || c.clusterKeyFile !== undefined || c.clusterKey !== undefined, {
    message: 'one of clusterKeyFile or clusterKey is required (or readOnly)',
    path: ['clusterKeyFile'],
  });
/** Input form of the config (defaults optional). */
export type ClusterConfigInput = z.input<typeof ClusterConfigSchema>;
export type ClusterConfig = z.output<typeof ClusterConfigSchema>;

/** Optional collaborators of {@link openCluster}. */
export interface ClusterDeps {
  /** Use this etcd client instead of creating one (not closed by `close()`). */
  client?: Etcd3;
  /** telemetry metrics; the `cluster` component's families are fed from the hooks. */
  metrics?: Metrics;
  /** Extra hooks (called in addition to `metrics`). */
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  /** Called for every corrupt value found (already logged and skipped). */
  onCorrupt?: (err: CorruptValueError) => void;
}

/** An open cluster handle. */
export interface Cluster {
  readonly keyspace: Keyspace;
  readonly membership: Membership;
  readonly owners: Ownership;
  readonly votes: VoteRecords;
  readonly tickets: TicketStore;
  readonly config: ConfigStore;
  /** The recorded tspends (`tspends/<hash>`): voters record what proxies stream; votes carry them from their `from` height. */
  readonly tspends: TSpendStore;
  /** The cluster tip (`config/chain-tip` and its markers, chain-tip.ts). */
  readonly tip: ChainTip;
  /** The canonical view of vote inputs: `isCurrentFor(H)`, `whenCurrentFor(H, ms)`, `viewHeight()` (canonical.ts). */
  readonly voteView: VoteInputsView;
  /**
   * Raises the cluster tip to `height` (monotonic; one txn puts `config/chain-tip`,
   * `tickets/chain-tip` and `tspends/chain-tip` at one revision). Voters call it on every block
   * they hear, off the critical path. Resolves true when this call moved the tip.
   */
  advanceTip(height: number): Promise<boolean>;
  /**
   * The inputs of the vote of `ticketHex` on a draw at `height` from the local caches, no I/O:
   * `{ ok: true, inputs }` when provably canonical, else `{ ok: false, reason }` (`view-behind`,
   * `late-import`, `legacy-record`, `not-managed`).
   */
  canonicalInputs(ticketHex: string, height: number): CanonicalInputs;
  /**
   * The record-first path's inputs: `advanceTip(height - 1)`, then one linearizable read of the
   * ticket record, the defaults and the tspends; computes what a current view computes.
   * @throws EtcdUnavailableError, TicketNotFoundError
   */
  freshInputs(ticketHex: string, height: number): Promise<FreshInputs>;
  readonly client: Etcd3;
  /** The cluster key record found (or stored) at open; undefined when read-only or none is stored yet. */
  readonly keyRecord: ClusterKeyRecord | undefined;
  /**
   * Where this process stands against `config/cluster-key` now (followed by a watch): `current`,
   * `rotating` (both keys held), `unset` (no record yet), `mismatch` (sealing refused), or
   * undefined when opened read-only.
   */
  keyState(): ClusterKeyState | undefined;
  /** Fingerprints of the cluster keys this process holds (empty when read-only). */
  keyFingerprints(): string[];
  /** True while every watch stream is connected (invariant 5 in docs/architecture.md uses this with the lease). */
  isWatchHealthy(): boolean;
  /** Stops every watch, revokes the session lease (releasing its claims), closes the client. Idempotent. */
  close(): Promise<void>;
}

/** The metric range of a corrupt key: its first segment under the keyspace prefix, `chain-tip` for the tip and its markers. */
function corruptRange(key: string, network: string): string {
  const prefix = `/votecluster/${network}/`;
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : '';
  if (rest.endsWith(`/${CHAIN_TIP_MARKER}`) && rest.split('/').length === 2) return 'chain-tip';
  const range = rest.split('/')[0] ?? '';
  return ['tickets', 'tspends', 'config', 'votes', 'owners', 'nodes'].includes(range) ? range : 'other';
}

function metricsHooks(metrics: Metrics | undefined, extra: ClusterMetricsHooks | undefined, network: string): ClusterMetricsHooks {
  const m = metrics?.get('cluster');
  return {
    observeEtcdRequest(op, ms, code) {
      m?.etcdTxnLatency.observe({ op }, ms / 1000);
      if (code) m?.etcdErrors.inc({ op, code });
      extra?.observeEtcdRequest?.(op, ms, code);
    },
    observeVoteRecord(result) {
      m?.voteRecords.inc({ result });
      extra?.observeVoteRecord?.(result);
    },
    observeCorruptValue(key) {
      m?.corruptValues.inc({ range: corruptRange(key, network) });
      extra?.observeCorruptValue?.(key);
    },
    observeChainTipRepair(reason) {
      m?.chainTipRepairs.inc({ reason });
      extra?.observeChainTipRepair?.(reason);
    },
    observeForgedOwner(key, reason) {
      m?.forgedOwnerRecords.inc({ reason });
      extra?.observeForgedOwner?.(key, reason);
    },
  };
}

/**
 * Follows `config/cluster-key` (a rotation starting or ending, a record appearing): loads the
 * next key if the record names one this process lacks, re-keys the keyring, and republishes the
 * fingerprints held in `nodes/<id>`. Changes are handled one at a time, in order.
 */
function followClusterKey(config: ConfigStore, keys: ClusterKeys, membership: Membership, log: ClusterLogger): () => void {
  let chain: Promise<void> = Promise.resolve();
  return config.onClusterKeyChange(() => {
    chain = chain.then(async () => {
      const record = config.clusterKeyRecord()?.record;
      if (record?.rotation) await keys.loadNextFor(record.rotation.fingerprint);
      keys.apply(record);
      await membership.setKeyFingerprints(keys.fingerprints());
    }).catch((err: unknown) => log.warn({ err }, 'cluster key record change not applied'));
  });
}

export async function openCluster(input: ClusterConfigInput, deps: ClusterDeps = {}): Promise<Cluster> {
  const parsed = ClusterConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new ClusterConfigError(
      `cluster config: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  }
  const cfg = parsed.data;
  const log = deps.log ?? SILENT_LOGGER;
  const hooks = metricsHooks(deps.metrics, deps.hooks, cfg.network);
  const clusterKey = cfg.clusterKey
    ? parseClusterKey(cfg.clusterKey)
    : cfg.clusterKeyFile !== undefined
      ? await loadClusterKeyFile(cfg.clusterKeyFile)
      : undefined;
  const keyring = clusterKey ? new Keyring([clusterKey]) : undefined;
  const keys = clusterKey && keyring
    ? new ClusterKeys(keyring, {
      current: clusterKey,
      ...(cfg.nextClusterKey ? { next: parseClusterKey(cfg.nextClusterKey, 'next cluster key') } : {}),
      ...(cfg.nextClusterKeyFile !== undefined ? { nextFile: cfg.nextClusterKeyFile } : {}),
      log,
    })
    : undefined;
  let keyRecord: ClusterKeyRecord | undefined;
  let unsubscribeKey: (() => void) | undefined;
  const access = deps.client ? {} : await loadEtcdAccess(cfg.etcdAccess);
  if (!deps.client && !access.tls) {
    log.warn({ endpoints: cfg.endpoints }, 'etcd without TLS: voting keys (sealed), owner claims and votes cross the network in plaintext; configure the etcd CA, client certificate and key');
  }
  const keyspace = new Keyspace(cfg.network);
  const ownsClient = deps.client === undefined;
  // The etcd client certificate, key and CA are followed: rotated files are used by every new
  // connection (reconnections included) without a restart; open streams keep theirs.
  const etcdTls = deps.client ? undefined : followEtcdTls(access, { log });
  const etcdClientOpts = { endpoints: cfg.endpoints, access, ...(etcdTls ? { tls: etcdTls } : {}), dialTimeoutMs: cfg.dialTimeoutMs, callTimeoutMs: cfg.callTimeoutMs };
  let client: Etcd3;
  try {
    client = deps.client ?? createEtcdClient(etcdClientOpts);
  } catch (err) {
    etcdTls?.close();
    throw err;
  }
  // A new etcd client certificate is tried at once on a connection of its own, so the operator
  // learns now (not at the next etcd restart) whether etcd trusts it.
  etcdTls?.onChange((m) => {
    void probeEtcdTls({
      endpoints: cfg.endpoints, ...(access.auth ? { auth: access.auth } : {}), tls: { ca: m.ca, cert: m.cert, key: m.key },
      key: keyspace.schemaVersion(), dialTimeoutMs: cfg.dialTimeoutMs, callTimeoutMs: cfg.callTimeoutMs,
    }).then((err) => {
      const fields = { tls: 'etcd client', fingerprint: m.identity.fingerprint };
      if (err) {
        log.warn({ ...fields, err }, 'etcd did not accept the new etcd client certificate (err: refused, or etcd unreachable): connections open now keep the previous one; new ones (after an etcd restart or a network break) fail until etcd trusts it');
      } else {
        log.info(fields, 'etcd accepts the new etcd client certificate');
      }
    });
  });
  const common = { client, keyspace, hooks, log, onCorrupt: deps.onCorrupt };
  const membership = new Membership({ ...common, nodeId: cfg.nodeId, region: cfg.region, proxies: cfg.proxies, version: cfg.version, leaseTtlSec: cfg.leaseTtlSec, joinWaitMs: cfg.joinWaitMs, confirmIntervalMs: cfg.leaseConfirmIntervalMs });
  // One ticket-hash index keys the ticket cache and the owner cache.
  const hashIndex = new HashIndex();
  const owners = new Ownership({ ...common, membership, hashIndex });
  // Vote records go to the nearest member first (the first endpoint): see VoteRecordsOptions.nearClient.
  const nearClient = ownsClient && cfg.endpoints.length > 1
    ? createEtcdClient({ ...etcdClientOpts, endpoints: cfg.endpoints.slice(0, 1) })
    : undefined;
  const votes = new VoteRecords({ ...common, ...(nearClient ? { nearClient } : {}) });
  // What this process knows of the heights in use: a guarded write refuses a tip below it or deleted.
  const tipKnowledge: TipKnowledge = {
    highestTipSeen: (): number => config.markerCache.highestMarkerSeen,
    highestInUse: (): number => Math.max(tickets.markerCache.highestMarkerSeen, tspends.markerCache.highestMarkerSeen),
  };
  const tickets: TicketStore = new TicketStore({ ...common, tipKnowledge, ...(keyring ? { keyring } : {}), verifyKeysOnLoad: cfg.verifyKeysOnLoad, pageSize: cfg.ticketPageSize, hashIndex });
  const config: ConfigStore = new ConfigStore({ ...common, tipKnowledge });
  // A voter records tspends and repairs an unreadable tip itself (its etcd role may write the tip keys).
  const tspends: TSpendStore = new TSpendStore({
    ...common, params: netParams(cfg.network), repairTip: (): Promise<unknown> => tip.repair(), tipKnowledge,
  });
  const tip: ChainTip = new ChainTip({
    client, keyspace, hooks, log,
    cached: () => config.cachedTip(),
    highestTipSeen: () => config.markerCache.highestMarkerSeen,
    // Heights in use besides the tip: the markers applied, and the highest vote recorded (a vote
    // at H was built while the tip was >= H - 1).
    highestInUse: (): number => Math.max(tickets.markerCache.highestMarkerSeen, tspends.markerCache.highestMarkerSeen, votes.highestHeight()),
    unreadable: (): boolean => [config.markerCache, tickets.markerCache, tspends.markerCache].some((c) => c.markerProblem !== undefined),
    onRepair: (reason) => hooks.observeChainTipRepair?.(reason),
  });
  const voteView = new VoteInputsView({ ...common, params: netParams(cfg.network), tickets, config, tspends, tip });
  const started: Array<{ stop(): Promise<void> }> = [];
  const m = deps.metrics?.get('cluster');
  let gaugeTimer: NodeJS.Timeout | undefined;
  const close = async (): Promise<void> => {
    if (gaugeTimer) clearInterval(gaugeTimer);
    gaugeTimer = undefined;
    unsubscribeKey?.();
    // Membership last: revoking the lease releases owner claims after the caches stopped. The
    // caches are independent: stopped together, so their bounded waits (etcd unreachable at
    // shutdown) overlap instead of adding up.
    const parts = started.splice(0);
    const stopOne = (s: { stop(): Promise<void> }): Promise<void> => s.stop().catch((err: unknown) => log.warn({ err }, 'cluster component stop failed'));
    await Promise.all(parts.filter((s) => s !== membership).map(stopOne));
    if (parts.includes(membership)) await stopOne(membership);
    if (ownsClient) client.close();
    nearClient?.close();
    etcdTls?.close();
  };
  try {
    await ensureSchema(client, keyspace, { hooks });
    // Before anything is written or voted: this process's key must be the cluster's.
    if (keys) {
      // A rotation in progress needs the next key too: read its file now if it is there.
      const pending = (await readClusterKeyRecord(client, keyspace, hooks))?.record.rotation;
      if (pending) await keys.loadNextFor(pending.fingerprint);
      keyRecord = await ensureClusterKey(client, keyspace, keys.held(), { store: cfg.storeKeyFingerprint, source: `${cfg.nodeId}`, hooks });
      keys.apply(keyRecord);
      if (!keyRecord) log.warn({ fingerprint: keys.fingerprints()[0] }, 'no cluster key fingerprint in etcd yet (no admin or ticket import has run); it is checked when one appears');
      await membership.setKeyFingerprints(keys.fingerprints());
    }
    // The config cache starts first so a ticket re-sealed under a rotation's new key is opened
    // with a keyring that already holds that key.
    for (const c of [config, tickets, tspends, votes]) {
      await c.start();
      started.push(c);
      if (c === config && keys) unsubscribeKey = followClusterKey(config, keys, membership, log);
    }
    if (cfg.join) {
      await membership.start();
      started.unshift(membership);
      await owners.start();
      started.push(owners);
    }
  } catch (err) {
    await close();
    // Without an etcd user, an etcd with --client-cert-auth takes the client certificate's CN as
    // the user; the cluster's certificates name none, so every read is refused: say what is missing.
    if (err instanceof EtcdPermissionError && !deps.client && !access.auth) {
      throw new EtcdAuthError(`${err.message}: etcd requires authentication and no etcd user is configured (set the etcd user and its password file)`, { cause: err });
    }
    throw err;
  }
  if (m) {
    // Gauges refreshed by a timer owned by this handle (cleared in close()).
    gaugeTimer = setInterval(() => {
      const age = membership.leaseAgeMs();
      m.leaseAge.set(Number.isFinite(age) ? age / 1000 : -1);
      m.watchAge.set(Math.max(tickets.watchAgeMs(), votes.watchAgeMs()) / 1000);
      const byRegion = new Map<string, number>();
      for (const n of membership.liveNodes()) byRegion.set(n.region, (byRegion.get(n.region) ?? 0) + 1);
      for (const [region, count] of byRegion) m.liveNodes.set({ region }, count);
      for (const [reason, n] of Object.entries(tickets.unvotableCounts())) m.unvotableTickets.set({ reason }, n);
      m.chainTipUnreadable.set([config.markerCache, tickets.markerCache, tspends.markerCache].some((c) => c.markerProblem !== undefined) ? 1 : 0);
    }, 1_000);
    gaugeTimer.unref();
  }
  let closing: Promise<void> | undefined;
  return {
    keyspace,
    membership,
    owners,
    votes,
    tickets,
    config,
    tspends,
    tip,
    voteView,
    advanceTip: (height) => tip.advance(height),
    canonicalInputs: (ticketHex, height) => voteView.canonicalInputs(ticketHex, height),
    freshInputs: (ticketHex, height) => voteView.freshInputs(ticketHex, height),
    client,
    keyRecord,
    keyState: () => keys?.state(),
    keyFingerprints: () => keys?.fingerprints() ?? [],
    isWatchHealthy: () =>
      tickets.isWatchConnected && votes.isWatchConnected && tspends.isWatchConnected && (!cfg.join || (owners.isWatchConnected && membership.isWatchConnected)),
    close: () => (closing ??= close()),
  };
}
