/**
 * Secret files (the cluster key, and any other key a service reads from disk): read only
 * when no one but the owner can read or write them, written with mode 0600 and never over
 * an existing file unless asked.
 *
 * The permission rule is ssh's for private keys (openssh-portable authfile.c,
 * `sshkey_perm_ok`: a key file whose `st_mode & 077` is not zero is refused), checked on the
 * open file descriptor (fstat, as ssh does), so the file that was checked is the file that is
 * read. Unlike ssh it does not exempt files owned by another user: a service reads its
 * secrets from files it owns (`chown` them to the service user, mode 0600 or 0400).
 */
import { randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SecurityError } from './errors.ts';

/** Errors of the secret-file checks. `code` is `SECURITY_<REASON>`. */
export class SecretFileError extends SecurityError {
  /** The file concerned. */
  readonly path: string;
  constructor(code: string, path: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.path = path;
  }
}

/** A secret file is readable or writable by its group or by others. */
export class SecretFilePermissionError extends SecretFileError {
  /** The file's permission bits (e.g. 0o644). */
  readonly mode: number;
  constructor(path: string, mode: number, what: string) {
    super(
      'SECURITY_FILE_PERMISSIONS',
      path,
      `${what} ${path} has mode ${formatMode(mode)}: it is accessible by group or others; ` +
        `a secret file must be readable by its owner only: run \`chmod 600 ${path}\``,
    );
    this.mode = mode;
  }
}

/** A secret file is missing, not a regular file, or cannot be read. */
export class SecretFileUnreadableError extends SecretFileError {
  constructor(path: string, message: string, options?: ErrorOptions) {
    super('SECURITY_FILE_UNREADABLE', path, message, options);
  }
}

/** A secret file would overwrite an existing file (give `force` to replace it). */
export class SecretFileExistsError extends SecretFileError {
  constructor(path: string, what: string) {
    super('SECURITY_FILE_EXISTS', path, `${what} ${path} already exists; refusing to overwrite it (pass --force to replace it)`);
  }
}

/** `0o644` -> `"0644"`. */
export function formatMode(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** Permission bits a secret file may not have: any access by group or others (ssh's `077`). */
export const SECRET_FILE_FORBIDDEN_BITS = 0o077;

/**
 * Throws {@link SecretFilePermissionError} when `mode` grants group or others any access.
 * @example assertSecretFileMode('/etc/votecluster/cluster.key', 0o600, 'cluster key file'); // ok
 */
export function assertSecretFileMode(path: string, mode: number, what = 'secret file'): void {
  if ((mode & SECRET_FILE_FORBIDDEN_BITS) !== 0) throw new SecretFilePermissionError(path, mode & 0o777, what);
}

/**
 * Reads a secret file after checking, on the opened descriptor, that it is a regular file
 * that only its owner can access. `what` names the file in errors ("cluster key file").
 * The returned buffer is the caller's: wipe it (`fill(0)`) once parsed.
 * Throws {@link SecretFilePermissionError} or {@link SecretFileUnreadableError}; the
 * messages name the path and never the contents.
 */
export async function readSecretFile(path: string, what = 'secret file'): Promise<Buffer> {
  let fh;
  try {
    // Symlinks are followed (Kubernetes mounts secrets through them); the check is on the file read.
    fh = await open(path, fsc.O_RDONLY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    throw new SecretFileUnreadableError(path, `${what} ${path}: cannot read (${code})`, { cause: err });
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SecretFileUnreadableError(path, `${what} ${path}: not a regular file`);
    assertSecretFileMode(path, st.mode, what);
    return await fh.readFile();
  } catch (err) {
    if (err instanceof SecretFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    throw new SecretFileUnreadableError(path, `${what} ${path}: cannot read (${code})`, { cause: err });
  } finally {
    await fh.close();
  }
}

/** Options of {@link writeSecretFile}. */
export interface WriteSecretFileOptions {
  /** Replace an existing file (atomically: a new file renamed over it). Default false. */
  force?: boolean;
  /** Names the file in errors. */
  what?: string;
}

/**
 * Writes `data` to a new file with mode 0600 (whatever the umask). Refuses an existing
 * path ({@link SecretFileExistsError}) unless `force`, which writes a sibling file and
 * renames it over the old one, so a reader never sees a half-written key.
 */
export async function writeSecretFile(path: string, data: Uint8Array, opts: WriteSecretFileOptions = {}): Promise<void> {
  const what = opts.what ?? 'secret file';
  const target = opts.force ? join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`) : path;
  let fh;
  try {
    // O_EXCL: never follow or reuse an existing file (or a symlink planted at the path).
    fh = await open(target, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && !opts.force) throw new SecretFileExistsError(path, what);
    throw new SecretFileUnreadableError(path, `${what} ${path}: cannot create (${code ?? 'unknown'})`, { cause: err });
  }
  try {
    await fh.chmod(0o600); // the umask may have removed bits from the create mode, never added: make it exact
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(target).catch(() => undefined);
    throw new SecretFileUnreadableError(path, `${what} ${path}: cannot write (${(err as NodeJS.ErrnoException).code ?? 'unknown'})`, { cause: err });
  }
  await fh.close();
  if (target !== path) {
    try {
      await rename(target, path);
    } catch (err) {
      await unlink(target).catch(() => undefined);
      throw new SecretFileUnreadableError(path, `${what} ${path}: cannot replace (${(err as NodeJS.ErrnoException).code ?? 'unknown'})`, { cause: err });
    }
  }
}
