/**
 * The cluster's private certificate authority: a self-signed ECDSA P-256 CA
 * and the server, client and peer certificates it issues. A certificate's
 * subject carries the holder's name (CN) and role (OU); its SANs carry the
 * DNS names and IP addresses the operator names for it.
 */
import { isIP } from 'node:net';
import { X509Certificate as NodeX509, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { CertificateRequestError, TlsMaterialError } from './errors.ts';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

/** A certificate and its private key, both PEM (the key as PKCS#8). */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

/**
 * Roles a certificate's OU can carry. Admin API callers are `operator` (may
 * mutate) or `read-only`; services identify as what they are.
 */
export const ROLE = {
  operator: 'operator',
  readOnly: 'read-only',
  voter: 'voter',
  proxy: 'proxy',
  admin: 'admin',
  etcd: 'etcd',
} as const;
export type KnownRole = (typeof ROLE)[keyof typeof ROLE];

/** `server`: TLS server auth; `client`: TLS client auth; `peer`: both (e.g. etcd members). */
export type CertificateUsage = 'server' | 'client' | 'peer';

/** Default lifetimes: the CA ten years, issued certificates two. */
export const DEFAULT_CA_DAYS = 3650;
export const DEFAULT_CERT_DAYS = 730;

/** What to put in a new certificate. */
export interface CertificateRequest {
  /** Subject CN: the holder's name (a node id, an operator's name). */
  commonName: string;
  /** Subject OU: the holder's role (see {@link ROLE}); lower-case letters, digits and dashes. */
  role?: string;
  /** DNS names and IP addresses (v4 or v6) the certificate is valid for. Required for server and peer usage. */
  sans?: readonly string[];
  usage: CertificateUsage;
  /** Validity in days from now (default {@link DEFAULT_CERT_DAYS}). */
  validDays?: number;
}

const ROLE_RE = /^[a-z][a-z0-9-]{0,31}$/;
const DNS_RE = /^(?=.{1,253}$)(\*\.)?([a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)(\.[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?)*$/;

function checkName(value: string, what: string): void {
  if (value.length === 0 || value.length > 64 || /[\u0000-\u001f,+"\\<>;=]/.test(value)) {
    throw new CertificateRequestError(`${what} ${JSON.stringify(value)} must be 1-64 printable characters without , + " \\ < > ; =`);
  }
}

function checkDays(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new CertificateRequestError(`validity must be a whole number of days between 1 and 36500, got ${days}`);
}

/** Splits SANs into x509 general names; throws {@link CertificateRequestError} on anything that is neither an IP nor a DNS name. */
export function parseSans(sans: readonly string[]): Array<{ type: 'dns' | 'ip'; value: string }> {
  const out: Array<{ type: 'dns' | 'ip'; value: string }> = [];
  const seen = new Set<string>();
  for (const raw of sans) {
    const s = raw.trim().replace(/^\[(.*)\]$/, '$1');
    if (seen.has(s)) continue;
    seen.add(s);
    if (isIP(s) !== 0) out.push({ type: 'ip', value: s });
    else if (DNS_RE.test(s)) out.push({ type: 'dns', value: s.toLowerCase() });
    else throw new CertificateRequestError(`SAN ${JSON.stringify(raw)} is neither an IP address nor a DNS name`);
  }
  return out;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] as number) & 0x7f; // positive, 16 bytes of entropy (RFC 5280 allows up to 20 octets)
  return b.toString('hex');
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

/**
 * Creates a self-signed cluster CA (CA:true, pathlen 0, keyCertSign|cRLSign).
 * The default common name is `votecluster CA <8 hex digits>`, unique per CA.
 * @example const ca = await createCertificateAuthority({ commonName: 'votecluster CA' });
 */
export async function createCertificateAuthority(opts: { commonName?: string; validDays?: number } = {}): Promise<PemPair> {
  // A distinct name per CA: during a CA rotation both CAs sit in one bundle, and
  // OpenSSL looks issuers up by subject name, so two CAs must not share one.
  const commonName = opts.commonName ?? `votecluster CA ${randomBytes(4).toString('hex')}`;
  checkName(commonName, 'CA common name');
  const days = opts.validDays ?? DEFAULT_CA_DAYS;
  checkDays(days);
  const keys = await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [commonName] }, { O: ['votecluster'] }],
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: SIGN_ALG,
    keys: keys as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}

/**
 * A self-signed server certificate that is its own CA, the shape of dcrd's
 * `rpc.cert` (dcrd's certgen marks it CA with keyCertSign so clients can
 * pin it as their root). For endpoints clients pin by file, not for the cluster's links.
 */
export async function createSelfSignedServerCertificate(opts: { commonName: string; organization?: string; sans: readonly string[]; validDays?: number }): Promise<PemPair> {
  checkName(opts.commonName, 'common name');
  const sans = parseSans(opts.sans);
  if (sans.length === 0) throw new CertificateRequestError('a server certificate needs at least one SAN');
  const days = opts.validDays ?? DEFAULT_CERT_DAYS;
  checkDays(days);
  const keys = await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [opts.commonName] }, { O: [opts.organization ?? 'votecluster'] }],
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: SIGN_ALG,
    keys: keys as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(sans, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}

