/**
 * Concurrent choice and policy changes through the admin's real endpoints:
 * the dcrwallet-compatible JSON-RPC endpoint (websocket, basic auth, TLS, the
 * way vspd calls it, decred/vspd rpc/dcrwallet.go SetVoteChoice) and the gRPC
 * Admin API, both at once, on one ticket and on the defaults. Every change
 * must be in etcd afterwards (read from etcd, not from a cache): vspd sends one
 * `setvotechoice` per agenda, and none may overwrite another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAdminClient,
  currentAgendas,
  startAdminGrpcServer,
  type Admin,
  type AdminEndpoints,
  type AdminGrpcServer,
  type AgendaSet,
} from '../../services/admin/index.ts';
import { SecretKey } from '../../services/telemetry/index.ts';
import { dialWallet as dialWalletAt, startAdminWorld, startWalletAdmin, type AdminWorld, type WalletConn } from './admin-harness.ts';

const N = 50;
const CONNECTIONS = 5;
const password = 'vspd-secret-pass';
const hex64 = (i: number): string => (0xab00 + i).toString(16).padStart(64, '0');
const piKey = (i: number): string => `03${(0xcd00 + i).toString(16).padStart(64, '0')}`;

type GrpcErr = { code: number; message: string } | null;

let w: AdminWorld;
let admin: Admin;
let ep: AdminEndpoints;
let certPem: string;
let grpc: AdminGrpcServer;
let grpcClient: Record<string, (req: unknown, cb: (err: GrpcErr, res: unknown) => void) => void> & { close(): void };
let agendas: AgendaSet;

beforeAll(async () => {
  w = await startAdminWorld();
  ({ admin, ep, certPem } = await startWalletAdmin(w, { password }));
  // Mutual TLS as in production: the admin's certificate, an operator calling.
  grpc = await startAdminGrpcServer({ store: w.store, chain: w.chain, params: w.params, log: w.log, recentVotes: 10 }, { host: '127.0.0.1', port: 0, tls: w.adminTls });
  grpcClient = createAdminClient(grpc.address, { tls: w.operatorTls }) as unknown as typeof grpcClient;
  agendas = await currentAgendas({ chain: w.chain, params: w.params, store: w.store, log: w.log });
  for (const t of w.exported.slice(0, 2)) {
    await w.store.importTicket({
      ticketHash: t.ticketHash,
      rawTicket: Uint8Array.from(Buffer.from(t.ticketHex, 'hex')),
      votingAddress: t.votingAddress,
      price: 0n,
      privKey: new SecretKey(new Uint8Array(32).fill(1)),
    });
  }
});
afterAll(async () => {
  grpcClient?.close();
  await grpc?.stop();
  await admin?.stop();
  await w?.stop();
});

const dialWallet = (): Promise<WalletConn> => dialWalletAt(ep.walletRpc!.wsUrl, certPem, 'vspd', password);

function grpcCall(method: string, req: unknown): Promise<{ err: GrpcErr; res: unknown }> {
  return new Promise((resolve) => grpcClient[method]!(req, (err, res) => resolve({ err, res })));
}

/**
 * The N changes of one run: every agenda once (through either API, a choice that is not
 * abstain, so it shows in the stored choices), the rest tspend and treasury policies with
 * distinct keys. Even-numbered changes go through the wallet JSON-RPC, odd through gRPC.
 */
