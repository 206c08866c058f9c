/**
 * Typed errors of the cluster module. Codes are `CLUSTER_<REASON>`; callers
 * branch on `instanceof` inside this module and on `code` at boundaries.
 * `retryable` marks failures that may succeed if repeated (etcd unreachable,
 * lease lost), after etcd3's `RecoverableError` idea.
 */
import { CodedError } from '../base/index.ts';
export class ClusterError extends CodedError {}

/** The cluster configuration is invalid (names every bad field). */
export class ClusterConfigError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_CONFIG', message, options);
  }
}

/** The cluster key (file) is missing, unreadable or not 32 bytes. */
export class ClusterKeyError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_KEY_INVALID', message, options);
  }
}

/** A ciphertext was sealed with a cluster key this node does not hold (key ids differ). */
export class WrongClusterKeyError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_WRONG_CLUSTER_KEY', message, options);
  }
}

/**
 * This process's cluster key is not the cluster's: its fingerprint differs from the one stored
 * in etcd (`config/cluster-key`), or the stored tickets were sealed with another key. The
 * message names both fingerprints; nothing was written.
 */
export class ClusterKeyMismatchError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_KEY_MISMATCH', message, options);
  }
}

/** The process opened the cluster without a cluster key (read-only) and tried to seal or open a voting key. */
export class NoClusterKeyError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_NO_KEY', message, options);
  }
}

/** AES-GCM authentication failed: tampered ciphertext, or a ciphertext bound to another ticket. */
export class DecryptError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_DECRYPT_FAILED', message, options);
  }
}

/**
 * An etcd value that is not valid JSON, fails its schema or fails decryption.
 * Reported with its key and skipped; never deleted automatically.
 */
export class CorruptValueError extends ClusterError {
  readonly key: string;
  constructor(key: string, message: string, options?: ErrorOptions) {
    super('CLUSTER_CORRUPT_VALUE', `corrupt value at ${key}: ${message}`, options);
    this.key = key;
  }
}

/** The JSON of a stored value. @throws CorruptValueError naming `key` when it is not JSON */
export function parseStoredJson(key: string, raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new CorruptValueError(key, `not valid JSON (${(err as Error).message})`, { cause: err });
  }
}

/** A schema's issues as one line (`path: message; ...`) for a CorruptValueError. */
export function schemaIssues(error: { issues: Array<{ path: PropertyKey[]; message: string }> }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** etcd holds a schema version newer than this code understands. */
export class SchemaTooNewError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_SCHEMA_TOO_NEW', message, options);
  }
}

/** etcd could not be reached or did not answer in time. */
export class EtcdUnavailableError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_ETCD_UNAVAILABLE', message, { ...options, retryable: true });
  }
}

/** A ticket is already stored with a different voting key or ticket transaction. */
export class TicketConflictError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_TICKET_CONFLICT', message, options);
  }
}

/** No ticket record for this hash. */
export class TicketNotFoundError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_TICKET_NOT_FOUND', message, options);
  }
}

/** The node's session lease is gone (expired or revoked); re-join before acting. */
export class LeaseLostError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_LEASE_LOST', message, { ...options, retryable: true });
  }
}

/** Another live process already holds `nodes/<nodeId>`. */
export class NodeIdInUseError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_NODE_ID_IN_USE', message, options);
  }
}

/** A read-modify-write kept losing to concurrent writers (bounded retries exhausted). */
export class ConcurrentUpdateError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_CONCURRENT_UPDATE', message, { ...options, retryable: true });
  }
}

/** A caller passed a malformed argument (bad hash hex, bad node id, ...). */
export class ClusterArgumentError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_INVALID_ARGUMENT', message, options);
  }
}

/** The cluster handle was closed. */
export class ClusterClosedError extends ClusterError {
  constructor(message = 'cluster is closed', options?: ErrorOptions) {
    super('CLUSTER_CLOSED', message, options);
  }
}

/**
 * etcd refused the credentials (wrong user name or password, or etcd authentication is
 * not set up): not retryable, fix the configuration (`votecluster etcd init`, the password file).
 */
export class EtcdAuthError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_ETCD_AUTH_FAILED', message, options);
  }
}

/** etcd's RBAC refused the request: this process's etcd user may not read or write that key. */
export class EtcdPermissionError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_ETCD_PERMISSION_DENIED', message, options);
  }
}

/**
 * The cluster tip (`config/chain-tip`, or one of its markers `tickets/chain-tip`,
 * `tspends/chain-tip`) is not a 10-digit height, or the tip is missing while its markers exist.
 * Writes that change vote inputs are refused (nothing written) until a voter repairs the tip,
 * which it does on the next block it hears (chain-tip.ts `repair`: never below a height in use).
 * `key` names the unreadable key.
 */
export class ChainTipCorruptError extends ClusterError {
  readonly key: string;
  constructor(key: string, message: string, options?: ErrorOptions) {
    super('CLUSTER_CHAIN_TIP_CORRUPT', message, { ...options, retryable: true });
    this.key = key;
  }
}
