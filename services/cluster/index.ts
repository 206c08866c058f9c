/**
 * services/cluster: the only module that talks to etcd (docs/architecture.md, "etcd keyspace").
 *
 * @example
 * const cluster = await openCluster({
 *   endpoints: etcd.endpoints, network: 'simnet', nodeId: 'a1', region: 'a', clusterKeyFile: '/etc/votecluster/cluster.key',
 * });
 * if (cluster.owners.myRank(t) === 0) await cluster.owners.claim(t);
 * const { created, stored } = await cluster.votes.recordVote(rec); // loser re-broadcasts stored.voteTxHex
 * await cluster.close();
 */

/**
 * `openCluster(cfg, deps?)` → `Promise<Cluster>`: validates `cfg` (ClusterConfigError lists every
 * bad field), reads the cluster key, checks the schema (SchemaTooNewError), loads the watch caches
 * and joins membership. `Cluster` = `{ keyspace, membership, owners, votes, tickets, config, client,
 * isWatchHealthy(), close() }`. `ClusterConfigSchema` is the zod schema (defaults: leaseTtlSec 5,
 * dialTimeoutMs 3000, callTimeoutMs 2000, join true).
 */
export { openCluster, ClusterConfigSchema } from './cluster.ts';
export type { Cluster, ClusterConfig, ClusterConfigInput, ClusterDeps } from './cluster.ts';

/** `Keyspace`: every etcd key, one function per key (`node`, `ticket`, `owner`, `vote`, `config`), with owner and lifetime. */
export { Keyspace, NETWORKS } from './keyspace.ts';
export type { Network, VoteKeyParts } from './keyspace.ts';

/** Schema version and upgrade table; `ensureSchema` refuses a newer schema. */
export { ensureSchema, LATEST_SCHEMA_VERSION, UPGRADES } from './schema.ts';
export type { SchemaUpgrade } from './schema.ts';

/**
 * Envelope encryption of voting keys (AES-256-GCM, AAD bound to network + ticket):
 * `Keyring` (`sealVotingKey`, `openVotingKey`), `loadClusterKeyFile(path)`, `parseClusterKey(bytes)`,
 * `generateClusterKey()`, `clusterKeyId(key)`.
 */
export {
  Keyring,
  loadClusterKeyFile,
  parseClusterKey,
  generateClusterKey,
  clusterKeyId,
  clusterKeyFingerprint,
  CLUSTER_KEY_FINGERPRINT_TAG,
  EnvelopeSchema,
  CLUSTER_KEY_BYTES,
} from './envelope.ts';
export type { Envelope } from './envelope.ts';

/**
 * The cluster key's fingerprint in etcd (`config/cluster-key`): `ensureClusterKey(client, keyspace,
 * held, { store, source })` stores it on first use and refuses a process holding another key
 * (ClusterKeyMismatchError, naming both fingerprints); `readClusterKeyRecord`, `assertKeysMatch`,
 * `requiredFingerprints` (both keys during a rotation).
 */
export { ensureClusterKey, readClusterKeyRecord, assertKeysMatch, assertTicketsSealedWith, requiredFingerprints, ClusterKeyRecordSchema } from './key-guard.ts';
export type { ClusterKeyRecord, HeldKey, EnsureClusterKeyOptions } from './key-guard.ts';
/**
 * Cluster key rotation: `rotateClusterKey({ client, keyspace, oldKey, newKey })` marks the rotation
 * in `config/cluster-key`, waits until every live node holds the new key, re-seals every ticket
 * (revision-guarded txns, retried on change), switches the fingerprint and sweeps stragglers.
 * `ClusterKeys` is the per-process key state that follows the record.
 */
export { rotateClusterKey, KeyRotationBlockedError } from './key-rotation.ts';
export type { RotateClusterKeyOptions, RotationResult } from './key-rotation.ts';
export { ClusterKeys } from './cluster-keys.ts';
export type { ClusterKeyState } from './cluster-keys.ts';

/**
 * Membership: session lease + `nodes/<id>`; `isLeaseFresh()`, `leaseAgeMs()`, `liveNodes()`,
 * `listNodes()`, `onNodesChange()`, `onLeaseChange()`, `stop()` (revokes).
 */
export { Membership, NodeValueSchema, DEFAULT_LEASE_TTL_SEC } from './membership.ts';
export type { NodeInfo, NodeValue } from './membership.ts';

