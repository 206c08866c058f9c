import { describe, expect, it } from 'vitest';
import { nearestRank } from '../../../services/base/index.ts';

describe('nearestRank', () => {
  it('is the smallest value with at least q of the values at or below it', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    expect(nearestRank(xs, 0.5)).toBe(50);
    expect(nearestRank(xs, 0.9)).toBe(90);
    expect(nearestRank(xs, 0.99)).toBe(99);
    expect(nearestRank(xs, 1)).toBe(100);
    expect(nearestRank([3, 7, 9], 0.5)).toBe(7);
    expect(nearestRank([3, 7, 9], 0.99)).toBe(9);
    expect(nearestRank([3, 7, 9], 0)).toBe(3);
  });

  it('has no value for no values', () => {
    expect(nearestRank([], 0.5)).toBeUndefined();
  });
});
