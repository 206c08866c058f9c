/**
 * OpenTelemetry tracing: SDK set-up with explicit exporters, and the W3C
 * trace-context helpers our services use to carry one trace per (block, ticket)
 * across processes.
 *
 * Why explicit propagation: gRPC auto-instrumentation does not patch ESM
 * imports of `@grpc/grpc-js`, so we never rely on it. RPCs
 * carry `traceparent` in gRPC metadata (see grpc-trace.ts); messages on a
 * long-lived stream that each start their own trace (a WatchChain draw) carry
 * the `traceparent` string inside the message, made by {@link injectTraceparent}
 * and read by {@link extractContext}.
 *
 * Only `initTelemetry` touches OpenTelemetry's process-global registration; the
 * helpers work (as no-ops) when tracing is off.
 */
import {
  context,
  propagation,
  trace,
  ROOT_CONTEXT,
  SpanStatusCode,
  isSpanContextValid,
  type Context,
  type ContextManager,
  type Span,
  type Tracer,
  type TextMapGetter,
  type TimeInput,
} from '@opentelemetry/api';
import * as core from '@opentelemetry/core';
import * as resources from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { filterAttributes } from './attributes.ts';
import { TelemetryConfigError, TraceparentError } from './errors.ts';
import { FileSpanExporter } from './span-file.ts';

/** Now as epoch ms with sub-millisecond precision (monotonic clock anchored at process start). */
function preciseNowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Instrumentation scope name of every votecluster span. */
export const TRACER_NAME = 'votecluster';
/** How often batched spans are written to the span file / OTLP, ms. */
export const DEFAULT_FLUSH_INTERVAL_MS = 250;
/**
 * Spans buffered before the batch processor drops new ones. The SDK default
 * (2048) drops spans in a burst (a bench run, a catch-up after a gap); a span
 * record is ~0.5 kB, so this bounds the buffer at a few tens of MB.
 */
export const SPAN_QUEUE_SIZE = 32_768;
const BATCH = { maxQueueSize: SPAN_QUEUE_SIZE, maxExportBatchSize: 2048 };

/** Options of {@link initTelemetry}. */
export interface TelemetryOptions {
  /** `service.name` of every span (`nodeproxy`, `voter`, ...). */
  serviceName: string;
  /** Region, stored as resource attribute `votecluster.region`. */
  region?: string;
  /** Node id, stored as resource attribute `votecluster.node_id`. */
  nodeId?: string;
  /** JSON-lines span file to append to (several processes may share it). */
  traceFile?: string;
  /** OTLP/gRPC collector endpoint, e.g. `http://127.0.0.1:4317`. */
  otlpEndpoint?: string;
  /** False: no SDK, all helpers are no-ops (default: true if an exporter is configured). */
  enabled?: boolean;
  /** Batch flush interval, ms (default {@link DEFAULT_FLUSH_INTERVAL_MS}). */
  flushIntervalMs?: number;
  /**
   * Carry the active context across `await`s and callbacks (OTel's
   * AsyncLocalStorage context manager). Default false: a synchronous context
   * manager ({@link SyncContextManager}). Our services pass every span's parent
   * explicitly (a traceparent string, or `contextWithSpan(span)`), so nothing on
   * the vote path needs async propagation, while the AsyncLocalStorage manager
   * hooks EVERY promise of the process, traced or not: measured on the 2-core box,
   * an `await` costs ~0.4 µs with it vs ~0.08 µs without (grpc-js, etcd3 and the
   * devnet make thousands per vote), the bulk of tracing's CPU cost per vote.
   */
  asyncContext?: boolean;
}

/**
 * A context manager without async propagation: `context.with(ctx, fn)` makes
 * `ctx` active while `fn` runs synchronously (nested calls stack), and the
 * previous context is restored when it returns. Inside an async `fn`, the
 * context is active up to its first `await`: spans created there (and the
 * trace interceptors, which capture the context when a call is created) get the
 * right parent; later code should pass parents explicitly. Costs nothing on
 * promises, unlike the AsyncLocalStorage manager (see
 * {@link TelemetryOptions.asyncContext}).
 */
export class SyncContextManager implements ContextManager {
  #current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.#current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    const prev = this.#current;
    this.#current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.#current = prev;
    }
  }

  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const fn = target as unknown as (...a: unknown[]) => unknown;
    const mgr = this;
    return function (this: unknown, ...a: unknown[]) {
      return mgr.with(ctx, () => fn.apply(this, a));
    } as unknown as T;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.#current = ROOT_CONTEXT;
    return this;
  }
}

