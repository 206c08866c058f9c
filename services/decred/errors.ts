/**
 * Typed errors of the protocol library. Every decoder and validator throws a
 * subclass of {@link DecredError}; callers branch on `instanceof` inside this
 * service and on `code` at service boundaries. Codes are `DECRED_<REASON>`.
 */
import { CodedError } from '../base/index.ts';
export class DecredError extends CodedError {}

/** Bytes that do not decode: truncated, oversized, non-canonical or with trailing garbage. */
export class DecodeError extends DecredError {
  constructor(message: string, options?: ErrorOptions) {
    super('DECRED_DECODE', message, options);
  }
}

/** A string that is not valid hex of the expected length. */
export class HexError extends DecredError {
  constructor(message: string, options?: ErrorOptions) {
    super('DECRED_HEX', message, options);
  }
}

/** An address or WIF whose network prefix is not the expected network. */
export class WrongNetworkError extends DecredError {
  constructor(message: string, options?: ErrorOptions) {
    super('DECRED_WRONG_NETWORK', message, options);
  }
}

/** A base58check string with a bad checksum, length or type. */
export class EncodingError extends DecredError {
  constructor(message: string, options?: ErrorOptions) {
    super('DECRED_ENCODING', message, options);
  }
}

/** A script that does not have the expected form. */
export class ScriptError extends DecredError {
  constructor(message: string, options?: ErrorOptions) {
    super('DECRED_SCRIPT', message, options);
  }
}

/** The signature hash cannot be computed (e.g. SigHashSingle with idx >= outputs). */
export class SighashError extends DecredError {
  constructor(message: string, options?: ErrorOptions) {
    super('DECRED_SIGHASH', message, options);
  }
}

/** A signature or signature script that does not verify. */
export class SignatureError extends DecredError {
  constructor(message: string, options?: ErrorOptions) {
    super('DECRED_SIGNATURE', message, options);
  }
}

/** A transaction that breaks a consensus rule for its type (ticket, vote, ...). */
export class RuleError extends DecredError {
  /** A short machine-readable reason, stable across releases (e.g. `BAD_SUBSIDY`). */
  readonly reason: string;
  constructor(reason: string, message: string, options?: ErrorOptions) {
    super('DECRED_RULE', message, options);
    this.reason = reason;
  }
}

/** A private key that does not control the ticket's voting output. */
export class KeyMismatchError extends DecredError {
  constructor(message: string, options?: ErrorOptions) {
    super('DECRED_KEY_MISMATCH', message, options);
  }
}

/** A caller passed an argument outside the accepted range (programming error at the edge). */
export class InvalidArgumentError extends DecredError {
  constructor(message: string, options?: ErrorOptions) {
    super('DECRED_INVALID_ARGUMENT', message, options);
  }
}
