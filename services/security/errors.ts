/**
 * Typed errors of the security service. Every failure has a stable code
 * `SECURITY_<REASON>`; callers branch on `instanceof` or on `code`.
 */

/** Base class: a stable `code`, a `name`, an optional `cause`. */
export class SecurityError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A certificate request is malformed (bad SAN, role, common name or validity). */
export class CertificateRequestError extends SecurityError {
  constructor(message: string, options?: ErrorOptions) {
    super('SECURITY_CERT_REQUEST', message, options);
  }
}

/**
 * TLS material on disk is missing, unreadable, unparsable or inconsistent
 * (key does not match certificate, certificate not signed by the CA, expired).
 * `file` names the offending file when one is to blame.
 */
export class TlsMaterialError extends SecurityError {
  readonly file: string | undefined;
  constructor(message: string, file?: string, options?: ErrorOptions) {
    super('SECURITY_TLS_MATERIAL', message, options);
    this.file = file;
  }
}

/** Writing certificate files would overwrite existing ones (pass `force`). */
export class CertificateExistsError extends SecurityError {
  readonly file: string;
  constructor(file: string) {
    super('SECURITY_CERT_EXISTS', `${file} already exists; refusing to overwrite it (use --force to replace it)`);
    this.file = file;
  }
}

/** A listener would be reachable beyond loopback without the protection it needs. */
export class InsecureListenerError extends SecurityError {
  constructor(message: string) {
    super('SECURITY_INSECURE_LISTENER', message);
  }
}
