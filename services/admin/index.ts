/**
 * services/admin: ticket intake and the operator API of a votecluster: the
 * gRPC `Admin` service, a dcrwallet-compatible JSON-RPC endpoint (so an
 * unmodified vspd can use the cluster as its voting wallets), the status page,
 * and the operations the `votecluster ticket|stakeinfo|status` commands run
 * directly against etcd. See README.md.
 */

/**
 * `createAdmin(cfg, deps)` builds the admin service; `start()` binds the
 * enabled front ends (gRPC, status page, wallet JSON-RPC) and resolves their
 * addresses; `stop()` closes them and resolves when they are closed.
 * Throws AdminConfigError (ADMIN_CONFIG) when the wallet endpoint is enabled
 * without its password.
 * @example
 * const admin = createAdmin(AdminConfigSchema.parse({ network: 'simnet' }), { store: clusterTicketStore(cluster), log });
 * const { grpc, status } = await admin.start();
 */
export { createAdmin } from './admin.ts';
export type { Admin, AdminDeps, AdminEndpoints } from './admin.ts';

/** The zod schema of the admin configuration (with defaults) and its types. */
export { AdminConfigSchema, WalletRpcConfigSchema } from './config.ts';
export type { AdminConfig, WalletRpcConfig } from './config.ts';

/** The cluster-backed {@link TicketStore} and the proxy-backed {@link ChainLookup}. */
export { clusterTicketStore } from './cluster-store.ts';
export { createProxyChainLookup } from './chain.ts';
export type { ProxyChainOptions } from './chain.ts';

/** The interfaces the operations are written against. */
export type {
  TicketStore,
  ChainLookup,
  ChainTip,
  TxLocation,
  StoredTicket,
  TicketImport,
  VotingDefaults,
  VoteRecordView,
  NodeView,
  EtcdMembersView,
} from './ports.ts';

/**
 * Ticket intake. `importTicket` checks the WIF's network, that the key
 * controls the ticket's voting output, that the tx is a ticket with the given
 * hash and (with a proxy) that the chain knows it and it is live or immature;
 * then stores it create-if-absent (`created: false` on a repeat). Throws
 * AdminError subclasses (ADMIN_WRONG_NETWORK, ADMIN_KEY_MISMATCH,
 * ADMIN_NOT_A_TICKET, ADMIN_TICKET_NOT_FOUND, ADMIN_TICKET_NOT_LIVE, ...).
 * `parseExportFile` + `importExportEntries` import a devnet export file; a
 * refused entry is reported and does not affect the others.
 */
export { importTicket, importTicketWithKey, importExportEntries, parseExportFile, decodeVotingWif, checkTicketBytes, checkKeyControlsTicket, ExportFileSchema } from './intake.ts';
export type { IntakeDeps, ImportRequest, ImportResult, ExportEntry, BatchImportOutcome, CheckedTicket } from './intake.ts';

/** Vote choices (validated against the chain's agendas) and treasury policies. */
export { setVoteChoices, getVoteChoices, setTSpendPolicy, setTreasuryPolicy, currentAgendas } from './choices.ts';
export type { ChoicesDeps, ChoiceResult } from './choices.ts';
export { resolveChoice, voteBitsFor, effectiveChoices } from './agendas.ts';
export type { Agenda, AgendaChoice, AgendaSet, ResolvedChoice } from './agendas.ts';
export { parsePolicy, resolveTSpendPolicy, parseTSpendHash, parsePiKey, parseTicketHash } from './policies.ts';
export type { TreasuryPolicy, PolicyTables } from './policies.ts';

/** Listing/removal and stake info (`dcrctl --wallet getstakeinfo` fields). */
export { listManagedTickets, removeManagedTicket } from './tickets.ts';
export type { TicketListing, TicketsDeps } from './tickets.ts';
export { getStakeInfo, classifyTickets, stakeInfoToWalletJson } from './stakeinfo.ts';
export type { StakeInfo, TicketStatus, ClassifiedTicket, StakeInfoDeps } from './stakeinfo.ts';

/** The status page data and renderer. */
export { collectStatus, collectProxies, renderStatusHtml, startStatusServer, createStatusCache, statusVerdict, LEASE_UNRENEWED_MS } from './status.ts';
export type { AdminStatus, NodeStatusView, ProxyStatusView, StatusProxy, StatusIncident, EtcdStatus, StatusDeps, StatusServer, StatusVerdict, RegionLatency, ChainWindow } from './status.ts';

/** The wallet JSON-RPC endpoint (vspd's voting-wallet API). */
export { createWalletRpcHandler, startWalletRpcServer, RPC_ERR, WalletRpcError } from './wallet-rpc.ts';
/** What `version` answers: the dcrwallet paired with the connected dcrd's release (wallet-versions.ts). */
export { pairedWallet, WALLET_API_BY_RELEASE, parseSemver } from './wallet-versions.ts';
export type { PairedWallet, VersionKey } from './wallet-versions.ts';
export type { WalletRpcDeps, WalletRpcHandler, WalletRpcServer, WalletRpcServerOptions } from './wallet-rpc.ts';

/** The gRPC Admin service, its client, and the code→status table. */
/**
 * The chain's verdict on every managed ticket drawn (voted or missed, with the reason),
 * from the proxies' streams and GetBlockVotes, independent of the voters.
 * @example const judge = createChainJudge({ proxies: [client], lookups: storeLookups(store), network: 'simnet', log }); judge.start();
 */
export { createChainJudge, storeLookups } from './chain-judge.ts';
export type { ChainJudge, ChainJudgeOptions, ChainJudgeLookups, ChainVerdict, MissReason } from './chain-judge.ts';
export { startAdminGrpcServer, createAdminClient, STATUS_BY_CODE, ADMIN_SERVICE, ADMIN_PROTO_FILES } from './grpc-server.ts';
/**
 * Admin API access: `ADMIN_METHODS` (method → `read` | `mutate`, every method listed),
 * `ROLES_BY_KIND` (`read`: operator, read-only; `mutate`: operator), `authorize(method, caller)`
 * (default deny; throws `AdminUnauthenticatedError` / `AdminPermissionDeniedError`).
 */
export { ADMIN_METHODS, ROLES_BY_KIND, authorize } from './access.ts';
export type { AdminMethodKind, AdminCaller } from './access.ts';
export type { AdminGrpcServer, AdminGrpcDeps } from './grpc-server.ts';

/** Errors: an AdminError base with `code` ADMIN_* and one class per refusal. */
export {
  AdminError,
  AdminBadRequestError,
  AdminWrongNetworkError,
  AdminBadKeyError,
  AdminKeyMismatchError,
  AdminNotATicketError,
  AdminTicketHashMismatchError,
  AdminTicketBytesMismatchError,
  AdminTicketConflictError,
  AdminUnauthenticatedError,
  AdminPermissionDeniedError,
  AdminTicketNotFoundError,
  AdminTicketNotLiveError,
  AdminUnknownTicketError,
  AdminUnknownAgendaError,
  AdminUnknownChoiceError,
  AdminNoChainError,
  AdminChainUnavailableError,
  AdminTxIndexRequiredError,
  AdminStoreError,
  AdminConfigError,
} from './errors.ts';
