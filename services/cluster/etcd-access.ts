/**
 * How a process reaches etcd: its etcd user (name + password, the password read
 * from a file) and the TLS material for etcd's client port (the cluster CA that
 * signed etcd's server certificate, and this process's client certificate and
 * key). Every service takes these settings in the same shape; {@link loadEtcdAccess}
 * reads the files and returns what the etcd client needs; {@link followEtcdTls} follows the
 * TLS files of a long-running process, so rotated certificates are used without a restart.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { readSecretFile, SecretFileExistsError, TlsReloader, writeSecretFile, type TlsFiles } from '../security/index.ts';
import { ClusterConfigError } from './errors.ts';
import type { ClusterLogger } from './log.ts';

/** The etcd user and TLS files of one process (all paths; the password only as a file, or given directly by an embedder). */
export const EtcdAccessSchema = z
  .object({
    /** etcd user name (`votecluster-voter`, `votecluster-admin`, `votecluster-reader`). */
    username: z.string().min(1).max(128).optional(),
    /** File holding the user's password (one line; mode 0600). Secret. */
    passwordFile: z.string().min(1).optional(),
    /** The password itself (tests, embedders that already read it). Secret: never logged. */
    password: z.string().min(1).optional(),
    /** PEM file of the CA that signed etcd's server certificate (the cluster CA). */
    caFile: z.string().min(1).optional(),
    /** PEM client certificate presented to etcd (etcd runs with `--client-cert-auth`). */
    certFile: z.string().min(1).optional(),
    /** PEM private key of `certFile`. Secret. */
    keyFile: z.string().min(1).optional(),
  })
  .refine((a) => a.username === undefined || a.passwordFile !== undefined || a.password !== undefined, {
    message: 'an etcd user needs its password file',
    path: ['passwordFile'],
  })
  .refine((a) => a.username !== undefined || (a.passwordFile === undefined && a.password === undefined), {
    message: 'an etcd password needs the etcd user name',
    path: ['username'],
  })
  .refine((a) => (a.certFile === undefined) === (a.keyFile === undefined), {
    message: 'the etcd client certificate and its key go together',
    path: ['keyFile'],
  })
  .refine((a) => a.certFile === undefined || a.caFile !== undefined, {
    message: 'an etcd client certificate needs the CA of etcd (caFile)',
    path: ['caFile'],
  });
/** Input form of {@link EtcdAccessSchema}. */
export type EtcdAccess = z.input<typeof EtcdAccessSchema>;

/** What the etcd client needs: credentials and PEM bytes. */
export interface ResolvedEtcdAccess {
  auth?: { username: string; password: string };
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** The three TLS files, when a client certificate is configured (what {@link followEtcdTls} follows). */
  tlsFiles?: TlsFiles;
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new ClusterConfigError(`${what} ${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

/**
 * Reads the password file and the TLS files named by `access`.
 * @throws {ClusterConfigError} naming the file that is missing, empty or readable by others.
 */
export async function loadEtcdAccess(access: EtcdAccess | undefined): Promise<ResolvedEtcdAccess> {
  if (!access) return {};
  const parsed = EtcdAccessSchema.safeParse(access);
  if (!parsed.success) {
    throw new ClusterConfigError(`etcd access: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const a = parsed.data;
  const out: ResolvedEtcdAccess = {};
  if (a.username !== undefined) {
    let password = a.password;
    password ??= await readEtcdPasswordFile(a.passwordFile as string);
    out.auth = { username: a.username, password };
  }
  if (a.caFile !== undefined) {
    out.tls = { ca: await readPem(a.caFile, 'etcd CA file') };
    if (a.certFile !== undefined) {
      out.tls.cert = await readPem(a.certFile, 'etcd client certificate');
      out.tls.key = await readSecretFile(a.keyFile as string, 'etcd client key');
      out.tlsFiles = { caFile: a.caFile, certFile: a.certFile, keyFile: a.keyFile as string };
    }
  }
  return out;
}

/** How often {@link followEtcdTls} looks at the etcd TLS files (ms). */
export const ETCD_TLS_CHECK_INTERVAL_MS = 1_000;

/**
 * Follows the etcd CA bundle, client certificate and key of `access` (a {@link TlsReloader}, the
 * one reload-on-change mechanism of every certificate in the cluster): checked now (the key is
 * private and matches the certificate, which a CA of the bundle issued and which is within its
 * validity), then re-read every `intervalMs`; a changed set that checks out is used for every new
 * connection to etcd, one that does not is logged and ignored. Undefined when no client
 * certificate is configured (a CA alone is read once by {@link loadEtcdAccess}).
 * Close it when the etcd client closes.
 * @throws {ClusterConfigError} naming the file that does not check out.
 */
export function followEtcdTls(access: ResolvedEtcdAccess, opts: { log?: ClusterLogger; intervalMs?: number } = {}): TlsReloader | undefined {
  if (!access.tlsFiles) return undefined;
  try {
    return new TlsReloader(access.tlsFiles, { intervalMs: opts.intervalMs ?? ETCD_TLS_CHECK_INTERVAL_MS, label: 'etcd client', ...(opts.log ? { log: opts.log } : {}) });
  } catch (err) {
    throw new ClusterConfigError(`etcd client TLS: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Reads an etcd password file (one line, trailing newline dropped).
 * @throws {SecretFileError} when it is missing or readable by group or others; {@link ClusterConfigError} when empty.
 */
export async function readEtcdPasswordFile(file: string): Promise<string> {
  const password = (await readSecretFile(file, 'etcd password file')).toString('utf8').replace(/\r?\n$/, '');
  if (password === '') throw new ClusterConfigError(`etcd password file ${file}: empty`);
  return password;
}

/**
 * The password in `file`; with `generate`, a missing file is first created (mode 0600,
 * never overwriting) holding 32 random bytes in base64url.
 */
export async function readOrCreateEtcdPasswordFile(file: string, generate: boolean): Promise<{ password: string; created: boolean }> {
  if (generate) {
    const password = randomBytes(32).toString('base64url');
    try {
      await writeSecretFile(file, Buffer.from(`${password}\n`), { what: 'etcd password file' });
      return { password, created: true };
    } catch (err) {
      if (!(err instanceof SecretFileExistsError)) throw err;
    }
  }
  return { password: await readEtcdPasswordFile(file), created: false };
}

/** The etcd access fields of a service's config (its unset fields dropped); undefined when none is set. */
export function etcdAccessOf(o: { [K in keyof EtcdAccess]?: string | undefined }): EtcdAccess | undefined {
  const out: Record<string, string> = {};
  for (const k of ['username', 'passwordFile', 'password', 'caFile', 'certFile', 'keyFile'] as const) {
    const v = o[k];
    if (v !== undefined) out[k] = v;
  }
  return Object.keys(out).length > 0 ? (out as EtcdAccess) : undefined;
}
