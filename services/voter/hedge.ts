/**
 * The adaptive hedge: how long a backup waits for the vote of the voter ranked ahead of it
 * before it races (docs/architecture.md, invariant 4), learned from the latencies this voter
 * observes instead of a fixed guess.
 *
 * A crash ends the dead voter's streams at every proxy and the backup races at once
 * (peer-presence.ts); the hedge is only for silent failures (SIGSTOP, power loss, a cut cable
 * the kernel does not see). It must be long enough that a live signer's vote is nearly always
 * seen before it ends (else a needless takeover: same bytes, extra broadcasts and an etcd race)
 * and no longer, since after a silent failure every millisecond of it adds to the vote's latency.
 *
 * What is measured: for each draw, from its first arrival at this voter (the moment its duties
 * start and a backup's hedge begins) to the moment this voter's votes watch shows the record of
 * a vote another voter signed. That is exactly what a backup waits for, on this voter's clock
 * (no cross-host clock). A record comes after its signer's first send (the owner records once
 * the first answers are in), so the figure is an upper bound of "the vote is out". Not measured:
 * records this voter signed, takeover and repair records (they follow a fault, not a live
 * signer), records seen before the draw arrived here (a wait of 0, left out: the estimate only
 * errs long), and records of draws during which etcd was not answering (the duty hedges again
 * from etcd's return then).
 *
 * The samples are kept per region of the signer (the WAN hops and the etcd leader's place make
 * regions differ) in bounded windows, plus one window of every region. The hedge for a signer's
 * region is `quantile × factor + margin` of that region's window, clamped to [floor, ceiling];
 * while the region has fewer than `minSamples`, the larger of the all-regions estimate and the
 * region's own samples' estimate; while the all-regions window has fewer than `minSamples`, the
 * ceiling. The ceiling is the configured hedge (`hedgeMs`): the hedge is never longer than a
 * fixed hedge would be. The floor keeps a burst of fast samples from making backups race a live
 * signer that is briefly slow. Pure: times are passed in, no clock, no timers.
 */
import { nearestRank } from '../base/index.ts';

/** The estimator's fixed parameters (see the module comment). */
export const HEDGE_ESTIMATE = {
  /** The quantile of the observed waits the hedge covers. */
  quantile: 0.99,
  /** The quantile is multiplied by this... */
  factor: 1.5,
  /** ...and this is added (ms): headroom for a latency spike beyond what was seen. */
  marginMs: 20,
  /** The hedge is never shorter than this (ms); a configured hedge below it is used as it is. */
  floorMs: 50,
  /** Samples kept per window (the newest). */
  windowSize: 256,
  /** Samples a window needs before its estimate is used; with fewer than 100 the quantile is the window's maximum. */
  minSamples: 20,
  /** Signer regions tracked at most (the oldest region's window is dropped beyond). */
  maxRegions: 64,
  /** Draw arrivals remembered at most (the oldest first out): the open draws, with room for competing tips. */
  maxDraws: 32,
} as const;

/** Parameters of one {@link AdaptiveHedge}; every field but `ceilingMs` defaults to {@link HEDGE_ESTIMATE}. */
export interface AdaptiveHedgeOptions {
  /** The configured hedge (ms): the ceiling, and the hedge until enough samples exist. */
  ceilingMs: number;
  floorMs?: number;
  quantile?: number;
  factor?: number;
  marginMs?: number;
  windowSize?: number;
  minSamples?: number;
}

/** The hedge for one signer region, as the status reports it. */
export interface RegionHedge {
  /** The hedge a backup waits now for a signer of this region (ms). */
  hedgeMs: number;
  /** Samples in the region's window. */
  samples: number;
  /** The quantile of those samples (ms), when there are any. */
  quantileMs?: number;
  /** `estimate`: from the region's window; `all-regions`: from every region's; `configured`: too few samples yet. */
  source: 'estimate' | 'all-regions' | 'configured';
}

/** The estimator's state, for the voter's status. */
export interface HedgeStatus {
  /** The configured hedge: the ceiling. */
  ceilingMs: number;
  floorMs: number;
  /** The hedge for a signer of a region with no samples of its own (ms). */
  defaultMs: number;
  /** Samples in the all-regions window. */
  samples: number;
  /** Per signer region. */
  regions: Record<string, RegionHedge>;
}

/** A bounded window of the newest samples. */
class Window {
  readonly #values: number[] = [];
  #next = 0;
  #sorted: number[] | undefined;

  constructor(private readonly size: number) {}

