import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAINNET, REGNET } from '../../../services/decred/params.ts';
import { blockSubsidy, treasurySubsidy, voteSubsidy, workSubsidy, type SubsidySplit } from '../../../services/decred/subsidy.ts';

interface SubsidyVector {
  name: string;
  height: number;
  num_votes: number;
  variant: 'SSVOriginal' | 'SSVDCP0010' | 'SSVDCP0012';
  want_full: number;
  want_work: number;
  want_vote: number;
  want_treasury: number;
}

const file = JSON.parse(readFileSync(new URL('../../vectors/subsidy_mainnet.json', import.meta.url), 'utf8')) as {
  params: Record<string, number>;
  vectors: SubsidyVector[];
};
const SPLIT: Record<SubsidyVector['variant'], SubsidySplit> = {
  SSVOriginal: 'original',
  SSVDCP0010: 'dcp0010',
  SSVDCP0012: 'dcp0012',
};

describe('subsidy (blockchain/standalone/subsidy_test.go TestSubsidyCacheCalcs)', () => {
  it('vector params match MAINNET', () => {
    expect(BigInt(file.params.base_subsidy as number)).toBe(MAINNET.baseSubsidy);
    expect(BigInt(file.params.block_one_subsidy as number)).toBe(MAINNET.blockOneSubsidy);
    expect(file.params.reduction_interval).toBe(MAINNET.subsidyReductionInterval);
    expect(file.params.stake_validation_height).toBe(MAINNET.stakeValidationHeight);
  });
  it('has all 61 cases', () => expect(file.vectors).toHaveLength(61));
  it.each(file.vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    const split = SPLIT[v.variant];
    expect(blockSubsidy(v.height, MAINNET)).toBe(BigInt(v.want_full));
    expect(workSubsidy(v.height, v.num_votes, MAINNET, split)).toBe(BigInt(v.want_work));
    expect(voteSubsidy(v.height, MAINNET, split)).toBe(BigInt(v.want_vote));
    expect(treasurySubsidy(v.height, v.num_votes, MAINNET)).toBe(BigInt(v.want_treasury));
  });
  it('the real mainnet block 432100 stakebase: voteSubsidy(432099, original) = 93272061', () => {
    expect(voteSubsidy(432099, MAINNET, 'original')).toBe(93272061n);
  });
  it('is zero for regnet before SVH-1 and positive from it', () => {
    expect(voteSubsidy(REGNET.stakeValidationHeight - 2, REGNET, 'original')).toBe(0n);
    expect(voteSubsidy(REGNET.stakeValidationHeight - 1, REGNET, 'original')).toBeGreaterThan(0n);
  });
  it('treasury subsidy is not scaled by voters once the treasury agenda is active', () => {
    expect(treasurySubsidy(4096, 3, MAINNET, true)).toBe(311958266n);
    expect(treasurySubsidy(4096, 2, MAINNET, true)).toBe(0n);
  });
});
