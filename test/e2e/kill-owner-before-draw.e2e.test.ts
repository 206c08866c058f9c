/**
 * The voter that will sign winners SIGKILLed (voters are child processes) after the block is
 * mined and before any voter hears of its draw (the devnet holds the draw meanwhile): with the
 * lease strategy, the region signer of the miner's region for the most winners (signer-faults.ts,
 * computed with the voters' own region order), so every kill hits a voter with votes to sign and
 * every kill must be taken over (the region's next voter, or another region's copy). The devnet
 * judges (0 missed, 0 conflicting), etcd loses nothing, and the takeovers are counted from the
 * chain (a victim's winner voted with a record of another voter). At most 3 of the 6 voters are
 * down at once (scenarios.ts MAX_VOTERS_DOWN), so a round may go without a kill.
 */
import { describe, expect, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';
import { expectEveryFaultTakenOver } from './takeover-assert.ts';

// The CI form takes 1-2 min; the long form (200 blocks, a voter restart every round) ~8 min.
const TIMEOUT_MS = process.env['VOTECLUSTER_CHAOS_LONG'] === '1' ? 1_800_000 : 300_000;

describe('chaos: owner SIGKILLed just before a draw', () => {
  it('zero missed, zero conflicting, nothing lost; every kill of a signer taken over', { timeout: TIMEOUT_MS }, async () => {
    const r = await runAndAssert('kill-owner-before-draw');
    // The first rounds always have room for a kill (3 voters may be down); later ones wait for restarts.
    expectEveryFaultTakenOver(r, 3);
  });
});