/**
 * Ownership: `rankNodes(ticketHash, nodes)` (rendezvous, region-aware, deterministic),
 * `Ownership.claim(t)` → `{ won, owner }` (create-if-absent bound to the lease),
 * `claimMany(ts, { batchSize?, concurrency? })` → ClaimResult[] (batched), `myShare(ts, { chunk?, signal? })`
 * → tickets whose rank 0 is this node (yields every chunk), `rank(t)` (cached per live set), `ownerOf(t)`,
 * `ownerRankId(t)` (rank 0's id without building the ranking), `myRank(t)`, `release(t)`,
 * `releaseMany(ts, { batchSize?, concurrency? })` → boolean[] (batched, revision-guarded),
 * `ownerOfId(id)` and `myShareOfIds(ids, isHeld, { chunk?, signal? })` → string[] by ticket id of the
 * shared hash index (no string per ticket).
 */
export { Ownership, OwnerValueSchema } from './ownership.ts';
export { ForgedOwnerError } from './owner-check.ts';
export type { ForgedOwnerReason } from './owner-check.ts';
export type { ClaimResult, OwnerValue } from './ownership.ts';
/**
 * Rendezvous ranking (scheme v2, see rendezvous.ts): `rankNodes(ticketHash, nodes)` → nodes,
 * owner first, then backups region-aware; `rendezvousWeight(ticketHash, nodeId)` → 64-bit weight
 * (MurmurHash3_x86_32 of the ticket's 32 bytes with two per-node seeds from SHA-256 of
 * `RENDEZVOUS_SEED_DOMAIN ‖ 0x00 ‖ nodeId`); `murmur3x86_32(bytes, off, len, seed)`.
 */
export { rankNodes, rendezvousWeight, murmur3x86_32, RENDEZVOUS_SEED_DOMAIN } from './rendezvous.ts';
export type { RankableNode } from './rendezvous.ts';

/**
 * Vote records: `recordVote(rec)` → `{ created, stored }` (create-if-absent; a loser re-broadcasts
 * `stored`), `getVote`, `cachedVote`, `waitForVote(h, blockHash, ticket, { timeoutMs, signal })`
 * → record or null, `cleanupBelow(height)`.
 */
export { VoteRecords, VoteRecordSchema } from './vote-record.ts';
export type { VoteRecord, RecordVoteResult, WaitForVoteOptions } from './vote-record.ts';

/**
 * Tickets. The record (`tickets/<hash>`, ticket-record.ts). The store's etcd operations
 * (ticket-store.ts): `importTicket` (idempotent; conflicting key → TicketConflictError),
 * `importTickets(batch, { batchSize?, concurrency? })` → one `ImportTicketsResult` per input
 * (batched create-if-absent txns, 127 tickets each), `removeTicket`, `setVoteChoices`, `mergeVoteChoices`,
 * `setTreasuryPolicy`, `setTSpendPolicy`, `setStatus`. The compact cache (ticket-cache.ts; the voter
 * reads it through `TicketCache`, no I/O): `get`, `has`, `hashes()` (sorted, cheap), `list()`,
 * `ticketBytes`, `size`; `getVotingKey(t)` → SecretKey, decrypted on demand (a bad ciphertext is
 * reported as corrupt then); `verifyVotingKeys()` decrypts all once; without a string per ticket:
 * `hashIter()` (one hash at a time), `idSnapshot()` → Int32Array of ids in the shared `HashIndex`
 * (`hashIndex`), `forEachId(fn)`, `hasId(id)`. `cluster.tickets` is the store, which is also the cache.
 */
export { TicketStore } from './ticket-store.ts';
export type { ImportTicketInput, ImportTicketsOptions, ImportTicketsResult } from './ticket-store.ts';
export { TicketRecordSchema, PolicySchema, TicketStatusSchema, VoteChoicesSchema } from './ticket-record.ts';
export type { TicketRecord, Policy, TicketStatus } from './ticket-record.ts';
export { unvotableReason } from './ticket-cache.ts';
export type { TicketCache, CachedTicket, UnvotableReason } from './ticket-cache.ts';

/** Cluster-wide settings: default vote choices/policies (`updateVoteDefaults(fn)`: guarded read-modify-write) and the hedge delay (`DEFAULT_HEDGE_MS` = 250). */
export { ConfigStore, VoteDefaultsSchema, DEFAULT_HEDGE_MS, AgendaSetSchema } from './config-store.ts';
export type { VoteDefaults, StoredAgendaSet } from './config-store.ts';

