/** Chaos: Rolling restart of every voter, one by one, during a run. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: rolling-restart', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('rolling-restart');
  }, 300_000);
});
