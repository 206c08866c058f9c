/**
 * TLS material from files (`--tls-ca`, `--tls-cert`, `--tls-key`): loading
 * with checks, reloading when the files change (operators rotate
 * certificates without a restart), and the grpc-js and https credentials
 * built from it. Every link is mutual TLS: both ends present a certificate
 * issued by the cluster CA and both check the other's.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { SecureContextOptions, PeerCertificate } from 'node:tls';
import { checkServerIdentity as tlsCheckServerIdentity } from 'node:tls';
import { ChannelCredentials, ServerCredentials, experimental } from '@grpc/grpc-js';
import { z } from 'zod';
import type { Logger } from '../telemetry/index.ts';
import { TlsMaterialError } from './errors.ts';

/** The three files every service takes, in the same shape everywhere. */
export interface TlsFiles {
  /** PEM bundle of trusted CA certificates (the cluster CA; old and new during a CA rotation). */
  caFile: string;
  /** PEM certificate of this process (optionally followed by intermediates). */
  certFile: string;
  /** PEM private key of `certFile`; must not be readable by group or others. */
  keyFile: string;
}

/** Who a certificate names: subject CN and OU (role), and its SHA-256 fingerprint. */
export interface CertificateIdentity {
  commonName: string;
  /** Subject OU (the role), `undefined` when the certificate has none. */
  role: string | undefined;
  /** `sha256:` followed by the lower-case hex SHA-256 of the DER certificate. */
  fingerprint: string;
}

/** Checked TLS material, ready for a secure context. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The identity of `cert`. */
  readonly identity: CertificateIdentity;
  readonly notAfter: Date;
}

const PEM_CERT_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Splits a PEM bundle into certificates; throws {@link TlsMaterialError} when it holds none or a broken one. */
export function parseCertificateBundle(pem: string, file?: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERT_RE) ?? [];
  if (blocks.length === 0) throw new TlsMaterialError(`${file ?? 'certificate'}: no PEM certificate found`, file);
  return blocks.map((b, i) => {
    try {
      return new X509Certificate(b);
    } catch (err) {
      throw new TlsMaterialError(`${file ?? 'certificate'}: certificate #${i + 1} does not parse: ${(err as Error).message}`, file, { cause: err });
    }
  });
}

function subjectField(subject: string, key: string): string | undefined {
  for (const line of subject.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0 && line.slice(0, i) === key) return line.slice(i + 1);
  }
  return undefined;
}

/** The identity of a certificate (PEM, DER, a parsed one, or a TLS peer certificate). */
export function certificateIdentity(cert: string | Buffer | X509Certificate | PeerCertificate): CertificateIdentity {
  if (cert instanceof X509Certificate || typeof cert === 'string' || Buffer.isBuffer(cert)) {
    const x = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
    return {
      commonName: subjectField(x.subject, 'CN') ?? '',
      role: subjectField(x.subject, 'OU'),
      fingerprint: `sha256:${createHash('sha256').update(x.raw).digest('hex')}`,
    };
  }
  const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined> | undefined;
  return {
    commonName: one(subject?.['CN']) ?? '',
    role: one(subject?.['OU']),
    fingerprint: `sha256:${createHash('sha256').update(cert.raw).digest('hex')}`,
  };
}

function readChecked(file: string, what: string, secret: boolean): Buffer {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    throw new TlsMaterialError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, file, { cause: err });
  }
  if (secret && (mode & 0o077) !== 0) {
    throw new TlsMaterialError(
      `${what} ${file} is accessible by group or others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); run chmod 600 ${file}`,
      file,
    );
  }
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsMaterialError(`${what} ${file}: ${(err as Error).message}`, file, { cause: err });
  }
}

/**
 * Reads and checks the three files: the CA bundle parses and holds CA
 * certificates, the key file is private (mode 0600 or stricter) and matches
 * the certificate, the certificate was issued by one of the CAs and is
 * within its validity period. Throws {@link TlsMaterialError} naming the file.
 */
