/**
 * Node proxy latency, everything in one process on loopback (devnet as dcrd):
 * - notification → client: what the proxy adds between dcrd's winningtickets
 *   notification (as a plain dcrd websocket subscriber receives it) and a
 *   WatchChain client having it; with 1 and with 200 watching clients (200
 *   separate gRPC channels);
 * - SendVote round trip (client → proxy → dcrd sendrawtransaction → back),
 *   real signed votes accepted by the devnet;
 * - floor: a plain grpc-js echo server on the same machine (server-stream
 *   one-way latency, unary round trip).
 */
import { Server, credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { startDevnet } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxyClient, type SendVoteResult } from '../../services/nodeproxy/index.ts';
import { grpcServerCredentials, TlsReloader } from '../../services/security/index.ts';
import { startTestTls } from '../harness/tls.ts';
import { waitFor } from '../harness/wait-for.ts';
import { makeVoteBuilder, rawWinningTickets } from '../integration/nodeproxy-harness.ts';

const BLOCKS_PER_PHASE = 25;
const MANY_CLIENTS = 200;

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}
function summary(xs: number[]): { n: number; p50Ms: number; p99Ms: number; maxMs: number } {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v: number): number => Math.round(v * 1000) / 1000;
  return { n: s.length, p50Ms: r(quantile(s, 0.5)), p99Ms: r(quantile(s, 0.99)), maxMs: r(s[s.length - 1] ?? 0) };
}

/** A plain echo service (no proxy logic): the gRPC floor on this machine. */
async function grpcEchoFloor(n: number): Promise<{ streamOneWay: ReturnType<typeof summary>; unaryRtt: ReturnType<typeof summary> }> {
  const pkgDef = fromJSON({
    nested: {
      bench: {
        nested: {
          Echo: {
            methods: {
              Unary: { requestType: 'Msg', responseType: 'Msg', comment: '' },
              Stream: { requestType: 'Msg', responseType: 'Msg', responseStream: true, comment: '' },
            },
          },
          Msg: { fields: { t: { type: 'double', id: 1 }, pad: { type: 'bytes', id: 2 } } },
        },
      },
    },
  });
  const proto = loadPackageDefinition(pkgDef) as GrpcObject;
  const Echo = (proto['bench'] as GrpcObject)['Echo'] as ServiceClientConstructor;
  const server = new Server();
  let push: ((m: { t: number; pad: Buffer }) => void) | undefined;
  server.addService(Echo.service, {
    Unary: (call: { request: unknown }, cb: (e: null, r: unknown) => void) => cb(null, call.request),
    Stream: (call: { write(m: unknown): boolean }) => {
      push = (m) => call.write(m);
    },
  });
  // Mutual TLS, as on every proxy link: the floor the proxy's own numbers compare against.
  const tls = await startTestTls();
  const serverTls = new TlsReloader(tls.proxy);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpcServerCredentials(serverTls), (e, p) => (e ? rej(e) : res(p))));
  const client = new Echo(`127.0.0.1:${port}`, credentials.createSsl(tls.clientPem.caPem, tls.clientPem.keyPem, tls.clientPem.certPem)) as unknown as {
    Unary(m: unknown, cb: (e: Error | null, r: unknown) => void): void;
    Stream(m: unknown): NodeJS.EventEmitter & { cancel(): void };
    close(): void;
  };
  const pad = Buffer.alloc(400); // about the size of a WinningTickets message
  const stream = client.Stream({});
  const oneWay: number[] = [];
  let got = 0;
  stream.on('data', (m: { t: number }) => {
    oneWay.push(performance.now() - m.t);
    got++;
  });
  stream.on('error', () => undefined);
  await waitFor(() => push !== undefined, { message: 'echo stream open' });
  for (let i = 0; i < n; i++) {
    const want = got + 1;
    push?.({ t: performance.now(), pad });
    await waitFor(() => got >= want, { intervalMs: 1, message: 'echo message' });
  }
  const rtt: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise<void>((res, rej) => client.Unary({ t: t0, pad }, (e) => (e ? rej(e) : res())));
    rtt.push(performance.now() - t0);
  }
  stream.cancel();
  client.close();
  server.forceShutdown();
  serverTls.close();
  await tls.stop();
  return { streamOneWay: summary(oneWay), unaryRtt: summary(rtt) };
}

