/**
 * Typed errors of the admin service. Every refusal of operator or vspd input
 * is a subclass of {@link AdminError} with a stable `ADMIN_<REASON>` code; the
 * gRPC server, the wallet JSON-RPC endpoint and the CLI map codes, never text.
 * Messages name what was wrong and, where two sides disagree (network, key vs
 * ticket), both sides. Messages never contain a WIF or a private key.
 */
import { CodedError } from '../base/index.ts';
export class AdminError extends CodedError {}

/** A request that is malformed (missing field, bad hex, bad hash length, unknown policy word). */
export class AdminBadRequestError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_BAD_REQUEST', message, options);
  }
}

/** The WIF belongs to another network than the cluster's. */
export class AdminWrongNetworkError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_WRONG_NETWORK', message, options);
  }
}

/** The WIF does not decode (checksum, length, unsupported signature type). */
export class AdminBadKeyError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_BAD_KEY', message, options);
  }
}

/** The key does not control the ticket's voting output. */
export class AdminKeyMismatchError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_KEY_MISMATCH', message, options);
  }
}

/** The transaction does not decode, or decodes but is not a ticket purchase. */
export class AdminNotATicketError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_NOT_A_TICKET', message, options);
  }
}

/** The given ticket hex does not hash to the given ticket hash. */
export class AdminTicketHashMismatchError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_TICKET_HASH_MISMATCH', message, options);
  }
}

/** The chain does not know the ticket (never mined, or unknown transaction). */
export class AdminTicketNotFoundError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_TICKET_NOT_FOUND', message, options);
  }
}

/** The ticket is mined but not live: immature is fine, spent (voted/revoked), expired or missed is not. */
export class AdminTicketNotLiveError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_TICKET_NOT_LIVE', message, options);
  }
}

/** The ticket is not managed by the cluster. */
export class AdminUnknownTicketError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_UNKNOWN_TICKET', message, options);
  }
}

/** The agenda id is not among the chain's agendas for the vote version. */
export class AdminUnknownAgendaError extends AdminError {
  /**
   * @param agendaId the agenda asked for.
   * @param fromChain true when the agenda list it was checked against came from the chain just
   *   now (not from a stored copy): only then is the agenda known not to exist.
   */
  constructor(message: string, readonly agendaId = '', readonly fromChain = false, options?: ErrorOptions) {
    super('ADMIN_UNKNOWN_AGENDA', message, options);
  }
}

/** The choice id is not a choice of the agenda. */
export class AdminUnknownChoiceError extends AdminError {
  constructor(message: string, readonly agendaId = '', readonly choiceId = '', options?: ErrorOptions) {
    super('ADMIN_UNKNOWN_CHOICE', message, options);
  }
}

/** The operation needs a chain lookup but no proxy is configured (e.g. fetching a raw ticket). */
export class AdminNoChainError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_NO_CHAIN', message, options);
  }
}

/** A chain lookup through the proxy failed (unavailable, timeout); retryable. */
export class AdminChainUnavailableError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_CHAIN_UNAVAILABLE', message, { ...options, retryable: true });
  }
}

/**
 * The proxy's dcrd runs without --txindex (it finds only mempool transactions) and the lookup
 * named no block to read the transaction from.
 */
export class AdminTxIndexRequiredError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_TXINDEX_REQUIRED', message, options);
  }
}

/** The cluster store (etcd) failed; retryable. */
export class AdminStoreError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_STORE', message, { ...options, retryable: true });
  }
}

/** The admin service itself is misconfigured or was used in the wrong state. */
export class AdminConfigError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_CONFIG', message, options);
  }
}

/** The given ticket bytes differ from the chain's copy of the same ticket (e.g. altered witness data). */
export class AdminTicketBytesMismatchError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_TICKET_BYTES_MISMATCH', message, options);
  }
}

/** The ticket is already managed with a different key or different ticket bytes. */
export class AdminTicketConflictError extends AdminError {
  constructor(message: string, options?: ErrorOptions) {
    super('ADMIN_TICKET_CONFLICT', message, options);
  }
}

/** The Admin API caller presented no client certificate (gRPC UNAUTHENTICATED). */
export class AdminUnauthenticatedError extends AdminError {
  constructor(message: string) {
    super('ADMIN_UNAUTHENTICATED', message);
  }
}

/** The caller's role may not call this method (gRPC PERMISSION_DENIED). Names method and role. */
export class AdminPermissionDeniedError extends AdminError {
  constructor(message: string) {
    super('ADMIN_PERMISSION_DENIED', message);
  }
}
