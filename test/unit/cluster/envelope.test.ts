import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CLUSTER_KEY_FINGERPRINT_TAG,
  ClusterKeyError,
  DecryptError,
  clusterKeyFingerprint,
  clusterKeyId,
  Keyring,
  WrongClusterKeyError,
  generateClusterKey,
  loadClusterKeyFile,
  parseClusterKey,
} from '../../../services/cluster/index.ts';
import { SecretKey } from '../../../services/telemetry/index.ts';

const T1 = '11'.repeat(32);
const T2 = '22'.repeat(32);
const votingKey = new SecretKey(Uint8Array.from({ length: 32 }, (_, i) => i + 1));

describe('envelope (AES-256-GCM)', () => {
  const ring = new Keyring([generateClusterKey()]);

  it('round-trips a voting key and uses a fresh nonce per record', () => {
    const a = ring.sealVotingKey('simnet', T1, votingKey);
    const b = ring.sealVotingKey('simnet', T1, votingKey);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.ct).not.toBe(b.ct);
    expect(Buffer.from(ring.openVotingKey('simnet', T1, a).expose())).toEqual(Buffer.from(votingKey.expose()));
    expect(a.ct).not.toContain(Buffer.from(votingKey.expose()).toString('hex'));
  });

  it('fails with a clear error under another cluster key', () => {
    const env = ring.sealVotingKey('simnet', T1, votingKey);
    const other = new Keyring([generateClusterKey()]);
    expect(() => other.openVotingKey('simnet', T1, env)).toThrow(WrongClusterKeyError);
    expect(() => other.openVotingKey('simnet', T1, env)).toThrow(/sealed with cluster key id/);
  });

  it('fails when the ciphertext is tampered with', () => {
    const env = ring.sealVotingKey('simnet', T1, votingKey);
    const flipped = (env.ct.startsWith('0') ? '1' : '0') + env.ct.slice(1);
    expect(() => ring.openVotingKey('simnet', T1, { ...env, ct: flipped })).toThrow(DecryptError);
    const nonce = (env.nonce.startsWith('0') ? '1' : '0') + env.nonce.slice(1);
    expect(() => ring.openVotingKey('simnet', T1, { ...env, nonce })).toThrow(DecryptError);
  });

  it('fails when a ciphertext is copied to another ticket or network', () => {
    const env = ring.sealVotingKey('simnet', T1, votingKey);
    expect(() => ring.openVotingKey('simnet', T2, env)).toThrow(DecryptError);
    expect(() => ring.openVotingKey('simnet', T2, env)).toThrow(/another ticket/);
    expect(() => ring.openVotingKey('mainnet', T1, env)).toThrow(DecryptError);
  });

  it('opens records sealed with an older key after rotation (keyring)', () => {
    const oldKey = generateClusterKey();
    const env = new Keyring([oldKey]).sealVotingKey('simnet', T1, votingKey);
    const rotated = new Keyring([generateClusterKey(), oldKey]);
    expect(rotated.openVotingKey('simnet', T1, env).length).toBe(32);
    expect(rotated.sealVotingKey('simnet', T1, votingKey).kid).toBe(rotated.kid);
  });

  it('never prints key material', () => {
    const k = generateClusterKey();
    expect(JSON.stringify({ k })).toBe('{"k":"[redacted]"}');
    expect(inspect(k)).not.toMatch(/[0-9a-f]{16}/);
    expect(String(k)).toBe('[redacted]');
  });
});

describe('cluster key file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vc-key-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('accepts 64 hex characters (with a trailing newline) and 32 raw bytes', async () => {
    const raw = Buffer.alloc(32, 0x5a);
    await writeFile(join(dir, 'hex'), `${raw.toString('hex')}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'raw'), raw, { mode: 0o600 });
    expect(Buffer.from((await loadClusterKeyFile(join(dir, 'hex'))).expose())).toEqual(raw);
    expect(Buffer.from((await loadClusterKeyFile(join(dir, 'raw'))).expose())).toEqual(raw);
  });

  it('rejects a missing file, a short key and garbage with CLUSTER_KEY_INVALID naming the path', async () => {
    await writeFile(join(dir, 'short'), 'ab'.repeat(16), { mode: 0o600 });
    await writeFile(join(dir, 'junk'), 'not a key at all', { mode: 0o600 });
    for (const [name, re] of [
      ['missing', /cannot read \(ENOENT\)/],
      ['short', /expected 64 hex characters \(32 bytes\), got 32 hex/],
      ['junk', /expected 32 raw bytes or 64 hex/],
    ] as const) {
      const p = join(dir, name);
      const err = await loadClusterKeyFile(p).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ClusterKeyError);
      expect((err as ClusterKeyError).code).toBe('CLUSTER_KEY_INVALID');
      expect((err as Error).message).toContain(p);
      expect((err as Error).message).toMatch(re);
    }
  });

  it('refuses a key file its group or others can read, naming the file, its mode and chmod 600', async () => {
    const p = join(dir, 'open');
    await writeFile(p, `${'5a'.repeat(32)}\n`, { mode: 0o600 });
    await chmod(p, 0o644);
    const err = await loadClusterKeyFile(p).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SECURITY_FILE_PERMISSIONS', path: p, mode: 0o644 });
    expect((err as Error).message).toContain(`cluster key file ${p} has mode 0644`);
    expect((err as Error).message).toContain(`chmod 600 ${p}`);
    expect((err as Error).message).not.toContain('5a'.repeat(32));
  });

  it('fingerprints a key with a domain-separation tag: stable, distinct per key, not the key id', () => {
    const k = new SecretKey(Buffer.alloc(32, 7));
    const fp = clusterKeyFingerprint(k);
    expect(fp).toMatch(/^[0-9a-f]{64}$/);
    expect(fp).toBe(clusterKeyFingerprint(new SecretKey(Buffer.alloc(32, 7))));
    expect(fp).not.toBe(clusterKeyFingerprint(new SecretKey(Buffer.alloc(32, 8))));
    expect(fp).toBe(createHash('sha256').update(CLUSTER_KEY_FINGERPRINT_TAG).update(Buffer.alloc(32, 7)).digest('hex'));
    expect(fp.startsWith(clusterKeyId(k))).toBe(false);
    expect(fp).not.toContain(Buffer.alloc(32, 7).toString('hex'));
  });

  it('rejects a 31-byte raw key', () => {
    expect(() => parseClusterKey(new Uint8Array(31).fill(0xff))).toThrow(ClusterKeyError);
  });
});
