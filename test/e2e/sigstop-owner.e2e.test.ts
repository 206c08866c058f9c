/**
 * The signer of winners (lease: their region signer in the miner's region) SIGSTOPped before the
 * draw reaches it and resumed once the draw's votes are in: another voter's vote is mined (every
 * stop), and the zombie, resuming with the draw in its
 * streams, must not put a different vote on the chain. Devnet is the judge (see chaos-assert.ts).
 */
import { describe, expect, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';
import { expectEveryFaultTakenOver } from './takeover-assert.ts';

describe('chaos: sigstop-owner', () => {
  it('zero missed, zero conflicting, nothing lost; every stop taken over, no second vote', async () => {
    const r = await runAndAssert('sigstop-owner');
    // No restarts to wait for: every round stops a running owner.
    expectEveryFaultTakenOver(r, 5);
    expect(r.report.conflicting).toBe(0);
  }, 300_000);
});
