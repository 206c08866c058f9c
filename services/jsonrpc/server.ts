/**
 * A JSON-RPC 1.0/2.0 server over HTTP(S) POST and websocket, as dcrd and dcrwallet
 * serve it (decred/dcrd: internal/rpcserver/rpcserver.go, rpcwebsocket.go;
 * decred/dcrwallet: internal/rpc/jsonrpc/server.go): HTTP Basic auth on the request or
 * the websocket upgrade, `{result, error, id}` replies with numeric error codes, and
 * server-sent notifications `{jsonrpc:"1.0", method, params, id:null}` on the websocket.
 *
 * What differs between the two servers is said in the options, not coded twice: the
 * reply {@link JsonRpcDialect} (envelope, error texts, batches, replies to client
 * notifications), the HTTP route rules, the websocket's `authenticate` first message
 * (dcrd only) and extra websocket paths given to the caller (the devnet's `/p2p`).
 *
 * The server owns sockets only; method semantics live in the `call` it is given.
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';

/** A JSON-RPC error object: numeric code and message. */
export interface JsonRpcErrorObject {
  code: number;
  message: string;
}

/** How replies look: the details in which dcrd and dcrwallet differ. */
export interface JsonRpcDialect {
  /** Members put before `result, error, id` in every reply (`{}` for dcrd, `{ jsonrpc: '1.0' }` for dcrwallet). */
  envelope: Readonly<Record<string, unknown>>;
  /** Errors of bodies that are not a call. */
  errors: {
    /** The body is not JSON. */
    parse: JsonRpcErrorObject;
    /** The body is JSON but not a request object. */
    notAnObject: JsonRpcErrorObject;
    /** `method` is missing or not a string. */
    noMethod: JsonRpcErrorObject;
    /** `params` is present and not an array. */
    paramsNotArray: JsonRpcErrorObject;
  };
  /** An HTTP body that is a JSON array is a batch, answered as an array; else it is not a request object. */
  batch: boolean;
  /** A websocket call without an id gets no reply unless it fails (dcrd); else every call is answered. */
  silentNotifications: boolean;
}

/** An HTTP answer other than a JSON-RPC reply. */
export interface HttpRefusal {
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
}

/** The call's context: the websocket session it came on, if any. */
export interface JsonRpcCallContext {
  session?: JsonRpcSession;
}

/** Options of {@link JsonRpcServer}. */
export interface JsonRpcServerOptions {
  host: string;
  /** Port; 0 picks a free one (kept across `stop()` / `start()`). */
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** `user:password` as bytes, compared in constant time (read per check, so a secret can stay wrapped). */
  credentials(): Buffer;
  /** Largest HTTP body or websocket message accepted, bytes. */
  maxBodyBytes: number;
  dialect: JsonRpcDialect;
  /** Runs one call; a throw becomes the reply's error through `toError`. */
  call(method: string, params: unknown[], ctx: JsonRpcCallContext): Promise<unknown>;
  toError(err: unknown): JsonRpcErrorObject;
  /** Told of every call answered with an error (for the log). */
  onCallError?(method: string, error: JsonRpcErrorObject): void;
  /** Told of a websocket error (the socket is then terminated) or of a reply that does not serialise (answered 500). */
  onError?(err: Error, where: 'websocket' | 'reply'): void;
  http: {
    /** The answer to a request that does not reach the RPC (wrong method or path); undefined lets it through. */
    refuseRoute(req: IncomingMessage): HttpRefusal | undefined;
    /** Route checked before the credentials (dcrd) or after them (dcrwallet). */
    routeBeforeAuth: boolean;
    /** Headers and body of the 401 answer. */
    unauthorized: { headers: OutgoingHttpHeaders; body: string };
  };
  websocket: {
    /** The JSON-RPC websocket path (`/ws`). */
    path: string;
    /**
     * dcrd's websocket auth: Basic on the upgrade is optional, else the first message must be
     * `authenticate [user, pass]`; until then a message may be at most `unauthenticatedMaxBytes`.
     * Absent: Basic on the upgrade is required.
     */
    messageAuth?: { unauthenticatedMaxBytes: number };
    /** A refused upgrade gets the HTTP 401 answer with its headers (dcrwallet), or a bare 401 (dcrd). */
    challengeOnUpgrade: boolean;
    /** Status of an upgrade on an unknown path. */
    unknownPathStatus: 401 | 404;
    /** Other websocket paths, Basic auth on the upgrade required, handed over once open. */
    otherPaths?: Readonly<Record<string, (ws: WebSocket, req: IncomingMessage) => void>>;
  };
}

