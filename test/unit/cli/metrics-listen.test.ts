import { describe, expect, it } from 'vitest';
import { MetricsListenError, parseMetricsListen } from '../../../services/cli/metrics-listen.ts';

describe('--metrics-listen', () => {
  it('parses HOST:PORT, [v6]:PORT and port 0; absent is off', () => {
    expect(parseMetricsListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsListen('127.0.2.1:0')).toEqual({ host: '127.0.2.1', port: 0 });
    expect(parseMetricsListen('[::1]:9465')).toEqual({ host: '::1', port: 9465 });
    expect(parseMetricsListen(undefined)).toBeUndefined();
    expect(parseMetricsListen('')).toBeUndefined();
  });

  it('rejects a missing or bad port with CLI_METRICS_LISTEN', () => {
    for (const bad of ['9464', ':9464', '127.0.0.1:', '127.0.0.1:x', '127.0.0.1:70000', '127.0.0.1:-1']) {
      expect(() => parseMetricsListen(bad), bad).toThrow(MetricsListenError);
      try {
        parseMetricsListen(bad);
      } catch (err) {
        expect((err as MetricsListenError).code).toBe('CLI_METRICS_LISTEN');
      }
    }
  });
});
