/**
 * The cluster tip T: the highest block height any voter has heard, in one
 * canonical key `config/chain-tip` (a 10-digit padded height: etcd compares
 * values as bytes, so lexical order is numeric order) and, with the same value
 * in the same txn, a marker key in every other range whose watch cache feeds
 * vote inputs: `tickets/chain-tip` and `tspends/chain-tip`.
 *
 * Advancing (`advance(H)`, voters, on every block they hear; off the critical
 * path): ONE txn `if value(config/chain-tip) < pad(H) then put all three =
 * pad(H)` (create-if-absent when there is no tip yet: etcd's value compare on
 * a missing key is false). All three land at one revision R(H).
 *
 * Guarded writes: every write that changes a vote input carries the compare
 * `value(config/chain-tip) == pad(T)` for the T it read ({@link tipCompare});
 * a moved tip fails the txn and the writer retries with the new T. The change
 * applies from T + 2 and its revision is < R(T + 1).
 *
 * Why a view is current: a watch delivers its range's events in revision order
 * and a snapshot is one revision, so a cache whose marker reached H - 1 has
 * applied every write of its range with revision <= R(H - 1), hence every
 * guarded write applying from <= H (T <= H - 2, revision < R(T + 1) <= R(H - 1)).
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { padHeight, parseHeightValue, type Keyspace } from './keyspace.ts';

/** One compare of a raw etcd txn (`client.kv.txn`). */
export interface RawCompare {
  key: Buffer;
  target: 'Value' | 'Create';
  result: 'Equal';
  value?: Buffer;
  create_revision?: number;
}

/**
 * The compare that guards a write by the tip read: `value(config/chain-tip) == pad(tip)`, or,
 * with no tip yet (`undefined`), `create_revision(config/chain-tip) == 0`.
 */
export function tipCompare(keyspace: Keyspace, tip: number | undefined): RawCompare {
  const key = Buffer.from(keyspace.chainTip());
  return tip === undefined
    ? { key, target: 'Create', result: 'Equal', create_revision: 0 }
    : { key, target: 'Value', result: 'Equal', value: Buffer.from(padHeight(tip)) };
}

/** The tip held by a `config/chain-tip` key-value (absent or unreadable: undefined). */
export function tipOf(kv: IKeyValue | undefined): number | undefined {
  return kv ? parseHeightValue(kv.value) : undefined;
}

/** Options of {@link ChainTip}. */
export interface ChainTipOptions {
  client: Etcd3;
  keyspace: Keyspace;
  hooks?: ClusterMetricsHooks;
  /** The tip as the local config cache shows it (its marker height), undefined when none. No I/O. */
  cached: () => number | undefined;
}

/** See the module comment. */
export class ChainTip {
  constructor(private readonly opts: ChainTipOptions) {}

  /** The tip as this process's config cache shows it (undefined: none seen). No I/O. */
  cachedTip(): number | undefined {
    return this.opts.cached();
  }

  /** The tip etcd holds now (a linearizable read; undefined: no tip yet). */
  async read(): Promise<number | undefined> {
    const { client, keyspace } = this.opts;
    const res = await timed(this.opts.hooks, 'chain_tip_read', () => client.get(keyspace.chainTip()).exec());
    return tipOf(res.kvs[0]);
  }

  /**
   * Raises the cluster tip to `height` (never lowers it): one txn puts `config/chain-tip`,
   * `tickets/chain-tip` and `tspends/chain-tip` at one revision. Skipped (no I/O) when the
   * local cache already shows a tip >= `height` (the tip only rises, so etcd's is too).
   * Resolves true when this call moved the tip, false when it was already there.
   * @throws EtcdUnavailableError (callers on the vote path only log it)
   */
  async advance(height: number): Promise<boolean> {
    const value = padHeight(height);
    const cached = this.opts.cached();
    if (cached !== undefined && cached >= height) return false;
    const { client, keyspace } = this.opts;
    const tipKey = keyspace.chainTip();
    const puts = [tipKey, keyspace.ticketsTipMarker(), keyspace.tspendsTipMarker()].map((k) => client.put(k).value(value));
    const res = await timed(this.opts.hooks, 'advance_tip', () =>
      client.if(tipKey, 'Value', '<', value).then(...puts).else(client.get(tipKey)).commit(),
    );
    if (res.succeeded) return true;
    if (res.responses[0]?.response_range?.kvs[0]) return false;
    // No tip yet (a value compare on a missing key is false): create it.
    const created = await timed(this.opts.hooks, 'advance_tip', () =>
      client.if(tipKey, 'Create', '==', 0).then(...[tipKey, keyspace.ticketsTipMarker(), keyspace.tspendsTipMarker()].map((k) => client.put(k).value(value))).commit(),
    );
    if (created.succeeded) return true;
    // Created concurrently, possibly lower than `height`: one more raise.
    const again = await timed(this.opts.hooks, 'advance_tip', () =>
      client.if(tipKey, 'Value', '<', value).then(...[tipKey, keyspace.ticketsTipMarker(), keyspace.tspendsTipMarker()].map((k) => client.put(k).value(value))).commit(),
    );
    return again.succeeded;
  }
}
