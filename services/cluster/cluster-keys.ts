/**
 * The cluster keys one process holds and how they follow `config/cluster-key`:
 * the key of `--cluster-key-file`, and during a rotation the key of `--next-cluster-key-file`
 * (read at start when the file exists, and again whenever a rotation names a key this
 * process does not hold yet, so the file may be put in place while the process runs).
 *
 * - no rotation: the keyring holds the cluster's key only (after a rotation the old key is
 *   dropped: records sealed with it are no longer opened);
 * - rotation pending: the new key seals, both open;
 * - a key the process does not hold: sealing is refused with a ClusterKeyMismatchError
 *   naming the fingerprints, and `state()` says `mismatch`.
 */
import { clusterKeyFingerprint, clusterKeyId, loadClusterKeyFile, type Keyring } from './envelope.ts';
import type { ClusterKeyRecord, HeldKey } from './key-guard.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import type { SecretKey } from '../telemetry/index.ts';

/** Where a process stands against the cluster key record. */
export type ClusterKeyState = 'unset' | 'current' | 'rotating' | 'mismatch';

interface Held extends HeldKey {
  key: SecretKey;
}

function held(key: SecretKey): Held {
  return { key, fingerprint: clusterKeyFingerprint(key), kid: clusterKeyId(key) };
}

/** See the module comment. */
export class ClusterKeys {
  private readonly keys: Held[];
  private readonly nextFile: string | undefined;
  private readonly log: ClusterLogger;
  private current: ClusterKeyState = 'unset';

  constructor(
    private readonly keyring: Keyring,
    opts: { current: SecretKey; next?: SecretKey; nextFile?: string; log?: ClusterLogger },
  ) {
    this.keys = [held(opts.current)];
    if (opts.next) this.add(opts.next);
    this.nextFile = opts.nextFile;
    this.log = opts.log ?? SILENT_LOGGER;
  }

  private add(key: SecretKey): void {
    const h = held(key);
    if (!this.keys.some((k) => k.fingerprint === h.fingerprint)) this.keys.push(h);
  }

  /** The keys held, by their public names (the first is the process's own `--cluster-key-file`). */
  held(): HeldKey[] {
    return this.keys.map(({ fingerprint, kid }) => ({ fingerprint, kid }));
  }

  /** Fingerprints of the keys held (published in `nodes/<id>` so `key rotate` can wait for them). */
  fingerprints(): string[] {
    return this.keys.map((k) => k.fingerprint);
  }

  /** The state after the last {@link apply}. */
  state(): ClusterKeyState {
    return this.current;
  }

  /**
   * Reads `--next-cluster-key-file` when the record asks for a key this process does not hold.
   * A missing file is not an error (the operator may not have put it in place yet); a file
   * with bad permissions or a bad key is logged. Returns true when a key was added.
   */
  async loadNextFor(fingerprint: string): Promise<boolean> {
    if (this.keys.some((k) => k.fingerprint === fingerprint) || this.nextFile === undefined) return false;
    try {
      const k = await loadClusterKeyFile(this.nextFile);
      if (clusterKeyFingerprint(k) !== fingerprint) {
        this.log.error(
          { file: this.nextFile, fingerprint: clusterKeyFingerprint(k), expected: fingerprint },
          'next cluster key file does not hold the key the rotation names',
        );
        return false;
      }
      this.add(k);
      this.log.info({ fingerprint }, 'next cluster key loaded');
      return true;
    } catch (err) {
      if ((err as { cause?: { code?: string } }).cause?.code === 'ENOENT' || /ENOENT/.test(String((err as Error).message))) return false;
      this.log.error({ err, file: this.nextFile }, 'cannot load the next cluster key file');
      return false;
    }
  }

  /** Sets the keyring for `record` (see the module comment) and returns the new state. */
  apply(record: ClusterKeyRecord | undefined): ClusterKeyState {
    const by = (fp: string): Held | undefined => this.keys.find((k) => k.fingerprint === fp);
    const mine = this.keys.map((k) => k.fingerprint).join(', ');
    let state: ClusterKeyState;
    if (!record) {
      this.keyring.setKeys(this.keys.map((k) => k.key));
      state = 'unset';
    } else if (!record.rotation) {
      const k = by(record.fingerprint);
      if (k) {
        this.keyring.setKeys([k.key]);
        state = 'current';
      } else {
        this.keyring.setKeys(this.keys.map((x) => x.key), {
          refuseSealing: `wrong cluster key: the cluster's key has fingerprint ${record.fingerprint}, this process holds ${mine}`,
        });
        state = 'mismatch';
      }
    } else {
      const oldK = by(record.fingerprint);
      const newK = by(record.rotation.fingerprint);
      if (newK) {
        this.keyring.setKeys(oldK ? [newK.key, oldK.key] : [newK.key]);
        state = 'rotating';
      } else {
        this.keyring.setKeys(this.keys.map((x) => x.key), {
          refuseSealing:
            `a cluster key rotation to fingerprint ${record.rotation.fingerprint} is in progress and this process does not hold that key ` +
            `(it holds ${mine}): give it --next-cluster-key-file`,
        });
        state = 'mismatch';
      }
    }
    if (state !== this.current) {
      const log = state === 'mismatch' ? this.log.error.bind(this.log) : this.log.info.bind(this.log);
      log({ state, held: this.fingerprints(), cluster: record?.fingerprint, next: record?.rotation?.fingerprint }, 'cluster key state');
    }
    this.current = state;
    return state;
  }
}
