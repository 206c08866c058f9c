/**
 * The HTTP endpoint every service runs on a configurable host and port:
 * `/metrics` (Prometheus exposition), `/healthz` (liveness: the process serves and
 * its service has not failed; a failing liveness probe means "restart me") and
 * `/readyz` (readiness: the service can do its job now; 503 with the failing
 * checks otherwise, so a load balancer or orchestrator routes around it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { MetricsServerError } from './errors.ts';

/** One readiness condition: whether it holds and a short operator-facing reason. */
export interface ProbeCheck {
  ok: boolean;
  detail: string;
}

/** What `/readyz` answers: ready when every check holds. */
export interface Readiness {
  ready: boolean;
  checks: Record<string, ProbeCheck>;
}

/** Builds a {@link Readiness} from named checks (ready iff all hold). */
export function readinessOf(checks: Record<string, ProbeCheck>): Readiness {
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

/** Options of {@link startMetricsServer}. */
export interface MetricsServerOptions {
  /** Address to bind (loopback in tests: 127.0.0.1 or 127.0.x.y). */
  host: string;
  /** Port; 0 picks a free one. */
  port: number;
  registry: Registry;
  /** Liveness check for `/healthz` (default: alive while the server answers). */
  health?: () => boolean | Promise<boolean>;
  /** Readiness for `/readyz` (default: ready whenever `/healthz` is healthy). */
  ready?: () => Readiness | Promise<Readiness>;
}

/** A running metrics server; `stop()` closes it and its connections. */
export interface MetricsServer {
  /** Base URL, e.g. `http://127.0.0.1:9464`. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * Starts the HTTP server. Rejects with {@link MetricsServerError} when the
 * address cannot be bound.
 */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  if (!Number.isInteger(opts.port) || opts.port < 0 || opts.port > 65535) {
    throw new MetricsServerError(`metrics port ${String(opts.port)} is not a port number`);
  }
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const respond = async (): Promise<void> => {
      if (path === '/metrics') {
        const body = await opts.registry.metrics();
        res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body);
      } else if (path === '/healthz') {
        const ok = opts.health ? await opts.health() : true;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'unhealthy\n');
      } else if (path === '/readyz') {
        const r: Readiness = opts.ready
          ? await opts.ready()
          : readinessOf({ alive: { ok: opts.health ? await opts.health() : true, detail: 'liveness' } });
        res.writeHead(r.ready ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(r)}\n`);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    };
    respond().catch((err: unknown) => {
      // A failing collector must not take the service down: answer 500 and carry on.
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`error: ${(err as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new MetricsServerError(`cannot listen on ${opts.host}:${opts.port}: ${err.message}`, { cause: err })));
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let stopped: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    stop: () => {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
