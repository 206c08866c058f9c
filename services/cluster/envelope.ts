/**
 * Envelope encryption of voting keys (docs/architecture.md, invariant 7).
 *
 * AES-256-GCM (NIST SP 800-38D) with a 32-byte cluster key that lives only in a
 * file on voters and admin hosts, never in etcd and never in a log. Each record
 * gets a fresh random 96-bit nonce (SP 800-38D §8.2.2: random IVs are safe far
 * beyond our record counts). The additional authenticated data binds the
 * ciphertext to its network and ticket hash, so a ciphertext copied into another
 * ticket's record fails authentication. `kid` (a hash of the key, not the key)
 * names the key that sealed a record, so a node holding another cluster key gets
 * a clear "wrong cluster key" error instead of a bare authentication failure,
 * and keys can be rotated (a keyring opens with any of its keys, seals with the first).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { readSecretFile, SecretFilePermissionError } from '../security/index.ts';
import { SecretKey } from '../telemetry/index.ts';
import { ClusterKeyError, ClusterKeyMismatchError, DecryptError, WrongClusterKeyError } from './errors.ts';

/** Length of the cluster key in bytes (AES-256). */
export const CLUSTER_KEY_BYTES = 32;
/** AES-GCM nonce length (bytes). */
export const NONCE_BYTES = 12;
/** AES-GCM tag length (bytes). */
export const TAG_BYTES = 16;
/** Envelope format version. */
export const ENVELOPE_VERSION = 1;

/** The stored form of an encrypted secret (JSON inside a ticket record). */
export const EnvelopeSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  alg: z.literal('A256GCM'),
  /** Key id: first 8 bytes (hex) of SHA-256("votecluster/kid/v1" || key). */
  kid: z.string().regex(/^[0-9a-f]{16}$/),
  nonce: z.string().regex(/^[0-9a-f]{24}$/),
  /** Ciphertext followed by the 16-byte GCM tag, hex. */
  ct: z.string().regex(/^(?:[0-9a-f]{2}){17,}$/),
});
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Key id of a cluster key (safe to log and store). */
export function clusterKeyId(key: SecretKey): string {
  return createHash('sha256').update('votecluster/kid/v1').update(key.expose()).digest('hex').slice(0, 16);
}

/** Domain-separation tag of {@link clusterKeyFingerprint}. */
export const CLUSTER_KEY_FINGERPRINT_TAG = 'votecluster/cluster-key-fingerprint/v1';

/**
 * Fingerprint of a cluster key: SHA-256 over a domain-separation tag and the key, 64 hex
 * characters. Names the key (stored in etcd, printed by `votecluster key fingerprint`,
 * compared by every process) without revealing it; the tag keeps it distinct from the
 * key id and from any other hash of the key.
 */
export function clusterKeyFingerprint(key: SecretKey): string {
  return createHash('sha256').update(CLUSTER_KEY_FINGERPRINT_TAG).update(key.expose()).digest('hex');
}

/** Parses a cluster key from bytes: exactly 32 raw bytes, or 64 hex characters (surrounding whitespace ignored). */
export function parseClusterKey(bytes: Uint8Array, source = 'cluster key'): SecretKey {
  const text = Buffer.from(bytes).toString('latin1').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return new SecretKey(Buffer.from(text, 'hex'));
  // 32 raw bytes that are all hex digits is a truncated hex key, not random key material
  // (probability (22/256)^32 for a random key).
  if (bytes.length === CLUSTER_KEY_BYTES && !/^[0-9a-fA-F]+$/.test(text)) return new SecretKey(bytes);
  if (/^[0-9a-fA-F]*$/.test(text) && text.length > 0) {
    throw new ClusterKeyError(`${source}: expected 64 hex characters (32 bytes), got ${text.length} hex characters`);
  }
  throw new ClusterKeyError(
    `${source}: expected 32 raw bytes or 64 hex characters, got ${bytes.length} bytes that are neither`,
  );
}

/**
 * Reads the cluster key file (raw 32 bytes or 64 hex chars). Errors name the path, never the
 * contents. A file that its group or others can access is refused with the security service's
 * `SecretFilePermissionError` (code SECURITY_FILE_PERMISSIONS: names the file, its mode and
 * `chmod 600`); a missing or unreadable file or a bad key is a {@link ClusterKeyError}.
 */
export async function loadClusterKeyFile(path: string): Promise<SecretKey> {
  let bytes: Buffer;
  try {
    bytes = await readSecretFile(path, 'cluster key file');
  } catch (err) {
    if (err instanceof SecretFilePermissionError) throw err;
    throw new ClusterKeyError((err as Error).message, { cause: err });
  }
  try {
    return parseClusterKey(bytes, `cluster key file ${path}`);
  } finally {
    bytes.fill(0);
  }
}

