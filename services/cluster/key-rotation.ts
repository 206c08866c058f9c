/**
 * Cluster key rotation (`votecluster key rotate`): every voting key in etcd re-sealed under a
 * new cluster key while the voters keep voting.
 *
 * 1. `config/cluster-key` gets `rotation: { fingerprint, kid }` of the new key (a txn guarded
 *    by the record's revision). Every process follows the record: it reads its
 *    `--next-cluster-key-file`, seals with the new key and opens with both, and publishes the
 *    fingerprints it holds in `nodes/<id>`.
 * 2. Re-sealing starts only once every live node holds the new key (so no voter meets a record
 *    it cannot open); a node that does not within the wait stops the rotation here, with the
 *    record left pending, and a re-run resumes.
 * 3. Each ticket whose key is sealed with the old key is re-sealed in its own txn guarded by
 *    the record's mod revision; a ticket changed meanwhile (choices, status) is read again and
 *    retried; only `votingKey` changes. Passes repeat until one finds nothing left.
 * 4. The record switches to the new key (guarded by its revision): processes drop the old
 *    key, and a process holding only the old key is refused from then on.
 * 5. A last pass re-seals any record a lagging writer sealed with the old key meanwhile.
 */
import type { Etcd3 } from 'etcd3';
import { clusterKeyFingerprint, clusterKeyId, EnvelopeSchema, Keyring } from './envelope.ts';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ClusterError, ClusterKeyMismatchError } from './errors.ts';
import { ClusterKeyRecordSchema, readClusterKeyRecord, type ClusterKeyRecord } from './key-guard.ts';
import type { Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { NodeValueSchema } from './membership.ts';
import type { SecretKey } from '../telemetry/index.ts';

/** A rotation could not finish now (nodes without the new key, tickets that kept changing); re-run to resume. */
export class KeyRotationBlockedError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_KEY_ROTATION_BLOCKED', message, { ...options, retryable: true });
  }
}

/** Options of {@link rotateClusterKey}. */
export interface RotateClusterKeyOptions {
  client: Etcd3;
  keyspace: Keyspace;
  oldKey: SecretKey;
  newKey: SecretKey;
  log?: ClusterLogger;
  hooks?: ClusterMetricsHooks;
  /** How long to wait for every live node to hold the new key (default 60 s). */
  waitForNodesMs?: number;
  /** Pause after a record change so every watcher has applied it (default 1 s). */
  settleMs?: number;
  /** Re-seal txns in flight (default 8). */
  concurrency?: number;
  /** Called after each re-seal pass. */
  onProgress?: (p: { pass: number; resealed: number; remaining: number }) => void;
}

/** What a rotation did. */
export interface RotationResult {
  oldFingerprint: string;
  newFingerprint: string;
  /** Tickets re-sealed under the new key (all passes). */
  resealed: number;
  /** Re-seal txns that lost to a concurrent change and were retried. */
  retries: number;
  passes: number;
  /** True when the record already named the new key (nothing to switch). */
  alreadyDone: boolean;
}

const MAX_PASSES = 10;
const MAX_ATTEMPTS = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs an etcd call again while it fails with a retryable error (etcd slow or briefly unreachable): a rotation is long and resumable. */
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof ClusterError && err.retryable) || attempt >= 10) throw err;
      await sleep(Math.min(2_000, 100 * attempt));
    }
  }
}

async function putRecord(client: Etcd3, keyspace: Keyspace, record: ClusterKeyRecord, modRevision: number, hooks?: ClusterMetricsHooks): Promise<boolean> {
  const key = keyspace.clusterKey();
  const value = JSON.stringify(ClusterKeyRecordSchema.parse(record));
  const res = await retrying(() => timed(hooks, 'cluster_key', () => client.if(key, 'Mod', '==', modRevision).then(client.put(key).value(value)).commit()));
  return res.succeeded;
}

