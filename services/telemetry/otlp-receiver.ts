/**
 * An OTLP/gRPC trace receiver (`opentelemetry.proto.collector.trace.v1.TraceService/Export`)
 * for `votecluster trace --otlp-listen`: services exporting with an OTLP
 * endpoint (`initTelemetry({ otlpEndpoint })`) send their spans here, and the
 * trace report reads them like the span file.
 *
 * Decoding uses @grpc/proto-loader on the upstream opentelemetry-proto files
 * (`opentelemetry/proto/collector/trace/v1/trace_service.proto` and its
 * imports) as the npm package `@opentelemetry/otlp-grpc-exporter-base` ships
 * them under `build/protos`; gRPC is grpc-js. Each received span becomes a
 * {@link SpanRecord} (resource `service.name`, `votecluster.region`,
 * `votecluster.node_id`; times in epoch ms with µs precision) and is checked
 * with {@link SpanRecordSchema}; a span that does not fit is counted in
 * `rejected`, never thrown.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Server, ServerCredentials, status, type ServerUnaryCall, type ServiceDefinition, type sendUnaryData } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { OtlpReceiverError } from './errors.ts';
import { SpanRecordSchema, type SpanRecord } from './span-file.ts';
import { STOP_BUDGET_MS } from '../base/index.ts';

/** The directory holding `opentelemetry/proto/...` as the package ships it. */
const PROTO_DIR = join(
  dirname(createRequire(import.meta.url).resolve('@opentelemetry/otlp-grpc-exporter-base/package.json')),
  'build',
  'protos',
);

/**
 * TraceService as grpc-js serialisers: requests decode to plain objects with
 * 64-bit integers and bytes as strings (decimal, base64), no defaults filled in.
 */
const TRACE_SERVICE = loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', {
  includeDirs: [PROTO_DIR],
  keepCase: false,
  longs: String,
  bytes: String,
  enums: Number,
  defaults: false,
  oneofs: false,
})['opentelemetry.proto.collector.trace.v1.TraceService'] as ServiceDefinition;
const EXPORT = TRACE_SERVICE['Export']!;

/** Full gRPC method path of OTLP trace export. */
export const OTLP_TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