/**
 * Vote inputs effective from a height (vote-inputs.ts): `inputsAt(record, H)`, `defaultsAt(value, H)`,
 * `tspendsAt(recorded, H, votable)`, `nextVersion` (the history after a guarded change), and the
 * types of `cluster.canonicalInputs` / `cluster.freshInputs` (canonical.ts). The cluster tip
 * (chain-tip.ts): `ChainTip`, `tipCompare`. Recorded tspends (tspend-store.ts): `TSpendStore`.
 */
export {
  inputsAt, defaultsAt, tspendsAt, stateAt, stateAtOrOldest, nextVersion, effectiveFrom, sameState, ticketInputs, defaultsInputs,
  EMPTY_STATE, INPUTS_HISTORY_HEIGHTS,
} from './vote-inputs.ts';
export type { InputState, VersionedInputs, RecordedTSpend, VoteInputs, NonCanonicalReason, CanonicalInputs } from './vote-inputs.ts';
export { VoteInputsView } from './canonical.ts';
/**
 * The vote version as a vote input (vote-version.ts): `config/vote-version` `{ voteVersion, from,
 * earlier? }`, `voteVersionAt(value, H)`, `nextVoteVersion(prev, v, tip)` (only raises; written by
 * `cluster.config.proposeVoteVersion(v)`, guarded by the cluster tip, applying from tip + 2).
 */
export { VoteVersionSchema, voteVersionAt, nextVoteVersion, MAX_EARLIER_VOTE_VERSIONS } from './vote-version.ts';
export type { VoteVersionValue } from './vote-version.ts';
export type { FreshInputs } from './canonical.ts';
export { ChainTip, tipCompare } from './chain-tip.ts';
export type { TipRepairReason } from './chain-tip.ts';
export { TSpendStore, TSpendRecordSchema, parseTSpendValue } from './tspend-store.ts';
export type { TSpendRecord, RecordTSpendResult } from './tspend-store.ts';
export { EarlierInputSchema, EarlierInputsSchema, MAX_EARLIER_INPUTS } from './ticket-record.ts';
export type { EarlierInput } from './ticket-record.ts';
export { padHeight } from './keyspace.ts';

/** The ticket-hash index shared by the ticket and owner caches (`find`, `hexAt`, `size`). */
export type { HashIndex } from './hash-index.ts';

/** Watch-cache change events and metrics hooks. */
export type { CacheChange, CacheEntry } from './watch-cache.ts';
export type { ClusterMetricsHooks } from './etcd-client.ts';
export type { ClusterLogger } from './log.ts';

/**
 * etcd authentication: one role and user per kind of service (voter, admin, reader) and the
 * idempotent set-up step `votecluster etcd init` runs.
 */
export { initEtcdAuth, rolePermissions, EtcdInitError, ETCD_SERVICE_ROLES, ETCD_USER_NAMES, ETCD_ROOT_USER } from './etcd-auth.ts';
export type { EtcdServiceRole, EtcdPrefixPermission, InitEtcdAuthOptions, InitEtcdAuthResult } from './etcd-auth.ts';
/** How a process reaches etcd: its etcd user (password file) and TLS files, and the etcd client built from them. */
export { EtcdAccessSchema, etcdAccessOf, loadEtcdAccess, followEtcdTls, ETCD_TLS_CHECK_INTERVAL_MS, readEtcdPasswordFile, readOrCreateEtcdPasswordFile } from './etcd-access.ts';
export type { EtcdAccess, ResolvedEtcdAccess } from './etcd-access.ts';
export { createEtcdClient } from './etcd-client.ts';

/** Typed errors (`CLUSTER_*` codes; `retryable` marks transient ones). */
export {
  ClusterError,
  ClusterConfigError,
  ClusterKeyError,
  ClusterKeyMismatchError,
  NoClusterKeyError,
  WrongClusterKeyError,
  DecryptError,
  CorruptValueError,
  SchemaTooNewError,
  EtcdUnavailableError,
  EtcdAuthError,
  EtcdPermissionError,
  TicketConflictError,
  TicketNotFoundError,
  LeaseLostError,
  NodeIdInUseError,
  ConcurrentUpdateError,
  ClusterArgumentError,
  ClusterClosedError,
  ChainTipCorruptError,
} from './errors.ts';
