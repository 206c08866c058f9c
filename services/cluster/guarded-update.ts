/**
 * Read-modify-write of one etcd key as a revision-guarded transaction: read
 * the value and its mod revision, compute the next value, and write it only
 * if the key still has that mod revision (`Mod == rev`; an absent key has mod
 * revision 0, so a first write is guarded too). On conflict the same txn
 * returns the current value (`else get`), so a retry needs no extra read.
 *
 * Writers of one key within a process are serialized (a queue per key), so
 * they never make each other retry; writers in other processes can still win
 * a race, which costs a retry with jittered exponential backoff, bounded by
 * `maxAttempts`. When the attempts run out the update fails with
 * {@link ConcurrentUpdateError} naming the key; nothing is written.
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import { JitteredBackoff, sleep } from '../base/index.ts';
import { guardTip, tipCompare, tipFloor, tipKvsOf, tipReads, type TipKnowledge } from './chain-tip.ts';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import type { Keyspace } from './keyspace.ts';
import { ConcurrentUpdateError } from './errors.ts';

/** Default attempts of one update (one read, then one txn per attempt). */
export const DEFAULT_UPDATE_ATTEMPTS = 12;
const BACKOFF_BASE_MS = 5;
const BACKOFF_MAX_MS = 250;

/**
 * The current value of the key (undefined: absent) and what to write instead; with a tip guard,
 * `tip` is the cluster tip the write is guarded by (undefined: no tip yet).
 */
export type UpdateFn<T> = (current: T | undefined, tip: number | undefined) => T | Promise<T>;

/** Options of {@link GuardedUpdater.update}. */
export interface GuardedUpdateOptions<T> {
  key: string;
  /**
   * Parses a stored value: throws on a corrupt one (the update then fails and writes nothing), or
   * returns undefined to treat it as absent (`fn` replaces it; the write is still guarded by the
   * corrupt value's revision).
   */
  parse: (key: string, raw: Buffer) => T | undefined;
  /** Serializes the next value. */
  serialize: (value: T) => string;
  /** Metric op names: `<op>_read` and `<op>`. */
  op: string;
  /**
   * Guard the write by the cluster tip too (a write that shapes votes, chain-tip.ts): the txn
   * also requires `config/chain-tip` to hold the tip `fn` was given; a moved tip is a retry.
   */
  tipGuard?: Keyspace;
  /** True when `next` leaves the key as it is: the update resolves with it and writes nothing. */
  unchanged?: (current: T | undefined, next: T) => boolean;
}

/** Per-process serializer and guarded writer; see the module comment. */
export class GuardedUpdater {
  readonly #tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly client: Etcd3,
    private readonly hooks?: ClusterMetricsHooks,
    private readonly maxAttempts = DEFAULT_UPDATE_ATTEMPTS,
    /** What this process knows of the heights in use: a tip read below them refuses a tip-guarded write (chain-tip.ts `guardTip`). */
    private readonly known?: TipKnowledge,
  ) {}

  /**
   * Applies `fn` to the key's current value and writes the result if nobody wrote the key in
   * between; retries otherwise. `fn` may throw (e.g. not found): nothing is written and the
   * error propagates. Resolves with the value written.
   * @throws ConcurrentUpdateError after `maxAttempts` lost races; EtcdUnavailableError;
   *   with a tip guard, ChainTipCorruptError (the tip is unreadable: nothing written).
   */
  update<T>(opts: GuardedUpdateOptions<T>, fn: UpdateFn<T>): Promise<T> {
    const prev = this.#tails.get(opts.key) ?? Promise.resolve();
    const run = prev.then(
      () => this.#attempt(opts, fn),
      () => this.#attempt(opts, fn),
    );
    const tail = run.catch(() => undefined);
    this.#tails.set(opts.key, tail);
    void tail.then(() => {
      if (this.#tails.get(opts.key) === tail) this.#tails.delete(opts.key);
    });
    return run;
  }

  async #attempt<T>(opts: GuardedUpdateOptions<T>, fn: UpdateFn<T>): Promise<T> {
    const { client } = this;
    const { key } = opts;
    const keyBuf = Buffer.from(key);
    const ks = opts.tipGuard;
    // With a tip guard: the tip and its markers too (a corrupt or missing tip refuses the write).
    const reads = [{ request_range: { key: keyBuf } }, ...(ks ? tipReads(ks) : [])];
    let floor = tipFloor(this.known);
    const first = await timed(this.hooks, `${opts.op}_read`, () => client.kv.txn({ compare: [], success: reads, failure: [] }));
    let kv: IKeyValue | undefined = first.responses[0]?.response_range?.kvs[0];
    let tip = ks ? guardTip(ks, tipKvsOf(first.responses, 1), floor) : undefined;
    const backoff = new JitteredBackoff(BACKOFF_BASE_MS, BACKOFF_MAX_MS);
    for (let attempt = 1; ; attempt++) {
      const modRevision = kv ? Number(kv.mod_revision) : 0;
      const current = kv ? opts.parse(key, kv.value) : undefined;
      const next = await fn(current, tip);
      if (opts.unchanged?.(current, next) === true) return next;
      const value = opts.serialize(next);
      floor = tipFloor(this.known);
      const res = await timed(this.hooks, opts.op, () =>
        client.kv.txn({
          compare: [
            { key: keyBuf, target: 'Mod', result: 'Equal', mod_revision: String(modRevision) },
            ...(ks ? [tipCompare(ks, tip)] : []),
          ],
          success: [{ request_put: { key: keyBuf, value: Buffer.from(value) } }],
          failure: reads,
        }),
      );
      if (res.succeeded) return next;
      if (attempt >= this.maxAttempts) {
        throw new ConcurrentUpdateError(
          `${key}: update lost to concurrent writers${ks ? ' or a moving chain tip' : ''} ${attempt} times in a row; nothing was written, retry later`,
        );
      }
      kv = res.responses[0]?.response_range?.kvs[0];
      const movedTip = ks ? guardTip(ks, tipKvsOf(res.responses, 1), floor) : undefined;
      // Only the tip moved (a block arrived): retry at once with the new tip.
      const onlyTip = ks !== undefined && movedTip !== tip && Number(kv?.mod_revision ?? 0) === modRevision;
      tip = movedTip;
      if (!onlyTip) await sleep(backoff.nextMs());
    }
  }
}