function plan(ticketHash: string) {
  const choices: Record<string, string> = {};
  const tspend: Record<string, string> = {};
  const treasury: Record<string, string> = {};
  const ops: Array<(conn: WalletConn) => Promise<string | null>> = [];
  for (let i = 0; i < N; i++) {
    const viaWallet = i % 2 === 0;
    const agenda = agendas.agendas[i];
    if (agenda) {
      const choice = (agenda.choices.find((c) => !c.isAbstain && !c.isNo) ?? agenda.choices.find((c) => !c.isAbstain))!.id;
      choices[agenda.id] = choice;
      ops.push(async (conn) =>
        viaWallet
          ? ((await conn.call('setvotechoice', agenda.id, choice, ticketHash)).error?.message ?? null)
          : ((await grpcCall('SetVoteChoices', { ticket_hash: ticketHash, choices: [{ agenda_id: agenda.id, choice_id: choice }] })).err?.message ?? null),
      );
    } else if (i % 3 === 0) {
      const policy = i % 4 === 0 ? 'yes' : 'no';
      treasury[piKey(i)] = policy;
      ops.push(async (conn) =>
        viaWallet
          ? ((await conn.call('settreasurypolicy', piKey(i), policy, ticketHash)).error?.message ?? null)
          : ((await grpcCall('SetTreasuryPolicy', { key: piKey(i), policy, ticket_hash: ticketHash })).err?.message ?? null),
      );
    } else {
      const policy = i % 4 === 1 ? 'no' : 'yes';
      tspend[hex64(i)] = policy;
      ops.push(async (conn) =>
        viaWallet
          ? ((await conn.call('settspendpolicy', hex64(i), policy, ticketHash)).error?.message ?? null)
          : ((await grpcCall('SetTSpendPolicy', { tspend_hash: hex64(i), policy, ticket_hash: ticketHash })).err?.message ?? null),
      );
    }
  }
  return { choices, tspend, treasury, ops };
}

async function runConcurrently(ops: Array<(conn: WalletConn) => Promise<string | null>>): Promise<Array<string | null>> {
  const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => dialWallet()));
  try {
    return await Promise.all(ops.map((op, i) => op(conns[i % CONNECTIONS]!)));
  } finally {
    for (const c of conns) c.close();
  }
}

describe(`${N} concurrent changes through the wallet JSON-RPC and the gRPC Admin API`, () => {
  it('on one ticket: every agenda choice and every policy is in etcd', async () => {
    expect(agendas.agendas.length).toBeGreaterThan(0);
    const t = w.exported[0]!.ticketHash;
    const p = plan(t);
    expect(await runConcurrently(p.ops)).toEqual(Array.from({ length: N }, () => null));
    const raw = await w.cluster.client.get(w.cluster.keyspace.ticket(t)).string();
    const rec = JSON.parse(raw ?? 'null') as { voteChoices: unknown; tspendPolicy: unknown; treasuryPolicy: unknown; revision: number };
    expect(rec.voteChoices).toEqual(p.choices);
    expect(rec.tspendPolicy).toEqual(p.tspend);
    expect(rec.treasuryPolicy).toEqual(p.treasury);
    expect(rec.revision).toBe(1 + N);
  });

  it('on the defaults: every agenda choice and every policy is in etcd', async () => {
    const p = plan('');
    // The wallet API takes no ticket hash for a default; gRPC takes the empty string.
    const ops = p.ops;
    expect(await runConcurrently(ops)).toEqual(Array.from({ length: N }, () => null));
    const raw = await w.cluster.client.get(w.cluster.keyspace.config('vote-defaults')).string();
    const d = JSON.parse(raw ?? 'null') as { voteChoices: unknown; tspendPolicy: unknown; treasuryPolicy: unknown };
    expect(d.voteChoices).toEqual(p.choices);
    expect(d.tspendPolicy).toEqual(p.tspend);
    expect(d.treasuryPolicy).toEqual(p.treasury);
  });

  it('vspd\'s sequence for one ticket (one setvotechoice per agenda, not awaited one by one) lands whole', async () => {
    const t = w.exported[1]!.ticketHash;
    const conn = await dialWallet();
    try {
      const want: Record<string, string> = {};
      const replies = await Promise.all(
        agendas.agendas.map((a) => {
          const choice = a.choices.find((c) => c.isNo)?.id ?? a.choices[0]!.id;
          want[a.id] = choice;
          return conn.call('setvotechoice', a.id, choice, t);
        }),
      );
      expect(replies.map((r) => r.error)).toEqual(agendas.agendas.map(() => null));
      const raw = await w.cluster.client.get(w.cluster.keyspace.ticket(t)).string();
      expect((JSON.parse(raw ?? 'null') as { voteChoices: unknown }).voteChoices).toEqual(want);
      const got = (await conn.call('getvotechoices', t)).result as { choices: Array<{ agendaid: string; choiceid: string }> };
      for (const [agendaid, choiceid] of Object.entries(want)) expect(got.choices).toContainEqual(expect.objectContaining({ agendaid, choiceid }));
    } finally {
      conn.close();
    }
  });
});
