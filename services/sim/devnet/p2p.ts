/**
 * Relay between devnet nodes over websockets (path `/p2p`, HTTP Basic auth like the
 * RPC). Messages are JSON: `hello {tip, height, genesis}`, `getblocks {locator}`, `blocks {hex[]}`,
 * `block {hex}`, `tx {hex}`. A node relays every new block and accepted vote to all
 * peers but the one it came from, optionally after `relayDelayMs`, so a vote sent to
 * any node reaches the miner. Outbound links reconnect with backoff until stopped;
 * a WAN-emulation proxy can sit between two nodes (the URL is just a ws URL).
 */
import { WebSocket, type RawData } from 'ws';
import { z } from 'zod';

const MessageSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('hello'), tip: z.string(), height: z.number().int(), genesis: z.string().optional() }),
  z.object({ t: z.literal('getblocks'), locator: z.array(z.string()).max(64) }),
  z.object({ t: z.literal('blocks'), hex: z.array(z.string()) }),
  z.object({ t: z.literal('block'), hex: z.string() }),
  z.object({ t: z.literal('tx'), hex: z.string() }),
]);
export type PeerMessage = z.infer<typeof MessageSchema>;

export interface Peer {
  readonly id: number;
  send(msg: PeerMessage): void;
}

export interface PeerHandler {
  onMessage(peer: Peer, msg: PeerMessage): void;
  onOpen(peer: Peer): void;
}

export interface PeerHubOptions {
  user: string;
  pass: string;
  relayDelayMs: number;
  /** CA for wss peers (the other node's certPem). */
  ca?: string;
}

class Link implements Peer {
  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly delayMs: number,
  ) {}
  send(msg: PeerMessage): void {
    const text = JSON.stringify(msg);
    const go = (): void => {
      if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    };
    if (this.delayMs > 0) setTimeout(go, this.delayMs);
    else go();
  }
  close(): void {
    this.ws.terminate();
  }
}

export class PeerHub {
  private readonly links = new Map<number, Link>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly outbound = new Set<WebSocket>();
  private nextId = 1;
  private stopped = false;

  constructor(
    private readonly handler: PeerHandler,
    private readonly opts: PeerHubOptions,
  ) {}

  get peerCount(): number {
    return this.links.size;
  }

  /** An authenticated inbound `/p2p` socket. */
  addInbound(ws: WebSocket): void {
    if (this.stopped) return ws.terminate();
    this.attach(ws);
  }

  private attach(ws: WebSocket): Link {
    const link = new Link(this.nextId++, ws, this.opts.relayDelayMs);
    this.links.set(link.id, link);
    ws.on('message', (data: RawData) => {
      let msg: PeerMessage;
      try {
        msg = MessageSchema.parse(JSON.parse(Buffer.from(data as Buffer).toString('utf8')));
      } catch {
        return; // a malformed relay message is dropped, never fatal
      }
      try {
        this.handler.onMessage(link, msg);
      } catch {
        // handler errors (bad block from a peer) must not kill the link
      }
    });
    ws.on('close', () => this.links.delete(link.id));
    ws.on('error', () => ws.terminate());
    this.handler.onOpen(link);
    return link;
  }

  /** Keeps an outbound link to `url` (ws(s)://host:port[/ws]) open until stop(). */
  connect(url: string): void {
    const u = new URL(url);
    u.pathname = '/p2p';
    const user = u.username ? decodeURIComponent(u.username) : this.opts.user;
    const pass = u.password ? decodeURIComponent(u.password) : this.opts.pass;
    u.username = '';
    u.password = '';
    let backoff = 100;
    const dial = (): void => {
      if (this.stopped) return;
      const ws = new WebSocket(u.toString(), {
        headers: { Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` },
        ...(this.opts.ca ? { ca: this.opts.ca } : {}),
      });
      this.outbound.add(ws);
      ws.once('open', () => {
        backoff = 100;
        this.attach(ws);
      });
      ws.on('error', () => undefined);
      ws.once('close', () => {
        this.outbound.delete(ws);
        if (this.stopped) return;
        const t = setTimeout(() => {
          this.timers.delete(t);
          dial();
        }, backoff);
        this.timers.add(t);
        backoff = Math.min(backoff * 2, 2_000);
      });
    };
    dial();
  }

  broadcast(msg: PeerMessage, except?: Peer): void {
    for (const l of this.links.values()) if (l !== except) l.send(msg);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const l of this.links.values()) l.close();
    this.links.clear();
    for (const ws of this.outbound) ws.terminate();
    this.outbound.clear();
  }

  /** Re-enables dialling after stop() (node restart). */
  reset(): void {
    this.stopped = false;
  }
}
