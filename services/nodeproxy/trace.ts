/**
 * The node proxy's tracing seam: W3C `traceparent` in and out.
 * - `proxy.notify`: started when a winning-tickets notification is read off
 *   dcrd's socket; its traceparent travels in the WinningTickets event (a
 *   server stream has no per-message metadata), so the voter's spans join it.
 * - `proxy.send`: SendVote's span, parented on the caller's `traceparent`
 *   metadata (or the request's trace field).
 * With no SDK registered the API's tracer is a no-op; the proxy then still
 * mints a valid random traceparent for notify, so voters can correlate.
 */
import { randomBytes } from 'node:crypto';
import { context, trace, TraceFlags, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';

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

/** Starts a span, optionally under a remote parent traceparent. */
export function startProxySpan(
  tracer: Tracer,
  name: string,
  opts: { parentTraceparent?: string | undefined; startTimeMs?: number; attributes?: Record<string, string | number> } = {},
): { span: Span; traceparent: string } {
  const parent = parseTraceparent(opts.parentTraceparent);
  const ctx = parent ? trace.setSpanContext(context.active(), parent) : context.active();
  const span = tracer.startSpan(
    name,
    { ...(opts.startTimeMs !== undefined ? { startTime: opts.startTimeMs } : {}), ...(opts.attributes ? { attributes: opts.attributes } : {}) },
    ctx,
  );
  const sc = span.spanContext();
  const valid = trace.isSpanContextValid(sc) && !(parent && sc.spanId === parent.spanId);
  const traceparent = valid
    ? formatTraceparent(sc)
    : formatTraceparent({
        traceId: parent?.traceId ?? randomBytes(16).toString('hex'),
        spanId: randomBytes(8).toString('hex'),
        traceFlags: parent?.traceFlags ?? TraceFlags.SAMPLED,
      });
  return { span, traceparent };
}
