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
 *
 * A tip that is not a height (a corrupt value), a tip missing while its markers
 * exist, or markers that disagree with it: guarded writers refuse to write
 * ({@link ChainTipCorruptError}, nothing written) and voters repair it
 * ({@link ChainTip.repair}, run by `advance` when its txn finds the keys in that
 * state). The repair may never LOWER the tip below a height already in use: a
 * write guarded at T applies from T + 2 because draws up to T + 1 may have been
 * built already, so a lower tip would let a new write change a draw's inputs
 * after it was signed. The repair therefore writes the highest height known
 * from every source: the valid values among the three keys, the highest valid
 * tip this process's caches ever applied, the highest height it was asked to
 * advance to, and the highest height of a vote record it holds (a vote at H was
 * built while the tip was >= H - 1). It is one txn compared on the mod
 * revisions it read (absent keys: create revision 0), so a concurrent repair or
 * advance is never overwritten: the loser reads again.
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ChainTipCorruptError, ConcurrentUpdateError } from './errors.ts';
import { padHeight, parseHeightValue, type Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';

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

/** The three tip keys in the order every read and write of this module uses: the tip, then its markers. */
export function tipKeys(keyspace: Keyspace): [string, string, string] {
  return [keyspace.chainTip(), keyspace.ticketsTipMarker(), keyspace.tspendsTipMarker()];
}

/** Range requests of the three tip keys (for a txn's success or failure branch). */
export function tipReads(keyspace: Keyspace): Array<{ request_range: { key: Buffer } }> {
  return tipKeys(keyspace).map((k) => ({ request_range: { key: Buffer.from(k) } }));
}

/** A stored value as an operator reads it in a log line: printable ASCII, bounded. */
export function showValue(raw: Buffer | undefined): string {
  if (raw === undefined) return '(absent)';
  const s = raw.subarray(0, 40).toString('latin1').replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(raw.length > 40 ? `${s}…` : s) + (raw.length > 40 ? ` (${raw.length} bytes)` : '');
}

/** What is wrong with the three tip keys read at one revision (undefined: nothing). */
export type TipProblem = 'corrupt' | 'missing' | 'unequal';

/** The state of the three tip keys read at one revision. */
export interface TipState {
  /** The tip (`config/chain-tip`) when it is a height. */
  tip: number | undefined;
  /** What needs a repair; undefined when the keys are consistent (all absent: no tip yet). */
  problem: TipProblem | undefined;
  /** The key the problem is first seen at, and its value as read. */
  badKey?: string;
  badValue?: string;
  /** The highest valid height among the three values (-1: none). */
  highest: number;
  kvs: Array<IKeyValue | undefined>;
}

/** Classifies the three tip keys `kvs` (tip, tickets marker, tspends marker) read at one revision. */
export function tipState(keyspace: Keyspace, kvs: Array<IKeyValue | undefined>): TipState {
  const keys = tipKeys(keyspace);
  const heights = kvs.map((kv) => (kv ? parseHeightValue(kv.value) : undefined));
  const highest = Math.max(-1, ...heights.map((h) => h ?? -1));
  const base = { tip: heights[0], highest, kvs };
  const corrupt = kvs.findIndex((kv, i) => kv !== undefined && heights[i] === undefined);
  if (corrupt >= 0) return { ...base, problem: 'corrupt', badKey: keys[corrupt], badValue: showValue(kvs[corrupt]?.value) };
  const present = kvs.filter((kv) => kv !== undefined).length;
  if (present === 0) return { ...base, problem: undefined };
  const missing = kvs.findIndex((kv) => kv === undefined);
  if (missing >= 0) return { ...base, problem: 'missing', badKey: keys[missing], badValue: '(absent)' };
  if (heights[1] !== heights[0] || heights[2] !== heights[0]) {
    const at = heights[1] !== heights[0] ? 1 : 2;
    return { ...base, problem: 'unequal', badKey: keys[at], badValue: `${showValue(kvs[at]?.value)} while ${keys[0]} is ${showValue(kvs[0]?.value)}` };
  }
  return { ...base, problem: undefined };
}

/** What a writer knows of the heights in use, for {@link guardTip}'s checks. No I/O. */
export interface TipKnowledge {
  /** The highest valid tip this process applied (-1: none). */
  highestTipSeen(): number;
  /**
   * The highest height otherwise known in use (markers applied; -1: none). Asked before every
   * guarded read ({@link tipFloor}): keep it cheap (no cache scans).
   */
  highestInUse?(): number;
}

/**
 * What a process knew of the heights in use when it sent a read (take it BEFORE the request: a
 * watch may deliver a newer tip while the read is in flight, and the read is no older than what
 * was applied before it was sent).
 */
export interface TipFloor {
  /** The highest tip applied before the read (-1: none). */
  tip: number;
  /** The highest marker applied before the read (-1: none). */
  inUse: number;
}

/** The floor of `known` now ({@link TipFloor}: call it before sending the read it checks). */
export function tipFloor(known?: TipKnowledge): TipFloor {
  return { tip: known?.highestTipSeen() ?? -1, inUse: known?.highestInUse?.() ?? -1 };
}

/**
 * The tip a guarded write is guarded by, from the three tip keys read at one revision: the
 * height, or undefined when there is no tip yet (all three absent).
 * @throws ChainTipCorruptError when the tip is not a height, is missing while a marker exists,
 *   all three are missing while `floor` says heights were in use, or the tip is below the highest
 *   one this process had applied before the read (lowered) — a write guarded by it would apply
 *   from the wrong height. Markers that merely disagree
 *   with a valid tip do not stop a write (its guard is the tip); voters repair them.
 */
export function guardTip(keyspace: Keyspace, kvs: Array<IKeyValue | undefined>, floor?: TipFloor): number | undefined {
  const s = tipState(keyspace, kvs);
  const highestTipSeen = floor?.tip ?? -1;
  if (s.tip !== undefined && s.tip < highestTipSeen) {
    // Valid but below a tip this process applied: lowered by hand (or a restore). A write
    // guarded by it could apply to draws already built; a voter raises it back.
    throw new ChainTipCorruptError(
      keyspace.chainTip(),
      `${keyspace.chainTip()} holds ${padHeight(s.tip)}, below ${padHeight(highestTipSeen)} which it held before (the tip only rises): writes that change vote inputs are refused and nothing was written. ` +
        'A running voter raises it back when it hears the next block (votecluster_cluster_chain_tip_repairs_total{reason="lowered"}); retry then.',
    );
  }
  if (s.tip !== undefined) return s.tip;
  // All three absent: no tip yet, unless heights are known to be in use (deleted by hand).
  const deleted = s.problem === undefined && Math.max(highestTipSeen, floor?.inUse ?? -1) >= 0;
  if (s.problem === undefined && !deleted) return undefined;
  const key = keyspace.chainTip();
  const what = deleted
    ? 'and its markers are missing while heights are in use (deleted)'
    : kvs[0] === undefined ? 'is missing while its markers exist' : `holds ${showValue(kvs[0]?.value)}, not a 10-digit height`;
  throw new ChainTipCorruptError(
    key,
    `${key} ${what}: writes that change vote inputs (choices, policies, defaults, ticket imports, tspend records) are refused and nothing was written. ` +
      'A running voter repairs it when it hears the next block (votecluster_cluster_chain_tip_repairs_total); retry then. ' +
      `Do not delete or hand-edit ${key}: see the runbook VoteclusterChainTipRepaired.`,
  );
}

/** The tip keys of a txn response's range responses starting at `first`. */
export function tipKvsOf(responses: Array<{ response_range?: { kvs: IKeyValue[] } }>, first: number): Array<IKeyValue | undefined> {
  return [0, 1, 2].map((i) => responses[first + i]?.response_range?.kvs[0]);
}

/**
 * Reads the tip a guarded write is guarded by: the three tip keys in one txn.
 * @throws ChainTipCorruptError (see {@link guardTip}), EtcdUnavailableError
 */
export async function readGuardTip(client: Etcd3, keyspace: Keyspace, hooks?: ClusterMetricsHooks, known?: TipKnowledge): Promise<number | undefined> {
  const floor = tipFloor(known);
  const res = await timed(hooks, 'chain_tip_read', () => client.kv.txn({ compare: [], success: tipReads(keyspace), failure: [] }));
  return guardTip(keyspace, tipKvsOf(res.responses, 0), floor);
}

/** Why a repair wrote the tip: what it found wrong with it. */
export type TipRepairReason = TipProblem | 'lowered';

/** Options of {@link ChainTip}. */
export interface ChainTipOptions {
  client: Etcd3;
  keyspace: Keyspace;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  /** The tip as the local config cache shows it (its marker height), undefined when none or not readable. No I/O. */
  cached: () => number | undefined;
  /**
   * The highest valid tip height this process ever applied from `config/chain-tip` (survives a
   * corrupt or lowered value; -1: none). No I/O. Default: {@link cached}.
   */
  highestTipSeen?: () => number;
  /**
   * The highest height this process knows to be in use besides the tip: the highest marker its
   * caches applied, the highest vote record it holds (-1: none). Only a repair reads it. No I/O.
   */
  highestInUse?: () => number;
  /**
   * True while one of this process's caches finds a tip key unreadable (corrupt, deleted):
   * `advance` then repairs from a read instead of raising blindly. No I/O.
   */
  unreadable?: () => boolean;
  /** Called after a repair wrote the tip (metrics). */
  onRepair?: (reason: TipRepairReason, height: number) => void;
}

/** Sorts below every 10-digit height and above the empty value and every proper prefix of `0000000000`. */
const BELOW_EVERY_HEIGHT = Buffer.from('000000000');

/** Attempts of a repair that loses races to concurrent writers of the tip keys. */
const REPAIR_ATTEMPTS = 5;

/** See the module comment. */
export class ChainTip {
  /** The highest height this process asked the tip to reach. */
  #asked = -1;
  readonly #log: ClusterLogger;

  constructor(private readonly opts: ChainTipOptions) {
    this.#log = opts.log ?? SILENT_LOGGER;
  }

  /** The tip as this process's config cache shows it (undefined: none seen). No I/O. */
  cachedTip(): number | undefined {
    return this.opts.cached();
  }

  /**
   * The tip etcd holds now (a linearizable read; undefined: no tip yet).
   * @throws ChainTipCorruptError (the tip is not a height, or missing while its markers exist)
   */
  async read(): Promise<number | undefined> {
    return readGuardTip(this.opts.client, this.opts.keyspace, this.opts.hooks);
  }

  #highestTipSeen(): number {
    return this.opts.highestTipSeen?.() ?? this.opts.cached() ?? -1;
  }

  /**
   * Raises the cluster tip to `height` (never lowers it): one txn puts `config/chain-tip`,
   * `tickets/chain-tip` and `tspends/chain-tip` at one revision, if all three are below it.
   * Skipped (no I/O) when the local cache already shows a tip >= `height` (the tip only rises,
   * so etcd's is too). Writes at least the highest tip this process has seen (a tip lowered by
   * hand is raised back). Keys that are not consistent heights (corrupt, missing, unequal) are
   * repaired ({@link repair}). Resolves true when this call wrote the tip, false when it was
   * already there.
   * @throws EtcdUnavailableError (callers on the vote path only log it), ConcurrentUpdateError
   */
  async advance(height: number): Promise<boolean> {
    padHeight(height);
    if (height > this.#asked) this.#asked = height;
    const target = Math.max(height, this.#highestTipSeen());
    const cached = this.opts.cached();
    const unreadable = this.opts.unreadable?.() === true;
    if (!unreadable && cached !== undefined && cached >= target) return false;
    const { client, keyspace } = this.opts;
    // This process finds a tip key unreadable (a marker too, while the tip itself is fine):
    // repair from what is read, never a blind raise.
    if (unreadable) {
      const res = await timed(this.opts.hooks, 'chain_tip_read', () => client.kv.txn({ compare: [], success: tipReads(keyspace), failure: [] }));
      const state = tipState(keyspace, tipKvsOf(res.responses, 0));
      if (state.problem === undefined && state.tip !== undefined && state.tip >= target) return false;
      return this.#repairFrom(state, target);
    }
    const value = Buffer.from(padHeight(target));
    const res = await timed(this.opts.hooks, 'advance_tip', () =>
      client.kv.txn({
        // Every key below the target, and not a value sorting below every height (an empty or
        // short one is corrupt: the repair below decides, from what is known, not this height).
        compare: tipKeys(keyspace).flatMap((k) => [
          { key: Buffer.from(k), target: 'Value' as const, result: 'Less' as const, value },
          { key: Buffer.from(k), target: 'Value' as const, result: 'Greater' as const, value: BELOW_EVERY_HEIGHT },
        ]),
        success: tipKeys(keyspace).map((k) => ({ request_put: { key: Buffer.from(k), value } })),
        failure: tipReads(keyspace),
      }),
    );
    if (res.succeeded) {
      // The tip was below a value this process had applied: someone lowered it.
      if (target > height) this.#reportRepair('lowered', target, `${keyspace.chainTip()} was below ${padHeight(target)}, a tip this process had applied`);
      return true;
    }
    const state = tipState(keyspace, tipKvsOf(res.responses, 0));
    if (state.problem === undefined && state.tip !== undefined && state.tip >= target) return false;
    return this.#repairFrom(state, target);
  }

  /**
   * Makes the three tip keys consistent heights again when they are not (a value that is not a
   * height, the tip or a marker missing, markers unequal to the tip): writes all three to the
   * highest height known (see the module comment), in one txn compared on the revisions read.
   * Returns the tip afterwards (undefined: no tip and nothing known, nothing written).
   * @throws ChainTipCorruptError when a key is corrupt and no height at all is known (nothing
   *   written), ConcurrentUpdateError, EtcdUnavailableError
   */
  async repair(height?: number): Promise<number | undefined> {
    const { client, keyspace } = this.opts;
    if (height !== undefined && height > this.#asked) this.#asked = height;
    const res = await timed(this.opts.hooks, 'chain_tip_read', () => client.kv.txn({ compare: [], success: tipReads(keyspace), failure: [] }));
    const state = tipState(keyspace, tipKvsOf(res.responses, 0));
    // Also a tip below one this process applied (lowered): raised back.
    const want = Math.max(height ?? -1, this.#highestTipSeen());
    if (state.problem === undefined && (state.tip ?? -1) >= want) return state.tip;
    await this.#repairFrom(state, want);
    return readGuardTip(client, keyspace, this.opts.hooks);
  }

  async #repairFrom(first: TipState, height: number): Promise<boolean> {
    const { client, keyspace } = this.opts;
    let state = first;
    for (let attempt = 1; ; attempt++) {
      const known = Math.max(height, this.#asked, this.#highestTipSeen(), this.opts.highestInUse?.() ?? -1, state.highest);
      if (known < 0) {
        // Nothing at all is known: write nothing (the next block a voter hears is a height).
        guardTip(keyspace, state.kvs);
        return false;
      }
      const value = Buffer.from(padHeight(known));
      const keys = tipKeys(keyspace).map((k) => Buffer.from(k));
      const res = await timed(this.opts.hooks, 'repair_tip', () =>
        client.kv.txn({
          // Exactly the state read: a concurrent repair or advance makes this one read again.
          compare: keys.map((key, i) => {
            const kv = state.kvs[i];
            return kv
              ? { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: String(kv.mod_revision) }
              : { key, target: 'Create' as const, result: 'Equal' as const, create_revision: '0' };
          }),
          success: keys.map((key) => ({ request_put: { key, value } })),
          failure: tipReads(keyspace),
        }),
      );
      if (res.succeeded) {
        if (state.problem !== undefined) this.#reportRepair(state.problem, known, `${state.badKey} ${state.badValue === '(absent)' ? 'was missing' : `held ${state.badValue}`}`);
        else if (state.tip !== undefined && state.tip < this.#highestTipSeen()) this.#reportRepair('lowered', known, `${keyspace.chainTip()} held ${padHeight(state.tip)}, below a tip this process had applied`);
        else if (state.tip === undefined && this.#highestTipSeen() >= 0) {
          this.#reportRepair('missing', known, `${keyspace.chainTip()} and both markers were missing while heights were in use`);
        }
        return true;
      }
      state = tipState(keyspace, tipKvsOf(res.responses, 0));
      if (state.problem === undefined && state.tip !== undefined && state.tip >= height) return false;
      if (attempt >= REPAIR_ATTEMPTS) {
        throw new ConcurrentUpdateError(`${keyspace.chainTip()}: repair lost to concurrent writers of the tip keys ${attempt} times; retried on the next block`);
      }
    }
  }

  #reportRepair(reason: TipRepairReason, height: number, found: string): void {
    this.#log.error(
      { reason, found, tip: height, key: this.opts.keyspace.chainTip() },
      'cluster tip repaired: written to the highest height in use (never lower); writes that change vote inputs work again. Find out what wrote the bad value (runbook VoteclusterChainTipRepaired)',
    );
    try {
      this.opts.onRepair?.(reason, height);
    } catch {
      // a metrics hook must not fail the repair
    }
  }
}
