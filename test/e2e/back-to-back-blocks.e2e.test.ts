/** Chaos: Back-to-back blocks, the next 200 ms after its parent. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: back-to-back-blocks', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('back-to-back-blocks');
  }, 300_000);
});
