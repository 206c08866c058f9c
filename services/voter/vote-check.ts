/**
 * A backup's question to its nearest dcrd at the end of its hedge: "is my exact vote already
 * out?" Known means the signer ahead sent these bytes (its record is late, not missing), so the
 * backup stands by instead of sending or racing. When to ask ({@link voteCheckAtMs}), how long the
 * answer may take ({@link VOTE_KNOWN_DEADLINE_MS}), and the asking ({@link voteAlreadyOut});
 * used by region backups (region-duty.ts) and record-first backups (record-first.ts).
 */
import type { DutyDeps } from './duty-common.ts';

/**
 * A backup asks its nearest dcrd "is this vote already out?" this long before its hedge ends, so
 * the answer is in when the hedge ends (no added latency on a healthy box)...
 */
export const VOTE_CHECK_LEAD_MS = 100;
/** ...and gives the answer at most this long from the question (i.e. up to 100 ms past the hedge on a starved box); then it races. */
export const VOTE_KNOWN_DEADLINE_MS = 200;
/**
 * When, into a hedge of `waitMs`, the backup asks: VOTE_CHECK_LEAD_MS before its end, but never in
 * its first half (a short learned hedge would otherwise ask at once, before the signer could send).
 */
export const voteCheckAtMs = (waitMs: number): number => Math.max(waitMs - VOTE_CHECK_LEAD_MS, Math.floor(waitMs / 2));

/** The answer to "is this vote already out?" at the hedge deadline, and how long it took. */
export interface VoteCheck { answer: 'known' | 'unknown' | 'no-answer' | 'not-asked'; ms: number }

/** `voteKnown` (bounded by its deadline): 'known', 'unknown', or 'no-answer' (then the backup races); with how long it took. */
export async function voteAlreadyOut(deps: Pick<DutyDeps, 'voteKnown' | 'log'>, txidHex: string): Promise<VoteCheck> {
  if (!deps.voteKnown) return { answer: 'not-asked', ms: 0 };
  const t0 = performance.now();
  try {
    const known = await deps.voteKnown(txidHex);
    return { answer: known ? 'known' : 'unknown', ms: Math.round(performance.now() - t0) };
  } catch (err) {
    deps.log.debug({ err, voteTxid: txidHex }, 'nearest dcrd did not say whether the vote is out; racing for the record');
    return { answer: 'no-answer', ms: Math.round(performance.now() - t0) };
  }
}
