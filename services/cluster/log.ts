/**
 * The logging surface the cluster module needs: a subset of the telemetry
 * (pino) logger, so callers pass `log.child({ component: 'cluster' })` and
 * tools that want silence pass nothing.
 */
import type { Logger } from '../telemetry/index.ts';

/** The pino methods the cluster uses (structured object first, fixed message second). */
export type ClusterLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

const noop = (): void => undefined;

/** A logger that drops everything (the default when no logger is supplied). */
export const SILENT_LOGGER: ClusterLogger = { debug: noop, info: noop, warn: noop, error: noop } as unknown as ClusterLogger;
