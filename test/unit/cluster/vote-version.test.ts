/**
 * The vote version as a vote input (services/cluster vote-version.ts): a proposal while the
 * cluster tip is T applies from T + 2; only a raise is written, so the committed version never
 * flips back whatever order voters propose in; what applies at a height <= T + 1 never changes
 * after a later proposal; the history stays bounded and passes its own schema.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MAX_EARLIER_VOTE_VERSIONS, VoteVersionSchema, nextVoteVersion, voteVersionAt, type VoteVersionValue,
} from '../../../services/cluster/index.ts';

describe('config/vote-version', () => {
  it('the first proposal applies from T + 2; none applies below it', () => {
    const v = nextVoteVersion(undefined, 11, 100) as VoteVersionValue;
    expect(v).toEqual({ voteVersion: 11, from: 102 });
    expect(voteVersionAt(v, 101)).toBeUndefined();
    expect(voteVersionAt(v, 102)).toBe(11);
    expect(voteVersionAt(undefined, 500)).toBeUndefined();
    // No tip yet: from height 2.
    expect(nextVoteVersion(undefined, 11, undefined)).toEqual({ voteVersion: 11, from: 2 });
  });

  it('only a raise is written; a raise at the same tip replaces the version applying from T + 2', () => {
    const v11 = nextVoteVersion(undefined, 11, 100) as VoteVersionValue;
    expect(nextVoteVersion(v11, 11, 105)).toBeUndefined();
    expect(nextVoteVersion(v11, 10, 105)).toBeUndefined();
    expect(nextVoteVersion(v11, 12, 100)).toEqual({ voteVersion: 12, from: 102 });
    const v12 = nextVoteVersion(v11, 12, 110) as VoteVersionValue;
    expect(v12).toEqual({ voteVersion: 12, from: 112, earlier: [{ voteVersion: 11, from: 102 }] });
    expect(voteVersionAt(v12, 111)).toBe(11);
    expect(voteVersionAt(v12, 112)).toBe(12);
  });

  it('a corrupt shape fails the schema', () => {
    expect(VoteVersionSchema.safeParse({ voteVersion: 'twelve' }).success).toBe(false);
    expect(VoteVersionSchema.safeParse({ voteVersion: 0, from: 1 }).success).toBe(false);
    expect(VoteVersionSchema.safeParse({ voteVersion: 12, from: 10, earlier: [{ voteVersion: 11, from: 10 }] }).success).toBe(false);
  });

  it('any order of proposals at rising tips: never lowered, what applied at <= T + 1 never changes, bounded history', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ version: fc.integer({ min: 1, max: 40 }), tipStep: fc.integer({ min: 0, max: 30 }) }), { minLength: 1, maxLength: 60 }),
      (proposals) => {
        let value: VoteVersionValue | undefined;
        let tip = 50;
        for (const p of proposals) {
          tip += p.tipStep;
          const next = nextVoteVersion(value, p.version, tip);
          if (next === undefined) {
            expect(value !== undefined && p.version <= value.voteVersion).toBe(true);
            continue;
          }
          expect(VoteVersionSchema.safeParse(next).success).toBe(true);
          expect((next.earlier ?? []).length).toBeLessThanOrEqual(MAX_EARLIER_VOTE_VERSIONS);
          if (value) expect(next.voteVersion).toBeGreaterThan(value.voteVersion);
          // Draws the history still serves (>= tip - 16) and below tip + 2 keep their version.
          for (let h = tip - 16; h <= tip + 1; h++) expect(voteVersionAt(next, h)).toBe(voteVersionAt(value, h));
          for (let h = tip + 2; h <= tip + 4; h++) expect(voteVersionAt(next, h)).toBe(p.version);
          value = next;
        }
      },
    ));
  });
});
