/** Owner voter SIGKILLed just before each draw (voters are child processes): backups vote within hedge; devnet judges. */
import { describe, expect, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: owner SIGKILLed just before a draw', () => {
  it('zero missed, zero conflicting, nothing lost; backups took over', async () => {
    const r = await runAndAssert('kill-owner-before-draw');
    expect(r.report.takeovers).toBeGreaterThan(0);
  }, 300_000);
});