async function importCa(ca: PemPair): Promise<{ cert: x509.X509Certificate; key: CryptoKey }> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(ca.certPem);
  } catch (err) {
    throw new TlsMaterialError('the CA certificate is not a PEM X.509 certificate', undefined, { cause: err });
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new TlsMaterialError('the CA certificate is not a CA (basicConstraints CA:false)');
  try {
    const node = new NodeX509(ca.certPem);
    if (!node.checkPrivateKey(createPrivateKey(ca.keyPem))) throw new TlsMaterialError('the CA key does not match the CA certificate');
  } catch (err) {
    if (err instanceof TlsMaterialError) throw err;
    throw new TlsMaterialError('the CA key is not a PEM private key', undefined, { cause: err });
  }
  const der = x509.PemConverter.decodeFirst(ca.keyPem);
  const key = await webcrypto.subtle.importKey('pkcs8', der, EC_ALG, false, ['sign']);
  return { cert, key };
}

/**
 * Issues a certificate signed by `ca` for a fresh P-256 key.
 * Throws {@link CertificateRequestError} on a bad request and
 * {@link TlsMaterialError} when `ca` is not a usable CA.
 * @example await issueCertificate(ca, { commonName: 'proxy-a', role: ROLE.proxy, usage: 'server', sans: ['127.0.0.1', 'proxy-a.example'] });
 */
export async function issueCertificate(ca: PemPair, req: CertificateRequest): Promise<PemPair> {
  checkName(req.commonName, 'common name');
  if (req.role !== undefined && !ROLE_RE.test(req.role)) {
    throw new CertificateRequestError(`role ${JSON.stringify(req.role)} must be lower-case letters, digits and dashes (e.g. ${ROLE.operator}, ${ROLE.readOnly})`);
  }
  const days = req.validDays ?? DEFAULT_CERT_DAYS;
  checkDays(days);
  const sans = parseSans(req.sans ?? []);
  if (req.usage !== 'client' && sans.length === 0) throw new CertificateRequestError(`a ${req.usage} certificate needs at least one SAN (a DNS name or an IP address clients dial)`);
  const authority = await importCa(ca);
  const caNotAfter = authority.cert.notAfter.getTime();
  const now = Date.now();
  const notAfter = Math.min(now + days * DAY_MS, caNotAfter);
  const keys = await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
  const eku = req.usage === 'server' ? [x509.ExtendedKeyUsage.serverAuth] : req.usage === 'client' ? [x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
    new x509.ExtendedKeyUsageExtension(eku, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  const caKeyId = authority.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  extensions.push(caKeyId ? new x509.AuthorityKeyIdentifierExtension(caKeyId) : await x509.AuthorityKeyIdentifierExtension.create(authority.cert.publicKey));
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const subject: x509.JsonName = [{ CN: [req.commonName] }, { O: ['votecluster'] }];
  if (req.role !== undefined) subject.push({ OU: [req.role] });
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: authority.cert.subjectName,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(notAfter),
    signingAlgorithm: SIGN_ALG,
    publicKey: keys.publicKey,
    signingKey: authority.key,
    extensions,
  });
  return { certPem: `${cert.toString('pem')}\n`, keyPem: await exportKeyPem(keys.privateKey) };
}
