/**
 * Many create-if-absent writes in few round trips.
 *
 * One etcd txn carries up to {@link MAX_BATCH} nested txns (etcd >= 3.3),
 * each `if create_revision(key) == 0 then put(key) else range(key)`. Every
 * nested txn is decided on its own (one existing key does not fail the
 * others), and the outer txn is applied atomically at one revision, so the
 * result per key is exactly what a single-key create-if-absent txn would have
 * returned. Batches run with bounded concurrency.
 *
 * Limits (etcd defaults): `--max-txn-ops` 128, and etcd 3.4's `checkTxnRequest`
 * gives a nested txn only the ops the outer level left (128 - outer ops), so an
 * outer txn of n one-op nested txns needs n <= 127; `--max-request-bytes`
 * 1.5 MiB per request. Batches are cut by both.
 */
import type { Etcd3, IKeyValue, IRequestOp, ITxnResponse } from 'etcd3';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ClusterError } from './errors.ts';

/** etcd's default `--max-txn-ops`. */
export const MAX_TXN_OPS = 128;
/** Nested one-op txns per outer txn: the nested level gets MAX_TXN_OPS minus the outer count (etcd 3.4). */
export const MAX_BATCH = MAX_TXN_OPS - 1;
/** Request bytes per batch (etcd's default `--max-request-bytes` is 1.5 MiB; leave room for framing). */
export const MAX_BATCH_BYTES = 1_000_000;
/** Default batches in flight. */
export const DEFAULT_BATCH_CONCURRENCY = 4;

/** One create-if-absent write. */
export interface CreateIfAbsentItem {
  key: string;
  value: Buffer | string;
  /** Lease id (decimal) to bind the key to. */
  lease?: string;
}

/** The outcome for one item: created now, or the value that already exists. */
export type CreateIfAbsentResult = { created: true } | { created: false; existing: IKeyValue };

/** Options of {@link createIfAbsentMany}. */
export interface CreateIfAbsentManyOptions {
  hooks?: ClusterMetricsHooks;
  /** `op` label for metrics. */
  op: string;
  /** Items per txn (1..MAX_BATCH; default MAX_BATCH). */
  batchSize?: number;
  /** Txns in flight (default DEFAULT_BATCH_CONCURRENCY). */
  concurrency?: number;
}

/** Splits `items` into batches by count and request bytes (an item larger than the byte cap goes alone). */
export function planBatches<T extends { key: string; value: Buffer | string }>(items: readonly T[], batchSize: number, maxBytes = MAX_BATCH_BYTES): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    const it = items[i] as T;
    // key appears in compare, put and range; value once.
    const size = 3 * Buffer.byteLength(it.key) + (typeof it.value === 'string' ? Buffer.byteLength(it.value) : it.value.length) + 64;
    if (cur.length > 0 && (cur.length >= batchSize || bytes + size > maxBytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(i);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Runs `fn` over `jobs` with at most `concurrency` in flight; rejects with the first error after all settle. */
export async function runBounded<J>(jobs: readonly J[], concurrency: number, fn: (job: J) => Promise<void>): Promise<void> {
  let next = 0;
  let firstErr: unknown;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < jobs.length && !failed) {
      const job = jobs[next++] as J;
      try {
        await fn(job);
      } catch (err) {
        if (!failed) firstErr = err;
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, jobs.length)) }, worker));
  if (failed) throw firstErr;
}

/** Refuses a batch that names one key twice (etcd refuses a txn writing one key twice); the batch size to use. */
function checkedBatchSize(items: ReadonlyArray<{ key: string }>, opts: CreateIfAbsentManyOptions): number {
  const seen = new Set<string>();
  for (const it of items) {
    if (seen.has(it.key)) throw new ClusterError('CLUSTER_INVALID_ARGUMENT', `duplicate key in batch: ${it.key}`);
    seen.add(it.key);
  }
  return Math.max(1, Math.min(MAX_BATCH, opts.batchSize ?? MAX_BATCH));
}

