/**
 * dcrd's JSON-RPC transports (decred/dcrd: internal/rpcserver/rpcserver.go,
 * rpcwebsocket.go): HTTP(S) POST on `/` and a websocket on `/ws`, HTTP Basic auth on the
 * request or upgrade, or an `authenticate [user, pass]` first websocket message. A bad
 * first message, a second authenticate or bad credentials close the websocket. An
 * unauthenticated websocket may send at most 4 KiB. A `/p2p` websocket path is handed
 * to the relay layer (same credentials).
 *
 * The server owns sockets only; method semantics live in the dispatcher it is given.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { timingSafeEqual } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { RPC_ERR, RpcError } from '../errors.ts';

const UNAUTH_MAX_BYTES = 4096;
const AUTH_MAX_BYTES = 16 * 1024 * 1024;
const HTTP_MAX_BYTES = 16 * 1024 * 1024;

/** One websocket session: notification registrations live here. */
export class WsClient {
  readonly subscriptions = new Set<string>();
  authenticated = false;
  constructor(private readonly ws: WebSocket) {}

  /** Sends a dcrd-style notification `{jsonrpc:"1.0", method, params, id:null}`. */
  notify(method: string, params: unknown[]): void {
    this.send({ jsonrpc: '1.0', method, params, id: null });
  }

  send(msg: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  close(code = 1000, reason = ''): void {
    this.ws.close(code, reason);
  }
}

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

interface JsonRequest {
  jsonrpc?: unknown;
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

function constantEq(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The RPC listener of one devnet node. `stop()` closes every socket; `start()` again rebinds the same port. */
export class RpcServer {
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Duplex>();
  readonly clients = new Set<WsClient>();
  private boundPort: number;

  constructor(private readonly opts: RpcServerOptions) {
    this.boundPort = opts.port;
  }

  get port(): number {
    return this.boundPort;
  }

  get scheme(): 'http' | 'https' {
    return this.opts.tls ? 'https' : 'http';
  }

  private checkBasic(header: string | undefined): boolean {
    if (!header || !header.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    return constantEq(decoded, `${this.opts.user}:${this.opts.pass}`);
  }

  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.onHttp(req, res);
    };
    const server = this.opts.tls
      ? createHttpsServer({ cert: this.opts.tls.certPem, key: this.opts.tls.keyPem }, handler)
      : createHttpServer(handler);
    server.keepAliveTimeout = 5_000;
    const wss = new WebSocketServer({ noServer: true, maxPayload: AUTH_MAX_BYTES });
    server.on('connection', (s: Duplex) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('secureConnection', (s: Duplex) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server = server;
    this.wss = wss;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, this.opts.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    if (addr && typeof addr === 'object') this.boundPort = addr.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const wss = this.wss;
    this.server = undefined;
    this.wss = undefined;
    if (!server) return;
    for (const c of wss?.clients ?? []) c.terminate();
    this.clients.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => wss?.close(() => resolve()) ?? resolve());
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const wss = this.wss;
    const path = (req.url ?? '').split('?')[0];
    if (!wss || (path !== '/ws' && path !== '/p2p')) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    const hasHeader = req.headers.authorization !== undefined;
    const headerOk = this.checkBasic(req.headers.authorization);
    if (hasHeader && !headerOk) {
      // dcrd answers a failed upgrade auth with 401 and closes.
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    if (path === '/p2p' && !headerOk) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (path === '/p2p') {
        this.opts.onPeer?.(ws, req);
        return;
      }
      const client = new WsClient(ws);
      client.authenticated = headerOk;
      this.clients.add(client);
      ws.on('close', () => this.clients.delete(client));
      ws.on('error', () => ws.terminate());
      ws.on('message', (data: RawData) => void this.onWsMessage(client, data));
    });
  }

  private async onWsMessage(client: WsClient, data: RawData): Promise<void> {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (!client.authenticated && buf.length > UNAUTH_MAX_BYTES) {
      client.close(1009, 'unauthenticated message too large');
      return;
    }
    let req: JsonRequest;
    try {
      req = JSON.parse(buf.toString('utf8')) as JsonRequest;
    } catch {
      if (!client.authenticated) return client.close(1008, 'bad first message');
      client.send({ result: null, error: new RpcError(RPC_ERR.PARSE, 'Failed to parse request').toJSON(), id: null });
      return;
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      if (!client.authenticated) return client.close(1008, 'bad first message');
      client.send({ result: null, error: new RpcError(RPC_ERR.INVALID_REQUEST, 'Invalid request').toJSON(), id: null });
      return;
    }
    const id = req.id ?? null;
    if (req.method === 'authenticate') {
      const p = Array.isArray(req.params) ? req.params : [];
      if (client.authenticated || typeof p[0] !== 'string' || typeof p[1] !== 'string') {
        return client.close(1008, 'authentication failure');
      }
      if (!constantEq(`${p[0]}:${p[1]}`, `${this.opts.user}:${this.opts.pass}`)) {
        return client.close(1008, 'authentication failure');
      }
      client.authenticated = true;
      client.send({ result: null, error: null, id });
      return;
    }
    if (!client.authenticated) return client.close(1008, 'authentication required');
    const reply = await this.call(req, { client });
    // dcrd does not reply to notifications sent by the client (id missing/null).
    if (req.id !== undefined && req.id !== null) client.send(reply);
    else if (reply.error) client.send(reply);
  }

  private async call(req: JsonRequest, ctx: RpcContext): Promise<{ result: unknown; error: unknown; id: unknown }> {
    const id = req.id ?? null;
    if (typeof req.method !== 'string') {
      return { result: null, error: new RpcError(RPC_ERR.INVALID_REQUEST, 'Invalid request: missing method').toJSON(), id };
    }
    const params = req.params === undefined || req.params === null ? [] : req.params;
    if (!Array.isArray(params)) {
      return { result: null, error: new RpcError(RPC_ERR.INVALID_PARAMS, 'params must be an array').toJSON(), id };
    }
    try {
      const result = await this.opts.dispatch(req.method, params, ctx);
      return { result: result === undefined ? null : result, error: null, id };
    } catch (err) {
      if (err instanceof RpcError) return { result: null, error: err.toJSON(), id };
      const msg = err instanceof Error ? err.message : String(err);
      return { result: null, error: new RpcError(RPC_ERR.INTERNAL, msg).toJSON(), id };
    }
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
      res.writeHead(req.method === 'POST' ? 404 : 405, { 'Content-Type': 'text/plain' }).end(`${req.method === 'POST' ? 404 : 405}\n`);
      return;
    }
    if (!this.checkBasic(req.headers.authorization)) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="dcrd RPC"', 'Content-Type': 'text/plain' }).end('401 Unauthorized.\n');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > HTTP_MAX_BYTES) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      this.json(res, { result: null, error: new RpcError(RPC_ERR.PARSE, 'Failed to parse request').toJSON(), id: null });
      return;
    }
    if (Array.isArray(body)) {
      const replies = [];
      for (const r of body) replies.push(await this.call((r ?? {}) as JsonRequest, {}));
      this.json(res, replies);
      return;
    }
    if (typeof body !== 'object' || body === null) {
      this.json(res, { result: null, error: new RpcError(RPC_ERR.INVALID_REQUEST, 'Invalid request').toJSON(), id: null });
      return;
    }
    this.json(res, await this.call(body as JsonRequest, {}));
  }

  private json(res: ServerResponse, payload: unknown): void {
    const text = JSON.stringify(payload);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
  }
}
