import { describe, expect, it } from 'vitest';
import { planDuty, signerOrder } from '../../../services/voter/duty-plan.ts';

const base = { hedgeMs: 250, isLeaseFresh: true, isWatchFresh: true };

describe('signerOrder', () => {
  it('puts the claim holder first, then the rendezvous order', () => {
    expect(signerOrder('b', ['a', 'b', 'c'], 'c')).toEqual(['c', 'a', 'b']);
    expect(signerOrder('b', ['a', 'b', 'c'], undefined)).toEqual(['a', 'b', 'c']);
  });
  it('ignores a claim holder that is not live and appends a non-live self last', () => {
    expect(signerOrder('z', ['a', 'b'], 'x')).toEqual(['a', 'b', 'z']);
  });
});

describe('planDuty', () => {
  it('owner holding the claim with fresh state takes the fast path with no wait', () => {
    expect(planDuty({ ...base, selfId: 'a', ranked: ['a', 'b', 'c'], claimHolder: 'a' }))
      .toMatchObject({ path: 'fast', rank: 0, waitMs: 0 });
  });
  it('backup rank k waits k × hedge', () => {
    expect(planDuty({ ...base, selfId: 'b', ranked: ['a', 'b', 'c'], claimHolder: 'a' }))
      .toMatchObject({ path: 'record-first', rank: 1, waitMs: 250, reason: 'backup' });
    expect(planDuty({ ...base, selfId: 'c', ranked: ['a', 'b', 'c'], claimHolder: 'a', hedgeMs: 100 }))
      .toMatchObject({ path: 'record-first', rank: 2, waitMs: 200 });
  });
  it('invariant 5: a stale lease or watch sends the owner to the record-first path without waiting', () => {
    expect(planDuty({ ...base, selfId: 'a', ranked: ['a', 'b'], claimHolder: 'a', isLeaseFresh: false }))
      .toMatchObject({ path: 'record-first', rank: 0, waitMs: 0, reason: 'lease-stale' });
    expect(planDuty({ ...base, selfId: 'a', ranked: ['a', 'b'], claimHolder: 'a', isWatchFresh: false }))
      .toMatchObject({ path: 'record-first', rank: 0, waitMs: 0, reason: 'watch-stale' });
  });
  it('rank 0 without the claim records first (one signer per ticket)', () => {
    expect(planDuty({ ...base, selfId: 'a', ranked: ['a', 'b'], claimHolder: undefined }))
      .toMatchObject({ path: 'record-first', rank: 0, reason: 'not-claim-holder' });
  });
  it('a ticket that entered the cluster during its draw: even the claim holder records first; backups hedge as usual', () => {
    expect(planDuty({ ...base, selfId: 'a', ranked: ['a', 'b'], claimHolder: 'a', lateTicket: true }))
      .toMatchObject({ path: 'record-first', rank: 0, waitMs: 0, reason: 'late-ticket' });
    expect(planDuty({ ...base, selfId: 'b', ranked: ['a', 'b'], claimHolder: undefined, lateTicket: true }))
      .toMatchObject({ path: 'record-first', rank: 1, waitMs: 250, reason: 'backup' });
  });
  it('the claim holder is owner even when the rendezvous rank says otherwise', () => {
    expect(planDuty({ ...base, selfId: 'b', ranked: ['a', 'b'], claimHolder: 'b' })).toMatchObject({ path: 'fast' });
    expect(planDuty({ ...base, selfId: 'a', ranked: ['a', 'b'], claimHolder: 'b' })).toMatchObject({ rank: 1, waitMs: 250 });
  });
  it('every voter computes a distinct rank for the same ticket', () => {
    const ranked = ['n3', 'n1', 'n5', 'n2', 'n4'];
    const ranks = ranked.map((self) => planDuty({ ...base, selfId: self, ranked, claimHolder: 'n5' }).rank);
    expect(new Set(ranks).size).toBe(ranked.length);
  });
});
