/**
 * Untrusted input at the admin: the gRPC Admin API and the dcrwallet-compatible
 * JSON-RPC endpoint, each fed generated requests over real sockets (real etcd, devnet
 * and node proxy behind them). Every request gets a typed answer: a gRPC status the API
 * documents (never INTERNAL or UNKNOWN, which mean "our bug"), a JSON-RPC error with a
 * code, or a result; the services keep answering well-formed requests afterwards.
 */
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient, type Admin, type AdminEndpoints } from '../../services/admin/index.ts';
import { startAdminWorld, startWalletAdmin, type AdminWorld } from '../integration/admin-harness.ts';
import { fuzzRuns, fuzzSeed } from './fuzz-runs.ts';

const METHODS = ['ImportTicket', 'RemoveTicket', 'SetVoteChoices', 'SetTreasuryPolicy', 'SetTSpendPolicy', 'ListTickets', 'GetStakeInfo', 'GetStatus'] as const;
/** Statuses the Admin API answers for a client's request (grpc-server.ts STATUS_BY_CODE) or success. */
const TYPED = new Set([GrpcStatus.OK, GrpcStatus.INVALID_ARGUMENT, GrpcStatus.NOT_FOUND, GrpcStatus.ALREADY_EXISTS, GrpcStatus.FAILED_PRECONDITION, GrpcStatus.UNAVAILABLE]);

let w: AdminWorld;
let admin: Admin;
let ep: AdminEndpoints;
let raw: Client;
let typed: Client & Record<string, unknown>;
let certPem: string;
const password = 'fuzz-wallet-pass';

beforeAll(async () => {
  w = await startAdminWorld();
  ({ admin, ep, certPem } = await startWalletAdmin(w, {
    password,
    // Mutual TLS, as in production: the fuzzer calls as an operator (every method allowed), so
    // what it reaches is the request handling, not the access check.
    config: { tls: w.adminTls, grpc: { enabled: true, listen: '127.0.0.1:0' }, status: { enabled: false } },
  }));
  const op = w.operatorTls;
  raw = new Client(ep.grpc!, credentials.createSsl(readFileSync(op.caFile), readFileSync(op.keyFile), readFileSync(op.certFile)));
  typed = createAdminClient(ep.grpc!, { tls: op });
});

afterAll(async () => {
  raw?.close();
  typed?.close();
  await admin?.stop();
  await w?.stop();
});