  add(v: number): void {
    if (this.#values.length < this.size) this.#values.push(v);
    else this.#values[this.#next] = v;
    this.#next = (this.#next + 1) % this.size;
    this.#sorted = undefined;
  }

  get length(): number {
    return this.#values.length;
  }

  quantile(q: number): number | undefined {
    this.#sorted ??= [...this.#values].sort((a, b) => a - b);
    return nearestRank(this.#sorted, q);
  }
}

/** See the module comment. */
export class AdaptiveHedge {
  readonly #o: Required<AdaptiveHedgeOptions>;
  readonly #all: Window;
  readonly #regions = new Map<string, Window>();
  /** Block hash → when its draw first arrived here (the caller's clock). */
  readonly #arrivals = new Map<string, number>();

  constructor(opts: AdaptiveHedgeOptions) {
    if (!Number.isFinite(opts.ceilingMs) || opts.ceilingMs < 0) throw new RangeError(`hedge ceiling must be a finite ms >= 0, got ${opts.ceilingMs}`);
    this.#o = {
      floorMs: HEDGE_ESTIMATE.floorMs, quantile: HEDGE_ESTIMATE.quantile, factor: HEDGE_ESTIMATE.factor,
      marginMs: HEDGE_ESTIMATE.marginMs, windowSize: HEDGE_ESTIMATE.windowSize, minSamples: HEDGE_ESTIMATE.minSamples, ...opts,
    };
    if (!Number.isInteger(this.#o.windowSize) || this.#o.windowSize < 1) throw new RangeError(`hedge window must be a positive integer, got ${this.#o.windowSize}`);
    this.#all = new Window(this.#o.windowSize);
  }

  /** The configured hedge (the ceiling). */
  get ceilingMs(): number {
    return this.#o.ceilingMs;
  }

  /** The draw of `blockHashHex` arrived at this voter at `atMs` (first arrival; later calls are ignored). */
  drawArrived(blockHashHex: string, atMs: number): void {
    if (this.#arrivals.has(blockHashHex)) return;
    this.#arrivals.set(blockHashHex, atMs);
    if (this.#arrivals.size > HEDGE_ESTIMATE.maxDraws) this.#arrivals.delete(this.#arrivals.keys().next().value as string);
  }

  /**
   * How long after the draw of `blockHashHex` arrived `atMs` is; undefined when the draw is not
   * (or no longer) known here, or arrived after `atMs` (a record seen before its draw).
   */
  sinceDraw(blockHashHex: string, atMs: number): number | undefined {
    const at = this.#arrivals.get(blockHashHex);
    return at === undefined || atMs < at ? undefined : atMs - at;
  }

  /** One observed wait: a vote of a signer in `signerRegion` became visible `waitMs` after its draw arrived. */
  observe(signerRegion: string, waitMs: number): void {
    if (!Number.isFinite(waitMs) || waitMs < 0) return;
    let w = this.#regions.get(signerRegion);
    if (!w) {
      w = new Window(this.#o.windowSize);
      this.#regions.set(signerRegion, w);
      if (this.#regions.size > HEDGE_ESTIMATE.maxRegions) this.#regions.delete(this.#regions.keys().next().value as string);
    }
    w.add(waitMs);
    this.#all.add(waitMs);
  }

  /** The hedge (ms) for a backup of a signer in `signerRegion` (undefined: region unknown). */
  hedgeMs(signerRegion: string | undefined): number {
    return this.#forRegion(signerRegion).hedgeMs;
  }

  /** The estimator's state (status, gauges). */
  status(): HedgeStatus {
    const regions: Record<string, RegionHedge> = {};
    for (const r of [...this.#regions.keys()].sort()) regions[r] = this.#forRegion(r);
    return { ceilingMs: this.#o.ceilingMs, floorMs: this.#o.floorMs, defaultMs: this.#forRegion(undefined).hedgeMs, samples: this.#all.length, regions };
  }

  #forRegion(signerRegion: string | undefined): RegionHedge {
    const w = signerRegion === undefined ? undefined : this.#regions.get(signerRegion);
    const samples = w?.length ?? 0;
    const q = w?.quantile(this.#o.quantile);
    const withQ = q === undefined ? {} : { quantileMs: q };
    if (w && q !== undefined && samples >= this.#o.minSamples) return { hedgeMs: this.#clamp(q), samples, ...withQ, source: 'estimate' };
    const all = this.#all.quantile(this.#o.quantile);
    if (all === undefined || this.#all.length < this.#o.minSamples) return { hedgeMs: this.#o.ceilingMs, samples, ...withQ, source: 'configured' };
    return { hedgeMs: Math.max(this.#clamp(all), q === undefined ? 0 : this.#clamp(q)), samples, ...withQ, source: 'all-regions' };
  }

  /** `q × factor + margin`, rounded up to a whole ms, within [floor, ceiling] (the ceiling wins when floor > ceiling). */
  #clamp(q: number): number {
    const est = Math.ceil(q * this.#o.factor + this.#o.marginMs);
    return Math.min(this.#o.ceilingMs, Math.max(this.#o.floorMs, est));
  }
}
