/** Chaos: A region partitioned from the others behind the WAN links, then healed. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: region-partitioned', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('region-partitioned');
  }, 300_000);
});
