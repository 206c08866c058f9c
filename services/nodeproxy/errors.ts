/**
 * Typed errors of the node proxy. Every failure has its own class and a code
 * `NODEPROXY_<REASON>`; callers branch on `instanceof` inside this service and
 * on `code` at boundaries. Across gRPC the code travels in the
 * `vc-error-code` metadata entry (see grpc-server.ts `STATUS_BY_CODE`) and the
 * client rebuilds the typed error with {@link nodeProxyErrorFromCode}.
 */
import { CodedError } from '../base/index.ts';

/** Base class: a stable `code`, a `name`, an optional `cause`, a `retryable` hint. */
export class NodeProxyError extends CodedError {}

/** The configuration does not validate (names every issue). */
export class NodeProxyConfigError extends NodeProxyError {
  constructor(message: string, options?: ErrorOptions) {
    super('NODEPROXY_CONFIG', message, options);
  }
}

/** dcrd's `getcurrentnet` is not the configured network. Names both sides. */
export class DcrdWrongNetworkError extends NodeProxyError {
  readonly expectedNet: number;
  readonly actualNet: number;
  constructor(expected: { name: string; net: number }, actualNet: number) {
    super(
      'NODEPROXY_DCRD_WRONG_NETWORK',
      `dcrd is on network 0x${actualNet.toString(16)} but the proxy is configured for ${expected.name} (0x${expected.net.toString(16)})`,
    );
    this.expectedNet = expected.net;
    this.actualNet = actualNet;
  }
}

/** dcrd's JSON-RPC API version is not compatible (need major 8, minor >= 3). */
export class DcrdVersionError extends NodeProxyError {
  readonly actual: string;
  constructor(actual: string, required: string, message?: string) {
    super('NODEPROXY_DCRD_VERSION', message ?? `dcrd JSON-RPC API version ${actual} is not compatible with ${required}`);
    this.actual = actual;
  }
}

/** dcrd refused the credentials (HTTP 401 on the websocket upgrade). */
export class DcrdAuthError extends NodeProxyError {
  constructor(message: string, options?: ErrorOptions) {
    super('NODEPROXY_DCRD_AUTH', message, options);
  }
}

/** No usable dcrd session right now (down, reconnecting, or a call timed out). */
export class DcrdUnavailableError extends NodeProxyError {
  constructor(message: string, options?: ErrorOptions) {
    super('NODEPROXY_DCRD_UNAVAILABLE', message, { ...options, retryable: true });
  }
}

/** dcrd answered a JSON-RPC call with an error object. */
export class DcrdRpcError extends NodeProxyError {
  /** dcrd's JSON-RPC error code (decred/dcrd: dcrjson/jsonrpcerr.go), e.g. -40, -1, -22, -5. */
  readonly rpcCode: number;
  readonly method: string;
  constructor(method: string, rpcCode: number, message: string) {
    super('NODEPROXY_DCRD_RPC', `dcrd ${method} failed (${rpcCode}): ${message}`);
    this.rpcCode = rpcCode;
    this.method = method;
  }
}

/** dcrd sent something that does not match its documented JSON shape. */
export class DcrdProtocolError extends NodeProxyError {
  constructor(message: string, options?: ErrorOptions) {
    super('NODEPROXY_DCRD_PROTOCOL', message, options);
  }
}

/** A request argument is malformed (bad hex, wrong length, empty tx). */
export class InvalidRequestError extends NodeProxyError {
  constructor(message: string, options?: ErrorOptions) {
    super('NODEPROXY_INVALID_REQUEST', message, options);
  }
}

/** A looked-up object does not exist (dcrd -5). */
export class NotFoundError extends NodeProxyError {
  constructor(message: string, options?: ErrorOptions) {
    super('NODEPROXY_NOT_FOUND', message, options);
  }
}

/**
 * A mined transaction was asked for, dcrd runs without `--txindex` (it finds only mempool
 * transactions then) and the request named no block to look in.
 */
export class TxIndexRequiredError extends NodeProxyError {
  constructor(message: string, options?: ErrorOptions) {
    super('NODEPROXY_TXINDEX_REQUIRED', message, options);
  }
}

/** A WatchChain stream fell further behind than the lag bound and was cut. */
export class StreamLaggingError extends NodeProxyError {
  constructor(message: string) {
    super('NODEPROXY_STREAM_LAGGING', message, { retryable: true });
  }
}

/** The proxy is shutting down. */
export class ShuttingDownError extends NodeProxyError {
  constructor(message = 'node proxy is shutting down') {
    super('NODEPROXY_SHUTTING_DOWN', message, { retryable: true });
  }
}

/** A call to the proxy failed at the transport level (no vc-error-code). */
export class ProxyTransportError extends NodeProxyError {
  /** The gRPC status code. */
  readonly grpcCode: number;
  constructor(grpcCode: number, message: string, options?: ErrorOptions) {
    super('NODEPROXY_TRANSPORT', message, { ...options, retryable: true });
    this.grpcCode = grpcCode;
  }
}

/** Local SendVote rejection codes (returned in SendVoteResponse.reject_code, not thrown). */
export const VOTE_REJECT_CODES = {
  /** The bytes do not decode as a transaction. */
  DECODE: 'NODEPROXY_VOTE_DECODE',
  /** The transaction is not a vote (SSGen). */
  NOT_A_VOTE: 'NODEPROXY_VOTE_NOT_A_VOTE',
  /** The voted block is not a tip this proxy has seen a draw for. */
  UNKNOWN_BLOCK: 'NODEPROXY_VOTE_UNKNOWN_BLOCK',
  /** The block was disconnected or is too far below the best block. */
  STALE_BLOCK: 'NODEPROXY_VOTE_STALE_BLOCK',
  /** The ticket was not drawn for the voted block. */
  TICKET_NOT_DRAWN: 'NODEPROXY_VOTE_TICKET_NOT_DRAWN',
  /** The height in the vote does not match the voted block's height. */
  HEIGHT_MISMATCH: 'NODEPROXY_VOTE_HEIGHT_MISMATCH',
  /** dcrd refused the vote; dcrd_code/message say why. */
  DCRD_REJECTED: 'NODEPROXY_VOTE_DCRD_REJECTED',
} as const;

/** One of {@link VOTE_REJECT_CODES}. */
export type VoteRejectCode = (typeof VOTE_REJECT_CODES)[keyof typeof VOTE_REJECT_CODES];

const CTORS: Record<string, (msg: string) => NodeProxyError> = {
  NODEPROXY_CONFIG: (m) => new NodeProxyConfigError(m),
  NODEPROXY_DCRD_UNAVAILABLE: (m) => new DcrdUnavailableError(m),
  NODEPROXY_INVALID_REQUEST: (m) => new InvalidRequestError(m),
  NODEPROXY_NOT_FOUND: (m) => new NotFoundError(m),
  NODEPROXY_TXINDEX_REQUIRED: (m) => new TxIndexRequiredError(m),
  NODEPROXY_STREAM_LAGGING: (m) => new StreamLaggingError(m),
  NODEPROXY_SHUTTING_DOWN: (m) => new ShuttingDownError(m),
};

/**
 * Rebuilds a typed error from a `vc-error-code` received over gRPC. Codes
 * without a dedicated constructor come back as a plain {@link NodeProxyError}
 * carrying the same code.
 */
export function nodeProxyErrorFromCode(code: string, message: string): NodeProxyError {
  const make = CTORS[code];
  return make ? make(message) : new NodeProxyError(code, message);
}
