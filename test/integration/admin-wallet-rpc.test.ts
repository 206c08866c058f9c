/**
 * The dcrwallet-compatible JSON-RPC endpoint driven the way vspd drives its
 * voting wallets (decred/vspd rpc/dcrwallet.go): over `wss://…/ws` with basic
 * auth, version → getcurrentnet → walletinfo, then per ticket importprivkey →
 * addtransaction → setvotechoice, then ticketinfo. The ticket must land in etcd.
 * Also: agenda choices validated, the gRPC Admin API and the status page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient, type Admin, type AdminEndpoints } from '../../services/admin/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { dialWallet as dialWalletAt, startAdminWorld, startWalletAdmin, type AdminWorld, type WalletConn } from './admin-harness.ts';

// vspd main's minimums (decred/vspd rpc/version.go minimumVersions, checked by checkVersion with
// semverCompatible: same major, minor not lower, patch not lower when the minor is equal). The
// devnet behaves as dcrd 2.1.6 by default, so the endpoint answers as dcrwallet 2.1.6 / API 11.0.0.
const VSPD_MINIMUMS: Record<string, [number, number, number]> = {
  dcrd: [2, 1, 6],
  dcrdjsonrpcapi: [8, 3, 0],
  dcrwallet: [2, 1, 6],
  dcrwalletjsonrpcapi: [11, 0, 0],
};
const SIMNET_NET = 0x12141c16; // decred/dcrd: wire/protocol.go SimNet

let w: AdminWorld;
let admin: Admin;
let ep: AdminEndpoints;
const password = 'vspd-secret-pass';
let certPem: string;

beforeAll(async () => {
  w = await startAdminWorld();
  ({ admin, ep, certPem } = await startWalletAdmin(w, { password }));
});
afterAll(async () => {
  await admin?.stop();
  await w?.stop();
});

/** The wallet endpoint's websocket as vspd dials it. */
const dialWallet = (user: string, pass: string): Promise<WalletConn> => dialWalletAt(ep.walletRpc!.wsUrl, certPem, user, pass);

