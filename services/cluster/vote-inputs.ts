/**
 * Vote inputs effective from a height: what a vote on the block at height H
 * is built from, as a pure function of the records etcd holds (no clock, no
 * I/O), so every voter that holds the same records computes the same vote.
 *
 * A record keeps its LATEST state (what the admin API, vspd and the status
 * page show) with the height it applies from, plus a short history of the
 * states before it, each with its own `from`. A change written while the
 * cluster tip is T applies from T + 2 (a draw at T + 1 may already be in
 * flight); draws below that keep the state they had (chain-tip.ts explains why
 * a voter whose caches reached the marker of H - 1 has seen every change with
 * `from <= H`).
 *
 * The same scheme holds for a ticket record (`inputsFrom`, `earlierInputs`)
 * and for `config/vote-defaults` (`from`, `earlier`).
 */
import { MAX_EARLIER_INPUTS, type EarlierInput, type Policy } from './ticket-record.ts';

/** Heights below the tip whose draws the history still serves (older states are pruned). */
export const INPUTS_HISTORY_HEIGHTS = 16;
/** One set of vote inputs: agenda choices, tspend policies, treasury (Pi key) policies. */
export interface InputState {
  voteChoices: Readonly<Record<string, string>>;
  tspendPolicy: Readonly<Record<string, Policy>>;
  treasuryPolicy: Readonly<Record<string, Policy>>;
}

/** A record's vote inputs with their history (the ticket record's or the defaults' field names mapped to these). */
export interface VersionedInputs {
  latest: InputState;
  /** Height from which `latest` applies; undefined: written by an older version (never canonical). */
  from: number | undefined;
  earlier: readonly EarlierInput[] | undefined;
}

/** The last entry of a history (ascending by `from`) that applies to a draw at `height`, if any. */
export function earlierAt<E extends { from: number }>(earlier: readonly E[], height: number): E | undefined {
  for (let i = earlier.length - 1; i >= 0; i--) {
    const e = earlier[i] as E;
    if (e.from <= height) return e;
  }
  return undefined;
}

/** The state of a record that applies to a draw at `height`, or undefined when none provably does. */
export function stateAt(v: VersionedInputs, height: number): InputState | undefined {
  if (v.from === undefined) return undefined;
  if (height >= v.from) return v.latest;
  const e = earlierAt(v.earlier ?? [], height);
  return e && pick(e);
}

/**
 * The state a single signer on the record-first path builds from when no state provably
 * applies to `height` (a late import, a pruned history, a record of an older version): the
 * applicable one if any, else the oldest state the record holds. Deterministic in the record.
 */
export function stateAtOrOldest(v: VersionedInputs, height: number): InputState {
  const at = stateAt(v, height);
  if (at) return at;
  const first = v.earlier?.[0];
  return first && v.from !== undefined ? pick(first) : v.latest;
}

function pick(e: InputState): InputState {
  return { voteChoices: e.voteChoices, tspendPolicy: e.tspendPolicy, treasuryPolicy: e.treasuryPolicy };
}

/** True when two states are equal (same entries, any key order). */
export function sameState(a: InputState, b: InputState): boolean {
  return sameMap(a.voteChoices, b.voteChoices) && sameMap(a.tspendPolicy, b.tspendPolicy) && sameMap(a.treasuryPolicy, b.treasuryPolicy);
}

