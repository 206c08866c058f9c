/**
 * Block, work, vote and treasury subsidy (decred/dcrd: blockchain/standalone/subsidy.go
 * SubsidyCache).
 *
 * All arithmetic is integer and truncates at every step exactly as dcrd's int64
 * code does; BigInt keeps it exact. Vote subsidy is keyed by the height of the
 * block being voted on, not the block that includes the vote.
 */
import type { NetParams } from './params.ts';

/**
 * Which PoW/PoS split is active: the original 6/3/1, DCP0010 (10/80/10) or
 * DCP0012 (1/89/10). dcrwallet picks DCP0012 if active, else DCP0010, else the original.
 */
export type SubsidySplit = 'original' | 'dcp0010' | 'dcp0012';

/** Splits in percent-style proportions (dcrd SSVDCP0010 / SSVDCP0012). */
const SPLIT_WORK: Record<Exclude<SubsidySplit, 'original'>, bigint> = { dcp0010: 10n, dcp0012: 1n };
const SPLIT_VOTE: Record<Exclude<SubsidySplit, 'original'>, bigint> = { dcp0010: 80n, dcp0012: 89n };
const SPLIT_TOTAL = 100n;

/**
 * Memo of reduced subsidies per network: index i holds the subsidy after i
 * reductions. Pure memoisation keyed by the params object (no shared mutable
 * protocol state), so 1800 reductions are computed once per network.
 */
const reductionMemo = new WeakMap<NetParams, bigint[]>();

function totalProportions(p: NetParams): bigint {
  return p.workRewardProportion + p.stakeRewardProportion + p.blockTaxProportion;
}

/** Minimum votes for a block after SVH: TicketsPerBlock/2 + 1 (3 on every network). */
function minVotesRequired(p: NetParams): number {
  return Math.floor(p.ticketsPerBlock / 2) + 1;
}

function toHeight(height: number | bigint): number {
  return typeof height === 'bigint' ? Number(height) : height;
}

/**
 * Full block subsidy at `height` (CalcBlockSubsidy): 0 for height <= 0, the
 * block-one ledger at 1, otherwise BaseSubsidy reduced by Mul/Div once per
 * SubsidyReductionInterval, truncating at each step.
 */
export function blockSubsidy(height: number | bigint, params: NetParams): bigint {
  const h = toHeight(height);
  if (h <= 0) return 0n;
  if (h === 1) return params.blockOneSubsidy;
  const reductions = Math.floor(h / params.subsidyReductionInterval);
  let memo = reductionMemo.get(params);
  if (!memo) {
    memo = [params.baseSubsidy];
    reductionMemo.set(params, memo);
  }
  while (memo.length <= reductions) {
    const last = memo[memo.length - 1] as bigint;
    if (last === 0n) return 0n;
    memo.push((last * params.mulSubsidy) / params.divSubsidy);
  }
  return memo[reductions] as bigint;
}

/**
 * PoW subsidy of a block at `height` carrying `voters` votes
 * (calcWorkSubsidy): block one pays the whole ledger; from SVH on, fewer than
 * the minimum votes pays 0 and otherwise the subsidy scales by voters/TicketsPerBlock.
 */
export function workSubsidy(height: number | bigint, voters: number, params: NetParams, split: SubsidySplit): bigint {
  const h = toHeight(height);
  let proportion = params.workRewardProportion;
  let total = totalProportions(params);
  if (split !== 'original') {
    proportion = SPLIT_WORK[split];
    total = SPLIT_TOTAL;
  }
  if (h === 1) return params.blockOneSubsidy;
  if (h >= params.stakeValidationHeight && voters < minVotesRequired(params)) return 0n;
  const subsidy = (blockSubsidy(h, params) * proportion) / total;
  if (h < params.stakeValidationHeight) return subsidy;
  return (BigInt(voters) * subsidy) / BigInt(params.ticketsPerBlock);
}

/**
 * Per-vote subsidy, i.e. the stakebase valueIn of a vote ON block `height`
 * (CalcStakeVoteSubsidyV3). Zero before SVH-1; never reduced for missing votes.
 */
export function voteSubsidy(height: number | bigint, params: NetParams, split: SubsidySplit): bigint {
  const h = toHeight(height);
  if (h < params.stakeValidationHeight - 1) return 0n;
  let proportion = params.stakeRewardProportion;
  let total = totalProportions(params);
  if (split !== 'original') {
    proportion = SPLIT_VOTE[split];
    total = SPLIT_TOTAL;
  }
  return (blockSubsidy(h, params) * proportion) / (total * BigInt(params.ticketsPerBlock));
}

/**
 * Treasury subsidy of a block (CalcTreasurySubsidy): 0 for heights <= 1; from
 * SVH on, 0 below the minimum votes and scaled by voters/TicketsPerBlock unless
 * the treasury agenda (DCP0006) is active, in which case it is never scaled.
 */
export function treasurySubsidy(
  height: number | bigint,
  voters: number,
  params: NetParams,
  isTreasuryEnabled = false,
): bigint {
  const h = toHeight(height);
  if (h <= 1) return 0n;
  if (h >= params.stakeValidationHeight && voters < minVotesRequired(params)) return 0n;
  const subsidy = (blockSubsidy(h, params) * params.blockTaxProportion) / totalProportions(params);
  if (h < params.stakeValidationHeight || isTreasuryEnabled) return subsidy;
  return (BigInt(voters) * subsidy) / BigInt(params.ticketsPerBlock);
}
