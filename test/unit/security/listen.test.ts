/** Which listeners may run unprotected: loopback only, and a clear typed refusal otherwise. */
import { describe, expect, it } from 'vitest';
import { InsecureListenerError, isLoopbackHost, listenHost, requireProtectedUnlessLoopback } from '../../../services/security/index.ts';

describe('listener policy', () => {
  it('knows loopback from everything else (a wildcard is not loopback)', () => {
    for (const h of ['127.0.0.1', '127.0.3.2', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '', '10.0.0.1', '192.168.1.5', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
    expect(listenHost('0.0.0.0:9121')).toBe('0.0.0.0');
    expect(listenHost('[::1]:80')).toBe('::1');
  });

  it('refuses a non-loopback listener without TLS and credentials, naming what is missing', () => {
    expect(() => requireProtectedUnlessLoopback('the status page', '127.0.0.1:0', { tls: false, credentials: false })).not.toThrow();
    expect(() => requireProtectedUnlessLoopback('the status page', '0.0.0.0:9121', { tls: false, credentials: false })).toThrow(InsecureListenerError);
    expect(() => requireProtectedUnlessLoopback('the wallet JSON-RPC endpoint', '0.0.0.0:9122', { tls: false, credentials: true })).toThrow(/without TLS;/);
    expect(() => requireProtectedUnlessLoopback('the wallet JSON-RPC endpoint', '0.0.0.0:9122', { tls: true, credentials: true })).not.toThrow();
    try {
      requireProtectedUnlessLoopback('the status page', '10.1.2.3:80', { tls: false, credentials: false });
    } catch (err) {
      expect((err as InsecureListenerError).code).toBe('SECURITY_INSECURE_LISTENER');
      expect((err as Error).message).toContain('without TLS and credentials');
    }
  });
});
