/**
 * Vote inputs effective from a height (services/cluster vote-inputs.ts): a change written while
 * the cluster tip is T applies from T + 2; what applies at any height <= T + 1 never changes
 * after a later write (the property every region's signer relies on to compute the same bytes);
 * the history stays bounded; records of older versions are never canonical.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  INPUTS_HISTORY_HEIGHTS, MAX_EARLIER_INPUTS, EarlierInputsSchema, defaultsAt, inputsAt, nextVersion, sameState, stateAt, stateAtOrOldest, tspendsAt,
  type InputState, type VersionedInputs,
} from '../../../services/cluster/index.ts';

const state = (choice: string): InputState => ({ voteChoices: { agenda: choice }, tspendPolicy: {}, treasuryPolicy: {} });

/** Applies guarded changes (choice, tip) in order to a freshly imported record (imported at tip `importTip`). */
function apply(importTip: number, changes: ReadonlyArray<{ choice: string; tip: number }>): VersionedInputs[] {
  let v: VersionedInputs = { latest: state('import'), from: importTip + 2, earlier: undefined };
  const out = [v];
  for (const c of changes) {
    const n = nextVersion(v, state(c.choice), c.tip);
    v = { latest: state(c.choice), from: n.from, earlier: n.earlier };
    out.push(v);
  }
  return out;
}

/** Non-decreasing tips from `start` (a tip only rises). */
const changesArb = (start: number) =>
  fc.array(fc.record({ choice: fc.constantFrom('yes', 'no', 'abstain', 'x'), step: fc.nat({ max: 3 }) }), { maxLength: 40 }).map((cs) => {
    let tip = start;
    return cs.map((c) => ({ choice: c.choice, tip: (tip += c.step) }));
  });

describe('inputsAt over earlier entries', () => {
  it('for any guarded changes at rising tips, what applies at H <= T + 1 never changes after a write at tip T (within the history window)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000 }), fc.nat({ max: 1_000 }).chain((d) => changesArb(d)), (importTip, rel) => {
        const changes = rel.map((c) => ({ ...c, tip: c.tip + importTip }));
        const versions = apply(importTip, changes);
        for (let i = 1; i < versions.length; i++) {
          const before = versions[i - 1] as VersionedInputs;
          const after = versions[i] as VersionedInputs;
          const T = (changes[i - 1] as { tip: number }).tip;
          for (let H = T - INPUTS_HISTORY_HEIGHTS; H <= T + 1; H++) {
            // Never a different state; the new write applies from T + 2 only.
            expect(stateAt(after, H)).toEqual(stateAt(before, H));
          }
          expect(stateAt(after, T + 2)).toEqual(after.latest);
          if (!sameState(before.latest, after.latest)) expect(after.from).toBe(T + 2);
          expect(EarlierInputsSchema.safeParse(after.earlier ?? []).success).toBe(true);
          expect((after.earlier ?? []).length).toBeLessThanOrEqual(MAX_EARLIER_INPUTS);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a late import has no state below its from; the record-first path builds from its oldest', () => {
    const v: VersionedInputs = { latest: state('a'), from: 102, earlier: undefined };
    expect(stateAt(v, 101)).toBeUndefined();
    expect(stateAt(v, 102)).toEqual(state('a'));
    expect(stateAtOrOldest(v, 101)).toEqual(state('a'));
  });

  it('a record without inputsFrom is never canonical, and its first guarded change keeps its state for every earlier height', () => {
    const legacy = { voteChoices: { agenda: 'old' }, tspendPolicy: {}, treasuryPolicy: {} };
    expect(inputsAt(legacy, 10)).toBeUndefined();
    const n = nextVersion({ latest: legacy, from: undefined, earlier: undefined }, state('new'), 50);
    expect(n.from).toBe(52);
    expect(n.earlier).toEqual([{ from: 0, ...legacy }]);
    expect(inputsAt({ ...state('new'), inputsFrom: n.from, earlierInputs: n.earlier }, 51)).toEqual(legacy);
  });

  it('an unchanged state keeps its history and from', () => {
    const n = nextVersion({ latest: state('a'), from: 7, earlier: [{ from: 3, ...state('b') }] }, state('a'), 90);
    expect(n).toEqual({ from: 7, earlier: [{ from: 3, ...state('b') }] });
  });

  it('several changes at one tip: the last one applies from T + 2, the state before them below', () => {
    let v: VersionedInputs = { latest: state('a'), from: 0, earlier: undefined };
    for (const c of ['b', 'c', 'd']) {
      const n = nextVersion(v, state(c), 40);
      v = { latest: state(c), from: n.from, earlier: n.earlier };
    }
    expect(stateAt(v, 41)).toEqual(state('a'));
    expect(stateAt(v, 42)).toEqual(state('d'));
    expect(v.earlier).toEqual([{ from: 0, ...state('a') }]);
  });

  it('defaults: absent means none at every height; a value of an older version (no from) is not canonical', () => {
    expect(defaultsAt(undefined, 5)).toEqual({ voteChoices: {}, tspendPolicy: {}, treasuryPolicy: {} });
    expect(defaultsAt({ ...state('x') }, 5)).toBeUndefined();
    expect(defaultsAt({ ...state('x'), from: 5, earlier: [{ from: 0, ...state('w') }] }, 4)).toEqual(state('w'));
  });
});

describe('tspendsAt', () => {
  it('recorded with from <= H, votable at H, in hash order', () => {
    const t = (h: string, from: number, expiry = 100) => ({ hashHex: h.repeat(64), expiry, piKeyHex: '02'.padEnd(66, '0'), from });
    const rec = [t('c', 10), t('a', 12), t('b', 10, 20), t('d', 13)];
    const votable = (height: number, expiry: number): boolean => height < expiry - 2;
    expect(tspendsAt(rec, 12, votable).map((x) => x.hashHex[0])).toEqual(['a', 'b', 'c']);
    expect(tspendsAt(rec, 19, votable).map((x) => x.hashHex[0])).toEqual(['a', 'c', 'd']);
    expect(tspendsAt(rec, 11, votable).map((x) => x.hashHex[0])).toEqual(['b', 'c']);
  });
});
