/**
 * The process logger (pino). One per process, created by the composition root
 * (`services/cli`); components take `log.child({ component })`.
 *
 * Secrets never reach the output: `redact` censors the usual secret field names
 * at the top level and two levels down, and `SecretKey` values serialize as
 * `[redacted]` wherever they sit. A mixin adds the `traceId` / `spanId` of the
 * active span so log lines join their trace.
 */
import { trace, isSpanContextValid } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { REDACTED } from './secret.ts';

/** The logger type every service receives. */
export type Logger = PinoLogger;

/** Field names censored in every log line (any of the first three levels). */
export const SECRET_FIELD_NAMES = [
  'wif',
  'privKey',
  'privateKey',
  'secretKey',
  'passphrase',
  'password',
  'clusterKey',
  'authorization',
  'Authorization',
  'rpcPass',
  'rpcpass',
  'token',
  'seed',
] as const;

function redactPaths(): string[] {
  const out: string[] = [];
  for (const name of SECRET_FIELD_NAMES) out.push(name, `*.${name}`, `*.*.${name}`);
  out.push('headers.authorization', 'req.headers.authorization', 'metadata.authorization');
  return out;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Service name (`voter`, `nodeproxy`, ...), on every line. */
  service: string;
  /** Region of this process, on every line when set. */
  region?: string;
  /** Node id of this process, on every line when set. */
  nodeId?: string;
  /** Minimum level (default `info`). */
  level?: LevelWithSilent;
  /**
   * Where lines go: a pino destination stream, a file path (appended
   * synchronously), or a file descriptor. Default: stdout.
   */
  destination?: DestinationStream | string | number;
}

const errSerializer = (e: unknown): unknown => {
  if (!(e instanceof Error)) return e;
  const out = pino.stdSerializers.err(e) as unknown as Record<string, unknown>;
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) out['code'] = code;
  return out;
};

/**
 * Creates the process logger.
 *
 * @example
 * const log = createLogger({ service: 'voter', region: 'a', nodeId: 'a1' });
 * log.child({ component: 'hedge' }).info({ ticket, height }, 'took over ticket');
 */
export function createLogger(opts: LoggerOptions): Logger {
  const base: Record<string, string> = { service: opts.service };
  if (opts.region !== undefined) base['region'] = opts.region;
  if (opts.nodeId !== undefined) base['nodeId'] = opts.nodeId;
  const options = {
    level: opts.level ?? 'info',
    base,
    redact: { paths: redactPaths(), censor: REDACTED },
    serializers: { err: errSerializer, error: errSerializer },
    mixin(): Record<string, string> {
      const ctx = trace.getActiveSpan()?.spanContext();
      if (!ctx || !isSpanContextValid(ctx)) return {};
      return { traceId: ctx.traceId, spanId: ctx.spanId };
    },
  };
  const d = opts.destination;
  if (d === undefined) return pino(options);
  if (typeof d === 'string' || typeof d === 'number') {
    return pino(options, pino.destination({ dest: d, sync: true, append: true, mkdir: typeof d === 'string' }));
  }
  return pino(options, d);
}
