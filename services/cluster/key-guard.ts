/**
 * The cluster key's fingerprint in etcd (`config/cluster-key`): which key the cluster's
 * voting keys are sealed with, so that a process holding another key is refused before it
 * writes or votes anything, instead of importing tickets no voter can open.
 *
 * - The first process that writes (the admin service, `ticket import`, `key rotate`, the
 *   simulation's layout) stores the fingerprint of its key (create-if-absent; racing writers
 *   agree or the loser is refused). Before storing it, it checks that the tickets already in
 *   etcd (a cluster from before fingerprints existed) were sealed with that key.
 * - Every other opening (voters, read-write operator commands) compares: a key whose
 *   fingerprint differs is refused with {@link ClusterKeyMismatchError} naming both.
 * - During a rotation (`rotation.next` set) the record names two keys; a process must hold
 *   both (see docs/security.md, "Cluster key").
 */
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ClusterError, ClusterKeyMismatchError } from './errors.ts';
import type { Keyspace } from './keyspace.ts';
import { parseJsonValue } from './watch-cache.ts';

const FINGERPRINT = z.string().regex(/^[0-9a-f]{64}$/);

/** `config/cluster-key`: the fingerprint of the cluster key, and a rotation in progress. */
export const ClusterKeyRecordSchema = z.object({
  /** Fingerprint (`clusterKeyFingerprint`) of the key tickets are sealed with. */
  fingerprint: FINGERPRINT,
  /** Key id (`clusterKeyId`) of that key: the `kid` its envelopes carry. */
  kid: z.string().regex(/^[0-9a-f]{16}$/),
  /** When the fingerprint was stored (ISO 8601). */
  setAt: z.string(),
  /** A rotation in progress: tickets are being re-sealed under `next`. */
  rotation: z
    .object({
      fingerprint: FINGERPRINT,
      kid: z.string().regex(/^[0-9a-f]{16}$/),
      startedAt: z.string(),
    })
    .optional(),
});
export type ClusterKeyRecord = z.infer<typeof ClusterKeyRecordSchema>;

/** A key a process holds, by its public names. */
export interface HeldKey {
  fingerprint: string;
  kid: string;
}

/** How many ticket records the first writer samples to check they were sealed with its key. */
export const TICKET_SAMPLE = 64;

/** Reads `config/cluster-key`: the record and its mod revision, or undefined when absent. */
export async function readClusterKeyRecord(
  client: Etcd3,
  keyspace: Keyspace,
  hooks?: ClusterMetricsHooks,
): Promise<{ record: ClusterKeyRecord; modRevision: number } | undefined> {
  const key = keyspace.clusterKey();
  const res = await timed(hooks, 'cluster_key', () => client.get(key).exec());
  const kv = res.kvs[0];
  if (!kv) return undefined;
  return { record: parseJsonValue(key, kv.value, ClusterKeyRecordSchema), modRevision: Number(kv.mod_revision) };
}

/** The fingerprints a process must hold to use the cluster under `record`. */
export function requiredFingerprints(record: ClusterKeyRecord): string[] {
  return record.rotation ? [record.fingerprint, record.rotation.fingerprint] : [record.fingerprint];
}

/**
 * Throws {@link ClusterKeyMismatchError} unless `held` covers every key `record` requires.
 * The message names the stored fingerprint(s) and the ones held.
 */
export function assertKeysMatch(record: ClusterKeyRecord, held: readonly HeldKey[], source: string): void {
  const have = new Set(held.map((k) => k.fingerprint));
  const missing = requiredFingerprints(record).filter((fp) => !have.has(fp));
  if (missing.length === 0) return;
  const heldText = held.map((k) => k.fingerprint).join(', ');
  if (record.rotation) {
    throw new ClusterKeyMismatchError(
      `${source}: a cluster key rotation is in progress; the cluster's keys have fingerprints ${record.fingerprint} (current) ` +
        `and ${record.rotation.fingerprint} (next), this process holds ${heldText}: give it both keys ` +
        '(--cluster-key-file and --next-cluster-key-file)',
    );
  }
  throw new ClusterKeyMismatchError(
    `${source}: wrong cluster key: the cluster's key has fingerprint ${record.fingerprint}, ` +
      `this process holds ${heldText}; use the cluster's key file (\`votecluster key fingerprint --key-file FILE\` prints a file's fingerprint)`,
  );
}