/** The handle {@link initTelemetry} returns; the owner must `shutdown()` it. */
export interface Telemetry {
  /** Whether spans are recorded and exported. */
  readonly enabled: boolean;
  /** The votecluster tracer (a no-op tracer when disabled). */
  readonly tracer: Tracer;
  /** Exports every finished span now. */
  forceFlush(): Promise<void>;
  /** Flushes, closes the exporters and unregisters the global provider. */
  shutdown(): Promise<void>;
}

let active = false;
/** The running SDK's processors and resource attributes (for {@link serviceTracer}); bumped per init. */
let shared: { processors: SpanProcessor[]; resAttrs: Record<string, string>; generation: number } | undefined;
let generation = 0;

/**
 * Starts OpenTelemetry tracing for this process with explicit configuration:
 * no resource auto-detection, no metrics or log exporters (metrics are
 * Prometheus, see metrics.ts), W3C trace context, a synchronous context
 * manager (unless `asyncContext`),
 * and the exporters asked for: the JSON-lines span file and/or OTLP gRPC.
 * One per process; a second call before `shutdown()` throws
 * {@link TelemetryConfigError}.
 */
export async function initTelemetry(opts: TelemetryOptions): Promise<Telemetry> {
  if (!opts.serviceName) throw new TelemetryConfigError('initTelemetry: serviceName is required');
  const enabled = opts.enabled ?? (opts.traceFile !== undefined || opts.otlpEndpoint !== undefined);
  if (!enabled) {
    return {
      enabled: false,
      tracer: trace.getTracer(TRACER_NAME),
      forceFlush: async () => {},
      shutdown: async () => {},
    };
  }
  // Loaded only when tracing is on: sdk-node (metrics, logs, exporters, instrumentation) is ~600
  // modules, the bulk of a voter child's start-up CPU (the layout's voter child processes).
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  if (active) throw new TelemetryConfigError('initTelemetry: telemetry is already initialised in this process');
  const flushMs = opts.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  const processors: SpanProcessor[] = [];
  if (opts.traceFile !== undefined) {
    processors.push(new BatchSpanProcessor(new FileSpanExporter(opts.traceFile), { ...BATCH, scheduledDelayMillis: flushMs }));
  }
  if (opts.otlpEndpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(opts.otlpEndpoint);
    } catch (err) {
      throw new TelemetryConfigError(`initTelemetry: otlpEndpoint ${JSON.stringify(opts.otlpEndpoint)} is not a URL`, { cause: err });
    }
    // Loaded only when used: the OTLP exporter pulls in a second grpc stack.
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-grpc');
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: url.href }), { ...BATCH, scheduledDelayMillis: flushMs }));
  }
  const resAttrs: Record<string, string> = { 'service.name': opts.serviceName };
  if (opts.region !== undefined) resAttrs['votecluster.region'] = opts.region;
  if (opts.nodeId !== undefined) resAttrs['votecluster.node_id'] = opts.nodeId;
  const sdk = new NodeSDK({
    serviceName: opts.serviceName,
    resource: resources.resourceFromAttributes(resAttrs),
    autoDetectResources: false,
    spanProcessors: processors,
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
    textMapPropagator: new core.W3CTraceContextPropagator(),
    // undefined: the SDK's default AsyncLocalStorage manager.
    ...(opts.asyncContext ? {} : { contextManager: new SyncContextManager() }),
  });
  sdk.start();
  active = true;
  shared = { processors, resAttrs, generation: ++generation };
  let stopped: Promise<void> | undefined;
  return {
    enabled: true,
    tracer: trace.getTracer(TRACER_NAME),
    forceFlush: async () => {
      await Promise.all(processors.map((p) => p.forceFlush()));
    },
    shutdown: () => {
      stopped ??= (async () => {
        try {
          await sdk.shutdown();
        } finally {
          trace.disable();
          propagation.disable();
          context.disable();
          active = false;
          shared = undefined;
          serviceProviders.clear();
        }
      })();
      return stopped;
    },
  };
}

const w3c = new core.W3CTraceContextPropagator();

type Carrier = Record<string, string>;
const carrierGetter: TextMapGetter<Carrier> = {
  keys: (c) => Object.keys(c),
  get: (c, k) => c[k],
};

