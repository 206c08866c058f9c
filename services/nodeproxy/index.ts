/**
 * services/nodeproxy: one per dcrd. Holds the dcrd websocket session and
 * serves the NodeProxy gRPC API (WatchChain, SendVote, lookups, health,
 * reflection). Ships its own typed client. See README.md.
 */

/**
 * The zod schema of the proxy configuration (with defaults); `parseNodeProxyConfig`
 * validates and throws NodeProxyConfigError naming every issue.
 */
export { NodeProxyConfigSchema, parseNodeProxyConfig, SECRET_CONFIG_PATHS } from './config.ts';
export type { NodeProxyConfig, NodeProxyConfigInput } from './config.ts';

/**
 * `createNodeProxy(cfg, deps)` builds a proxy; `start()` resolves `{ address }`
 * once dcrd was reached (or is being retried) and the gRPC port is bound, and
 * rejects with DcrdWrongNetworkError / DcrdVersionError / DcrdAuthError on a
 * misconfigured dcrd; `stop()` drains streams and resolves within 5 s.
 * @example
 * const proxy = createNodeProxy({ network: 'simnet', dcrd: { url, user, pass }, listen: '127.0.0.1:0' });
 * const { address } = await proxy.start();
 */
export { createNodeProxy, DEFAULT_SUBSIDY_SPLIT } from './node-proxy.ts';
export type { NodeProxy, NodeProxyStatus } from './node-proxy.ts';

/** Facilities injected into the proxy (logger, metrics registry, tracer, clock). */
export type { NodeProxyDeps } from './deps.ts';
/** Service name of the proxy's spans (`votecluster-proxy`). */
export { NODEPROXY_TRACE_SERVICE } from './deps.ts';

/**
 * `createNodeProxyClient(address, opts)`: typed client; `watchChain` resumes by
 * seq after disconnects, errors are rebuilt from `vc-error-code`.
 */
export { createNodeProxyClient, errorFromServiceError, DEFAULT_CALL_DEADLINE_MS } from './client.ts';
export type {
  NodeProxyClient,
  BlockVote,
  BlockRedeemers,
  NodeProxyClientOptions,
  ChainEvent,
  ClientBlock,
  ClientDraw,
  ClientTSpend,
  StreamStartInfo,
  VoterPresence,
  WatchChainOptions,
  WatchHandle,
} from './client.ts';

/** SendVote outcome types and the dcrd error classification. */
export { classifyDcrdError, DCRD_ERR_DUPLICATE_TX, DCRD_ERR_MISC, DCRD_ERR_DESERIALIZATION } from './send-vote.ts';
export type { SendVoteResult, SendVoteStatus } from './send-vote.ts';

/** The shared proto loader (the Admin service reuses it) and the service name. */
export { loadVoteclusterProto, PROTO_LOADER_OPTIONS, PROTO_ROOT, NODEPROXY_PROTO_FILES, NODEPROXY_SERVICE } from './proto.ts';
export type { LoadedProto } from './proto.ts';

/** gRPC error-code plumbing shared with other gRPC servers. */
export { ERROR_CODE_METADATA_KEY, TRACEPARENT_METADATA_KEY, STATUS_BY_CODE } from './grpc-server.ts';

/** Errors: a NodeProxyError base with `code` NODEPROXY_* and one class per failure. */
export {
  NodeProxyError,
  NodeProxyConfigError,
  DcrdWrongNetworkError,
  DcrdVersionError,
  DcrdAuthError,
  DcrdUnavailableError,
  DcrdRpcError,
  DcrdProtocolError,
  InvalidRequestError,
  NotFoundError,
  TxIndexRequiredError,
  StreamLaggingError,
  ShuttingDownError,
  ProxyTransportError,
  VOTE_REJECT_CODES,
  nodeProxyErrorFromCode,
} from './errors.ts';
export type { VoteRejectCode } from './errors.ts';
