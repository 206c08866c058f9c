/**
 * Secret files on a real filesystem: a file its group or others can access is refused with
 * an error naming the file, its mode and the fix; new files are written 0600 whatever the
 * umask, and never over an existing file unless forced.
 */
import { chmod, lstat, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertSecretFileMode,
  readSecretFile,
  SecretFileExistsError,
  SecretFilePermissionError,
  SecretFileUnreadableError,
  writeSecretFile,
} from '../../../services/security/index.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vc-secret-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('readSecretFile', () => {
  it('reads files only their owner can access (0600, 0400)', async () => {
    for (const mode of [0o600, 0o400]) {
      const p = join(dir, `ok-${mode.toString(8)}`);
      await writeFile(p, 'secret');
      await chmod(p, mode);
      expect((await readSecretFile(p)).toString()).toBe('secret');
    }
  });

  it('refuses any group or other permission bit, naming the file, its mode and chmod 600', async () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o610, 0o601, 0o660, 0o666, 0o777]) {
      const p = join(dir, `bad-${mode.toString(8)}`);
      await writeFile(p, 'secret');
      await chmod(p, mode);
      const err = await readSecretFile(p, 'cluster key file').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SecretFilePermissionError);
      const e = err as SecretFilePermissionError;
      expect(e.code).toBe('SECURITY_FILE_PERMISSIONS');
      expect(e.mode).toBe(mode);
      expect(e.path).toBe(p);
      expect(e.message).toContain(`cluster key file ${p} has mode 0${mode.toString(8)}`);
      expect(e.message).toContain(`chmod 600 ${p}`);
      expect(e.message).not.toContain('secret\n');
    }
  });

  it('checks the file a symlink points to', async () => {
    const target = join(dir, 'target');
    await writeFile(target, 'k');
    await chmod(target, 0o644);
    const link = join(dir, 'link');
    await symlink(target, link);
    await expect(readSecretFile(link)).rejects.toBeInstanceOf(SecretFilePermissionError);
    await chmod(target, 0o600);
    expect((await readSecretFile(link)).toString()).toBe('k');
  });

  it('a missing file or a directory is SECURITY_FILE_UNREADABLE naming the path', async () => {
    const missing = join(dir, 'missing');
    await expect(readSecretFile(missing)).rejects.toMatchObject({ code: 'SECURITY_FILE_UNREADABLE', message: expect.stringContaining(`${missing}: cannot read (ENOENT)`) });
    const sub = join(dir, 'sub');
    await rm(sub, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(sub, { mode: 0o700 }));
    const err = await readSecretFile(sub).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretFileUnreadableError);
    expect((err as Error).message).toContain('not a regular file');
  });

  it('assertSecretFileMode ignores the file type bits', () => {
    expect(() => assertSecretFileMode('/k', 0o100600)).not.toThrow();
    expect(() => assertSecretFileMode('/k', 0o100640)).toThrow(SecretFilePermissionError);
  });
});

describe('writeSecretFile', () => {
  it('creates the file with mode 0600 even with umask 000', async () => {
    const old = process.umask(0);
    try {
      const p = join(dir, 'new.key');
      await writeSecretFile(p, Buffer.from('abc'));
      expect((await lstat(p)).mode & 0o777).toBe(0o600);
      expect((await readSecretFile(p)).toString()).toBe('abc');
    } finally {
      process.umask(old);
    }
  });

  it('refuses to overwrite an existing file, which keeps its contents', async () => {
    const p = join(dir, 'exists.key');
    await writeSecretFile(p, Buffer.from('first'));
    const err = await writeSecretFile(p, Buffer.from('second'), { what: 'cluster key file' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretFileExistsError);
    expect((err as SecretFileExistsError).code).toBe('SECURITY_FILE_EXISTS');
    expect((err as Error).message).toContain(`cluster key file ${p} already exists`);
    expect((err as Error).message).toContain('--force');
    expect((await readSecretFile(p)).toString()).toBe('first');
  });

  it('with force, replaces the file (mode 0600) and leaves no temporary file behind', async () => {
    const p = join(dir, 'forced.key');
    await writeFile(p, 'old');
    await chmod(p, 0o644);
    await writeSecretFile(p, Buffer.from('new'), { force: true });
    expect((await lstat(p)).mode & 0o777).toBe(0o600);
    expect((await readSecretFile(p)).toString()).toBe('new');
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('does not write through a symlink planted at the path', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'keep');
    const p = join(dir, 'planted.key');
    await symlink(victim, p);
    await expect(writeSecretFile(p, Buffer.from('x'))).rejects.toBeInstanceOf(SecretFileExistsError);
    expect((await import('node:fs/promises').then((fs) => fs.readFile(victim))).toString()).toBe('keep');
  });
});
