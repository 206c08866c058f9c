/** Chaos: A node proxy killed and restarted: voters use the other proxies. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: proxy-killed', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('proxy-killed');
  }, 300_000);
});
