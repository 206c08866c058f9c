/**
 * The JSON-RPC service: one server for JSON-RPC 1.0/2.0 over HTTP(S) POST and websocket,
 * as dcrd and dcrwallet speak it, used by the admin's dcrwallet-compatible endpoint and by
 * the devnet's dcrd RPC. It imports no other service.
 * - {@link JsonRpcServer}: the listener (Basic auth, TLS, websocket sessions and notifications);
 *   what differs between dcrd and dcrwallet is given as options ({@link JsonRpcDialect}, HTTP
 *   route rules, the websocket `authenticate` message, extra websocket paths).
 * - {@link JsonRpcSession}: one websocket client (its notification registrations; `notify`).
 */
export { JsonRpcServer, JsonRpcSession } from './server.ts';
export type { HttpRefusal, JsonRpcCallContext, JsonRpcDialect, JsonRpcErrorObject, JsonRpcServerOptions } from './server.ts';
