/** Chaos: A whole region killed (dcrd, proxy, voters, etcd member), then restored. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: region-killed', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('region-killed');
  }, 300_000);
});
