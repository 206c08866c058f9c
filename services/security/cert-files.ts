/**
 * Certificate files on disk, laid out like CockroachDB's certs directory:
 * `ca.crt`/`ca.key` for the cluster CA and `<name>.crt`/`<name>.key` per
 * holder. Keys are written with mode 0600, certificates 0644; each file is
 * written to a temporary name and renamed, so a process that reloads its
 * certificates never reads half a file. Existing files are kept unless
 * `force` is given.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CertificateExistsError, TlsMaterialError } from './errors.ts';
import { createCertificateAuthority, issueCertificate, type CertificateRequest, type PemPair } from './pki.ts';
import type { TlsFiles } from './tls.ts';

/** File names of the CA in a certs directory. */
export const CA_CERT_FILE = 'ca.crt';
export const CA_KEY_FILE = 'ca.key';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function writeAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { mode, flag: 'wx' });
  renameSync(tmp, file);
}

/** Writes `<name>.crt` (0644) and `<name>.key` (0600) into `dir` (created 0700 if absent). Throws {@link CertificateExistsError} unless `force`. */
export function writePemPair(dir: string, name: string, pair: PemPair, opts: { force?: boolean } = {}): { certFile: string; keyFile: string } {
  if (!NAME_RE.test(name)) throw new TlsMaterialError(`certificate name ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-'`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  if (opts.force !== true) {
    for (const f of [certFile, keyFile]) if (existsSync(f)) throw new CertificateExistsError(f);
  }
  writeAtomic(keyFile, pair.keyPem, 0o600);
  writeAtomic(certFile, pair.certPem, 0o644);
  return { certFile, keyFile };
}

/** Reads the CA (`ca.crt`, `ca.key`) from a certs directory; throws {@link TlsMaterialError} when absent. */
export function readCaFiles(dir: string): PemPair {
  const read = (f: string): string => {
    try {
      return readFileSync(join(dir, f), 'utf8');
    } catch (err) {
      throw new TlsMaterialError(`cannot read ${join(dir, f)}: ${(err as Error).message} (create the CA first: votecluster certs create-ca)`, join(dir, f), { cause: err });
    }
  };
  return { certPem: read(CA_CERT_FILE), keyPem: read(CA_KEY_FILE) };
}

/** One holder to issue for in {@link createCertsDir}. */
export interface NamedCertificateRequest extends CertificateRequest {
  /** File stem: `<name>.crt` and `<name>.key`. */
  name: string;
}

/** A certs directory: the CA and, per holder name, the three files it passes as `--tls-ca/--tls-cert/--tls-key`. */
export interface CertsDir {
  dir: string;
  caFile: string;
  caKeyFile: string;
  /** The CA, to issue more certificates with {@link issueInto}. */
  ca: PemPair;
  files: Record<string, TlsFiles>;
}

/**
 * Creates a CA in `dir` and issues one certificate per request (what
 * `npm start` and the test harnesses use: the same mTLS setup as production).
 * @example const certs = await createCertsDir(dir, [{ name: 'proxy-0', usage: 'server', role: ROLE.proxy, sans: ['127.0.0.1'], commonName: 'proxy-0' }]);
 */
export async function createCertsDir(dir: string, requests: readonly NamedCertificateRequest[], opts: { force?: boolean; caCommonName?: string } = {}): Promise<CertsDir> {
  const ca = await createCertificateAuthority(opts.caCommonName === undefined ? {} : { commonName: opts.caCommonName });
  const caPaths = writePemPair(dir, 'ca', ca, opts);
  const out: CertsDir = { dir, caFile: caPaths.certFile, caKeyFile: caPaths.keyFile, ca, files: {} };
  for (const r of requests) await issueInto(out, r, opts);
  return out;
}

/** Issues one more certificate from `certs.ca` into `certs.dir` and records its files in `certs.files`. */
export async function issueInto(certs: CertsDir, req: NamedCertificateRequest, opts: { force?: boolean } = {}): Promise<TlsFiles> {
  const { name, ...request } = req;
  const pair = await issueCertificate(certs.ca, request);
  const paths = writePemPair(certs.dir, name, pair, opts);
  const files: TlsFiles = { caFile: certs.caFile, ...paths };
  certs.files[name] = files;
  return files;
}