/** Runs the node proxy bench; returns the numbers run.ts prints and stores. */
export async function runNodeProxyBench(): Promise<Record<string, unknown>> {
  const dn = await startDevnet({ nodes: 1, tickets: 400, blockInterval: { mode: 'manual' } });
  const node = dn.nodes[0]!;
  const tls = await startTestTls();
  const proxy = createNodeProxy({ network: 'simnet', dcrd: { url: node.wsUrl, user: node.rpcUser, pass: node.rpcPass }, listen: '127.0.0.1:0', tls: tls.proxy, resend: { intervalMs: 0 } });
  const { address } = await proxy.start();
  const builder = makeVoteBuilder(dn);
  const raw = await rawWinningTickets(node.wsUrl, node.rpcUser, node.rpcPass);
  const voterClient = createNodeProxyClient(address, { clientId: 'bench-voter', tls: tls.clientPem });
  const sendRtt: number[] = [];
  const clients: NodeProxyClient[] = [voterClient];
  try {
    let tip = (await voterClient.getBestBlock()).hash;
    // The voter's own watch gives the draws (vote subsidy, version) needed to build votes.
    const draws = new Map<string, { blockHash: string; height: number; voteVersion: number; voteSubsidy: bigint; tickets: string[] }>();
    voterClient.watchChain({ fromHeight: 0 }, (ev) => {
      if (ev.kind === 'winning_tickets') draws.set(ev.draw.blockHash, ev.draw);
    });
    const voteTip = async (): Promise<void> => {
      const d = await waitFor(() => draws.get(tip), { message: `draw for ${tip}` });
      const results: SendVoteResult[] = [];
      for (const t of d.tickets) {
        const raw = builder.build(d, t);
        const t0 = performance.now();
        results.push(await voterClient.sendVote(raw));
        sendRtt.push(performance.now() - t0);
      }
      const ok = results.filter((r) => r.status === 'ACCEPTED' || r.status === 'DUPLICATE').length;
      if (ok < 3) throw new Error(`votes for ${tip} not accepted: ${JSON.stringify(results.map((r) => [r.status, r.message]))}`);
    };

    /**
     * Mines BLOCKS_PER_PHASE blocks. For each draw: when a plain dcrd websocket
     * subscriber got dcrd's winningtickets (the moment the proxy's own session
     * gets it too) and when each WatchChain client got it through the proxy.
     */
    const phase = async (watchers: NodeProxyClient[]): Promise<{ proxyAdded: number[] }> => {
      const receipts = new Map<string, number[]>();
      let opened = 0;
      const handles = watchers.map((c) =>
        c.watchChain({ onStreamStart: () => opened++ }, (ev) => {
          if (ev.kind !== 'winning_tickets') return;
          const list = receipts.get(ev.draw.blockHash) ?? [];
          list.push(performance.now());
          receipts.set(ev.draw.blockHash, list);
        }),
      );
      await waitFor(() => opened >= watchers.length, { timeoutMs: 20_000, message: 'watchers open' });
      const proxyAdded: number[] = [];
      for (let i = 0; i < BLOCKS_PER_PHASE; i++) {
        await voteTip();
        const [mined] = (await dn.generate(1)) as [string];
        tip = mined;
        const rawDraw = await waitFor(() => raw.got.find((g) => g.blockHash === mined), { message: 'raw draw' });
        const got = await waitFor(() => ((receipts.get(mined)?.length ?? 0) >= watchers.length ? receipts.get(mined) : undefined), {
          intervalMs: 2,
          timeoutMs: 10_000,
          message: 'all watchers got the draw',
        });
        for (const at of got) proxyAdded.push(at - rawDraw.atMs);
      }
      for (const h of handles) h.close();
      return { proxyAdded };
    };

    const one = [createNodeProxyClient(address, { clientId: 'w-1', tls: tls.clientPem })];
    clients.push(...one);
    const r1 = await phase(one);
    const many = Array.from({ length: MANY_CLIENTS }, (_, i) => createNodeProxyClient(address, { clientId: `w-${i}`, tls: tls.clientPem }));
    clients.push(...many);
    const r200 = await phase(many);
    const floor = await grpcEchoFloor(200);
    // The proxy's own share of SendVote: a repeat of an accepted vote is answered from its record.
    const d = await waitFor(() => draws.get(tip), { message: 'last draw' });
    await voteTip();
    const again = builder.build(d, d.tickets[0] as string);
    const dedupRtt: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      const r = await voterClient.sendVote(again);
      dedupRtt.push(performance.now() - t0);
      if (!r.deduplicated_by_proxy) throw new Error(`expected a proxy-side duplicate, got ${r.status}`);
    }
    return {
      notifyProxyAdded1Client: summary(r1.proxyAdded),
      notifyProxyAdded200Clients: summary(r200.proxyAdded),
      sendVoteRttAccepted: summary(sendRtt),
      sendVoteRttProxyDedup: summary(dedupRtt),
      grpcEchoFloor: floor,
      note: 'one process (devnet, proxy, clients share one event loop); notifyProxyAdded = client receipt minus a plain dcrd websocket subscriber receipt of the same winningtickets',
    };
  } finally {
    for (const c of clients) c.close();
    raw.close();
    await proxy.stop();
    await dn.stop();
    await tls.stop();
  }
}