/**
 * Runs one outer txn per batch, each item as its own nested txn (decided on its own, the outer
 * txn applied atomically at one revision); `read` gets each item's index and inner response.
 */
async function runNested<T>(
  client: Etcd3, items: readonly T[], batches: number[][], opts: CreateIfAbsentManyOptions,
  nested: (it: T) => NonNullable<IRequestOp['request_txn']>, read: (i: number, inner: ITxnResponse) => void,
): Promise<void> {
  await runBounded(batches, opts.concurrency ?? DEFAULT_BATCH_CONCURRENCY, async (idx) => {
    const success: IRequestOp[] = idx.map((i) => ({ request_txn: nested(items[i] as T) }));
    const res: ITxnResponse = await timed(opts.hooks, opts.op, () => client.kv.txn({ compare: [], success, failure: [] }));
    idx.forEach((i, j) => {
      const inner = res.responses[j]?.response_txn;
      if (!inner) throw new ClusterError('CLUSTER_INVARIANT', `${opts.op}: batch txn response ${j} missing`);
      read(i, inner);
    });
  });
}

/**
 * Create-if-absent for every item, in batched nested txns. Returns one result per item, in
 * input order. Keys must be distinct (etcd refuses a txn writing one key twice:
 * `CLUSTER_INVALID_ARGUMENT` is thrown before any write). Transport failures reject with
 * EtcdUnavailableError; batches already committed stay committed, and repeating the call is
 * safe (those items then come back `created: false` with the value written).
 */
export async function createIfAbsentMany(client: Etcd3, items: readonly CreateIfAbsentItem[], opts: CreateIfAbsentManyOptions): Promise<CreateIfAbsentResult[]> {
  return (await createIfAbsentManyWith(client, items, undefined, opts)).map((r, i) => {
    // Without a guard the compare fails only on an existing key, and compare and range run at
    // one revision inside the txn: the key exists.
    if (!r) throw new ClusterError('CLUSTER_INVARIANT', `${opts.op}: ${items[i]?.key}: compare failed but the key is absent`);
    return r;
  });
}

/** A compare every nested txn of {@link createIfAbsentManyGuarded} also requires. */
export type TxnGuard = { key: Buffer; target: 'Value' | 'Create'; result: 'Equal'; value?: Buffer; create_revision?: number };

/**
 * {@link createIfAbsentMany} with one more compare in every nested txn (the cluster-tip guard of
 * chain-tip.ts): an item is created only if its key is absent AND `guard` holds. Returns one
 * result per item, in input order; `undefined` where the key was absent but the guard failed
 * (nothing written for it: retry with a fresh guard). Batches of at most MAX_TXN_OPS - 2 items.
 */
export function createIfAbsentManyGuarded(
  client: Etcd3, items: readonly CreateIfAbsentItem[], guard: TxnGuard, opts: CreateIfAbsentManyOptions,
): Promise<Array<CreateIfAbsentResult | undefined>> {
  return createIfAbsentManyWith(client, items, guard, opts);
}

/** Both of the above: `undefined` where the key was absent but the guard failed. */
async function createIfAbsentManyWith(
  client: Etcd3, items: readonly CreateIfAbsentItem[], guard: TxnGuard | undefined, opts: CreateIfAbsentManyOptions,
): Promise<Array<CreateIfAbsentResult | undefined>> {
  // A guard is a second compare per nested txn (see handOverIfUnchangedMany).
  const batchSize = guard ? Math.min(checkedBatchSize(items, opts), MAX_TXN_OPS - 2) : checkedBatchSize(items, opts);
  const results: Array<CreateIfAbsentResult | undefined> = new Array<CreateIfAbsentResult | undefined>(items.length);
  await runNested(client, items, planBatches(items, batchSize), opts, (it) => {
    const key = Buffer.from(it.key);
    const value = typeof it.value === 'string' ? Buffer.from(it.value) : it.value;
    return {
      compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }, ...(guard ? [guard] : [])],
      success: [{ request_put: { key, value, ...(it.lease !== undefined ? { lease: it.lease } : {}) } }],
      failure: [{ request_range: { key } }],
    };
  }, (i, inner) => {
    if (inner.succeeded) {
      results[i] = { created: true };
      return;
    }
    const kv = inner.responses[0]?.response_range?.kvs[0];
    results[i] = kv ? { created: false, existing: kv } : undefined;
  });
  return results;
}

