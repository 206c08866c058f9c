/**
 * The devnet's Prometheus metrics (telemetry's `devnet` families), read from
 * the judge's report: `votecluster_devnet_blocks_mined_total`,
 * `_tickets_drawn_total`, `_tickets_missed_total` (drawn tickets whose vote did
 * not make the next block: the chain's own verdict). A timer owned by the
 * returned handle refreshes them; `stop()` clears it. Counters only grow: a
 * report that shrinks (a reorg unwinds a block) is not subtracted.
 */
import type { Metrics } from '../../telemetry/index.ts';
import type { DevnetReport } from './report.ts';

/** Refresh period of the devnet metrics. */
export const DEVNET_METRICS_REFRESH_MS = 1_000;

/** A running metrics binding. */
export interface DevnetMetricsBinding {
  /** Reads the report now and updates the counters. */
  refresh(): void;
  stop(): void;
}

/**
 * Keeps the `devnet` metric families of `metrics` in step with `source.report()`.
 * @example
 * const b = bindDevnetMetrics(devnet, createMetrics({ service: 'devnet' }));  // ... b.stop();
 */
export function bindDevnetMetrics(source: { report(): DevnetReport }, metrics: Metrics, periodMs = DEVNET_METRICS_REFRESH_MS): DevnetMetricsBinding {
  const m = metrics.get('devnet');
  const last = { blocks: 0, drawn: 0, missed: 0 };
  const bump = (c: { inc(v: number): void }, key: keyof typeof last, now: number): void => {
    if (now > last[key]) c.inc(now - last[key]);
    last[key] = Math.max(last[key], now);
  };
  const refresh = (): void => {
    const r = source.report();
    bump(m.blocksMined, 'blocks', r.blocks);
    bump(m.ticketsDrawn, 'drawn', r.drawn);
    bump(m.ticketsMissed, 'missed', r.missed);
  };
  refresh();
  const timer = setInterval(refresh, periodMs);
  timer.unref();
  return { refresh, stop: () => clearInterval(timer) };
}