export function loadTlsMaterial(files: TlsFiles, now: Date = new Date()): TlsMaterial {
  const ca = readChecked(files.caFile, 'TLS CA file', false);
  const cert = readChecked(files.certFile, 'TLS certificate file', false);
  const key = readChecked(files.keyFile, 'TLS key file', true);
  const cas = parseCertificateBundle(ca.toString('utf8'), files.caFile);
  // Re-joined one per line: a bundle made with `cat` of files lacking a final newline still loads.
  const caBundle = Buffer.from(`${cas.map((c) => c.toString().trim()).join('\n')}\n`);
  for (const c of cas) {
    if (!c.ca) throw new TlsMaterialError(`TLS CA file ${files.caFile}: ${c.subject.replace(/\n/g, ', ')} is not a CA certificate`, files.caFile);
  }
  const leaf = parseCertificateBundle(cert.toString('utf8'), files.certFile)[0] as X509Certificate;
  let keyObj: KeyObject;
  try {
    keyObj = createPrivateKey(key);
  } catch (err) {
    throw new TlsMaterialError(`TLS key file ${files.keyFile}: not a PEM private key`, files.keyFile, { cause: err });
  }
  if (!leaf.checkPrivateKey(keyObj)) throw new TlsMaterialError(`TLS key file ${files.keyFile} does not match the certificate in ${files.certFile}`, files.keyFile);
  if (!cas.some((c) => leaf.checkIssued(c) && leaf.verify(c.publicKey))) {
    throw new TlsMaterialError(`TLS certificate ${files.certFile} was not issued by a CA in ${files.caFile}`, files.certFile);
  }
  const notAfter = new Date(leaf.validTo);
  if (now.getTime() > notAfter.getTime()) throw new TlsMaterialError(`TLS certificate ${files.certFile} expired on ${notAfter.toISOString()}`, files.certFile);
  if (now.getTime() < new Date(leaf.validFrom).getTime()) {
    throw new TlsMaterialError(`TLS certificate ${files.certFile} is not valid before ${new Date(leaf.validFrom).toISOString()}`, files.certFile);
  }
  return { ca: caBundle, cert, key, identity: certificateIdentity(leaf), notAfter };
}

/** Options of {@link TlsReloader}. */
export interface TlsReloaderOptions {
  /** How often the files are checked for changes (default 1000 ms). */
  intervalMs?: number;
  log?: Pick<Logger, 'info' | 'warn'>;
  /** What the files are for (e.g. `etcd client`), logged with every reload and refusal. */
  label?: string;
}

type CaListener = (update: experimental.CaCertificateUpdate | null) => void;
type IdentityListener = (update: experimental.IdentityCertificateUpdate | null) => void;

/**
 * TLS material that follows its files. Loads and checks them at
 * construction (throws {@link TlsMaterialError}), then re-reads them every
 * `intervalMs`; a changed set that passes {@link loadTlsMaterial} replaces the
 * current one for new connections, a broken one (e.g. a half-written
 * rotation) is logged and ignored, and the last good material stays in use.
 * It is a grpc-js certificate provider, and {@link onChange} serves https.
 * Call {@link close} to stop watching.
 */
export class TlsReloader implements experimental.CertificateProvider {
  readonly files: TlsFiles;
  #material: TlsMaterial;
  #lastSeen: string;
  #lastRejected = '';
  #timer: NodeJS.Timeout | null;
  readonly #log: Pick<Logger, 'info' | 'warn'> | undefined;
  readonly #label: string | undefined;
  readonly #caListeners = new Set<CaListener>();
  readonly #identityListeners = new Set<IdentityListener>();
  readonly #changeListeners = new Set<(m: TlsMaterial) => void>();

  constructor(files: TlsFiles, opts: TlsReloaderOptions = {}) {
    this.files = { ...files };
    this.#log = opts.log;
    this.#label = opts.label;
    this.#material = loadTlsMaterial(this.files);
    this.#lastSeen = this.#digest();
    const interval = opts.intervalMs ?? 1000;
    this.#timer = setInterval(() => this.check(), interval);
    this.#timer.unref();
  }

  /** The material in use now. */
  get current(): TlsMaterial {
    return this.#material;
  }

