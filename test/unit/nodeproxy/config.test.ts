import { describe, expect, it } from 'vitest';
import { parseNodeProxyConfig } from '../../../services/nodeproxy/config.ts';
import { NodeProxyConfigError } from '../../../services/nodeproxy/errors.ts';

describe('NodeProxyConfigSchema', () => {
  it('fills defaults', () => {
    const c = parseNodeProxyConfig({ network: 'simnet', dcrd: { url: 'ws://127.0.0.1:1/ws', user: 'u', pass: 'p' } });
    expect(c.listen).toBe('127.0.0.1:0');
    expect(c.ringSize).toBeGreaterThan(0);
    expect(c.resend.maxAgeBlocks).toBeGreaterThan(0);
  });

  it('names every issue with its path', () => {
    let err: unknown;
    try {
      parseNodeProxyConfig({ network: 'foonet', dcrd: { url: 'http://x', user: '' }, listen: 'nope' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NodeProxyConfigError);
    const msg = (err as Error).message;
    for (const path of ['network', 'dcrd.url', 'dcrd.user', 'dcrd.pass', 'listen']) expect(msg).toContain(path);
  });

  it('refuses both pass and passFile', () => {
    expect(() =>
      parseNodeProxyConfig({ network: 'simnet', dcrd: { url: 'ws://127.0.0.1:1/ws', user: 'u', pass: 'p', passFile: '/x' } }),
    ).toThrow(/exactly one of dcrd.pass or dcrd.passFile/);
  });
});
