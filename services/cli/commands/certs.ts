/**
 * `votecluster certs`: the cluster CA and the certificates every gRPC link
 * presents (like dcrd's gencerts or CockroachDB's `cert` commands).
 *
 *   certs create-ca     --certs-dir DIR                     ca.crt, ca.key
 *   certs create-server NAME --san H [--san H…] [--role R]  NAME.crt, NAME.key (serverAuth)
 *   certs create-client NAME --role R                       NAME.crt, NAME.key (clientAuth)
 *   certs create-peer   NAME --san H [--role R]             both (a service that serves and dials)
 *   certs show FILE                                         who a certificate names
 *
 * Keys are written with mode 0600, the directory 0700; existing files are
 * kept unless `--force`. Each command prints one JSON line with the files written.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  CA_CERT_FILE,
  certificateIdentity,
  createCertificateAuthority,
  issueCertificate,
  readCaFiles,
  SecurityError,
  writePemPair,
  type CertificateUsage,
} from '../../security/index.ts';

function collect(v: string, prev: string[]): string[] {
  return [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)];
}

function days(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new SecurityError('SECURITY_CERT_REQUEST', `--days must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

async function run(fn: () => Promise<Record<string, unknown>>): Promise<void> {
  try {
    process.stdout.write(`${JSON.stringify(await fn())}\n`);
  } catch (err) {
    if (!(err instanceof SecurityError)) throw err;
    process.stderr.write(`votecluster certs: [${err.code}] ${err.message}\n`);
    process.exitCode = 1;
  }
}

function issueCommand(certs: Command, name: string, usage: CertificateUsage, description: string): void {
  certs
    .command(`${name} <name>`)
    .description(description)
    .option('--certs-dir <dir>', 'directory holding ca.crt/ca.key; the new files go there too', 'certs')
    .option('--san <host>', 'DNS name or IP address clients dial (repeatable or comma-separated)', collect, [] as string[])
    .option('--role <role>', usage === 'client' ? 'role (certificate OU): operator, read-only, voter, admin, …' : 'role (certificate OU): proxy, admin, etcd, …')
    .option('--common-name <cn>', 'subject CN (default: <name>)')
    .option('--days <n>', 'validity in days (default 730; never past the CA)')
    .option('--force', 'overwrite existing <name>.crt/<name>.key')
    .action(async (holder: string, o: { certsDir: string; san: string[]; role?: string; commonName?: string; days?: string; force?: boolean }) =>
      run(async () => {
        const ca = readCaFiles(o.certsDir);
        const validDays = days(o.days);
        const pair = await issueCertificate(ca, {
          commonName: o.commonName ?? holder,
          usage,
          sans: o.san,
          ...(o.role !== undefined ? { role: o.role } : {}),
          ...(validDays !== undefined ? { validDays } : {}),
        });
        const files = writePemPair(o.certsDir, holder, pair, { force: o.force === true });
        const id = certificateIdentity(pair.certPem);
        return { ...files, caFile: `${o.certsDir}/${CA_CERT_FILE}`, usage, commonName: id.commonName, role: id.role ?? null, sans: o.san, fingerprint: id.fingerprint };
      }),
    );
}

/** Registers `certs`. */
export function register(program: Command): void {
  const certs = program.command('certs').description('Create the cluster CA and the certificates of proxies, voters, the admin and operators');
  certs
    .command('create-ca')
    .description('Create the cluster CA (ca.crt, ca.key with mode 0600) in --certs-dir')
    .option('--certs-dir <dir>', 'directory for ca.crt and ca.key (created with mode 0700)', 'certs')
    .option('--common-name <cn>', 'CA subject CN (default: votecluster CA <random>)')
    .option('--days <n>', 'validity in days (default 3650)')
    .option('--force', 'overwrite an existing CA (every certificate it issued stops being trusted)')
    .action(async (o: { certsDir: string; commonName?: string; days?: string; force?: boolean }) =>
      run(async () => {
        const validDays = days(o.days);
        const ca = await createCertificateAuthority({ ...(o.commonName ? { commonName: o.commonName } : {}), ...(validDays !== undefined ? { validDays } : {}) });
        const files = writePemPair(o.certsDir, 'ca', ca, { force: o.force === true });
        return { caFile: files.certFile, caKeyFile: files.keyFile, commonName: certificateIdentity(ca.certPem).commonName, fingerprint: certificateIdentity(ca.certPem).fingerprint };
      }),
    );
  issueCommand(certs, 'create-server', 'server', 'Issue a server certificate (a node proxy): --san names every address clients dial');
  issueCommand(certs, 'create-client', 'client', 'Issue a client certificate (a voter, an operator: --role operator or read-only)');
  issueCommand(certs, 'create-peer', 'peer', 'Issue a certificate that serves and dials (the admin: Admin API server and proxy client; etcd members)');
  certs
    .command('show <file>')
    .description('Print who a certificate names: CN, role, SANs, validity, fingerprint')
    .action(async (file: string) =>
      run(async () => {
        let x: X509Certificate;
        try {
          x = new X509Certificate(readFileSync(file));
        } catch (err) {
          throw new SecurityError('SECURITY_TLS_MATERIAL', `${file}: not a PEM certificate (${(err as Error).message})`);
        }
        const id = certificateIdentity(x);
        return { file, commonName: id.commonName, role: id.role ?? null, ca: x.ca, sans: x.subjectAltName?.split(', ') ?? [], issuer: x.issuer.replace(/\n/g, ', '), notBefore: x.validFrom, notAfter: x.validTo, fingerprint: id.fingerprint };
      }),
    );
}
