/**
 * Untrusted input at the voter: a NodeProxy that streams proto-valid but hostile
 * WatchChain events (wrong hash lengths, non-hex, short headers, huge ticket lists,
 * negative subsidies, unknown enums, heights past 2^31). A real grpc-js server with the
 * real proto streams them to the real client and the voter's ChainWatch. Every event
 * either reaches the voter well-formed or is skipped; nothing throws out of the stream
 * handler, and the stream keeps delivering the well-formed events that follow.
 */
import { Server, type ServerWritableStream } from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeProxyClient, loadVoteclusterProto, NODEPROXY_PROTO_FILES, NODEPROXY_SERVICE, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { grpcServerCredentials, TlsReloader } from '../../services/security/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { ChainWatch } from '../../services/voter/chain-watch.ts';
import type { ChainEvent } from '../../services/voter/chain-event.ts';
import { startTestTls } from '../harness/tls.ts';
import { waitFor } from '../harness/wait-for.ts';
import { fuzzRuns, fuzzSeed } from './fuzz-runs.ts';

type Wire = Record<string, unknown>;

const hex = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => Buffer.from(b).toString('hex'));
const hashLike = fc.oneof(hex(32), hex(31), hex(33), fc.string({ maxLength: 70 }), fc.constant(''), hex(32).map((h) => h.toUpperCase()), hex(32).map((h) => `${h.slice(0, 63)}g`));
const heightLike = fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.constant(0xffffffff), fc.constant(0x80000000));
const headerLike = fc.oneof(fc.uint8Array({ minLength: 180, maxLength: 180 }), fc.uint8Array({ maxLength: 400 }));
const ticketsLike = fc.oneof(fc.array(hex(32), { minLength: 5, maxLength: 5 }), fc.array(hashLike, { maxLength: 8 }), fc.array(hex(32), { minLength: 6, maxLength: 2000 }));

/** One proto-valid WatchChainResponse (the fields the proto allows; values hostile). */
const eventArb: fc.Arbitrary<Wire> = fc.oneof(
  fc.record({ hash: hashLike, height: heightLike, header: headerLike, prev_hash: hashLike }).map((b) => ({ block_connected: b })),
  fc.record({ hash: hashLike, height: heightLike, header: headerLike, prev_hash: hashLike }).map((b) => ({ block_disconnected: b })),
  fc.record({
    block_hash: hashLike,
    height: heightLike,
    header: headerLike,
    tickets: ticketsLike,
    vote_subsidy: fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: 0n, max: 10n ** 10n })).map(String),
    subsidy_split: fc.constantFrom('SUBSIDY_SPLIT_ORIGINAL', 'SUBSIDY_SPLIT_DCP0010', 'SUBSIDY_SPLIT_DCP0012', 'SUBSIDY_SPLIT_UNSPECIFIED'),
    vote_version: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(0xffffffff)),
    stake_version: fc.integer({ min: 0, max: 0xffffffff }),
    network: fc.constantFrom('simnet', 'mainnet', '', 'x'.repeat(300)),
    trace: fc.option(fc.record({ traceparent: fc.string({ maxLength: 80 }) }), { nil: null }),
  }).map((w) => ({ winning_tickets: w })),
  fc.record({ raw_tx: fc.uint8Array({ maxLength: 600 }), hash: hashLike, expiry: fc.integer({ min: 0, max: 0xffffffff }) }).map((t) => ({ tspend: t })),
);

/** A well-formed draw the voter must receive after any amount of garbage. */
function goodDraw(height: number): Wire {
  const h = (b: number) => Buffer.alloc(32, b).toString('hex');
  return {
    winning_tickets: {
      block_hash: h(height % 256), height, header: Buffer.alloc(180, 1), tickets: [1, 2, 3, 4, 5].map((i) => h((height + i) % 256)),
      vote_subsidy: '123456', subsidy_split: 'SUBSIDY_SPLIT_DCP0012', vote_version: 11, stake_version: 11, network: 'simnet', trace: null,
    },
  };
}

let server: Server;
let address: string;
let client: NodeProxyClient;
let stream: ServerWritableStream<Wire, Wire> | undefined;
let seq = 0;
const received: ChainEvent[] = [];
const tspends: unknown[] = [];

function send(ev: Wire): void {
  seq += 1;
  stream!.write({ seq: String(seq), epoch: 'fuzz', proxy_receive_time_ms: String(Date.now()), ...ev });
}

/** The malicious proxy serves mutual TLS with a proxy certificate of the voter's CA, as a real one would. */
const tls = await startTestTls();
const serverTls = new TlsReloader(tls.proxy);
afterAll(async () => {
  serverTls.close();
  await tls.stop();
});

beforeAll(async () => {
  const proto = loadVoteclusterProto(NODEPROXY_PROTO_FILES);
  server = new Server();
  server.addService(proto.service(NODEPROXY_SERVICE).definition, {
    WatchChain(call: ServerWritableStream<Wire, Wire>) {
      stream = call;
      call.write({ seq: '0', epoch: 'fuzz', stream_start: { resume_status: 'RESUME_STATUS_LIVE', first_seq: '1', network: 'simnet', best_block: null } });
    },
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpcServerCredentials(serverTls), (e, p) => (e ? reject(e) : resolve(p))));
  address = `127.0.0.1:${port}`;
  client = createNodeProxyClient(address, { clientId: 'fuzz', tls: tls.clientPem });
  const watch = new ChainWatch(
    [{ address, client }],
    { onEvent: (ev) => received.push(ev), onStreamStart: () => {}, onStreamDown: () => {}, onTSpend: (t) => tspends.push(t) },
    { retryBaseMs: 20, retryMaxMs: 200, log: createLogger({ service: 'fuzz', level: 'silent' }) },
  );
  watch.start();
  await waitFor(() => stream !== undefined, { message: 'voter opened its WatchChain stream' });
});

afterAll(async () => {
  client?.close();
  await new Promise<void>((resolve) => server?.tryShutdown(() => resolve()));
});

describe('hostile WatchChain events at the voter', () => {
  it('skips every malformed event, delivers only well-formed ones, and keeps the stream alive', async () => {
    let marker = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(eventArb, { minLength: 1, maxLength: 8 }), async (events) => {
        for (const ev of events) send(ev);
        marker += 1;
        const height = 10_000_000 + marker;
        send(goodDraw(height));
        await waitFor(() => received.some((e) => e.kind === 'winning-tickets' && e.height === height), { timeoutMs: 5_000, message: `well-formed draw ${height} after the garbage` });
      }),
      { numRuns: fuzzRuns(60), seed: fuzzSeed() },
    );
    expect(marker).toBeGreaterThan(0);
    for (const e of received) {
      expect(e.blockHashHex).toMatch(/^[0-9a-f]{64}$/);
      expect(Number.isSafeInteger(e.height) && e.height >= 0).toBe(true);
      if (e.kind === 'winning-tickets') {
        // TicketsPerBlock is 5 on every Decred network (dcrd chaincfg: mainnetparams.go, testnetparams.go,
        // simnetparams.go, regnetparams.go `TicketsPerBlock: 5`).
        expect(e.ticketsHex.length).toBeLessThanOrEqual(5);
        for (const t of e.ticketsHex) expect(t).toMatch(/^[0-9a-f]{64}$/);
        expect(e.voteSubsidy >= 0n).toBe(true);
      }
    }
  });
});
