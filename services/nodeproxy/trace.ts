/**
 * The node proxy's tracing seam: W3C `traceparent` in and out.
 * - `proxy.notify`: one ROOT span per (block, drawn ticket), started at the
 *   moment dcrd's winning-tickets notification was read off the socket; its
 *   traceparent travels in the WinningTickets event (`ticket_traces[i]`, a
 *   server stream has no per-message metadata), so the voter's spans for that
 *   ticket join it: one trace per vote.
 * - `proxy.send`: SendVote's server span, parented on the caller's
 *   `traceparent` metadata (or the request's trace field);
 *   `dcrd.accept`: its child around sendrawtransaction, with the outcome.
 * Spans go through telemetry's `startSpan` (allow-listed attributes,
 * sub-millisecond timestamps). With no SDK registered the tracer is a no-op;
 * the proxy then still mints a valid random traceparent for notify, so voters
 * can correlate.
 */
import { randomBytes } from 'node:crypto';
import { trace, TraceFlags, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { contextWithSpan, startSpan } from '../telemetry/index.ts';

const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Parses a W3C traceparent; undefined when absent or malformed. */
export function parseTraceparent(tp: string | undefined): SpanContext | undefined {
  const m = tp ? TRACEPARENT_RE.exec(tp.trim()) : null;
  if (!m) return undefined;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16), isRemote: true };
}

/** Formats a span context as a traceparent. */
export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/**
 * Starts a span: a new root when `parentTraceparent` is absent or malformed
 * (peer input is never trusted to be well formed), else a child of that remote
 * span; with `parent` a child of a local span. Attributes pass telemetry's
 * allow-list.
 */
export function startProxySpan(
  tracer: Tracer,
  name: string,
  opts: { parentTraceparent?: string | undefined; parent?: Span; startTimeMs?: number; attributes?: Record<string, string | number> } = {},
): { span: Span; traceparent: string } {
  const remote = opts.parent ? undefined : parseTraceparent(opts.parentTraceparent);
  const span = startSpan(name, {
    tracer,
    parent: opts.parent ? contextWithSpan(opts.parent) : remote ? (opts.parentTraceparent as string).trim() : null,
    ...(opts.startTimeMs !== undefined ? { startTime: opts.startTimeMs } : {}),
    ...(opts.attributes ? { attributes: opts.attributes } : {}),
  });
  const sc = span.spanContext();
  const valid = trace.isSpanContextValid(sc) && !(remote && sc.spanId === remote.spanId);
  const traceparent = valid
    ? formatTraceparent(sc)
    : formatTraceparent({
        traceId: remote?.traceId ?? randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        traceFlags: remote?.traceFlags ?? TraceFlags.SAMPLED,
      });
  return { span, traceparent };
}
