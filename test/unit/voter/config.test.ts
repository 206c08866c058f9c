import { describe, expect, it } from 'vitest';
import { DEFAULT_HEDGE_MS, parseVoterConfig } from '../../../services/voter/config.ts';
import { VoterConfigError } from '../../../services/voter/errors.ts';

const minimal = {
  nodeId: 'a1', region: 'a', network: 'simnet', etcd: { endpoints: ['http://127.0.0.1:2379'] },
  proxies: [{ address: '127.0.0.1:5000', region: 'a' }], clusterKeyFile: '/tmp/k',
};

describe('VoterConfigSchema', () => {
  it('applies the named defaults', () => {
    const c = parseVoterConfig(minimal);
    expect(c.hedgeMs).toBe(DEFAULT_HEDGE_MS);
    expect(c.strategy).toBe('lease');
    expect(c.staleness.leaseMaxAgeMs).toBeGreaterThan(10_000);
  });
  it('lists every issue with its path', () => {
    try {
      parseVoterConfig({ ...minimal, nodeId: '', proxies: [], hedgeMs: -1, strategy: 'x' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(VoterConfigError);
      const e = err as VoterConfigError;
      expect(e.code).toBe('VOTER_CONFIG');
      expect(e.issues.map((i) => i.split(':')[0])).toEqual(expect.arrayContaining(['nodeId', 'proxies', 'hedgeMs', 'strategy']));
    }
  });
  it('rejects a proxy without a port and a lease TTL under 2 s', () => {
    expect(() => parseVoterConfig({ ...minimal, proxies: [{ address: 'localhost', region: 'a' }] })).toThrow(VoterConfigError);
    expect(() => parseVoterConfig({ ...minimal, leaseTtlSec: 1 })).toThrow(/leaseTtlSec/);
  });
});