describe('vspd → votecluster wallet JSON-RPC', () => {
  it('refuses bad credentials on the websocket upgrade and on HTTP POST', async () => {
    await expect(dialWallet('vspd', 'wrong')).rejects.toThrow(/401/);
    const res = await fetch(ep.walletRpc!.url.replace('https', 'http'), { method: 'POST' }).then(
      (r) => r.status,
      () => 'tls-required',
    );
    expect(res).toBe('tls-required');
  });

  it('accepts vspd\'s connect checks and ticket hand-off; the ticket lands in etcd', async () => {
    const c = await dialWallet('vspd', password);
    try {
      const version = await c.call('version');
      expect(version.error).toBeNull();
      const vmap = version.result as Record<string, { major: number; minor: number; patch: number }>;
      for (const [k, [maj, min, pat]] of Object.entries(VSPD_MINIMUMS)) {
        const v = vmap[k];
        expect(v, k).toBeDefined();
        expect(v!.major, k).toBe(maj);
        expect(v!.minor > min || (v!.minor === min && v!.patch >= pat), k).toBe(true);
      }
      expect((await c.call('getcurrentnet')).result).toBe(SIMNET_NET);
      const info = (await c.call('walletinfo')).result as Record<string, unknown>;
      expect(info).toMatchObject({ voting: true, unlocked: true, manualtickets: true, daemonconnected: true, spv: false });

      const t = w.exported[0]!;
      expect((await c.call('importprivkey', t.wif, 'imported', false, 0)).error).toBeNull();
      expect((await c.call('addtransaction', t.blockHash, t.ticketHex)).error).toBeNull();
      expect((await c.call('setvotechoice', 'maxtreasuryspend', 'yes', t.ticketHash)).error).toBeNull();

      const stored = await waitFor(() => w.cluster.tickets.get(t.ticketHash), { timeoutMs: 5_000, message: 'ticket in etcd' });
      expect(stored.record.voteChoices).toEqual({ maxtreasuryspend: 'yes' });
      expect(stored.record.blockHash).toBe(t.blockHash);

      const ti = (await c.call('ticketinfo', 0)).result as Array<{ hash: string; votingaddress: string; choices: Array<{ agendaid: string; choiceid: string }>; status: string }>;
      const mine = ti.find((x) => x.hash === t.ticketHash);
      expect(mine).toMatchObject({ votingaddress: t.votingAddress, choices: [{ agendaid: 'maxtreasuryspend', choiceid: 'yes' }] });

      // vspd's consistency loop re-adds tickets: the same calls again change nothing
      const rev = stored.modRevision;
      expect((await c.call('importprivkey', t.wif, 'imported', false, 0)).error).toBeNull();
      expect((await c.call('addtransaction', t.blockHash, t.ticketHex)).error).toBeNull();
      expect(w.cluster.tickets.get(t.ticketHash)?.modRevision).toBe(rev);
      expect((await c.call('rescanwallet', 0)).error).toBeNull();
    } finally {
      c.close();
    }
  });

  it('refuses a ticket whose key was never imported, unknown agendas and choices, bad WIFs', async () => {
    const c = await dialWallet('vspd', password);
    try {
      const t = w.exported[1]!;
      const add = await c.call('addtransaction', t.blockHash, t.ticketHex);
      expect(add.error?.code).toBe(-5);
      expect(add.error?.message).toContain('ADMIN_KEY_MISMATCH');
      expect(w.cluster.tickets.get(t.ticketHash)).toBeUndefined();

      // dcrwallet's own refusals (wallet/wallet.go SetAgendaChoices; -4 from
      // internal/rpc/jsonrpc/errors.go convertError): vspd deletes a choice on "no agenda with ID".
      const bad = await c.call('setvotechoice', 'nosuchagenda', 'yes', w.exported[0]!.ticketHash);
      expect(bad.error).toEqual({ code: -4, message: 'wallet.SetAgendaChoices: invalid operation: no agenda with ID "nosuchagenda"' });
      const badChoice = await c.call('setvotechoice', 'maxtreasuryspend', 'maybe');
      expect(badChoice.error).toEqual({ code: -4, message: 'wallet.SetAgendaChoices: invalid operation: agenda "maxtreasuryspend" has no choice ID "maybe"' });
      const wif = await c.call('importprivkey', 'PsNotAWif', 'imported', false, 0);
      expect(wif.error?.code).toBe(-5);
      expect((await c.call('nosuchmethod')).error?.code).toBe(-32601);
    } finally {
      c.close();
    }
  });
});

