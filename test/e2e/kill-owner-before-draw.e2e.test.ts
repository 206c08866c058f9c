/** Owner voter SIGKILLed just before each draw (voters are child processes): backups vote within hedge; devnet judges. */
import { describe, expect, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: owner SIGKILLed just before a draw', () => {
  // retry: 1 — known flake under heavy CI load (seen once in ~5 CI-form runs, at a cold start
  // beside start-cli's six voter processes): several killed voters were still restarting and the
  // tip's votes took > 30 s, so the harness could not mine. Open item in the issue notes; a
  // second failure still fails CI.
  it('zero missed, zero conflicting, nothing lost; backups took over', { retry: 1, timeout: 300_000 }, async () => {
    const r = await runAndAssert('kill-owner-before-draw');
    expect(r.report.takeovers).toBeGreaterThan(0);
  });
});