/** Waits until every live node's `nodes/<id>` lists `fingerprint`; throws KeyRotationBlockedError naming the others. */
async function waitForNodes(o: RotateClusterKeyOptions, fingerprint: string): Promise<void> {
  const deadline = Date.now() + (o.waitForNodesMs ?? 60_000);
  for (;;) {
    const res = await retrying(() => timed(o.hooks, 'cluster_key', () => o.client.getAll().prefix(o.keyspace.nodesPrefix()).exec()));
    const lacking: string[] = [];
    for (const kv of res.kvs) {
      const id = o.keyspace.nodeIdOf(kv.key.toString());
      const parsed = NodeValueSchema.safeParse(JSON.parse(kv.value.toString() || 'null'));
      if (!parsed.success || !(parsed.data.keys ?? []).includes(fingerprint)) lacking.push(id ?? kv.key.toString());
    }
    if (lacking.length === 0) return;
    if (Date.now() > deadline) {
      throw new KeyRotationBlockedError(
        `live nodes without the new cluster key (fingerprint ${fingerprint}): ${lacking.join(', ')}; put the new key file where their ` +
          '--next-cluster-key-file points (mode 0600), then run `key rotate` again to resume (the rotation stays pending)',
      );
    }
    await sleep(250);
  }
}

/** One pass over every ticket: re-seals the ones sealed with `oldKid`. Returns counts. */
async function resealPass(o: RotateClusterKeyOptions, ring: Keyring, oldKid: string): Promise<{ resealed: number; retries: number; remaining: number }> {
  const { client, keyspace } = o;
  const res = await retrying(() => timed(o.hooks, 'cluster_key', () => client.getAll().prefix(keyspace.ticketsPrefix()).exec()));
  const todo = res.kvs.filter((kv) => {
    try {
      return (JSON.parse(kv.value.toString()) as { votingKey?: { kid?: string } }).votingKey?.kid === oldKid;
    } catch {
      return false; // malformed: reported by the ticket caches, never rewritten here
    }
  });
  let resealed = 0;
  let retries = 0;
  let remaining = 0;
  const one = async (key: string, value: Buffer, modRevision: number): Promise<void> => {
    let cur = { value, modRevision };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      let rec: Record<string, unknown> & { ticketHash?: unknown; votingKey?: unknown };
      try {
        rec = JSON.parse(cur.value.toString()) as typeof rec;
      } catch {
        return;
      }
      const env = EnvelopeSchema.safeParse(rec.votingKey);
      if (!env.success || env.data.kid !== oldKid || typeof rec.ticketHash !== 'string') return; // re-sealed meanwhile, or not ours to fix
      const plain = ring.openVotingKey(keyspace.network, rec.ticketHash, env.data);
      let next: string;
      try {
        next = JSON.stringify({ ...rec, votingKey: ring.sealVotingKey(keyspace.network, rec.ticketHash, plain) });
      } finally {
        plain.wipe();
      }
      // A retried txn that did commit the first time fails its compare and reads back our own value: re-sealed.
      const txn = await retrying(() => timed(o.hooks, 'reseal_ticket', () =>
        client.if(key, 'Mod', '==', cur.modRevision).then(client.put(key).value(next)).else(client.get(key)).commit(),
      ));
      if (txn.succeeded) {
        resealed++;
        return;
      }
      retries++;
      const kv = txn.responses[0]?.response_range?.kvs[0];
      if (!kv) return; // removed meanwhile
      cur = { value: kv.value, modRevision: Number(kv.mod_revision) };
      await sleep(5 + Math.random() * 20 * (attempt + 1));
    }
    remaining++;
  };
  const queue = todo.map((kv) => ({ key: kv.key.toString(), value: kv.value, modRevision: Number(kv.mod_revision) }));
  const workers = Array.from({ length: Math.min(o.concurrency ?? 8, queue.length) }, async () => {
    for (let item = queue.shift(); item; item = queue.shift()) await one(item.key, item.value, item.modRevision);
  });
  await Promise.all(workers);
  return { resealed, retries, remaining };
}

/**
 * Rotates the cluster key from `oldKey` to `newKey` (see the module comment). Resumes a
 * pending rotation to the same key; with the record already on `newKey`, only sweeps.
 * @throws ClusterKeyMismatchError (the cluster's key is neither), KeyRotationBlockedError (resume later)
 */
