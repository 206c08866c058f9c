/** Chaos: etcd quorum lost for 15 s, then restored: owners keep voting by the fast path, everything recorded afterwards. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: etcd-quorum-loss', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('etcd-quorum-loss');
  }, 300_000);
});
