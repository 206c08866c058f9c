/**
 * Test helpers of the node proxy integration tests: a vote builder fed by the
 * devnet's exported tickets (real buildVote/signVote with the devnet's WIFs),
 * an automatic voter that votes every draw it sees through a proxy, a raw
 * dcrd websocket subscriber (a plain JSON-RPC client of the devnet, to compare
 * what the proxy streams with what dcrd notified), and a grpc.health.v1 probe.
 */
import { credentials, makeClientConstructor, type Client } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import WebSocket from 'ws';
import {
  buildVote,
  decodeTxHex,
  decodeWif,
  encodeTx,
  hashFromHex,
  signVote,
  SIMNET,
} from '../../services/decred/index.ts';
import type { Devnet, ExportedTicket } from '../../services/sim/devnet/index.ts';
import type { ClientDraw, NodeProxyClient, SendVoteResult } from '../../services/nodeproxy/index.ts';

/** Builds a signed vote for `ticketHash` on `draw` (overrides let tests make bad votes). */
export function makeVoteBuilder(devnet: Devnet) {
  const tickets = new Map<string, ExportedTicket>(devnet.exportTickets().map((t) => [t.ticketHash, t]));
  return {
    tickets,
    build(draw: Pick<ClientDraw, 'blockHash' | 'height' | 'voteVersion' | 'voteSubsidy'>, ticketHash: string, o: { voteBits?: number; subsidyDelta?: bigint } = {}): Uint8Array {
      let t = tickets.get(ticketHash);
      if (!t) {
        for (const x of devnet.exportTickets()) tickets.set(x.ticketHash, x);
        t = tickets.get(ticketHash);
      }
      if (!t) throw new Error(`devnet did not export ticket ${ticketHash}`);
      const ticket = decodeTxHex(t.ticketHex);
      const unsigned = buildVote({
        ticket,
        blockHash: hashFromHex(draw.blockHash),
        blockHeight: draw.height,
        voteBits: o.voteBits ?? 1,
        voteVersion: draw.voteVersion,
        voteSubsidy: draw.voteSubsidy + (o.subsidyDelta ?? 0n),
        params: SIMNET,
      });
      return encodeTx(signVote(unsigned, ticket, decodeWif(t.wif, SIMNET).privKey, { params: SIMNET }));
    },
  };
}

/** Votes every draw it sees on `client` (while enabled) and records the outcomes per block. */
export function startAutoVoter(client: NodeProxyClient, builder: ReturnType<typeof makeVoteBuilder>) {
  const results = new Map<string, SendVoteResult[]>();
  const draws: ClientDraw[] = [];
  const state = { enabled: true, errors: [] as unknown[] };
  const vote = (d: ClientDraw): void => {
    for (const t of d.tickets) {
      client.sendVote(builder.build(d, t), { deadlineMs: 5_000 }).then(
        (r) => {
          const list = results.get(d.blockHash) ?? [];
          list.push(r);
          results.set(d.blockHash, list);
        },
        (err: unknown) => state.errors.push(err),
      );
    }
  };
  const handle = client.watchChain({ fromHeight: 0 }, (ev) => {
    if (ev.kind !== 'winning_tickets') return;
    draws.push(ev.draw);
    if (state.enabled) vote(ev.draw);
  });
  return {
    state,
    draws,
    handle,
    /** Votes the latest draw now (after re-enabling). */
    voteLatest(): void {
      const d = draws[draws.length - 1];
      if (d) vote(d);
    },
    accepted(blockHash: string): number {
      return (results.get(blockHash) ?? []).filter((r) => r.status === 'ACCEPTED' || r.status === 'DUPLICATE').length;
    },
    latest(): ClientDraw | undefined {
      return draws[draws.length - 1];
    },
  };
}

/** A plain dcrd websocket JSON-RPC client recording winningtickets notifications. */
export async function rawWinningTickets(url: string, user: string, pass: string): Promise<{ got: Array<{ blockHash: string; tickets: string[]; atMs: number }>; close(): void }> {
  const ws = new WebSocket(url, { headers: { Authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } });
  const got: Array<{ blockHash: string; tickets: string[]; atMs: number }> = [];
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as { method?: string; params?: unknown[] };
    if (m.method === 'winningtickets' && m.params) {
      const obj = m.params[2] as Record<string, string>;
      got.push({
        blockHash: m.params[0] as string,
        tickets: Object.keys(obj).sort((a, b) => Number(a) - Number(b)).map((k) => obj[k] as string),
        atMs: performance.now(),
      });
    }
  });
  await new Promise<void>((resolve) => {
    ws.send(JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'notifywinningtickets', params: [] }));
    ws.once('message', () => resolve());
  });
  return { got, close: () => ws.close() };
}

const HealthClient = makeClientConstructor(healthService as never, 'Health');

/** grpc.health.v1 Check of `service` ('' = the server) at `address`, over mutual TLS with `tls` (a client certificate of the proxy's CA). */
export function healthCheck(address: string, tls: { caPem: Buffer; certPem: Buffer; keyPem: Buffer }, service = ''): Promise<string> {
  const c = new HealthClient(address, credentials.createSsl(tls.caPem, tls.keyPem, tls.certPem)) as unknown as Client & {
    Check(req: { service: string }, opts: { deadline: number }, cb: (err: Error | null, res: { status: string | number }) => void): void;
  };
  return new Promise((resolve, reject) => {
    c.Check({ service }, { deadline: Date.now() + 2_000 }, (err, res) => {
      c.close();
      if (err) reject(err);
      else resolve(String(res.status));
    });
  });
}
