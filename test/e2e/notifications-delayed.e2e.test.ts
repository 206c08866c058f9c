/** Chaos: Notifications delayed by 2 s on one proxy. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: notifications-delayed', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('notifications-delayed');
  }, 300_000);
});
