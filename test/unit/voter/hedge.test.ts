/**
 * The adaptive hedge (hedge.ts): the configured hedge until enough waits were observed, then
 * quantile × factor + margin of the newest waits per signer region, within [floor, ceiling];
 * a region short of samples borrows the all-regions estimate (never below its own); waits are
 * measured from the draw's first arrival here and only forward. Samples and times are injected:
 * no clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nearestRank } from '../../../services/base/index.ts';
import { voteCheckAtMs, VOTE_CHECK_LEAD_MS } from '../../../services/voter/vote-check.ts';
import { AdaptiveHedge, HEDGE_ESTIMATE } from '../../../services/voter/hedge.ts';

const CEILING = 250;
const { minSamples, factor, marginMs, floorMs, quantile, windowSize } = HEDGE_ESTIMATE;

/** What the estimator must give for these samples of one window, by its definition. */
const expected = (samples: number[], ceiling = CEILING): number => {
  const q = nearestRank([...samples].sort((a, b) => a - b), quantile) as number;
  return Math.min(ceiling, Math.max(floorMs, Math.ceil(q * factor + marginMs)));
};

const feed = (h: AdaptiveHedge, region: string, samples: number[]): void => {
  for (const s of samples) h.observe(region, s);
};

describe('AdaptiveHedge', () => {
  it('is the configured hedge until a window holds minSamples waits', () => {
    const h = new AdaptiveHedge({ ceilingMs: CEILING });
    expect(h.hedgeMs('a')).toBe(CEILING);
    expect(h.hedgeMs(undefined)).toBe(CEILING);
    feed(h, 'a', Array.from({ length: minSamples - 1 }, () => 10));
    expect(h.hedgeMs('a')).toBe(CEILING);
    expect(h.status().regions['a']).toMatchObject({ source: 'configured', samples: minSamples - 1, hedgeMs: CEILING });
    h.observe('a', 10);
    expect(h.hedgeMs('a')).toBeLessThan(CEILING);
    expect(h.status().regions['a']?.source).toBe('estimate');
  });

  it('is quantile × factor + margin of the observed waits', () => {
    const h = new AdaptiveHedge({ ceilingMs: CEILING });
    // 1..100 ms: the 0.99 nearest rank is 99 ms; 99 × 1.5 + 20 = 168.5, rounded up.
    const waits = Array.from({ length: 100 }, (_, i) => i + 1);
    feed(h, 'a', waits);
    expect(h.hedgeMs('a')).toBe(expected(waits));
    expect(h.hedgeMs('a')).toBe(Math.ceil(99 * factor + marginMs));
    expect(h.status().regions['a']?.quantileMs).toBe(99);
  });

  it('never goes below the floor nor above the configured hedge; a configured hedge below the floor is kept', () => {
    const fast = new AdaptiveHedge({ ceilingMs: CEILING });
    feed(fast, 'a', Array.from({ length: 50 }, () => 1));
    expect(fast.hedgeMs('a')).toBe(floorMs);

    const slow = new AdaptiveHedge({ ceilingMs: CEILING });
    feed(slow, 'a', Array.from({ length: 50 }, () => 400));
    expect(slow.hedgeMs('a')).toBe(CEILING);

    const short = new AdaptiveHedge({ ceilingMs: floorMs - 10 });
    feed(short, 'a', Array.from({ length: 50 }, () => 1));
    expect(short.hedgeMs('a')).toBe(floorMs - 10);
    expect(new AdaptiveHedge({ ceilingMs: 0 }).hedgeMs('a')).toBe(0);
  });

  it('a single slow wait in 100 raises the hedge only as far as the quantile says; more of them raise it', () => {
    const h = new AdaptiveHedge({ ceilingMs: 1_000 });
    const waits = [...Array.from({ length: 99 }, () => 20), 600];
    feed(h, 'a', waits);
    expect(h.hedgeMs('a')).toBe(expected(waits, 1_000)); // p99 of 100 is the 99th: 20 ms
    h.observe('a', 600);
    const more = [...waits, 600];
    expect(h.hedgeMs('a')).toBe(expected(more, 1_000));
    expect(h.hedgeMs('a')).toBeGreaterThan(expected(waits, 1_000));
  });

  it('keeps only the newest windowSize waits: an old spike ages out', () => {
    const h = new AdaptiveHedge({ ceilingMs: CEILING });
    feed(h, 'a', Array.from({ length: minSamples }, () => 200));
    expect(h.hedgeMs('a')).toBe(CEILING);
    // Three 200 ms waits left among 256: the 0.99 nearest rank (the 254th) is still one of them.
    feed(h, 'a', Array.from({ length: windowSize - 3 }, () => 30));
    expect(h.status().regions['a']?.samples).toBe(windowSize);
    expect(h.hedgeMs('a')).toBe(CEILING);
    // Two left: the 254th is a 30 ms wait.
    h.observe('a', 30);
    expect(h.hedgeMs('a')).toBe(expected([30]));
    expect(h.status().regions['a']?.samples).toBe(windowSize);
  });

  it('keeps a window per signer region; a region short of samples takes the larger of the all-regions and its own estimate', () => {
    const h = new AdaptiveHedge({ ceilingMs: CEILING });
    const near = Array.from({ length: 40 }, () => 10);
    feed(h, 'a', near);
    const far = [60, 80];
    feed(h, 'b', far);
    expect(h.hedgeMs('a')).toBe(expected(near));
    // b: 2 samples (< minSamples): max(all-regions estimate, its own estimate).
    const all = [...near, ...far];
    expect(h.hedgeMs('b')).toBe(Math.max(expected(all), expected(far)));
    expect(h.status().regions['b']?.source).toBe('all-regions');
    // A region with no samples (or an unknown signer): the all-regions estimate.
    expect(h.hedgeMs('c')).toBe(expected(all));
    expect(h.hedgeMs(undefined)).toBe(expected(all));
    expect(h.status().defaultMs).toBe(expected(all));
    // Once b has its own window, its own estimate alone.
    const bMore = [...far, ...Array.from({ length: minSamples }, () => 70)];
    feed(h, 'b', bMore.slice(far.length));
    expect(h.hedgeMs('b')).toBe(expected(bMore));
    expect(h.hedgeMs('a')).toBe(expected(near));
  });

  it('ignores waits that are not finite or negative', () => {
    const h = new AdaptiveHedge({ ceilingMs: CEILING });
    feed(h, 'a', [Number.NaN, -1, Number.POSITIVE_INFINITY]);
    expect(h.status().samples).toBe(0);
    expect(h.status().regions).toEqual({});
  });

  it('refuses a ceiling that is not a finite ms >= 0', () => {
    expect(() => new AdaptiveHedge({ ceilingMs: -1 })).toThrow(RangeError);
    expect(() => new AdaptiveHedge({ ceilingMs: Number.NaN })).toThrow(RangeError);
    expect(() => new AdaptiveHedge({ ceilingMs: 250, windowSize: 0 })).toThrow(RangeError);
  });

  it('stays within [min(floor, ceiling), ceiling] and at or above its estimate of any region, whatever it observed', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2_000 }),
      fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.double({ min: 0, max: 5_000, noNaN: true })), { maxLength: 400 }),
      (ceilingMs, obs) => {
        const h = new AdaptiveHedge({ ceilingMs });
        for (const [r, w] of obs) h.observe(r, w);
        for (const r of ['a', 'b', 'c', undefined]) {
          const v = h.hedgeMs(r);
          expect(v).toBeLessThanOrEqual(ceilingMs);
          expect(v).toBeGreaterThanOrEqual(Math.min(floorMs, ceilingMs));
        }
      },
    ));
  });
});

