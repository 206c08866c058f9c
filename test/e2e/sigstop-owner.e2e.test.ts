/** Chaos: Owner SIGSTOPped, then resumed: a zombie owner must not produce a different vote. Devnet is the judge (see chaos-assert.ts). */
import { describe, expect, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: sigstop-owner', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    const r = await runAndAssert('sigstop-owner');
    expect(r.report.takeovers).toBeGreaterThan(0);
  }, 300_000);
});
