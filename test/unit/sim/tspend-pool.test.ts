import { describe, expect, it } from 'vitest';
import { SIMNET, calcTSpendWindow, encodeTx } from '../../../services/decred/index.ts';
import { RpcError } from '../../../services/sim/devnet/index.ts';
import { TSpendPool, createTestTSpend } from '../../../services/sim/devnet/tspend-pool.ts';

describe('TSpendPool', () => {
  it('accepts a tspend until its expiry (inclusive, as dcrd IsExpiredTx) and prunes it at the expiry height', () => {
    const pool = new TSpendPool();
    const tx = createTestTSpend(SIMNET, { nextHeight: 150 });
    const { end } = calcTSpendWindow(tx.expiry, SIMNET.treasuryVoteInterval, SIMNET.treasuryVoteIntervalMultiplier);
    expect(tx.expiry).toBe(end + 2);
    const bytes = encodeTx(tx);
    let err: unknown;
    try {
      pool.accept(tx, bytes, { params: SIMNET, nextHeight: tx.expiry, now: 0 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).message).toMatch(/EXPIRED/);
    const t = pool.accept(tx, bytes, { params: SIMNET, nextHeight: tx.expiry - 1, now: 0 });
    expect(pool.list().map((x) => x.txidHex)).toEqual([t.txidHex]);
    expect(() => pool.accept(tx, bytes, { params: SIMNET, nextHeight: 150, now: 0 })).toThrow(/already have/);
    expect(pool.pruneExpired(tx.expiry - 1)).toEqual([]);
    expect(pool.pruneExpired(tx.expiry).map((x) => x.txidHex)).toEqual([t.txidHex]);
    expect(pool.size).toBe(0);
  });
});
