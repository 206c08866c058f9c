/**
 * A new treasury spend (signed with the simnet Pi key, its window holding the drawn height)
 * enters one dcrd's mempool within milliseconds of a draw's release: before, across and after
 * the release in turn, the dcrds in turn; the cluster default Pi-key policy is "yes". The
 * devnet judges (0 missed, 0 conflicting), etcd loses nothing, and the referee
 * (services/sim/chaos/input-rule.ts) checks that the mined votes carry each tspend only as the
 * cluster's rule says.
 */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';
import { expectInputRacesJudged } from './input-race-assert.ts';

const TIMEOUT_MS = process.env['VOTECLUSTER_CHAOS_LONG'] === '1' ? 1_800_000 : 180_000;

describe('chaos: a new tspend at a draw', () => {
  it('zero missed, zero conflicting, nothing lost; votes carry each tspend as the rule says', { timeout: TIMEOUT_MS }, async () => {
    const r = await runAndAssert('tspend-at-draw');
    // At most seven tspends are inside their windows at once (a vote carries seven), so the
    // 10 rounds of the CI form send seven.
    expectInputRacesJudged(r, { minFaults: 7, minExercised: 3 });
  });
});