describe('AdaptiveHedge draw arrivals', () => {
  it('measures from the first arrival of a draw, and only forward', () => {
    const h = new AdaptiveHedge({ ceilingMs: CEILING });
    expect(h.sinceDraw('b1', 100)).toBeUndefined(); // unknown draw
    h.drawArrived('b1', 1_000);
    h.drawArrived('b1', 1_040); // a later arrival from another proxy
    expect(h.sinceDraw('b1', 1_025)).toBe(25);
    expect(h.sinceDraw('b1', 990)).toBeUndefined(); // seen before the draw arrived here
  });

  it('remembers a bounded number of draws, the oldest out first', () => {
    const h = new AdaptiveHedge({ ceilingMs: CEILING });
    for (let i = 0; i <= HEDGE_ESTIMATE.maxDraws; i++) h.drawArrived(`b${i}`, i);
    expect(h.sinceDraw('b0', 1_000)).toBeUndefined();
    expect(h.sinceDraw('b1', 1_000)).toBe(999);
  });
});

describe('voteCheckAtMs', () => {
  it('asks VOTE_CHECK_LEAD_MS before the hedge ends, never in its first half', () => {
    expect(voteCheckAtMs(250)).toBe(250 - VOTE_CHECK_LEAD_MS);
    expect(voteCheckAtMs(2 * VOTE_CHECK_LEAD_MS)).toBe(VOTE_CHECK_LEAD_MS);
    expect(voteCheckAtMs(60)).toBe(30);
    expect(voteCheckAtMs(0)).toBe(0);
  });
});
