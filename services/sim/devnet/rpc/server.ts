/**
 * dcrd's JSON-RPC transports (decred/dcrd: internal/rpcserver/rpcserver.go,
 * rpcwebsocket.go) on the shared JSON-RPC server: HTTP(S) POST on `/` and a websocket on
 * `/ws`, HTTP Basic auth on the request or upgrade, or an `authenticate [user, pass]` first
 * websocket message. A bad first message, a second authenticate or bad credentials close
 * the websocket. An unauthenticated websocket may send at most 4 KiB. A `/p2p` websocket
 * path is handed to the relay layer (same credentials).
 *
 * The server owns sockets only; method semantics live in the dispatcher it is given.
 */
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { JsonRpcServer, type JsonRpcDialect, type JsonRpcSession } from '../../../jsonrpc/index.ts';
import { RPC_ERR, RpcError } from '../errors.ts';

const UNAUTH_MAX_BYTES = 4096;
const MAX_BYTES = 16 * 1024 * 1024;

/** One websocket session: notification registrations live here. */
export type WsClient = JsonRpcSession;

/** Request context passed to method handlers: the websocket session, when there is one. */
export interface RpcContext {
  client?: WsClient;
}

export type Dispatch = (method: string, params: unknown[], ctx: RpcContext) => Promise<unknown>;

export interface RpcServerOptions {
  host: string;
  port: number;
  user: string;
  pass: string;
  tls?: { certPem: string; keyPem: string };
  dispatch: Dispatch;
  /** Called for an authenticated `/p2p` websocket (relay between devnet nodes). */
  onPeer?: (ws: WebSocket, req: IncomingMessage) => void;
}

/** dcrd's replies: `{result, error, id}`, batches on HTTP, no reply to a client's notification. */
const DCRD_DIALECT: JsonRpcDialect = {
  envelope: {},
  errors: {
    parse: new RpcError(RPC_ERR.PARSE, 'Failed to parse request').toJSON(),
    notAnObject: new RpcError(RPC_ERR.INVALID_REQUEST, 'Invalid request').toJSON(),
    noMethod: new RpcError(RPC_ERR.INVALID_REQUEST, 'Invalid request: missing method').toJSON(),
    paramsNotArray: new RpcError(RPC_ERR.INVALID_PARAMS, 'params must be an array').toJSON(),
  },
  batch: true,
  silentNotifications: true,
};

/** The RPC listener of one devnet node. `stop()` closes every socket; `start()` again rebinds the same port. */
export class RpcServer extends JsonRpcServer {
  constructor(opts: RpcServerOptions) {
    const credentials = Buffer.from(`${opts.user}:${opts.pass}`);
    super({
      host: opts.host,
      port: opts.port,
      ...(opts.tls ? { tls: { cert: opts.tls.certPem, key: opts.tls.keyPem } } : {}),
      credentials: () => credentials,
      maxBodyBytes: MAX_BYTES,
      dialect: DCRD_DIALECT,
      call: (method, params, ctx) => opts.dispatch(method, params, ctx.session ? { client: ctx.session } : {}),
      toError: (err) => (err instanceof RpcError ? err : new RpcError(RPC_ERR.INTERNAL, err instanceof Error ? err.message : String(err))).toJSON(),
      http: {
        routeBeforeAuth: true,
        refuseRoute: (req) => {
          if (req.method === 'POST' && (req.url ?? '/').split('?')[0] === '/') return undefined;
          const status = req.method === 'POST' ? 404 : 405;
          return { status, headers: { 'Content-Type': 'text/plain' }, body: `${status}\n` };
        },
        unauthorized: { headers: { 'WWW-Authenticate': 'Basic realm="dcrd RPC"', 'Content-Type': 'text/plain' }, body: '401 Unauthorized.\n' },
      },
      websocket: {
        path: '/ws',
        messageAuth: { unauthenticatedMaxBytes: UNAUTH_MAX_BYTES },
        challengeOnUpgrade: false,
        unknownPathStatus: 404,
        otherPaths: { '/p2p': (ws, req) => opts.onPeer?.(ws, req) },
      },
    });
  }

  /** Open websocket sessions (notification targets). */
  get clients(): Set<WsClient> {
    return this.sessions;
  }
}
