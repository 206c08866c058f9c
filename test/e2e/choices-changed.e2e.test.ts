/** Chaos: Vote choices changed while draws happen: no ticket votes two ways. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: choices-changed', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('choices-changed');
  }, 300_000);
});