/**
 * The W3C `traceparent` of the span active in `ctx` (default: the active
 * context), or `undefined` when there is no valid span (tracing off).
 */
export function injectTraceparent(ctx: Context = context.active()): string | undefined {
  const carrier: Carrier = {};
  w3c.inject(ctx, carrier, { set: (c, k, v) => { c[k] = v; } });
  return carrier['traceparent'];
}

/** The `traceparent` of a given span. */
export function traceparentOf(span: Span): string | undefined {
  return injectTraceparent(trace.setSpan(ROOT_CONTEXT, span));
}

const TRACEPARENT_RE = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * A context whose parent is the remote span named by `traceparent`
 * (based on `base`, default the active context). `undefined` or an empty string
 * yields `base` unchanged; a malformed header throws {@link TraceparentError}
 * when `strict`, else it is ignored (headers from peers are untrusted input,
 * and a bad one must not break a vote).
 */
export function extractContext(
  traceparent: string | undefined,
  opts: { base?: Context; tracestate?: string; strict?: boolean } = {},
): Context {
  const base = opts.base ?? context.active();
  if (!traceparent) return base;
  if (!TRACEPARENT_RE.test(traceparent)) {
    if (opts.strict) throw new TraceparentError(`malformed traceparent ${JSON.stringify(traceparent.slice(0, 80))}`);
    return base;
  }
  const carrier: Carrier = { traceparent };
  if (opts.tracestate) carrier['tracestate'] = opts.tracestate;
  return w3c.extract(base, carrier, carrierGetter);
}

/** The trace id of the span active in `ctx`, if any. */
export function activeTraceId(ctx: Context = context.active()): string | undefined {
  const sc = trace.getSpanContext(ctx);
  return sc && isSpanContextValid(sc) ? sc.traceId : undefined;
}

interface ServiceEntry { generation: number; tracer: Tracer }
const serviceProviders = new Map<string, ServiceEntry>();

function resourceAttrs(sh: NonNullable<typeof shared>, serviceName: string, region: string | undefined, nodeId: string | undefined): Record<string, string> {
  const attrs: Record<string, string> = { ...sh.resAttrs, 'service.name': serviceName };
  if (region !== undefined) attrs['votecluster.region'] = region;
  if (nodeId !== undefined) attrs['votecluster.node_id'] = nodeId;
  return attrs;
}

function serviceEntry(sh: NonNullable<typeof shared>, serviceName: string, region: string | undefined, nodeId: string | undefined): ServiceEntry {
  const key = `${serviceName}\u0000${region ?? ''}\u0000${nodeId ?? ''}`;
  const hit = serviceProviders.get(key);
  if (hit && hit.generation === sh.generation) return hit;
  const attrs = resourceAttrs(sh, serviceName, region, nodeId);
  let entry: ServiceEntry;
  if (attrs['service.name'] === sh.resAttrs['service.name'] && attrs['votecluster.region'] === sh.resAttrs['votecluster.region']
    && attrs['votecluster.node_id'] === sh.resAttrs['votecluster.node_id']) {
    entry = { generation: sh.generation, tracer: trace.getTracer(TRACER_NAME) }; // the process's own provider already says exactly this
  } else {
    // A second provider that shares the SDK's processors (same exporters, same
    // batch queue) but stamps its own resource. Context and propagation stay
    // global, so parent links across components work as usual. Not registered
    // globally; its processors are shut down by the SDK's shutdown.
    const provider = new BasicTracerProvider({ resource: resources.resourceFromAttributes(attrs), spanProcessors: sh.processors });
    entry = { generation: sh.generation, tracer: provider.getTracer(TRACER_NAME) };
  }
  serviceProviders.set(key, entry);
  return entry;
}

/**
 * A tracer whose spans carry their own `service.name` (and region / node id)
 * in the span file and OTLP, whatever the process's `initTelemetry` service
 * name is. Components that can share a process (the in-process demo runs
 * proxies and voters together) take one each: `serviceTracer('votecluster-proxy')`,
 * `serviceTracer('votecluster-voter', { nodeId, region })`. Resolved per span
 * (cached per `initTelemetry`), so it may be created before `initTelemetry`; a
 * no-op while tracing is off.
 * Spans go to the same exporters as every other span of the process.
 */
