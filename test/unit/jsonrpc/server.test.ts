/**
 * The shared JSON-RPC server over real loopback sockets, in both of the ways it is
 * configured: dcrd's (batches, no reply to a client's notification, `authenticate` as a
 * first websocket message, bare 401 on a refused upgrade) and dcrwallet's (a `jsonrpc`
 * envelope, Basic auth required on the upgrade with a challenge, every call answered).
 */
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { JsonRpcServer, type JsonRpcDialect, type JsonRpcServerOptions } from '../../../services/jsonrpc/index.ts';

const ERR = {
  parse: { code: -32700, message: 'parse' },
  notAnObject: { code: -32600, message: 'not an object' },
  noMethod: { code: -32600, message: 'no method' },
  paramsNotArray: { code: -32602, message: 'params' },
};
const DCRD: JsonRpcDialect = { envelope: {}, errors: ERR, batch: true, silentNotifications: true };
const WALLET: JsonRpcDialect = { envelope: { jsonrpc: '1.0' }, errors: ERR, batch: false, silentNotifications: false };
const UNAUTHORIZED = { headers: { 'WWW-Authenticate': 'Basic realm="test RPC"', 'Content-Type': 'text/plain' }, body: '401 Unauthorized.\n' };
const auth = `Basic ${Buffer.from('u:p').toString('base64')}`;

function options(dialect: JsonRpcDialect, dcrdWs: boolean): JsonRpcServerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    credentials: () => Buffer.from('u:p'),
    maxBodyBytes: 1 << 16,
    dialect,
    call: async (method, params, ctx) => {
      if (method === 'echo') return params;
      if (method === 'subscribe' && ctx.session) {
        ctx.session.subscriptions.add('blocks');
        return null;
      }
      throw Object.assign(new Error(`no ${method}`), { rpcCode: -32601 });
    },
    toError: (err) => ({ code: (err as { rpcCode: number }).rpcCode, message: (err as Error).message }),
    http: {
      routeBeforeAuth: dcrdWs,
      refuseRoute: (req) => (req.method === 'POST' ? undefined : { status: 405, headers: {}, body: '405\n' }),
      unauthorized: UNAUTHORIZED,
    },
    websocket: dcrdWs
      ? { path: '/ws', messageAuth: { unauthenticatedMaxBytes: 64 }, challengeOnUpgrade: false, unknownPathStatus: 404 }
      : { path: '/ws', challengeOnUpgrade: true, unknownPathStatus: 401 },
  };
}

async function post(s: JsonRpcServer, body: string, authorization = auth): Promise<{ status: number; headers: Headers; text: string }> {
  const r = await fetch(`http://127.0.0.1:${s.port}/`, { method: 'POST', headers: { authorization }, body });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

function messages(ws: WebSocket): () => Promise<unknown> {
  const queue: unknown[] = [];
  const waiting: Array<(v: unknown) => void> = [];
  ws.on('message', (d) => {
    const v = JSON.parse(d.toString()) as unknown;
    const w = waiting.shift();
    if (w) w(v);
    else queue.push(v);
  });
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()) : new Promise((resolve) => waiting.push(resolve)));
}

async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown> }> {
  const ws = new WebSocket(url, { headers });
  ws.on('error', () => {}); // the refused upgrade is the point
  const [req, res] = (await once(ws, 'unexpected-response')) as [{ destroy(): void }, { statusCode: number; headers: Record<string, unknown> }];
  req.destroy();
  return { status: res.statusCode, headers: res.headers };
}

