/**
 * `--metrics-listen HOST:PORT`, shared by every long-running command (proxy,
 * voter, admin, devnet): parses the flag into what telemetry's
 * `startMetricsServer` takes. Port 0 picks a free port (the command prints the
 * bound URL).
 */
import { CodedError } from '../base/index.ts';
import { isLoopbackHost } from '../security/index.ts';
import type { Logger } from '../telemetry/index.ts';

/** A bad `--metrics-listen` value (code `CLI_METRICS_LISTEN`). */
export class MetricsListenError extends CodedError {
  constructor(message: string) {
    super('CLI_METRICS_LISTEN', message);
  }
}

/**
 * `HOST:PORT` (IPv4, a name, or `[v6]`) → `{ host, port }`; undefined/'' → undefined.
 * @throws {MetricsListenError} naming the bad part.
 */
export function parseMetricsListen(value: string | undefined): { host: string; port: number } | undefined {
  if (value === undefined || value === '') return undefined;
  const i = value.lastIndexOf(':');
  if (i <= 0) throw new MetricsListenError(`--metrics-listen ${JSON.stringify(value)}: expected HOST:PORT`);
  let host = value.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const portText = value.slice(i + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new MetricsListenError(`--metrics-listen ${JSON.stringify(value)}: port must be 0..65535`);
  return { host, port };
}

/**
 * `/metrics` is plaintext and unauthenticated (Prometheus scrapes it; it carries counters, no
 * secrets). Beyond loopback that is allowed, and said: one warning naming the address.
 */
export function warnIfMetricsExposed(log: Logger, listen: { host: string; port: number }): void {
  if (!isLoopbackHost(listen.host)) {
    log.warn({ host: listen.host, port: listen.port }, 'metrics listen beyond loopback: plaintext and unauthenticated (anyone who reaches the port reads them); restrict it with a firewall or listen on 127.0.0.1');
  }
}
