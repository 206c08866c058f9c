/**
 * services/telemetry: logging, tracing, metrics and secret hygiene for every
 * votecluster service. A leaf module: it imports no other service.
 *
 * - {@link createLogger}: the process's pino logger (redaction, trace ids).
 * - {@link SecretKey}: bytes that print as `[redacted]`.
 * - {@link initTelemetry}: OpenTelemetry with a JSON-lines span file and/or OTLP gRPC.
 * - {@link injectTraceparent} / {@link extractContext} / {@link withSpan} / {@link startSpan}:
 *   explicit W3C propagation; {@link traceClientInterceptor} / {@link traceServerHandler} for gRPC.
 * - {@link SPAN} / {@link ATTR} / {@link setAttributes}: span names and the attribute allow-list.
 * - {@link createMetrics} / {@link startMetricsServer}: Prometheus metrics defined in one table.
 * - {@link buildTraceReport}: the analysis behind `votecluster trace`.
 */

/** Span names (`proxy.notify`, `voter.sign`, ...): use these constants, never literals. */
export { SPAN, SPAN_NAMES, ATTR, ALLOWED_ATTRIBUTES, MAX_ATTRIBUTE_STRING_LENGTH } from './attributes.ts';
/**
 * `filterAttributes(attrs)` keeps allow-listed primitive attributes only;
 * `setAttributes(span, attrs)` sets that subset on a span. Secrets cannot pass.
 */
export { filterAttributes, setAttributes } from './attributes.ts';
export type { SpanName, AttrName } from './attributes.ts';

/**
 * `createLogger({ service, region?, nodeId?, level?, destination? })`: one per
 * process; components use `log.child({ component })`. Redacts secret field
 * names (`SECRET_FIELD_NAMES`), serializes `err` with its `code`, and adds
 * `traceId`/`spanId` of the active span.
 */
export { createLogger, SECRET_FIELD_NAMES } from './logger.ts';
export type { Logger, LoggerOptions } from './logger.ts';

/**
 * `new SecretKey(bytes)`: `toJSON`/`toString`/inspect give `[redacted]`;
 * `expose()` returns the bytes; `wipe()` zeroes them (later `expose()` throws).
 */
export { SecretKey, REDACTED } from './secret.ts';

/**
 * `initTelemetry({ serviceName, region?, nodeId?, traceFile?, otlpEndpoint?, enabled?, asyncContext? })`
 * → `Promise<{ enabled, tracer, forceFlush(), shutdown() }>`. One per process;
 * throws `TelemetryConfigError` on a second call or a bad endpoint. The active
 * context is synchronous (`SyncContextManager`: active inside `context.with`
 * up to the first `await`) unless `asyncContext: true` (AsyncLocalStorage,
 * which slows every promise of the process): pass parents explicitly.
 *
 * Helpers (no-ops when tracing is off): `injectTraceparent(ctx?)`,
 * `extractContext(traceparent, { base?, strict? })` (strict: malformed →
 * `TraceparentError`), `startSpan(name, { parent?, attributes?, startTime? })`,
 * `withSpan(name, attrs, fn, { parent?, startTime? })`, `recordError(span, err)`,
 * `traceparentOf(span)`, `activeTraceId()`, `withContext(ctx, fn)`, `contextWithSpan(span)`,
 * `serviceTracer(serviceName, { region?, nodeId? })` (a tracer whose spans carry their own
 * service name: per component when several share a process; pass it as `tracer`).
 */
export {
  initTelemetry,
  injectTraceparent,
  extractContext,
  startSpan,
  withSpan,
  recordError,
  traceparentOf,
  activeTraceId,
  withContext,
  contextWithSpan,
  serviceTracer,
  TRACER_NAME,
  DEFAULT_FLUSH_INTERVAL_MS,
  SyncContextManager,
} from './tracing.ts';
export type { Telemetry, TelemetryOptions, StartSpanOptions } from './tracing.ts';

