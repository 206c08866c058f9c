/** Chaos: A dcrd (devnet node) restarted: its proxy reconnects and catches up. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: dcrd-restarted', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('dcrd-restarted');
  }, 300_000);
});
