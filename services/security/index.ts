/**
 * services/security: the cluster's certificate authority and TLS material
 * (generation, loading, reload on change), mTLS credentials for gRPC and
 * https, caller identity, and which listeners may run unprotected.
 * A leaf service: it depends only on telemetry.
 *
 * - {@link createCertificateAuthority} / {@link issueCertificate}: ECDSA P-256 CA and certificates (CN, OU role, SANs).
 * - {@link createCertsDir} / {@link writePemPair} / {@link readCaFiles} / {@link issueInto}: certs directories on disk.
 * - {@link loadTlsMaterial} / {@link TlsReloader}: `--tls-ca/--tls-cert/--tls-key` checked, and followed on change.
 * - {@link grpcServerCredentials} / {@link grpcChannelCredentials} / {@link httpsServerOptions} / {@link watchSecureServer}.
 * - {@link grpcCallerIdentity} / {@link certificateIdentity}: who is calling (CN, role, fingerprint).
 * - {@link isLoopbackHost} / {@link requireProtectedUnlessLoopback}: listener policy.
 * - {@link readSecretFile} / {@link writeSecretFile}: secret files (owner-only permissions, 0600 on write).
 */

/** Typed errors (`SECURITY_*` codes). */
export { SecurityError, CertificateRequestError, TlsMaterialError, CertificateExistsError, InsecureListenerError } from './errors.ts';

/**
 * `createCertificateAuthority({ commonName?, validDays? })` → `{ certPem, keyPem }`;
 * `issueCertificate(ca, { commonName, role?, sans?, usage: 'server'|'client'|'peer', validDays? })` → `{ certPem, keyPem }`.
 * `createSelfSignedServerCertificate({ commonName, sans })`: a dcrd-style self-signed `rpc.cert` for endpoints clients pin.
 * `ROLE` lists the roles (OU) the cluster knows; `parseSans` checks SAN strings.
 */
export { createCertificateAuthority, issueCertificate, createSelfSignedServerCertificate, parseSans, ROLE, DEFAULT_CA_DAYS, DEFAULT_CERT_DAYS } from './pki.ts';
export type { PemPair, CertificateRequest, CertificateUsage, KnownRole } from './pki.ts';

/** Certs directories: `ca.crt`/`ca.key`, `<name>.crt`/`<name>.key` (keys 0600, atomic writes, no overwrite without `force`). */
export { createCertsDir, issueInto, writePemPair, readCaFiles, CA_CERT_FILE, CA_KEY_FILE } from './cert-files.ts';
export type { CertsDir, NamedCertificateRequest } from './cert-files.ts';

/**
 * `TlsFilesSchema`: the zod shape `{ caFile, certFile, keyFile }` services embed as `tls`.
 * `loadTlsMaterial(files)` checks the three files; `new TlsReloader(files, { intervalMs?, log? })`
 * follows them; `grpcServerCredentials(tls)` (client certificate required),
 * `grpcChannelCredentials(tls, { serverName? })`, `httpsServerOptions(tls, { requestClientCert? })`,
 * `watchSecureServer(server, tls)`; `grpcCallerIdentity(call)`, `certificateIdentity(cert)`.
 */
export {
  loadTlsMaterial,
  TlsFilesSchema,
  parseCertificateBundle,
  TlsReloader,
  grpcServerCredentials,
  grpcChannelCredentials,
  silenceIpServernameWarning,
  httpsServerOptions,
  watchSecureServer,
  grpcCallerIdentity,
  certificateIdentity,
} from './tls.ts';
export type { TlsFiles, TlsMaterial, CertificateIdentity, TlsReloaderOptions } from './tls.ts';

/** Listener policy: `isLoopbackHost(host)`, `listenHost('h:p')`, `requireProtectedUnlessLoopback(surface, listen, { tls, credentials })`. */
export { isLoopbackHost, listenHost, requireProtectedUnlessLoopback } from './listen.ts';

/**
 * Secret files: `readSecretFile(path, what)` reads a file only when its group and others
 * have no access (ssh's rule; the error names the file, its mode and `chmod 600`);
 * `writeSecretFile(path, bytes, { force })` creates it with mode 0600 and refuses to
 * overwrite unless forced.
 */
export {
  readSecretFile,
  writeSecretFile,
  assertSecretFileMode,
  formatMode,
  SECRET_FILE_FORBIDDEN_BITS,
  SecretFileError,
  SecretFilePermissionError,
  SecretFileUnreadableError,
  SecretFileExistsError,
} from './key-file.ts';
export type { WriteSecretFileOptions } from './key-file.ts';