/** OTLP `AnyValue` as protobufjs `toObject` gives it (longs and bytes as strings). */
interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  bytesValue?: string;
}
interface KeyValue { key: string; value?: AnyValue }
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: KeyValue[];
  status?: { code?: number; message?: string };
}
/** The request as plain data. */
export interface OtlpTraceRequest {
  resourceSpans?: Array<{ resource?: { attributes?: KeyValue[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

function primitive(v: AnyValue | undefined): string | number | boolean | undefined {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return undefined; // arrays, maps and bytes are not in our allow-list
}

function attrs(kvs: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of kvs ?? []) {
    const v = primitive(kv.value);
    if (v !== undefined) out[kv.key] = v;
  }
  return out;
}

const hex = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('hex');

/** Epoch ms (µs precision) from a decimal nanosecond count. */
function nanosToMs(ns: string | undefined): number {
  if (ns === undefined || !/^\d+$/.test(ns)) return NaN;
  const n = BigInt(ns);
  return Number(n / 1_000_000n) + Number((n % 1_000_000n) / 1_000n) / 1000;
}

const STATUS_CODE = ['unset', 'ok', 'error'] as const;

/** Decodes an ExportTraceServiceRequest (protobuf bytes) into plain data. */
export function decodeOtlpTraceRequest(buf: Uint8Array): OtlpTraceRequest {
  return EXPORT.requestDeserialize(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)) as OtlpTraceRequest;
}

/**
 * The span records of a decoded request; spans that do not make a valid
 * {@link SpanRecord} (bad ids, no name, end before start) are counted in `rejected`.
 */
export function otlpToSpanRecords(req: OtlpTraceRequest): { spans: SpanRecord[]; rejected: number } {
  const spans: SpanRecord[] = [];
  let rejected = 0;
  for (const rs of req.resourceSpans ?? []) {
    const res = attrs(rs.resource?.attributes);
    const service = typeof res['service.name'] === 'string' ? res['service.name'] : 'unknown';
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        const startMs = nanosToMs(s.startTimeUnixNano);
        const endMs = nanosToMs(s.endTimeUnixNano);
        const rec: Record<string, unknown> = {
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          name: s.name,
          service,
          startMs,
          durationMs: endMs - startMs,
          attributes: attrs(s.attributes),
          status: { code: STATUS_CODE[s.status?.code ?? 0] ?? 'unset', ...(s.status?.message ? { message: s.status.message } : {}) },
        };
        const parent = hex(s.parentSpanId);
        if (parent !== '') rec['parentSpanId'] = parent;
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

/** Options of {@link startOtlpReceiver}. */
export interface OtlpReceiverOptions {
  /** Interface to listen on (default 127.0.0.1: loopback). */
  host?: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Called with each request's accepted spans. */
  onSpans?(spans: SpanRecord[]): void;
  /** Spans kept in `spans` at most (older ones dropped first; default 1,000,000). */
  maxSpans?: number;
}

/** A running receiver; the owner must `stop()` it. */
export interface OtlpReceiver {
  /** `host:port` it listens on. */
  readonly address: string;
  /** Spans received so far (bounded by `maxSpans`). */
  readonly spans: SpanRecord[];
  /** Counts: export requests, spans accepted, spans rejected (malformed), spans dropped (over `maxSpans`). */
  stats(): { requests: number; accepted: number; rejected: number; dropped: number };
  /** Stops listening (in-flight exports finish first). */
  stop(): Promise<void>;
}

/**
 * Starts an OTLP/gRPC trace receiver (plaintext; loopback by default).
 * @throws {OtlpReceiverError} when it cannot bind.
 */
export async function startOtlpReceiver(opts: OtlpReceiverOptions): Promise<OtlpReceiver> {
  const host = opts.host ?? '127.0.0.1';
  const maxSpans = opts.maxSpans ?? 1_000_000;
  const spans: SpanRecord[] = [];
  const counts = { requests: 0, accepted: 0, rejected: 0, dropped: 0 };
  // Requests arrive as bytes and are decoded in the handler, so a malformed one
  // gets INVALID_ARGUMENT with the decoder's reason.
  const def: ServiceDefinition = { Export: { ...EXPORT, requestDeserialize: (b: Buffer) => b } };
  const server = new Server();
  server.addService(def, {
    Export(call: ServerUnaryCall<Buffer, object>, cb: sendUnaryData<object>) {
      counts.requests++;
      let got: { spans: SpanRecord[]; rejected: number };
      try {
        got = otlpToSpanRecords(decodeOtlpTraceRequest(call.request));
      } catch (err) {
        cb({ code: status.INVALID_ARGUMENT, details: `not an ExportTraceServiceRequest: ${(err as Error).message}` });
        return;
      }
      counts.accepted += got.spans.length;
      counts.rejected += got.rejected;
      for (const s of got.spans) spans.push(s);
      if (spans.length > maxSpans) counts.dropped += spans.splice(0, spans.length - maxSpans).length;
      if (got.spans.length > 0) opts.onSpans?.(got.spans);
      const partial = got.rejected > 0 ? { partialSuccess: { rejectedSpans: got.rejected, errorMessage: 'malformed span(s) dropped' } } : {};
      cb(null, partial);
    },
  });
  const hostPart = host.includes(':') ? `[${host}]` : host;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${hostPart}:${opts.port}`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
  } catch (err) {
    server.forceShutdown();
    throw new OtlpReceiverError(`cannot listen on ${hostPart}:${opts.port}: ${(err as Error).message}`, { cause: err });
  }
  let stopped: Promise<void> | undefined;
  return {
    address: `${hostPart}:${port}`,
    spans,
    stats: () => ({ ...counts }),
    stop: () => (stopped ??= new Promise<void>((resolve) => {
      const t = setTimeout(() => server.forceShutdown(), STOP_BUDGET_MS.grpcServerClose);
      server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    })),
  };
}
