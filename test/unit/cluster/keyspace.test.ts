import { describe, expect, it } from 'vitest';
import { ClusterArgumentError, Keyspace } from '../../../services/cluster/index.ts';

const T = 'ab'.repeat(32);
const B = 'cd'.repeat(32);

describe('Keyspace', () => {
  const ks = new Keyspace('simnet');

  it('builds every key under /votecluster/<network>/', () => {
    expect(ks.node('a1')).toBe('/votecluster/simnet/nodes/a1');
    expect(ks.ticket(T)).toBe(`/votecluster/simnet/tickets/${T}`);
    expect(ks.owner(T)).toBe(`/votecluster/simnet/owners/${T}`);
    expect(ks.vote(42, B, T)).toBe(`/votecluster/simnet/votes/0000000042/${B}/${T}`);
    expect(ks.config('hedge')).toBe('/votecluster/simnet/config/hedge');
    expect(ks.schemaVersion()).toBe('/votecluster/simnet/config/schema-version');
  });

  it('keeps networks apart', () => {
    expect(new Keyspace('mainnet').ticket(T)).not.toBe(ks.ticket(T));
  });

  it('orders vote keys by numeric height so retention is one range', () => {
    const keys = [1000, 9, 100, 10].map((h) => ks.vote(h, B, T)).sort();
    expect(keys.map((k) => ks.parseVoteKey(k)?.height)).toEqual([9, 10, 100, 1000]);
    expect(ks.vote(99, B, T) < ks.votesBelowHeightEnd(100)).toBe(true);
    expect(ks.vote(100, B, T) < ks.votesBelowHeightEnd(100)).toBe(false);
  });

  it('parses what it builds', () => {
    expect(ks.parseVoteKey(ks.vote(7, B, T))).toEqual({ height: 7, blockHash: B, ticketHash: T });
    expect(ks.ticketHashOf(ks.ticket(T))).toBe(T);
    expect(ks.ticketHashOf(ks.owner(T))).toBe(T);
    expect(ks.nodeIdOf(ks.node('node-1.a'))).toBe('node-1.a');
    expect(ks.parseVoteKey(`${ks.votesPrefix()}12/${B}/${T}`)).toBeUndefined();
    expect(ks.ticketHashOf('/votecluster/simnet/tickets/xyz')).toBeUndefined();
  });

  it.each([
    ['uppercase hash', () => ks.ticket(T.toUpperCase())],
    ['short hash', () => ks.owner('ab')],
    ['bad node id', () => ks.node('a/b')],
    ['empty node id', () => ks.node('')],
    ['negative height', () => ks.vote(-1, B, T)],
    ['fractional height', () => ks.vote(1.5, B, T)],
    ['bad config name', () => ks.config('../x')],
  ])('rejects %s with CLUSTER_INVALID_ARGUMENT', (_name, fn) => {
    expect(fn).toThrow(ClusterArgumentError);
    try {
      fn();
    } catch (err) {
      expect((err as ClusterArgumentError).code).toBe('CLUSTER_INVALID_ARGUMENT');
    }
  });

  it('rejects an unknown network', () => {
    expect(() => new Keyspace('bitcoin' as 'simnet')).toThrow(/network/);
  });
});
