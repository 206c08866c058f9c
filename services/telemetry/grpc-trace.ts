/**
 * W3C trace-context propagation over gRPC, without auto-instrumentation
 * (which does not patch ESM imports of `@grpc/grpc-js`).
 *
 * Client: add {@link traceClientInterceptor} to the client's `interceptors`
 * option; every call carries the caller's active span as `traceparent`
 * metadata. Server: wrap handlers with {@link traceServerHandler} (or a whole
 * implementation with {@link traceServiceImplementation}); the handler runs
 * with the remote span as its active parent, so spans it starts (withSpan)
 * join the caller's trace.
 *
 * A long-lived stream (WatchChain) carries many traces: put
 * `injectTraceparent()` in each message instead and `extractContext()` it on
 * receipt.
 */
import { context, type Context } from '@opentelemetry/api';
import { InterceptingCall, Metadata, type Interceptor, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { extractContext, injectTraceparent } from './tracing.ts';

/** Metadata key of the W3C trace parent. */
export const TRACEPARENT_METADATA_KEY = 'traceparent';
/** Metadata key of the W3C trace state. */
export const TRACESTATE_METADATA_KEY = 'tracestate';

/**
 * grpc-js client interceptor: sets `traceparent` metadata from the context
 * active when the call is made.
 */
export const traceClientInterceptor: Interceptor = (options, nextCall) => {
  // Captured now: the call is created synchronously inside the caller's context.
  const ctx = context.active();
  return new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      const tp = injectTraceparent(ctx);
      if (tp !== undefined) metadata.set(TRACEPARENT_METADATA_KEY, tp);
      next(metadata, listener);
    },
  });
};

/** The trace parent context carried by incoming metadata (base: `base` or the active context). */
export function contextFromMetadata(metadata: Metadata | undefined, base?: Context): Context {
  const tp = metadata?.get(TRACEPARENT_METADATA_KEY)[0];
  const ts = metadata?.get(TRACESTATE_METADATA_KEY)[0];
  const opts: { base?: Context; tracestate?: string } = {};
  if (base !== undefined) opts.base = base;
  if (typeof ts === 'string') opts.tracestate = ts;
  return extractContext(typeof tp === 'string' ? tp : undefined, opts);
}

/** Sets `traceparent` on `metadata` from `ctx` (default: active); returns `metadata`. */
export function injectMetadata(metadata: Metadata = new Metadata(), ctx: Context = context.active()): Metadata {
  const tp = injectTraceparent(ctx);
  if (tp !== undefined) metadata.set(TRACEPARENT_METADATA_KEY, tp);
  return metadata;
}

// grpc-js handler signatures differ per call type (unary, client/server/bidi
// streaming); all take the call object, which carries `metadata`, first.
type AnyHandler = (call: { metadata: Metadata }, ...rest: never[]) => void;

/**
 * Wraps a grpc-js server handler so it runs with the caller's trace context
 * (from `traceparent` metadata) active. Works for every call type.
 */
export function traceServerHandler<H extends AnyHandler>(handler: H): H {
  const wrapped = function (this: unknown, call: { metadata: Metadata }, ...rest: never[]): void {
    context.with(contextFromMetadata(call.metadata), () => handler.call(this, call, ...rest));
  };
  return wrapped as unknown as H;
}

/** Wraps every handler of a service implementation with {@link traceServerHandler}. */
export function traceServiceImplementation<T extends UntypedServiceImplementation>(impl: T): T {
  const out: UntypedServiceImplementation = {};
  for (const [name, h] of Object.entries(impl)) out[name] = traceServerHandler(h as unknown as AnyHandler) as unknown as typeof h;
  return out as T;
}
