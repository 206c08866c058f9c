import { describe, expect, it } from 'vitest';
import { JitteredBackoff } from '../../../services/base/index.ts';

describe('JitteredBackoff', () => {
  it('each delay lies in [cap/2, cap] with cap doubling from base up to max; reset starts over', () => {
    for (let run = 0; run < 50; run++) {
      const b = new JitteredBackoff(100, 1_000);
      const caps = [100, 200, 400, 800, 1_000, 1_000, 1_000];
      for (const cap of caps) {
        const d = b.nextMs();
        expect(d).toBeGreaterThanOrEqual(Math.floor(cap / 2));
        expect(d).toBeLessThanOrEqual(cap);
      }
      b.reset();
      const first = b.nextMs();
      expect(first).toBeGreaterThanOrEqual(50);
      expect(first).toBeLessThanOrEqual(100);
    }
  });

  it('stays at the cap after many failures (no overflow to Infinity or NaN)', () => {
    const b = new JitteredBackoff(50, 2_000);
    let d = 0;
    for (let i = 0; i < 2_000; i++) d = b.nextMs();
    expect(d).toBeGreaterThanOrEqual(1_000);
    expect(d).toBeLessThanOrEqual(2_000);
  });
});
