/**
 * A winner's vote choice (and in odd rounds the cluster default) changed through the Admin gRPC
 * API (mutual TLS, an operator certificate) within milliseconds of its draw's release: before,
 * across and after the release in turn, and another winner's right after it. The devnet judges
 * (0 missed, 0 conflicting: it sees every vote sent to every dcrd), etcd loses nothing, and
 * every mined vote carries the choices the cluster's rule makes effective for it
 * (services/sim/chaos/input-rule.ts states the rule).
 */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';
import { expectInputRacesJudged } from './input-race-assert.ts';

const TIMEOUT_MS = process.env['VOTECLUSTER_CHAOS_LONG'] === '1' ? 1_800_000 : 180_000;

describe('chaos: vote choices changed at a draw', () => {
  it('zero missed, zero conflicting, nothing lost; every mined vote carries the choices in effect', { timeout: TIMEOUT_MS }, async () => {
    const r = await runAndAssert('choice-change-at-draw');
    // Two changes a round (three in odd rounds) over 10 rounds; on a loaded machine a call may
    // take longer than the race window, so only some must land within it.
    expectInputRacesJudged(r, { minFaults: 20, minExercised: 5 });
  });
});