/** One delete guarded by the exact revision read (a newer value is never deleted). */
export interface DeleteIfUnchangedItem {
  key: string;
  /** The mod revision the caller read; the key is deleted only while it still has it. */
  modRevision: number;
}

/**
 * Deletes every item's key if its mod revision is still the one given, in batched nested
 * txns (`if mod_revision(key) == rev then delete(key)`), each decided on its own. Returns
 * one boolean per item, in input order: true when that key was deleted. Keys must be
 * distinct. Transport failures reject (EtcdUnavailableError); repeating is safe.
 */
export async function deleteIfUnchangedMany(client: Etcd3, items: readonly DeleteIfUnchangedItem[], opts: CreateIfAbsentManyOptions): Promise<boolean[]> {
  const batchSize = checkedBatchSize(items, opts);
  const results: boolean[] = new Array<boolean>(items.length).fill(false);
  const batches = planBatches(items.map((it) => ({ key: it.key, value: '' })), batchSize);
  await runNested(client, items, batches, opts, (it) => {
    const key = Buffer.from(it.key);
    return {
      compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: String(it.modRevision) }],
      success: [{ request_delete_range: { key } }],
      failure: [],
    };
  }, (i, inner) => {
    results[i] = inner.succeeded && Number(inner.responses[0]?.response_delete_range?.deleted ?? 0) > 0;
  });
  return results;
}

/** One guarded hand-over: `key` is rewritten (bound to `lease`) only while both guards hold. */
export interface HandOverItem {
  key: string;
  /** The mod revision the caller read; the key is rewritten only while it still has it. */
  modRevision: number;
  value: string;
  /** Lease the new value is bound to (the recipient's session lease). */
  lease: string;
  /** A key that proves `lease` alive at the txn's revision (the recipient's `nodes/<id>`): it must be bound to `lease`. */
  leaseWitness: string;
}

/**
 * Rewrites every item's key to its new value, bound to its new lease, if the key still has
 * the mod revision given AND the witness key is still bound to that lease (so the lease is
 * alive at the txn's revision: an etcd lease's keys go with it, atomically). In batched
 * nested txns, each decided on its own; one boolean per item, in input order (true = handed
 * over). A put to a dead lease would fail the whole batch; the witness guard makes that
 * impossible. Keys must be distinct. Transport failures reject; repeating is safe (a
 * committed item no longer has the old revision and comes back false).
 */
export async function handOverIfUnchangedMany(client: Etcd3, items: readonly HandOverItem[], opts: CreateIfAbsentManyOptions): Promise<boolean[]> {
  // Two compares per nested txn: etcd gives a nested txn only the ops the outer level left
  // (MAX_TXN_OPS - outer ops), so an outer txn of n such nested txns needs n <= MAX_TXN_OPS - 2.
  const batchSize = Math.min(checkedBatchSize(items, opts), MAX_TXN_OPS - 2);
  const results: boolean[] = new Array<boolean>(items.length).fill(false);
  await runNested(client, items, planBatches(items, batchSize), opts, (it) => {
    const key = Buffer.from(it.key);
    return {
      compare: [
        { key, target: 'Mod', result: 'Equal', mod_revision: String(it.modRevision) },
        { key: Buffer.from(it.leaseWitness), target: 'Lease', result: 'Equal', lease: it.lease },
      ],
      success: [{ request_put: { key, value: Buffer.from(it.value), lease: it.lease } }],
      failure: [],
    };
  }, (i, inner) => {
    results[i] = inner.succeeded;
  });
  return results;
}