  #digest(): string {
    const h = createHash('sha256');
    for (const f of [this.files.caFile, this.files.certFile, this.files.keyFile]) {
      try {
        h.update(readFileSync(f));
      } catch (err) {
        h.update(`missing:${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      h.update('\0');
    }
    return h.digest('hex');
  }

  /** Checks the files now (the timer calls this); returns true when new material was taken. */
  check(): boolean {
    const seen = this.#digest();
    if (seen === this.#lastSeen) return false;
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.files);
    } catch (err) {
      if (seen !== this.#lastRejected) {
        this.#lastRejected = seen;
        this.#log?.warn({ err, files: this.files, ...(this.#label ? { tls: this.#label } : {}) }, 'TLS files changed but do not check out; keeping the current certificate');
      }
      return false;
    }
    this.#lastSeen = seen;
    this.#material = next;
    this.#log?.info({ fingerprint: next.identity.fingerprint, notAfter: next.notAfter.toISOString(), ...(this.#label ? { tls: this.#label } : {}) }, 'TLS certificate reloaded');
    for (const l of this.#caListeners) l({ caCertificate: next.ca });
    for (const l of this.#identityListeners) l({ certificate: next.cert, privateKey: next.key });
    for (const l of this.#changeListeners) l(next);
    return true;
  }

  /** Calls `fn` with each new material; returns the unsubscribe function. */
  onChange(fn: (m: TlsMaterial) => void): () => void {
    this.#changeListeners.add(fn);
    return () => this.#changeListeners.delete(fn);
  }

  /** Stops watching the files. Credentials built from this reloader keep the last material. */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** grpc-js CertificateProvider. */
  addCaCertificateListener(listener: CaListener): void {
    this.#caListeners.add(listener);
    const m = this.#material;
    process.nextTick(() => listener({ caCertificate: m.ca }));
  }
  /** grpc-js CertificateProvider. */
  removeCaCertificateListener(listener: CaListener): void {
    this.#caListeners.delete(listener);
  }
  /** grpc-js CertificateProvider. */
  addIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.add(listener);
    const m = this.#material;
    process.nextTick(() => listener({ certificate: m.cert, privateKey: m.key }));
  }
  /** grpc-js CertificateProvider. */
  removeIdentityCertificateListener(listener: IdentityListener): void {
    this.#identityListeners.delete(listener);
  }
}

/**
 * gRPC server credentials for mutual TLS: the server presents its
 * certificate and accepts only clients presenting a certificate issued by a
 * CA in the bundle. Follows the reloader's files.
 */
export function grpcServerCredentials(tls: TlsReloader): ServerCredentials {
  // grpc-js 1.14 passes its two providers to the constructor in swapped
  // order; one provider serves both, so the order cannot matter.
  return experimental.createCertificateProviderServerCredentials(tls, tls, true);
}

let ipServernameWarningSilenced = false;
/**
 * (Exported for the other grpc-js TLS clients of the cluster, e.g. the etcd client.)
 * grpc-js 1.14 passes the dialled host as the TLS `servername` even when it is an IP address;
 * Node then sends no SNI (RFC 6066 has none for IPs) and prints deprecation DEP0123 on stderr.
 * The server certificate is still checked against the IP (its IP SAN), so the warning says
 * nothing an operator can act on: drop exactly that one, let every other warning through.
 */
export function silenceIpServernameWarning(): void {
  if (ipServernameWarningSilenced) return;
  ipServernameWarningSilenced = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/**
 * gRPC channel credentials for mutual TLS: the client presents its
 * certificate and checks that the server's was issued by a CA in the bundle
 * and names the dialled host (or `serverName`) in its SANs.
 */
export function grpcChannelCredentials(tls: TlsReloader, opts: { serverName?: string } = {}): ChannelCredentials {
  silenceIpServernameWarning();
  const { serverName } = opts;
  return experimental.createCertificateProviderChannelCredentials(
    tls,
    tls,
    serverName === undefined ? {} : { checkServerIdentity: (_host, cert) => tlsCheckServerIdentity(serverName, cert) },
  );
}

/**
 * Options for `https.createServer`/`tls.createServer` from the current
 * material: the server's certificate and key, and (with `requestClientCert`)
 * a demand for a client certificate from the CA bundle. Keep it current with
 * {@link watchSecureServer}.
 */
export function httpsServerOptions(tls: TlsReloader, opts: { requestClientCert?: boolean } = {}): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean; minVersion: 'TLSv1.2' } {
  const m = tls.current;
  const mutual = opts.requestClientCert === true;
  return { ca: m.ca, cert: m.cert, key: m.key, requestCert: mutual, rejectUnauthorized: mutual, minVersion: 'TLSv1.2' };
}

/** Keeps a `tls.Server`/`https.Server` on the reloader's current material; returns the unsubscribe function. */
export function watchSecureServer(server: { setSecureContext(opts: SecureContextOptions): void }, tls: TlsReloader): () => void {
  return tls.onChange((m) => server.setSecureContext({ ca: m.ca, cert: m.cert, key: m.key }));
}

/** The caller's certificate identity on a gRPC server call, or null when it presented none. */
export function grpcCallerIdentity(call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null }): CertificateIdentity | null {
  const cert = call.getAuthContext()?.sslPeerCertificate;
  if (!cert || !cert.raw || cert.raw.length === 0) return null;
  return certificateIdentity(cert);
}

/**
 * The config-file shape of {@link TlsFiles} (`tls: { caFile, certFile, keyFile }`), all three
 * required together; services embed it as their `tls` key.
 */
export const TlsFilesSchema = z.object({
  caFile: z.string().min(1),
  certFile: z.string().min(1),
  keyFile: z.string().min(1),
});