function sameMap(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** The height a change written while the cluster tip is `tip` applies from (no tip yet: 2). */
export function effectiveFrom(tip: number | undefined): number {
  return (tip ?? 0) + 2;
}

/**
 * The history after a change to `next`, written while the cluster tip is `tip` (the write is
 * guarded by that tip): states applying from `tip + 2` or later are replaced, the previous
 * latest state is kept with its `from` (a record of an older version: from 0, the state it
 * had for every height), and states no draw at `tip - 16` or later needs are pruned. An
 * unchanged state keeps the history as it is.
 */
export function nextVersion(prev: VersionedInputs, next: InputState, tip: number | undefined): { from: number; earlier: EarlierInput[] } {
  if (prev.from !== undefined && sameState(prev.latest, next)) return { from: prev.from, earlier: [...(prev.earlier ?? [])] };
  return historyAfterChange(prev.earlier ?? [], { from: prev.from ?? 0, ...copyState(prev.latest) }, tip, MAX_EARLIER_INPUTS);
}

/**
 * The history step of a guarded change written while the cluster tip is `tip`, for any value
 * kept with a history (inputs here, the vote version in vote-version.ts): the new latest applies
 * from `tip + 2`; entries applying from there on are replaced, `previous` (the latest until now,
 * with its `from`) is kept, and entries no draw at `tip - 16` or later needs are pruned, keeping
 * at most `max`.
 */
export function historyAfterChange<E extends { from: number }>(
  earlier: readonly E[], previous: E, tip: number | undefined, max: number,
): { from: number; earlier: E[] } {
  const from = effectiveFrom(tip);
  const kept = earlier.filter((e) => e.from < from);
  if (previous.from < from) kept.push(previous);
  const oldest = (tip ?? 0) - INPUTS_HISTORY_HEIGHTS;
  // e_i serves the heights [e_i.from, next from): keep it while that range reaches `oldest`.
  return { from, earlier: kept.filter((_, i) => (kept[i + 1]?.from ?? from) > oldest).slice(-max) };
}

function copyState(s: InputState): InputState {
  return { voteChoices: { ...s.voteChoices }, tspendPolicy: { ...s.tspendPolicy }, treasuryPolicy: { ...s.treasuryPolicy } };
}

/** The ticket record's vote inputs as a {@link VersionedInputs}. */
export function ticketInputs(r: {
  voteChoices: Readonly<Record<string, string>>;
  tspendPolicy: Readonly<Record<string, Policy>>;
  treasuryPolicy: Readonly<Record<string, Policy>>;
  inputsFrom?: number | undefined;
  earlierInputs?: readonly EarlierInput[] | undefined;
}): VersionedInputs {
  return { latest: { voteChoices: r.voteChoices, tspendPolicy: r.tspendPolicy, treasuryPolicy: r.treasuryPolicy }, from: r.inputsFrom, earlier: r.earlierInputs };
}

/** `inputsAt(record, H)`: the ticket's own inputs for a draw at H, or undefined when not provable. */
export function inputsAt(record: Parameters<typeof ticketInputs>[0], height: number): InputState | undefined {
  return stateAt(ticketInputs(record), height);
}

/** The defaults' vote inputs as a {@link VersionedInputs} (absent value: empty, applying from 0). */
export function defaultsInputs(d: (InputState & { from?: number | undefined; earlier?: readonly EarlierInput[] | undefined }) | undefined): VersionedInputs {
  if (!d) return { latest: EMPTY_STATE, from: 0, earlier: undefined };
  return { latest: { voteChoices: d.voteChoices, tspendPolicy: d.tspendPolicy, treasuryPolicy: d.treasuryPolicy }, from: d.from, earlier: d.earlier };
}

/** `defaultsAt(value, H)`: the cluster defaults for a draw at H (absent value: empty), or undefined when not provable. */
export function defaultsAt(value: Parameters<typeof defaultsInputs>[0], height: number): InputState | undefined {
  return stateAt(defaultsInputs(value), height);
}

/** No choices, no policies. */
export const EMPTY_STATE: InputState = Object.freeze({ voteChoices: Object.freeze({}), tspendPolicy: Object.freeze({}), treasuryPolicy: Object.freeze({}) });

/** A tspend the cluster recorded (`tspends/<hash>`), checked again when read. */
export interface RecordedTSpend {
  /** Display hex, lower case. */
  hashHex: string;
  expiry: number;
  /** The signing Pi key, compressed, lower-case hex. */
  piKeyHex: string;
  /** Votes carry it from this height on. */
  from: number;
}

/**
 * The tspends a vote at `height` carries candidates for: recorded with `from <= height`,
 * inside their voting window at `height` (`votable`, services/decred tspendVotable), in hash
 * order. The vote's treasury votes are the first 7 of these with a yes/no policy.
 */
export function tspendsAt(recorded: Iterable<RecordedTSpend>, height: number, votable: (height: number, expiry: number) => boolean): RecordedTSpend[] {
  const out: RecordedTSpend[] = [];
  for (const t of recorded) if (t.from <= height && votable(height, t.expiry)) out.push(t);
  return out.sort((a, b) => (a.hashHex < b.hashHex ? -1 : a.hashHex > b.hashHex ? 1 : 0));
}

/**
 * Everything of the cluster a vote at `height` is built from. The agendas are the chain's
 * agendas of `voteVersion` (`config/agendas-v<N>`, consensus data).
 */
export interface VoteInputs {
  height: number;
  /** The ticket's own choices and policies at `height`. */
  ticket: InputState;
  /** The cluster defaults at `height`. */
  defaults: InputState;
  /** The tspends votable at `height` (see {@link tspendsAt}). */
  tspends: readonly RecordedTSpend[];
  /** etcd mod revision of the ticket record read. */
  ticketRevision: number;
  /** etcd mod revision of `config/vote-defaults` read (0: unset). */
  defaultsRevision: number;
  /**
   * The vote version committed for `height` (`config/vote-version`, vote-version.ts); undefined:
   * none applies (none committed yet, or only from a later height): such a vote is not canonical.
   */
  voteVersion?: number | undefined;
  /** Set when `config/vote-version` is unreadable: no vote may be built from these inputs. */
  voteVersionCorrupt?: string | undefined;
}

/** Why a draw's inputs are not provably the canonical ones. */
export type NonCanonicalReason =
  /** A cache has not reached the tip marker of H - 1. */
  | 'view-behind'
  /** The ticket (or its defaults) has no state committed before the draw (imported while it was open, or pruned). */
  | 'late-import'
  /** The record (ticket or defaults) was written by an older version, without a `from` height. */
  | 'legacy-record'
  /** The ticket is not in the cluster. */
  | 'not-managed'
  /** No vote version is committed for the height (`config/vote-version` absent, or applying only later). */
  | 'no-vote-version'
  /** `config/vote-version` is unreadable: nothing is signed from it (the next proposal replaces it). */
  | 'vote-version-corrupt';

/** The result of `canonicalInputs`. */
export type CanonicalInputs = { ok: true; inputs: VoteInputs } | { ok: false; reason: NonCanonicalReason };
