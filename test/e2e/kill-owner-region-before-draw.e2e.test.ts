/**
 * Every voter of the region of a winner's signer (lease: the miner's region first) SIGKILLed
 * before any voter hears of the draw (the devnet holds it meanwhile): the other regions' signers
 * vote for the region and cover its dcrd.
 * Devnet is the judge (see chaos-assert.ts); takeovers are counted from the chain.
 */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';
import { expectEveryFaultTakenOver } from './takeover-assert.ts';

const TIMEOUT_MS = process.env['VOTECLUSTER_CHAOS_LONG'] === '1' ? 1_800_000 : 300_000;

describe('chaos: the region of an owner SIGKILLed just before a draw', () => {
  it('zero missed, zero conflicting, nothing lost; every region kill taken over', { timeout: TIMEOUT_MS }, async () => {
    const r = await runAndAssert('kill-owner-region-before-draw');
    // 2 voters per region and at most 3 down: a region goes down again only once a restart finished.
    expectEveryFaultTakenOver(r, 1);
  });
});