export async function rotateClusterKey(o: RotateClusterKeyOptions): Promise<RotationResult> {
  const log = o.log ?? SILENT_LOGGER;
  const settleMs = o.settleMs ?? 1_000;
  const oldFp = clusterKeyFingerprint(o.oldKey);
  const newFp = clusterKeyFingerprint(o.newKey);
  const oldKid = clusterKeyId(o.oldKey);
  if (oldFp === newFp) throw new ClusterKeyMismatchError('the old and the new key file hold the same key');
  const ring = new Keyring([o.newKey, o.oldKey]);
  const result: RotationResult = { oldFingerprint: oldFp, newFingerprint: newFp, resealed: 0, retries: 0, passes: 0, alreadyDone: false };
  const sweep = async (): Promise<void> => {
    for (let pass = 1; pass <= MAX_PASSES; pass++) {
      const r = await resealPass(o, ring, oldKid);
      result.passes++;
      result.resealed += r.resealed;
      result.retries += r.retries;
      o.onProgress?.({ pass: result.passes, resealed: r.resealed, remaining: r.remaining });
      log.info({ pass: result.passes, ...r }, 'cluster key rotation: re-seal pass');
      if (r.resealed === 0 && r.remaining === 0) return;
    }
    throw new KeyRotationBlockedError(`tickets sealed with the old key remain after ${MAX_PASSES} passes (they keep changing); run key rotate again`);
  };

  const found = await retrying(() => readClusterKeyRecord(o.client, o.keyspace, o.hooks));
  if (!found) {
    throw new ClusterKeyMismatchError(`no cluster key fingerprint in etcd (${o.keyspace.clusterKey()}): nothing to rotate; start the admin or import a ticket first`);
  }
  let { record, modRevision } = found;
  if (record.fingerprint === newFp && !record.rotation) {
    result.alreadyDone = true;
    await sweep();
    return result;
  }
  if (record.fingerprint !== oldFp) {
    throw new ClusterKeyMismatchError(
      `wrong old key: the cluster's key has fingerprint ${record.fingerprint}, --old-key-file holds ${oldFp}`,
    );
  }
  if (record.rotation && record.rotation.fingerprint !== newFp) {
    throw new ClusterKeyMismatchError(
      `a rotation to another key (fingerprint ${record.rotation.fingerprint}) is pending; --new-key-file holds ${newFp}: finish that one first`,
    );
  }
  if (!record.rotation) {
    const pending: ClusterKeyRecord = { ...record, rotation: { fingerprint: newFp, kid: clusterKeyId(o.newKey), startedAt: new Date().toISOString() } };
    if (!(await putRecord(o.client, o.keyspace, pending, modRevision, o.hooks))) {
      throw new KeyRotationBlockedError(`${o.keyspace.clusterKey()} changed while the rotation started; run key rotate again`);
    }
    log.info({ from: oldFp, to: newFp }, 'cluster key rotation started');
  }
  await waitForNodes(o, newFp);
  await sleep(settleMs);
  await sweep();
  const again = await retrying(() => readClusterKeyRecord(o.client, o.keyspace, o.hooks));
  if (!again || again.record.rotation?.fingerprint !== newFp || again.record.fingerprint !== oldFp) {
    throw new KeyRotationBlockedError(`${o.keyspace.clusterKey()} changed during the rotation; run key rotate again`);
  }
  ({ record, modRevision } = again);
  const done: ClusterKeyRecord = { fingerprint: newFp, kid: clusterKeyId(o.newKey), setAt: new Date().toISOString() };
  if (!(await putRecord(o.client, o.keyspace, done, modRevision, o.hooks))) {
    throw new KeyRotationBlockedError(`${o.keyspace.clusterKey()} changed before the switch; run key rotate again`);
  }
  log.info({ fingerprint: newFp }, 'cluster key rotation: switched to the new key');
  await sleep(settleMs);
  await sweep();
  return result;
}