describe('JSON-RPC server', () => {
  const servers: JsonRpcServer[] = [];
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });
  const start = async (o: JsonRpcServerOptions): Promise<JsonRpcServer> => {
    const s = new JsonRpcServer(o);
    servers.push(s);
    await s.start();
    return s;
  };

  it('answers HTTP calls in the configured dialect, with a Basic challenge on 401', async () => {
    const dcrd = await start(options(DCRD, true));
    const wallet = await start(options(WALLET, false));
    expect(JSON.parse((await post(dcrd, '{"id":1,"method":"echo","params":[2]}')).text)).toEqual({ result: [2], error: null, id: 1 });
    expect(JSON.parse((await post(wallet, '{"id":1,"method":"echo","params":[2]}')).text)).toEqual({ jsonrpc: '1.0', result: [2], error: null, id: 1 });
    expect(JSON.parse((await post(dcrd, '[{"id":1,"method":"echo"},{"id":2,"method":"nope"}]')).text)).toEqual([
      { result: [], error: null, id: 1 },
      { result: null, error: { code: -32601, message: 'no nope' }, id: 2 },
    ]);
    expect(JSON.parse((await post(wallet, '[{"id":1,"method":"echo"}]')).text)).toMatchObject({ error: ERR.notAnObject });
    expect(JSON.parse((await post(wallet, '{')).text)).toEqual({ jsonrpc: '1.0', result: null, error: ERR.parse, id: null });
    expect(JSON.parse((await post(dcrd, '{"id":3,"params":[]}')).text)).toEqual({ result: null, error: ERR.noMethod, id: 3 });
    expect(JSON.parse((await post(dcrd, '{"id":4,"method":"echo","params":{}}')).text)).toEqual({ result: null, error: ERR.paramsNotArray, id: 4 });
    for (const s of [dcrd, wallet]) {
      const r = await post(s, '{"id":1,"method":"echo"}', `Basic ${Buffer.from('u:wrong').toString('base64')}`);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="test RPC"');
      expect(r.text).toBe('401 Unauthorized.\n');
    }
  });

  it("dcrd's websocket: authenticate first, no reply to a client's notification, notifications to subscribers", async () => {
    const s = await start(options(DCRD, true));
    const url = `ws://127.0.0.1:${s.port}/ws`;
    expect((await upgradeStatus(url, { authorization: 'Basic eDp5' })).status).toBe(401);
    expect((await upgradeStatus(`ws://127.0.0.1:${s.port}/other`)).status).toBe(404);

    const ws = new WebSocket(url);
    const next = messages(ws);
    await once(ws, 'open');
    ws.send(JSON.stringify({ id: 1, method: 'authenticate', params: ['u', 'p'] }));
    expect(await next()).toEqual({ result: null, error: null, id: 1 });
    ws.send(JSON.stringify({ method: 'echo', params: [] })); // no id: no reply
    ws.send(JSON.stringify({ id: 2, method: 'subscribe' }));
    expect(await next()).toEqual({ result: null, error: null, id: 2 });
    const [session] = [...s.sessions];
    expect(session?.subscriptions.has('blocks')).toBe(true);
    session?.notify('blockconnected', ['00']);
    expect(await next()).toEqual({ jsonrpc: '1.0', method: 'blockconnected', params: ['00'], id: null });
    ws.close();

    const bad = new WebSocket(url);
    await once(bad, 'open');
    bad.send(JSON.stringify({ id: 1, method: 'authenticate', params: ['u', 'wrong'] }));
    const [code] = (await once(bad, 'close')) as [number];
    expect(code).toBe(1008);
  });

  it("dcrwallet's websocket: Basic auth on the upgrade with a challenge, every call answered", async () => {
    const s = await start(options(WALLET, false));
    const url = `ws://127.0.0.1:${s.port}/ws`;
    const refused = await upgradeStatus(url);
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Basic realm="test RPC"');
    expect((await upgradeStatus(`ws://127.0.0.1:${s.port}/other`, { authorization: auth })).status).toBe(401);

    const ws = new WebSocket(url, { headers: { authorization: auth } });
    const next = messages(ws);
    await once(ws, 'open');
    ws.send(JSON.stringify({ method: 'echo', params: [1] }));
    expect(await next()).toEqual({ jsonrpc: '1.0', result: [1], error: null, id: null });
    ws.send('{');
    expect(await next()).toEqual({ jsonrpc: '1.0', result: null, error: ERR.parse, id: null });
    ws.close();
  });
});