/** One websocket session: its notification registrations and whether it has authenticated. */
export class JsonRpcSession {
  /** Notification kinds this client registered for (`notifyblocks`, ...). */
  readonly subscriptions = new Set<string>();
  authenticated = false;
  constructor(private readonly ws: WebSocket) {}

  /** Sends a notification `{jsonrpc:"1.0", method, params, id:null}` (as dcrd sends them). */
  notify(method: string, params: unknown[]): void {
    this.send({ jsonrpc: '1.0', method, params, id: null });
  }

  /** Sends one JSON message if the socket is open. */
  send(msg: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  close(code = 1000, reason = ''): void {
    this.ws.close(code, reason);
  }
}

interface JsonRequest {
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

function constantEq(given: Buffer, want: Buffer): boolean {
  return given.length === want.length && timingSafeEqual(given, want);
}

/** The JSON-RPC listener. `stop()` closes every socket; `start()` again rebinds the same port. */
export class JsonRpcServer {
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<Duplex>();
  /** Open JSON-RPC websocket sessions. */
  readonly sessions = new Set<JsonRpcSession>();
  private boundPort: number;

  constructor(private readonly opts: JsonRpcServerOptions) {
    this.boundPort = opts.port;
  }

  /** The bound port (after `start()`). */
  get port(): number {
    return this.boundPort;
  }

  get scheme(): 'http' | 'https' {
    return this.opts.tls ? 'https' : 'http';
  }

  private checkBasic(header: string | undefined): boolean {
    if (!header || !header.startsWith('Basic ')) return false;
    return constantEq(Buffer.from(header.slice(6).trim(), 'base64'), this.opts.credentials());
  }

  /** Listens on `host:port`. */
  async start(): Promise<void> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      void this.onHttp(req, res);
    };
    const server = this.opts.tls
      ? createHttpsServer({ cert: this.opts.tls.cert, key: this.opts.tls.key }, handler)
      : createHttpServer(handler);
    server.keepAliveTimeout = 5_000;
    const wss = new WebSocketServer({ noServer: true, maxPayload: this.opts.maxBodyBytes });
    const track = (s: Duplex): void => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    };
    server.on('connection', track);
    server.on('secureConnection', track);
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

