/**
 * Which addresses a listener may bind without protection. HTTP surfaces
 * (status page, metrics, wallet JSON-RPC) listen on loopback unless the
 * operator names another address; a surface that carries credentials or
 * control refuses a non-loopback address without TLS and credentials.
 */
import { isIP } from 'node:net';
import { InsecureListenerError } from './errors.ts';

/** Splits `host:port` / `[v6]:port`; the host may be empty (all interfaces). */
export function listenHost(listen: string): string {
  const m = /^\[([^\]]*)\]:\d+$/.exec(listen) ?? /^([^:]*):\d+$/.exec(listen);
  return m ? (m[1] as string) : listen;
}

/** True for 127.0.0.0/8, ::1, `localhost` (and ::ffff:127.x); false for wildcard and every other address. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h.startsWith('::ffff:127.');
  return false;
}

/**
 * Refuses (throws {@link InsecureListenerError}) to serve `surface` on a
 * non-loopback `listen` address unless it has TLS and credentials.
 */
export function requireProtectedUnlessLoopback(surface: string, listen: string, protection: { tls: boolean; credentials: boolean }): void {
  if (isLoopbackHost(listenHost(listen))) return;
  const missing = [protection.tls ? null : 'TLS', protection.credentials ? null : 'credentials'].filter((x) => x !== null);
  if (missing.length > 0) {
    throw new InsecureListenerError(`${surface} would listen on ${listen}, beyond loopback, without ${missing.join(' and ')}; configure them or listen on 127.0.0.1`);
  }
}