/**
 * Checks that the tickets already stored were sealed with one of `held` (a sample of
 * {@link TICKET_SAMPLE} records). Used before the first fingerprint is stored, and by
 * processes that find no record, so an existing cluster is not claimed by a wrong key.
 */
export async function assertTicketsSealedWith(
  client: Etcd3,
  keyspace: Keyspace,
  held: readonly HeldKey[],
  source: string,
  hooks?: ClusterMetricsHooks,
): Promise<void> {
  const res = await timed(hooks, 'cluster_key', () => client.getAll().prefix(keyspace.ticketsPrefix()).limit(TICKET_SAMPLE).exec());
  const kids = new Map<string, number>();
  for (const kv of res.kvs) {
    try {
      const kid = (JSON.parse(kv.value.toString('utf8')) as { votingKey?: { kid?: unknown } }).votingKey?.kid;
      if (typeof kid === 'string') kids.set(kid, (kids.get(kid) ?? 0) + 1);
    } catch {
      // a corrupt record says nothing about the key; it is reported by the ticket cache
    }
  }
  if (kids.size === 0) return;
  const mine = new Set(held.map((k) => k.kid));
  if ([...kids.keys()].some((kid) => mine.has(kid))) return;
  const found = [...kids.entries()].map(([kid, n]) => `${kid} (${n})`).join(', ');
  throw new ClusterKeyMismatchError(
    `${source}: wrong cluster key: etcd holds no cluster key fingerprint yet, and the tickets stored there were sealed ` +
      `with key id ${found}, not with this process's key (id ${held.map((k) => k.kid).join(', ')}, fingerprint ` +
      `${held.map((k) => k.fingerprint).join(', ')}); use the key file those tickets were imported with`,
  );
}

/** Options of {@link ensureClusterKey}. */
export interface EnsureClusterKeyOptions {
  /** Store the fingerprint when etcd has none (a process that writes tickets). */
  store: boolean;
  /** Names the process in errors ("voter a1", "ticket import"). */
  source: string;
  hooks?: ClusterMetricsHooks;
}

/**
 * The check every process runs when it opens the cluster with a key (see the module comment).
 * `held[0]` is the key this process seals with. Returns the record in force, or undefined when
 * etcd has none and `store` is false (a voter of a cluster no writer has set up yet).
 */
export async function ensureClusterKey(
  client: Etcd3,
  keyspace: Keyspace,
  held: readonly HeldKey[],
  opts: EnsureClusterKeyOptions,
): Promise<ClusterKeyRecord | undefined> {
  const first = held[0];
  if (!first) throw new ClusterError('CLUSTER_INVARIANT', 'ensureClusterKey: no key held');
  const existing = await readClusterKeyRecord(client, keyspace, opts.hooks);
  if (existing) {
    assertKeysMatch(existing.record, held, opts.source);
    return existing.record;
  }
  await assertTicketsSealedWith(client, keyspace, held, opts.source, opts.hooks);
  if (!opts.store) return undefined;
  const key = keyspace.clusterKey();
  const record: ClusterKeyRecord = { fingerprint: first.fingerprint, kid: first.kid, setAt: new Date().toISOString() };
  const res = await timed(opts.hooks, 'cluster_key', () =>
    client.if(key, 'Create', '==', 0).then(client.put(key).value(JSON.stringify(record))).else(client.get(key)).commit(),
  );
  if (res.succeeded) return record;
  // Another writer stored one first: it must be ours.
  const kv = res.responses[0]?.response_range?.kvs[0];
  if (!kv) throw new ClusterError('CLUSTER_INVARIANT', `${key}: txn compare failed but the key is absent`);
  const theirs = parseJsonValue(key, kv.value, ClusterKeyRecordSchema);
  assertKeysMatch(theirs, held, opts.source);
  return theirs;
}
