/**
 * The admin service's Prometheus metrics (telemetry's `admin` families):
 * `votecluster_admin_requests_total{method,code}` and
 * `votecluster_admin_request_duration_seconds{method}` for every gRPC Admin
 * call (`code` = the ADMIN_* error code, or `OK`) and every wallet JSON-RPC
 * call (`method` = `wallet.<name>`, `code` = `OK` or the JSON-RPC error code).
 * Wrappers only: the handlers stay unaware of metrics.
 */
import type { Metadata, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ComponentMetrics } from '../telemetry/index.ts';
import type { WalletRpcHandler } from './wallet-rpc.ts';

/** JSON-RPC "method not found". */
const JSONRPC_METHOD_NOT_FOUND = -32601;

/** The admin metric instruments. */
export type AdminMetrics = ComponentMetrics<'admin'>;

type Callback = (err: { code?: number; metadata?: Metadata } | null, res?: unknown) => void;
type UnaryHandler = (call: unknown, cb: Callback) => void;

/** The error code label of a failed gRPC call: `vc-error-code` metadata, else the gRPC status number. */
function grpcCodeLabel(err: { code?: number; metadata?: Metadata }): string {
  const c = err.metadata?.get('vc-error-code')[0];
  return typeof c === 'string' ? c : `GRPC_${err.code ?? 'UNKNOWN'}`;
}

/**
 * Counts and times every unary handler of a gRPC service implementation
 * (streaming handlers, which take no callback, pass through unchanged).
 */
export function instrumentGrpcImpl(impl: UntypedServiceImplementation, m: AdminMetrics): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [method, h] of Object.entries(impl)) {
    const handler = h as unknown as UnaryHandler;
    if (handler.length < 2) {
      out[method] = h;
      continue;
    }
    const wrapped: UnaryHandler = (call, cb) => {
      const t0 = performance.now();
      handler(call, (err, res) => {
        m.requests.inc({ method, code: err ? grpcCodeLabel(err) : 'OK' });
        m.requestDuration.observe({ method }, (performance.now() - t0) / 1000);
        cb(err, res);
      });
    };
    out[method] = wrapped as unknown as typeof h;
  }
  return out;
}

/** Counts and times every wallet JSON-RPC call (`method` label `wallet.<name>`). */
export function instrumentWalletHandler(handler: WalletRpcHandler, m: AdminMetrics): WalletRpcHandler {
  return {
    ...handler,
    async call(method, params) {
      // Unknown methods share one label: a client must not grow the series count.
      let label = `wallet.${/^[a-z0-9_]{1,40}$/i.test(method) ? method : 'unknown'}`;
      const t0 = performance.now();
      try {
        const r = await handler.call(method, params);
        m.requests.inc({ method: label, code: 'OK' });
        return r;
      } catch (err) {
        const code = (err as { rpcCode?: unknown }).rpcCode;
        if (code === JSONRPC_METHOD_NOT_FOUND) label = 'wallet.unknown';
        m.requests.inc({ method: label, code: typeof code === 'number' ? String(code) : 'ERROR' });
        throw err;
      } finally {
        m.requestDuration.observe({ method: label }, (performance.now() - t0) / 1000);
      }
    },
    close: () => handler.close(),
  };
}