  /** Closes the listener and every connection and websocket. */
  async stop(): Promise<void> {
    const server = this.server;
    const wss = this.wss;
    this.server = undefined;
    this.wss = undefined;
    if (!server) return;
    for (const c of wss?.clients ?? []) c.terminate();
    this.sessions.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => wss?.close(() => resolve()) ?? resolve());
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private refuseUpgrade(socket: Duplex, status: 401 | 404): void {
    const ws = this.opts.websocket;
    if (status === 401 && ws.challengeOnUpgrade) {
      const { headers, body } = this.opts.http.unauthorized;
      const lines = Object.entries(headers)
        .filter(([k]) => k.toLowerCase() !== 'connection' && k.toLowerCase() !== 'content-length')
        .map(([k, v]) => `${k}: ${String(v)}\r\n`)
        .join('');
      socket.end(`HTTP/1.1 401 Unauthorized\r\n${lines}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      return;
    }
    socket.end(`HTTP/1.1 ${status === 401 ? '401 Unauthorized' : '404 Not Found'}\r\nConnection: close\r\n\r\n`);
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const wss = this.wss;
    const rules = this.opts.websocket;
    const path = (req.url ?? '').split('?')[0] as string;
    const other = Object.hasOwn(rules.otherPaths ?? {}, path) ? rules.otherPaths?.[path] : undefined;
    if (!wss || (path !== rules.path && !other)) return this.refuseUpgrade(socket, rules.unknownPathStatus);
    const hasHeader = req.headers.authorization !== undefined;
    const headerOk = this.checkBasic(req.headers.authorization);
    // dcrd answers a failed upgrade auth with 401 and closes; only its RPC path may authenticate later.
    if (!headerOk && (hasHeader || other || !rules.messageAuth)) return this.refuseUpgrade(socket, 401);
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (other) {
        other(ws, req);
        return;
      }
      const session = new JsonRpcSession(ws);
      session.authenticated = headerOk;
      this.sessions.add(session);
      ws.on('close', () => this.sessions.delete(session));
      ws.on('error', (err) => {
        this.opts.onError?.(err, 'websocket');
        ws.terminate();
      });
      ws.on('message', (data: RawData) => void this.onWsMessage(session, data));
    });
  }

  /** A reply with the dialect's envelope. */
  private reply(result: unknown, error: JsonRpcErrorObject | null, id: unknown): Record<string, unknown> {
    return { ...this.opts.dialect.envelope, result, error, id };
  }

  private async onWsMessage(session: JsonRpcSession, data: RawData): Promise<void> {
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    const messageAuth = this.opts.websocket.messageAuth;
    if (!session.authenticated && messageAuth && buf.length > messageAuth.unauthenticatedMaxBytes) {
      session.close(1009, 'unauthenticated message too large');
      return;
    }
    const { errors, silentNotifications } = this.opts.dialect;
    let req: JsonRequest;
    try {
      req = JSON.parse(buf.toString('utf8')) as JsonRequest;
    } catch {
      if (!session.authenticated) return session.close(1008, 'bad first message');
      session.send(this.reply(null, errors.parse, null));
      return;
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) {
      if (!session.authenticated) return session.close(1008, 'bad first message');
      session.send(this.reply(null, errors.notAnObject, null));
      return;
    }
    if (messageAuth && req.method === 'authenticate') {
      // dcrd: a second authenticate, or bad credentials, close the websocket.
      const p = Array.isArray(req.params) ? req.params : [];
      if (session.authenticated || typeof p[0] !== 'string' || typeof p[1] !== 'string') {
        return session.close(1008, 'authentication failure');
      }
      if (!constantEq(Buffer.from(`${p[0]}:${p[1]}`), this.opts.credentials())) {
        return session.close(1008, 'authentication failure');
      }
      session.authenticated = true;
      session.send(this.reply(null, null, req.id ?? null));
      return;
    }
    if (!session.authenticated) return session.close(1008, 'authentication required');
    const reply = await this.call(req, { session });
    if (!silentNotifications || (req.id !== undefined && req.id !== null) || reply['error']) session.send(reply);
  }

  private async call(req: JsonRequest, ctx: JsonRpcCallContext): Promise<Record<string, unknown>> {
    const id = req.id ?? null;
    const { errors } = this.opts.dialect;
    if (typeof req.method !== 'string') return this.reply(null, errors.noMethod, id);
    const params = req.params === undefined || req.params === null ? [] : req.params;
    if (!Array.isArray(params)) return this.reply(null, errors.paramsNotArray, id);
    try {
      const result = await this.opts.call(req.method, params, ctx);
      return this.reply(result ?? null, null, id);
    } catch (err) {
      const error = this.opts.toError(err);
      this.opts.onCallError?.(req.method, error);
      return this.reply(null, error, id);
    }
  }

  private refuse(res: ServerResponse, r: HttpRefusal): void {
    res.writeHead(r.status, r.headers).end(r.body);
  }

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { http, dialect } = this.opts;
    const route = http.routeBeforeAuth ? http.refuseRoute(req) : undefined;
    if (route) return this.refuse(res, route);
    if (!this.checkBasic(req.headers.authorization)) {
      return this.refuse(res, { status: 401, headers: http.unauthorized.headers, body: http.unauthorized.body });
    }
    const late = http.routeBeforeAuth ? undefined : http.refuseRoute(req);
    if (late) return this.refuse(res, late);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > this.opts.maxBodyBytes) {
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
      return this.json(res, this.reply(null, dialect.errors.parse, null));
    }
    if (Array.isArray(body) && dialect.batch) {
      const replies = [];
      for (const r of body) replies.push(await this.call((r ?? {}) as JsonRequest, {}));
      return this.json(res, replies);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return this.json(res, this.reply(null, dialect.errors.notAnObject, null));
    }
    this.json(res, await this.call(body as JsonRequest, {}));
  }

  private json(res: ServerResponse, payload: unknown): void {
    let text: string;
    try {
      text = JSON.stringify(payload);
    } catch (err) {
      // A result that does not serialise (a bug of the method): a bare 500, never a partial reply.
      this.opts.onError?.(err as Error, 'reply');
      res.writeHead(500).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
  }
}