/**
 * gRPC propagation: `traceClientInterceptor` (client `interceptors` option),
 * `traceServerHandler(handler)` / `traceServiceImplementation(impl)` (server),
 * `contextFromMetadata(md)`, `injectMetadata(md?, ctx?)`.
 */
export {
  traceClientInterceptor,
  traceServerHandler,
  traceServiceImplementation,
  contextFromMetadata,
  injectMetadata,
  TRACEPARENT_METADATA_KEY,
  TRACESTATE_METADATA_KEY,
} from './grpc-trace.ts';

/**
 * The span file: `new FileSpanExporter(path, { chunkSpans? })` (O_APPEND JSON lines, multi-process safe,
 * serialised `SPAN_FILE_CHUNK` spans per event-loop turn, off the caller),
 * `toSpanRecord(span)`, `parseSpanLines(text, { lenient? })` (malformed →
 * `SpanRecordError` naming the line), `readSpanFile(path, { lenient? })`
 * (unreadable → `SpanFileError`), `SpanRecordSchema`.
 */
export { FileSpanExporter, SPAN_FILE_CHUNK, toSpanRecord, parseSpanLines, readSpanFile, SpanRecordSchema } from './span-file.ts';
export type { SpanRecord, FileSpanExporterOptions } from './span-file.ts';

/**
 * OTLP/JSON trace requests (the OpenTelemetry Collector's `file` exporter
 * output, one per line; `parseSpanLines` reads them too):
 * `isOtlpTraceRequest(value)`, `otlpToSpanRecords(request)` →
 * `{ spans: SpanRecord[], rejected }` (never throws).
 */
export { isOtlpTraceRequest, otlpToSpanRecords } from './otlp-json.ts';
export type { OtlpTraceRequest } from './otlp-json.ts';

/**
 * `createMetrics({ service, registry?, components?, processMetrics?, defaultLabels? })`
 * → `{ registry, service, get(component) }`. Families live in `METRIC_FAMILIES`;
 * `exposedSeriesNames()` lists every series name (for deploy/ checks).
 */
export {
  createMetrics,
  METRIC_FAMILIES,
  METRIC_SERVICES,
  EXTERNAL_METRIC_FAMILIES,
  LATENCY_BUCKETS_SECONDS,
  ETCD_BUCKETS_SECONDS,
  allMetricDefs,
  exposedSeriesNames,
} from './metrics.ts';
export type { Metrics, MetricsOptions, MetricComponent, ComponentMetrics, MetricDef } from './metrics.ts';

/**
 * `startMetricsServer({ host, port, registry, health? })` → `{ url, port, stop() }`,
 * serving `/metrics`, `/healthz` (liveness, `health`) and `/readyz` (readiness, `ready`:
 * JSON `{ ready, checks }`, 200 or 503; `readinessOf(checks)` builds one). Bind failure → `MetricsServerError`.
 */
export { startMetricsServer, readinessOf } from './metrics-server.ts';
export type { MetricsServer, MetricsServerOptions, ProbeCheck, Readiness } from './metrics-server.ts';

/**
 * `votecluster trace` analysis: `buildTraceReport(records)` → `{ votes, otherTraces,
 * total, bySpan }` (one vote per trace with a ticket hash; totalMs = draw → first
 * accepted dcrd.accept); `voteToJson(vote)` is the `--json` line;
 * `formatVoteWaterfall(vote)` / `formatAggregate(report)` render text;
 * `percentiles(values)` (nearest rank).
 */
export { buildTraceReport, buildVoteTrace, voteToJson, formatVoteWaterfall, formatAggregate, percentiles } from './trace-report.ts';
export type { TraceReport, VoteTrace, VoteSpan, Percentiles } from './trace-report.ts';

/** Typed errors (`TELEMETRY_*` codes). */
export {
  TelemetryError,
  TelemetryConfigError,
  SpanFileError,
  SpanRecordError,
  MetricsServerError,
  TraceparentError,
} from './errors.ts';