export function serviceTracer(serviceName: string, opts: { region?: string; nodeId?: string } = {}): Tracer {
  let cached: ServiceEntry | undefined;
  const entry = (): ServiceEntry | undefined => {
    const sh = shared;
    if (!sh) return undefined;
    if (cached?.generation !== sh.generation) cached = serviceEntry(sh, serviceName, opts.region, opts.nodeId);
    return cached;
  };
  const get = (): Tracer => entry()?.tracer ?? trace.getTracer(TRACER_NAME);
  return {
    startSpan: (name, options, ctx) => get().startSpan(name, options, ctx),
    startActiveSpan: ((...args: Parameters<Tracer['startActiveSpan']>) =>
      (get().startActiveSpan as (...a: unknown[]) => unknown)(...args)) as Tracer['startActiveSpan'],
  };
}

/** Options of {@link startSpan}. */
export interface StartSpanOptions {
  /** Tracer to use (e.g. a {@link serviceTracer}); default the process's votecluster tracer. */
  tracer?: Tracer;
  /**
   * Parent: a Context, a `traceparent` string, or `null` for a new root trace
   * (default: the active context).
   */
  parent?: Context | string | null;
  /** Attributes; filtered through the allow-list. */
  attributes?: Readonly<Record<string, unknown>>;
  /** Start time as epoch ms (e.g. when the draw arrived), default now. */
  startTime?: number;
}

function parentContext(parent: Context | string | null | undefined): Context {
  if (parent === null) return ROOT_CONTEXT;
  if (parent === undefined) return context.active();
  if (typeof parent === 'string') return extractContext(parent, { base: ROOT_CONTEXT });
  return parent;
}

/**
 * Starts a span (not made active). The caller ends it: `span.end()`.
 * Attributes pass the allow-list.
 *
 * Timestamps: the SDK's own clock is millisecond-precision `Date.now()` for
 * span starts, and once a start time is given it also ends spans at
 * `Date.now()`. Spans a few hundred µs apart would then be misordered and
 * short durations off by up to 1 ms, so both ends use the monotonic clock
 * (`performance.timeOrigin + performance.now()`) unless the caller passes
 * explicit times.
 */
export function startSpan(name: string, opts: StartSpanOptions = {}): Span {
  const ctx = parentContext(opts.parent);
  const so: { attributes: ReturnType<typeof filterAttributes>; startTime: number; root?: boolean } = {
    attributes: filterAttributes(opts.attributes),
    startTime: opts.startTime ?? preciseNowMs(),
  };
  if (opts.parent === null) so.root = true;
  const span = (opts.tracer ?? trace.getTracer(TRACER_NAME)).startSpan(name, so, ctx);
  if (span.isRecording()) {
    const end = span.end.bind(span);
    span.end = (endTime?: TimeInput): void => end(endTime ?? preciseNowMs());
  }
  return span;
}

/** Records `err` on `span`: status ERROR with the error's code (never its data). */
export function recordError(span: Span, err: unknown): void {
  const code = (err as { code?: unknown } | null)?.code;
  const name = err instanceof Error ? err.name : 'Error';
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof code === 'string' ? `${name} ${code}` : name });
  if (typeof code === 'string') span.setAttribute('votecluster.error_code', code);
}

/**
 * Runs `fn` inside a new active span and ends the span when `fn` returns or
 * its promise settles. A throw/rejection sets status ERROR (with the error
 * code) and is rethrown. Attributes pass the allow-list.
 *
 * @example
 * const sig = await withSpan(SPAN.VOTER_SIGN, { [ATTR.TICKET_HASH]: t }, () => sign(tx, key));
 */
export function withSpan<T>(
  name: string,
  attrs: Readonly<Record<string, unknown>> | undefined,
  fn: (span: Span) => T,
  opts: { parent?: Context | string | null; startTime?: number; tracer?: Tracer } = {},
): T {
  const span = startSpan(name, { ...opts, attributes: attrs });
  const ctx = trace.setSpan(parentContext(opts.parent), span);
  let result: T;
  try {
    result = context.with(ctx, fn, undefined, span);
  } catch (err) {
    recordError(span, err);
    span.end();
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      (v: unknown) => {
        span.end();
        return v;
      },
      (err: unknown) => {
        recordError(span, err);
        span.end();
        throw err;
      },
    ) as T;
  }
  span.end();
  return result;
}

/** Runs `fn` with `ctx` as the active context. */
export function withContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/** A context in which `span` is active (based on the active context). */
export function contextWithSpan(span: Span, base: Context = context.active()): Context {
  return trace.setSpan(base, span);
}
