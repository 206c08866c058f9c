/**
 * The vote version of the cluster's votes, a vote input effective from a
 * height like the others (vote-inputs.ts): `config/vote-version` holds the
 * version votes carry from height `from` on and the earlier versions with
 * theirs, so every voter building the vote on a draw at H uses the same
 * version (hence the same agenda set, `config/agendas-v<N>`, and the same
 * bytes), whichever proxies it is connected to.
 *
 * Written only by a guarded write (guarded-update.ts with the tip guard,
 * chain-tip.ts): proposed while the cluster tip is T, a version applies from
 * T + 2. The proposal rule (voters, services/voter agenda-book.ts): a voter
 * proposes version V only when every proxy it is connected to reports V, V is
 * higher than the latest committed version (or none is committed), and the
 * agendas of V are stored; the write itself refuses anything but a raise
 * ({@link nextVoteVersion}). The committed version therefore only ever rises,
 * at most once per distinct version any dcrd reports: voters that see
 * different proxies cannot make it flip back and forth.
 *
 * dcrd accepts a vote of any version (it only reads it: decred/dcrd
 * blockchain/stake/staketx.go SSGenVersion; CheckSSGenVotes checks only the
 * size and prefix of the vote-bits push; a vote counts toward an agenda
 * only when its version is the agenda's, internal/blockchain/thresholdstate.go),
 * so two votes for one (ticket, block) that differ only in version are two
 * different valid votes: the version must be decided before the draw.
 */
import { z } from 'zod';
import { earlierAt, effectiveFrom, historyAfterChange } from './vote-inputs.ts';

/** Earlier versions kept at most. */
export const MAX_EARLIER_VOTE_VERSIONS = 8;

const VersionSchema = z.number().int().min(1).max(0xffffffff);

/** `config/vote-version`: `{ voteVersion, from, earlier? }`, `earlier` ascending by `from`, each below `from`. */
export const VoteVersionSchema = z.object({
  voteVersion: VersionSchema,
  from: z.number().int().min(0),
  earlier: z.array(z.object({ voteVersion: VersionSchema, from: z.number().int().min(0) }))
    .max(MAX_EARLIER_VOTE_VERSIONS).optional(),
}).refine(
  (v) => (v.earlier ?? []).every((e, i, a) => e.from < v.from && (i === 0 || (a[i - 1] as { from: number }).from < e.from)),
  { message: 'earlier versions must be in ascending from order, each below from' },
);
export type VoteVersionValue = z.infer<typeof VoteVersionSchema>;

/** The committed vote version for a draw at `height`, or undefined when none applies (none committed yet, or only later). */
export function voteVersionAt(value: VoteVersionValue | undefined, height: number): number | undefined {
  if (!value) return undefined;
  if (height >= value.from) return value.voteVersion;
  return earlierAt(value.earlier ?? [], height)?.voteVersion;
}

/**
 * The value after proposing `voteVersion` while the cluster tip is `tip` (undefined: no tip
 * yet), or undefined when the proposal changes nothing: only a raise above the latest committed
 * version is written. It applies from `tip + 2`, with the history step every vote input takes
 * (vote-inputs.ts {@link historyAfterChange}).
 */
export function nextVoteVersion(prev: VoteVersionValue | undefined, voteVersion: number, tip: number | undefined): VoteVersionValue | undefined {
  if (prev && voteVersion <= prev.voteVersion) return undefined;
  if (!prev) return { voteVersion, from: effectiveFrom(tip) };
  const h = historyAfterChange(prev.earlier ?? [], { voteVersion: prev.voteVersion, from: prev.from }, tip, MAX_EARLIER_VOTE_VERSIONS);
  return { voteVersion, from: h.from, ...(h.earlier.length > 0 ? { earlier: h.earlier } : {}) };
}
