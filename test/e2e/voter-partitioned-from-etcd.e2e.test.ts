/** Chaos: Voters partitioned from etcd but not from the proxies. Devnet is the judge (see chaos-assert.ts). */
import { describe, it } from 'vitest';
import { runAndAssert } from './chaos-assert.ts';

describe('chaos: voter-partitioned-from-etcd', () => {
  it('zero missed, zero conflicting, nothing lost', async () => {
    await runAndAssert('voter-partitioned-from-etcd');
  }, 300_000);
});
