/**
 * OTLP/JSON trace data (an `ExportTraceServiceRequest` in the protobuf JSON
 * mapping of the OpenTelemetry protocol) as span records. This is what the
 * OpenTelemetry Collector's `file` exporter writes, one request per line, and
 * what the SDK's OTLP/HTTP JSON exporter sends; `votecluster trace --file`
 * reads such lines beside its own span records, so spans gathered from a
 * running cluster by a Collector get the same per-vote report.
 *
 * OTLP/JSON differs from the protobuf JSON mapping in two ways the spec fixes:
 * trace and span ids are lowercase hex (not base64), and enums are integers.
 * 64-bit integers may be decimal strings or numbers.
 */
import { SpanRecordSchema, type SpanRecord } from './span-record.ts';

/** OTLP `AnyValue`. */
interface AnyValue {
  stringValue?: unknown;
  boolValue?: unknown;
  intValue?: unknown;
  doubleValue?: unknown;
}
interface KeyValue { key?: unknown; value?: AnyValue }
interface OtlpSpan {
  traceId?: unknown;
  spanId?: unknown;
  parentSpanId?: unknown;
  name?: unknown;
  startTimeUnixNano?: unknown;
  endTimeUnixNano?: unknown;
  attributes?: unknown;
  status?: { code?: unknown; message?: unknown };
}

/** An OTLP/JSON trace request, as far as span records need it. */
export interface OtlpTraceRequest {
  resourceSpans?: Array<{ resource?: { attributes?: unknown }; scopeSpans?: Array<{ spans?: unknown }> }>;
}

/** True when a parsed JSON value has the shape of an OTLP/JSON trace request. */
export function isOtlpTraceRequest(value: unknown): value is OtlpTraceRequest {
  return typeof value === 'object' && value !== null && Array.isArray((value as { resourceSpans?: unknown }).resourceSpans);
}

const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

function primitive(v: AnyValue | undefined): string | number | boolean | undefined {
  if (!v || typeof v !== 'object') return undefined;
  if (typeof v.stringValue === 'string') return v.stringValue;
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (typeof v.intValue === 'string' && /^-?\d+$/.test(v.intValue)) return Number(v.intValue);
  if (typeof v.intValue === 'number' && Number.isInteger(v.intValue)) return v.intValue;
  if (typeof v.doubleValue === 'number') return v.doubleValue;
  return undefined; // arrays, maps and bytes are not span-record attributes
}

function attrs(kvs: unknown): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list<KeyValue>(kvs)) {
    if (typeof kv?.key !== 'string') continue;
    const v = primitive(kv.value);
    if (v !== undefined) out[kv.key] = v;
  }
  return out;
}

/** Epoch ms (µs precision) from a nanosecond count given as a decimal string or an integer. */
function nanosToMs(ns: unknown): number {
  let n: bigint;
  if (typeof ns === 'string' && /^\d{1,20}$/.test(ns)) n = BigInt(ns);
  else if (typeof ns === 'number' && Number.isSafeInteger(ns) && ns >= 0) n = BigInt(ns);
  else return NaN;
  return Number(n / 1_000_000n) + Number((n % 1_000_000n) / 1_000n) / 1000;
}

const STATUS_CODE = ['unset', 'ok', 'error'] as const;

/**
 * The span records of an OTLP/JSON trace request. A span that does not make a
 * valid {@link SpanRecord} (ids not hex of the right length, no name, end
 * before start, a field of the wrong type) is counted in `rejected`; nothing
 * throws, whatever the input.
 */
export function otlpToSpanRecords(req: OtlpTraceRequest): { spans: SpanRecord[]; rejected: number } {
  const spans: SpanRecord[] = [];
  let rejected = 0;
  for (const rs of list<NonNullable<OtlpTraceRequest['resourceSpans']>[number]>(req.resourceSpans)) {
    const res = attrs(rs?.resource?.attributes);
    const service = typeof res['service.name'] === 'string' ? res['service.name'] : 'unknown';
    for (const ss of list<{ spans?: unknown }>(rs?.scopeSpans)) {
      for (const s of list<OtlpSpan>(ss?.spans)) {
        if (typeof s !== 'object' || s === null) { rejected++; continue; }
        const startMs = nanosToMs(s.startTimeUnixNano);
        const endMs = nanosToMs(s.endTimeUnixNano);
        const code = typeof s.status?.code === 'number' ? STATUS_CODE[s.status.code] : 'unset';
        const rec: Record<string, unknown> = {
          traceId: s.traceId,
          spanId: s.spanId,
          name: s.name,
          service,
          startMs,
          durationMs: endMs - startMs,
          attributes: attrs(s.attributes),
          status: { code: code ?? 'unset', ...(typeof s.status?.message === 'string' && s.status.message ? { message: s.status.message } : {}) },
        };
        if (typeof s.parentSpanId === 'string' && s.parentSpanId !== '') rec['parentSpanId'] = s.parentSpanId;
        if (typeof res['votecluster.region'] === 'string') rec['region'] = res['votecluster.region'];
        if (typeof res['votecluster.node_id'] === 'string') rec['nodeId'] = res['votecluster.node_id'];
        const parsed = SpanRecordSchema.safeParse(rec);
        if (parsed.success) spans.push(parsed.data);
        else rejected++;
      }
    }
  }
  return { spans, rejected };
}