/** Calls `method` with `bytes` as the request message, unencoded. */
function callRaw(method: string, bytes: Uint8Array): Promise<number> {
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      `/votecluster.v1.Admin/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.from(bytes),
      new Metadata(),
      { deadline: Date.now() + 10_000 },
      (err: ServiceError | null) => resolve(err ? err.code : GrpcStatus.OK),
    );
  });
}

function callTyped(method: string, req: unknown): Promise<{ code: number; details: string }> {
  return new Promise((resolve) => {
    (typed[method] as (r: unknown, o: unknown, cb: (e: ServiceError | null) => void) => void)(req, { deadline: Date.now() + 10_000 }, (e) =>
      resolve(e ? { code: e.code, details: e.details } : { code: GrpcStatus.OK, details: '' }),
    );
  });
}

const hashish = fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')), fc.string({ maxLength: 80 }), fc.constant(''));
const word = fc.oneof(fc.constantFrom('yes', 'no', 'abstain', 'invalid', '', 'maxtreasuryspend', 'blake3pow', 'changesubsidysplitr2'), fc.string({ maxLength: 40 }));
const requestFor: Record<(typeof METHODS)[number], fc.Arbitrary<unknown>> = {
  ImportTicket: fc.record({ ticket_hash: hashish, wif: fc.string({ maxLength: 80 }), raw_ticket: fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)), block_hash: hashish }),
  RemoveTicket: fc.record({ ticket_hash: hashish }),
  SetVoteChoices: fc.record({ ticket_hash: hashish, choices: fc.array(fc.record({ agenda_id: word, choice_id: word }), { maxLength: 6 }) }),
  SetTreasuryPolicy: fc.record({ key: fc.oneof(hashish, fc.uint8Array({ minLength: 33, maxLength: 33 }).map((b) => Buffer.from(b).toString('hex'))), policy: word, ticket_hash: hashish }),
  SetTSpendPolicy: fc.record({ tspend_hash: hashish, policy: word, ticket_hash: hashish }),
  ListTickets: fc.constant({}),
  GetStakeInfo: fc.constant({}),
  GetStatus: fc.constant({}),
};

describe('Admin gRPC API under generated requests', () => {
  it('answers bytes that are not a protobuf message with INVALID_ARGUMENT, never INTERNAL', async () => {
    // 0x0a 0xff ...: field 1, length-delimited, with a length far past the end.
    const truncated = Uint8Array.from([0x0a, 0xff, 0xff, 0x03, 0x41]);
    for (const m of METHODS) expect(await callRaw(m, truncated), m).toBe(GrpcStatus.INVALID_ARGUMENT);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS), fc.uint8Array({ minLength: 1, maxLength: 300 }), async (m, bytes) => {
        const code = await callRaw(m, bytes);
        expect(TYPED.has(code), `${m} answered status ${code}`).toBe(true);
      }),
      { numRuns: fuzzRuns(150), seed: fuzzSeed() },
    );
  });

  it('answers every generated request with a typed status, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS).chain((m) => requestFor[m].map((req) => [m, req] as const)), async ([m, req]) => {
        const r = await callTyped(m, req);
        expect(TYPED.has(r.code), `${m} answered status ${r.code}: ${r.details}`).toBe(true);
      }),
      { numRuns: fuzzRuns(150), seed: fuzzSeed() },
    );
    expect((await callTyped('ListTickets', {})).code).toBe(GrpcStatus.OK);
  });
});

/** One HTTP POST to the wallet endpoint with basic auth; resolves to status and parsed body (or raw text). */
function post(body: string | Buffer, auth = true): Promise<{ status: number; body: unknown }> {
  const u = new URL(ep.walletRpc!.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', ca: certPem, headers: auth ? { authorization: `Basic ${Buffer.from(`vspd:${password}`).toString('base64')}` } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: left as text for the assertion
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const WALLET_METHODS = ['version', 'getcurrentnet', 'walletinfo', 'getbestblock', 'importprivkey', 'addtransaction', 'setvotechoice', 'getvotechoices', 'ticketinfo', 'settreasurypolicy', 'settspendpolicy', 'treasurypolicy', 'tspendpolicy', 'getstakeinfo', 'nosuchmethod'];

describe('wallet JSON-RPC endpoint under generated requests', () => {
  it('answers every request body with a JSON-RPC response (an error with a code, or a result)', async () => {
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc.record({ jsonrpc: fc.constant('1.0'), id: fc.oneof(fc.integer(), fc.string({ maxLength: 10 }), fc.constant(null)), method: fc.oneof(fc.constantFrom(...WALLET_METHODS), fc.string({ maxLength: 20 })), params: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 6 }), fc.jsonValue({ maxDepth: 1 })) }).map((r) => JSON.stringify(r)),
    );
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const r = await post(text);
        expect(r.status, `HTTP status for ${text.slice(0, 120)}`).toBeLessThan(500);
        const one = (Array.isArray(r.body) ? r.body : [r.body]) as Array<{ error?: { code?: unknown } | null; result?: unknown }>;
        for (const m of one) {
          expect(typeof m, `response to ${text.slice(0, 120)}`).toBe('object');
          if (m.error) expect(typeof m.error.code).toBe('number');
          else expect('result' in m).toBe(true);
        }
      }),
      { numRuns: fuzzRuns(200), seed: fuzzSeed() },
    );
    const v = await post(JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'getcurrentnet', params: [] }));
    expect((v.body as { error: unknown }).error).toBeNull();
  });

  it('refuses an unauthenticated request without reading it', async () => {
    const r = await post(JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'version', params: [] }), false);
    expect(r.status).toBe(401);
  });
});
