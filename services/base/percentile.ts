/**
 * Nearest-rank percentile: the smallest value such that at least `q` of the values are
 * at or below it (`q` in (0, 1]; `q` ≤ 0 gives the smallest value).
 */

/** The nearest-rank `q` percentile of ascending `sorted` values; undefined when there are none. */
export function nearestRank(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
