/** Chaos: etcd leader SIGKILLed (3 members), restarted later. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: etcd-leader-kill', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('etcd-leader-kill');
  }, 300_000);
});
