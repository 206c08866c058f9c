/** Chaos: Competing tips and a reorganisation: one vote per (ticket, block hash). Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: competing-tips-reorg', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('competing-tips-reorg');
  }, 300_000);
});