/** Generates a fresh random cluster key (for `votecluster` setup and tests). */
export function generateClusterKey(): SecretKey {
  const b = randomBytes(CLUSTER_KEY_BYTES);
  const k = new SecretKey(b);
  b.fill(0);
  return k;
}

/** AAD of a voting key: binds the ciphertext to its network and ticket. */
function votingKeyAad(network: string, ticketHash: string): Buffer {
  return Buffer.from(`votecluster/v1/voting-key/${network}/${ticketHash}`);
}

/** Seals and opens secrets with the cluster key(s). The first key seals; any key opens by `kid`. */
export class Keyring {
  private keys: Map<string, SecretKey> = new Map();
  private activeKid = '';
  private sealRefusal: string | undefined;

  constructor(keys: readonly SecretKey[]) {
    this.setKeys(keys);
  }

  /**
   * Replaces the keys (a cluster key rotation: the new key first, the old one still opening).
   * With `refuseSealing`, {@link sealVotingKey} throws ClusterKeyMismatchError with that message
   * (this process lacks the key the cluster now seals with).
   */
  setKeys(keys: readonly SecretKey[], opts: { refuseSealing?: string } = {}): void {
    if (keys.length === 0) throw new ClusterKeyError('keyring: at least one cluster key is required');
    const next = new Map<string, SecretKey>();
    for (const k of keys) {
      if (k.length !== CLUSTER_KEY_BYTES) {
        throw new ClusterKeyError(`cluster key: expected ${CLUSTER_KEY_BYTES} bytes, got ${k.length}`);
      }
      next.set(clusterKeyId(k), k);
    }
    this.keys = next;
    this.activeKid = clusterKeyId(keys[0] as SecretKey);
    this.sealRefusal = opts.refuseSealing;
  }

  /** Key id of the sealing key. */
  get kid(): string {
    return this.activeKid;
  }

  /** Key ids this keyring opens. */
  kids(): string[] {
    return [...this.keys.keys()];
  }

  /** Encrypts a voting key for `ticketHash` on `network`. */
  sealVotingKey(network: string, ticketHash: string, votingKey: SecretKey): Envelope {
    if (this.sealRefusal !== undefined) throw new ClusterKeyMismatchError(this.sealRefusal);
    const key = this.keys.get(this.activeKid) as SecretKey;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key.expose(), nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(votingKeyAad(network, ticketHash));
    const ct = Buffer.concat([cipher.update(votingKey.expose()), cipher.final(), cipher.getAuthTag()]);
    return { v: ENVELOPE_VERSION, alg: 'A256GCM', kid: this.activeKid, nonce: nonce.toString('hex'), ct: ct.toString('hex') };
  }

  /** True when this keyring holds the key named `kid` (a cheap check before any decryption). */
  hasKid(kid: string): boolean {
    return this.keys.has(kid);
  }

  /**
   * Decrypts the voting key of `ticketHash`. Throws {@link WrongClusterKeyError} when the
   * envelope names a key this keyring lacks, {@link DecryptError} when authentication fails
   * (tampered, or sealed for another ticket/network).
   */
  openVotingKey(network: string, ticketHash: string, env: Envelope): SecretKey {
    return this.openSealed(network, ticketHash, env.kid, Buffer.from(env.nonce, 'hex'), Buffer.from(env.ct, 'hex'));
  }

  /**
   * {@link openVotingKey} on the envelope's bytes: `nonce` (12 bytes) and `ctTag`
   * (ciphertext followed by the 16-byte tag), as kept by the compact ticket cache.
   */
  openSealed(network: string, ticketHash: string, kid: string, nonce: Uint8Array, ctTag: Uint8Array): SecretKey {
    const key = this.keys.get(kid);
    if (!key) {
      throw new WrongClusterKeyError(
        `voting key of ticket ${ticketHash} was sealed with cluster key id ${kid}; this node holds ${[...this.keys.keys()].join(', ')}`,
      );
    }
    const ct = ctTag.subarray(0, ctTag.length - TAG_BYTES);
    const tag = ctTag.subarray(ctTag.length - TAG_BYTES);
    let plain: Buffer | undefined;
    try {
      const d = createDecipheriv('aes-256-gcm', key.expose(), nonce, { authTagLength: TAG_BYTES });
      d.setAAD(votingKeyAad(network, ticketHash));
      d.setAuthTag(tag);
      plain = Buffer.concat([d.update(ct), d.final()]);
      return new SecretKey(plain);
    } catch (err) {
      throw new DecryptError(
        `voting key of ticket ${ticketHash}: authentication failed (ciphertext tampered or sealed for another ticket)`,
        { cause: err },
      );
    } finally {
      plain?.fill(0);
    }
  }
}
