/**
 * A minimal dcrd JSON-RPC client for devnet tests: HTTP POST and a websocket session
 * (Basic auth on the upgrade), collecting notifications. Errors come back as values
 * so tests can assert dcrd's codes.
 */
import { WebSocket } from 'ws';
import { SIMNET, buildVote, decodeTxHex, decodeWif, hashFromHex, signVote, voteSubsidy, type Tx } from '../../services/decred/index.ts';
import type { ExportedTicket } from '../../services/sim/devnet/index.ts';

export interface RpcReply {
  result: unknown;
  error: { code: number; message: string } | null;
}

export interface Notification {
  method: string;
  params: unknown[];
}

export async function httpCall(url: string, user: string, pass: string, method: string, params: unknown[] = []): Promise<RpcReply> {
  const r = await fetch(url, {
    method: 'POST',
    // connection: close: the devnet mines synchronously in the test's process; a keep-alive socket reused
    // after an event-loop stall past the server's 5 s keep-alive is reset (ECONNRESET).
    headers: { Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`, 'Content-Type': 'application/json', Connection: 'close' },
    body: JSON.stringify({ jsonrpc: '1.0', id: 1, method, params }),
  });
  if (r.status !== 200) return { result: null, error: { code: r.status, message: await r.text() } };
  return (await r.json()) as RpcReply;
}

export class WsRpc {
  readonly notifications: Notification[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, (r: RpcReply) => void>();
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { id: number | null; method?: string; params?: unknown[]; result?: unknown; error?: RpcReply['error'] };
      if (msg.id === null && msg.method) this.notifications.push({ method: msg.method, params: msg.params ?? [] });
      else if (typeof msg.id === 'number') this.pending.get(msg.id)?.({ result: msg.result ?? null, error: msg.error ?? null });
    });
    ws.on('close', () => {
      this.closed = true;
    });
  }

  static async open(url: string, auth?: { user: string; pass: string }, ca?: string): Promise<WsRpc> {
    const ws = new WebSocket(url, {
      ...(auth ? { headers: { Authorization: `Basic ${Buffer.from(`${auth.user}:${auth.pass}`).toString('base64')}` } } : {}),
      ...(ca ? { ca } : {}),
    });
    const c = new WsRpc(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return c;
  }

  call(method: string, params: unknown[] = []): Promise<RpcReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.ws.send(JSON.stringify({ jsonrpc: '1.0', id, method, params }));
    });
  }

  send(raw: string): void {
    this.ws.send(raw);
  }

  close(): void {
    this.ws.close();
  }
}

/** A signed simnet vote of an exported devnet ticket on (blockHash, height), abstaining unless `voteBits` says otherwise. */
export function makeVote(t: ExportedTicket, blockHash: string, height: number, voteBits = 1): Tx {
  const ticket = decodeTxHex(t.ticketHex);
  const unsigned = buildVote({ ticket, blockHash: hashFromHex(blockHash), blockHeight: height, voteBits, voteVersion: SIMNET.voteVersion, voteSubsidy: voteSubsidy(height, SIMNET, 'dcp0012'), params: SIMNET });
  return signVote(unsigned, ticket, decodeWif(t.wif, SIMNET).privKey);
}