describe('gRPC Admin and the status page', () => {
  it('serves ListTickets/SetVoteChoices over gRPC with codes in metadata', async () => {
    const { startAdminGrpcServer } = await import('../../services/admin/index.ts');
    const srv = await startAdminGrpcServer({ store: w.store, chain: w.chain, params: w.params, log: w.log, recentVotes: 10 }, { host: '127.0.0.1', port: 0 });
    const client = createAdminClient(srv.address) as unknown as Record<string, (req: unknown, cb: (err: { code: number; metadata: { get(k: string): unknown[] } } | null, res: unknown) => void) => void> & { close(): void };
    const call = (m: string, req: unknown) =>
      new Promise<{ err: { code: number; metadata: { get(k: string): unknown[] } } | null; res: unknown }>((resolve) => client[m]!(req, (err, res) => resolve({ err, res })));
    try {
      const list = await call('ListTickets', {});
      expect((list.res as { tickets: Array<{ ticket_hash: string }> }).tickets.map((t) => t.ticket_hash)).toContain(w.exported[0]!.ticketHash);
      const ok = await call('SetVoteChoices', { ticket_hash: '', choices: [{ agenda_id: 'maxtreasuryspend', choice_id: 'no' }] });
      expect(ok.err).toBeNull();
      // dcrd 2.1.6 simnet vote version 12 (chaincfg simnetparams.go Deployments[12]): DCP0013
      // maxtreasuryspend mask 0x0006, "no" = 0x0002, plus bit 0
      expect((ok.res as { vote_bits: number }).vote_bits).toBe(0x0003);
      // blake3pow is an agenda of vote version 11 only: not one the chain votes on now
      const old = await call('SetVoteChoices', { ticket_hash: '', choices: [{ agenda_id: 'blake3pow', choice_id: 'no' }] });
      expect(old.err?.metadata.get('vc-error-code')).toEqual(['ADMIN_UNKNOWN_AGENDA']);
      const bad = await call('SetVoteChoices', { ticket_hash: '', choices: [{ agenda_id: 'nosuch', choice_id: 'no' }] });
      expect(bad.err?.metadata.get('vc-error-code')).toEqual(['ADMIN_UNKNOWN_AGENDA']);
      expect(w.cluster.config.voteDefaults().voteChoices).toEqual({ maxtreasuryspend: 'no' });
    } finally {
      client.close();
      await srv.stop();
    }
  });

  it('serves the status page as HTML and JSON', async () => {
    const { startStatusServer } = await import('../../services/admin/index.ts');
    const s = await startStatusServer({ store: w.store, chain: w.chain, params: w.params, log: w.log }, { host: '127.0.0.1', port: 0, recentVotes: 5 });
    try {
      const json = (await (await fetch(`${s.url}status.json`)).json()) as { network: string; tickets: number; bestBlock: { height: number } };
      expect(json.network).toBe('simnet');
      expect(json.tickets).toBe(w.cluster.tickets.size);
      expect(json.bestBlock.height).toBeGreaterThan(0);
      const html = await (await fetch(s.url)).text();
      expect(html).toContain('<h2>Recent votes</h2>');
    } finally {
      await s.stop();
    }
  });
});

describe('votecluster admin (CLI) and WatchVotes', () => {
  it('runs the admin service from the CLI, streams vote records over gRPC and stops on SIGTERM', async () => {
    const { spawn } = await import('node:child_process');
    const { join } = await import('node:path');
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/votecluster.ts', 'admin', ...w.cliFlags(), '--log-level', 'error'], {
      cwd: join(import.meta.dirname, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const line = await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), { timeoutMs: 20_000, message: 'admin prints its endpoints' });
      const endpoints = JSON.parse(line) as { grpc: string; status: string };
      const json = (await (await fetch(`${endpoints.status}status.json`)).json()) as { tickets: number };
      expect(json.tickets).toBe(w.cluster.tickets.size);

      const client = createAdminClient(endpoints.grpc, { tls: w.operatorTls }) as unknown as { WatchVotes(req: unknown): import('node:events').EventEmitter & { cancel(): void }; close(): void };
      const stream = client.WatchVotes({ replay: true });
      const seen: Array<{ vote: { ticket_hash: string; signer: string } }> = [];
      stream.on('data', (m: { vote: { ticket_hash: string; signer: string } }) => seen.push(m));
      stream.on('error', () => undefined); // cancelled at the end
      const t = w.exported[0]!;
      const tip = await w.proxyClient.getBestBlock();
      await w.cluster.votes.recordVote({
        height: tip.height,
        blockHash: tip.hash,
        ticketHash: t.ticketHash,
        voteTxHex: '00',
        voteTxid: 'cd'.repeat(32),
        signer: 'watch-test',
        choicesRevision: 0,
        voteBits: 1,
        voteVersion: 12,
        treasuryVotes: [],
        createdAt: new Date().toISOString(),
      });
      await waitFor(() => seen.find((m) => m.vote.signer === 'watch-test'), { timeoutMs: 5_000, message: 'vote streamed' });
      stream.cancel();
      client.close();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
