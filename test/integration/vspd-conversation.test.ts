/**
 * An unmodified vspd's conversation with its voting wallets, replayed against
 * `votecluster admin` (the real CLI process) beside a devnet behaving as dcrd
 * 2.0.6 and as dcrd 2.1.6, with two voters; the tickets vspd hands over must be
 * voted with exactly the bits vspd set, as the mined votes show.
 *
 * The conversation is vspd's own (decred/vspd at release-v1.3.2, release-v1.4.0
 * and main):
 * - connect (rpc/dcrwallet.go WalletConnect.Clients): `version` checked with
 *   semverCompatible against requiredWalletVersion (1.3.2: 9.0.0; 1.4.0: 11.0.0)
 *   or, on main, rpc/version.go checkVersions/minimumVersions (dcrd 2.1.6,
 *   dcrdjsonrpcapi 8.3, dcrwallet 2.1.6, dcrwalletjsonrpcapi 11.0), then
 *   `getcurrentnet` and `walletinfo` (voting, unlocked, manualtickets);
 * - add a ticket (rpc/dcrwallet.go AddTicketForVoting): `importprivkey [wif,
 *   "imported", false, 0]` then `addtransaction [blockhash, txhex]`;
 * - its choices and policies (webapi/setvotechoices.go): one `setvotechoice
 *   [agenda, choice, ticket]` per agenda, `settspendpolicy`, `settreasurypolicy`;
 * - the consistency check (internal/vspd/walletconsistency.go): `ticketinfo
 *   [oldest purchase height]`, every ticket present with its choices;
 * - the status page (webapi/admin.go walletStatus): `walletinfo`, `getblockcount`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient } from '../../services/admin/index.ts';
import { SIMNET, toHex } from '../../services/decred/index.ts';
import { createSelfSignedServerCertificate } from '../../services/security/index.ts';
import type { DevnetNode, ExportedTicket } from '../../services/sim/devnet/index.ts';
import type { Voter } from '../../services/voter/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { httpCall } from './devnet-rpc-client.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';
import { dialWallet } from './admin-harness.ts';

type Semver = [number, number, number];

/** decred/vspd rpc/version.go (main) and rpc/semver.go (release-v1.3.2, release-v1.4.0) semverCompatible. */
function semverCompatible(required: Semver, actual: { major: number; minor: number; patch: number }): boolean {
  if (required[0] !== actual.major) return false;
  if (required[1] > actual.minor) return false;
  if (required[1] === actual.minor && required[2] > actual.patch) return false;
  return true;
}

/** The vspd releases and what each checks in `version`. */
const VSPD_CHECKS: Record<string, Record<string, Semver>> = {
  // rpc/dcrwallet.go requiredWalletVersion
  'vspd release-v1.3.2': { dcrwalletjsonrpcapi: [9, 0, 0] },
  'vspd release-v1.4.0': { dcrwalletjsonrpcapi: [11, 0, 0] },
  // rpc/version.go minimumVersions
  'vspd main': { dcrd: [2, 1, 6], dcrdjsonrpcapi: [8, 3, 0], dcrwallet: [2, 1, 6], dcrwalletjsonrpcapi: [11, 0, 0] },
};

const GENERATIONS = [
  {
    dcrd: '2.0.6' as const,
    // dcrwallet release-v2.0.6: wallet/wallet.go voteVersion (simnet 11); internal/rpc/jsonrpc/methods.go jsonrpcSemver 9.2.0
    voteVersion: 11,
    walletApi: [9, 2, 0] as Semver,
    serves: ['vspd release-v1.3.2'],
    refusedBy: ['vspd release-v1.4.0', 'vspd main'],
  },
  {
    dcrd: '2.1.6' as const,
    // dcrwallet release-v2.1.x: voteVersion simnet 12; jsonrpcSemver 11.0.0
    voteVersion: 12,
    walletApi: [11, 0, 0] as Semver,
    serves: ['vspd release-v1.4.0', 'vspd main'],
    refusedBy: ['vspd release-v1.3.2'],
  },
];

const VSPD_TICKETS = 6;
const PASSWORD = 'vspd-wallet-pass';

const dial = dialWallet;

/** The agendas of a vote version as the devnet (dcrd) answers getvoteinfo. */
interface Agenda {
  id: string;
  mask: number;
  choices: Array<{ id: string; bits: number }>;
}

/** dcrwallet's vote bits for a set of choices (wallet/wallet.go SetAgendaChoices: clear the mask, OR the bits; bit 0 set). */
function expectedBits(agendas: Agenda[], choices: Record<string, string>): number {
  let bits = 0x0001;
  for (const a of agendas) {
    const c = a.choices.find((x) => x.id === choices[a.id]);
    if (c) bits = (bits & ~a.mask) | c.bits;
  }
  return bits;
}

/** The votes mined in a block: ticket → (bits, version), from getblock's stake transactions. */
async function minedVotes(node: DevnetNode, blockHash: string): Promise<Map<string, { bits: number; version: number }>> {
  const r = await httpCall(node.rpcUrl, node.rpcUser, node.rpcPass, 'getblock', [blockHash, true, true]);
  const stx = (r.result as { stx: Array<{ vin: Array<{ txid: string }>; vout: Array<{ scriptPubKey: { hex: string } }> }> }).stx;
  const out = new Map<string, { bits: number; version: number }>();
  for (const t of stx) {
    const s = t.vout[1]?.scriptPubKey.hex ?? '';
    // A vote's second output: 6a06 <u16 LE vote bits> <u32 LE vote version> (dcrwallet createUnsignedVote).
    if (t.vin.length !== 2 || !s.startsWith('6a06') || s.length !== 16) continue;
    const b = Buffer.from(s.slice(4), 'hex');
    out.set(t.vin[1]!.txid, { bits: b.readUInt16LE(0), version: b.readUInt32LE(2) });
  }
  return out;
}

describe.each(GENERATIONS)('vspd → votecluster admin behind dcrd $dcrd', (gen) => {
  let world: VoterWorld;
  let dir: string;
  let child: ChildProcess;
  let endpoints: { grpc: string; walletRpc: { url: string; wsUrl: string } };
  let ca: string;
  let vspdTickets: ExportedTicket[];
  let agendas: Agenda[];
  const voters: Voter[] = [];
  const wanted = new Map<string, Record<string, string>>();

  beforeAll(async () => {
    const probe = await startVoterWorld({ devnet: { tickets: 16, dcrdVersion: gen.dcrd }, skipImport: () => true });
    world = probe;
    // Not among the tip's winners: a ticket handed over while its draw is open is voted at once,
    // before vspd's setvotechoice calls that follow addtransaction (dcrwallet would not vote it at all).
    const open = new Set(world.devnet.nodeReport(0).tickets.filter((t) => t.outcome === 'pending').map((t) => t.ticketHash));
    vspdTickets = world.devnet.exportTickets().filter((t) => !open.has(t.ticketHash)).slice(0, VSPD_TICKETS);
    const vspdSet = new Set(vspdTickets.map((t) => t.ticketHash));
    // Every other ticket is the cluster's already (so every block gets its votes).
    for (const t of world.devnet.exportTickets()) if (!vspdSet.has(t.ticketHash)) wanted.set(t.ticketHash, {});
    await importOthers();

    dir = await mkdtemp(join(tmpdir(), 'vc-vspd-'));
    const pems = await createSelfSignedServerCertificate({ commonName: '127.0.0.1', sans: ['127.0.0.1'] });
    ca = pems.certPem;
    await writeFile(join(dir, 'cert.pem'), pems.certPem);
    await writeFile(join(dir, 'key.pem'), pems.keyPem, { mode: 0o600 });
    await writeFile(join(dir, 'pass'), PASSWORD, { mode: 0o600 });
    await writeFile(join(dir, 'cluster.key'), Buffer.from(world.clusterKey.expose()).toString('hex'), { mode: 0o600 });
    child = spawn(process.execPath, [
      '--import', 'tsx', 'bin/votecluster.ts', 'admin',
      ...world.etcd.cliFlags('admin'), '--network', 'simnet', '--cluster-key-file', join(dir, 'cluster.key'),
      '--proxy', world.proxyAddresses[0]!,
      '--tls-ca', world.adminTls.caFile, '--tls-cert', world.adminTls.certFile, '--tls-key', world.adminTls.keyFile,
      '--wallet-rpc', '--wallet-listen', '127.0.0.1:0', '--wallet-user', 'vspd', '--wallet-pass-file', join(dir, 'pass'),
      '--wallet-tls-cert', join(dir, 'cert.pem'), '--wallet-tls-key', join(dir, 'key.pem'),
      '--log-level', 'error',
    ], { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const line = await waitFor(() => out.split('\n').find((l) => l.startsWith('{')), { timeoutMs: 30_000, message: `admin prints its endpoints (stderr: ${err})` });
    endpoints = JSON.parse(line) as typeof endpoints;

    for (const id of ['v1', 'v2']) {
      const v = world.makeVoter(id, 'a');
      await v.start();
      voters.push(v);
    }
    const vi = await httpCall(world.devnet.nodes[0]!.rpcUrl, world.devnet.nodes[0]!.rpcUser, world.devnet.nodes[0]!.rpcPass, 'getvoteinfo', [gen.voteVersion]);
    agendas = (vi.result as { agendas: Agenda[] }).agendas;
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    await world?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function importOthers(): Promise<void> {
    const vspdSet = new Set(vspdTickets.map((t) => t.ticketHash));
    // importTickets() skips everything (skipImport); import the non-vspd ones through the cluster.
    const { decodeWif } = await import('../../services/decred/index.ts');
    const { SecretKey } = await import('../../services/telemetry/index.ts');
    for (const t of world.devnet.exportTickets()) {
      if (vspdSet.has(t.ticketHash) || world.admin.tickets.get(t.ticketHash)) continue;
      const key = new SecretKey(decodeWif(t.wif, SIMNET).privKey);
      await world.admin.tickets.importTicket({ ticketHash: t.ticketHash, ticketHex: t.ticketHex, votingKey: key });
      key.wipe();
    }
  }

  it('refuses a wrong password with 401 and a Basic challenge, as dcrwallet does (internal/rpc/jsonrpc/server.go jsonAuthFail)', async () => {
    const e = await dial(endpoints.walletRpc.wsUrl, ca, 'vspd', 'wrong').then(() => undefined, (x: Error & { headers?: Record<string, string> }) => x);
    expect(e?.message).toBe('HTTP 401');
    expect(e?.headers?.['www-authenticate']).toMatch(/^Basic realm=/);
  });

  it(`passes the version checks of the vspd releases for dcrd ${gen.dcrd} and fails the others`, async () => {
    const c = await dial(endpoints.walletRpc.wsUrl, ca, 'vspd', PASSWORD);
    try {
      const v = (await c.call('version')).result as Record<string, { major: number; minor: number; patch: number }>;
      // dcrwallet passes its dcrd's own entries through (methods.go (*Server).version): the devnet's.
      const dcrd = (await httpCall(world.devnet.nodes[0]!.rpcUrl, world.devnet.nodes[0]!.rpcUser, world.devnet.nodes[0]!.rpcPass, 'version')).result as Record<string, unknown>;
      expect(v['dcrd']).toEqual(dcrd['dcrd']);
      expect(v['dcrdjsonrpcapi']).toEqual(dcrd['dcrdjsonrpcapi']);
      expect([v['dcrwalletjsonrpcapi']!.major, v['dcrwalletjsonrpcapi']!.minor, v['dcrwalletjsonrpcapi']!.patch]).toEqual(gen.walletApi);
      expect(`${v['dcrwallet']!.major}.${v['dcrwallet']!.minor}.${v['dcrwallet']!.patch}`).toBe(gen.dcrd);
      const passes = (name: string) => Object.entries(VSPD_CHECKS[name]!).every(([k, min]) => v[k] !== undefined && semverCompatible(min, v[k]!));
      for (const name of gen.serves) expect(passes(name), name).toBe(true);
      for (const name of gen.refusedBy) expect(passes(name), name).toBe(false);
      expect((await c.call('getcurrentnet')).result).toBe(SIMNET.net);
      const info = (await c.call('walletinfo')).result as Record<string, unknown>;
      expect(info).toMatchObject({ voting: true, unlocked: true, manualtickets: true, spv: false, voteversion: gen.voteVersion });
      // dcrwallet's votebitsextended is its vote version as a little-endian uint32 in hex (wallet/wallet.go
      // VoteBits, internal/rpc/jsonrpc/methods.go walletInfo): a dcrwallet 2.0.6 on simnet answers "0b000000".
      const le = new DataView(new ArrayBuffer(4));
      le.setUint32(0, gen.voteVersion, true);
      expect(info['votebitsextended']).toBe(Buffer.from(le.buffer).toString('hex'));
    } finally {
      c.close();
    }
  });

  it('hands tickets over with choices and policies; the consistency check finds them twice; each is voted with exactly its bits', async () => {
    const c = await dial(endpoints.walletRpc.wsUrl, ca, 'vspd', PASSWORD);
    try {
      expect(agendas.length).toBeGreaterThan(0);
      for (const [i, t] of vspdTickets.entries()) {
        expect((await c.call('importprivkey', t.wif, 'imported', false, 0)).error).toBeNull();
        expect((await c.call('addtransaction', t.blockHash, t.ticketHex)).error).toBeNull();
        const choices: Record<string, string> = {};
        // Ticket 0 keeps the defaults (abstain everywhere); the others get a mix.
        if (i > 0) {
          for (const [j, a] of agendas.entries()) {
            const choice = a.choices[(i + j) % a.choices.length]!.id;
            choices[a.id] = choice;
            expect((await c.call('setvotechoice', a.id, choice, t.ticketHash)).error).toBeNull();
          }
        }
        const tspend = toHex(Buffer.alloc(32, i + 1));
        expect((await c.call('settspendpolicy', tspend, 'yes', t.ticketHash)).error).toBeNull();
        expect((await c.call('settreasurypolicy', toHex(SIMNET.piKeys[0]!), 'no', t.ticketHash)).error).toBeNull();
        wanted.set(t.ticketHash, choices);
      }
      // One change through the gRPC Admin API afterwards: the last change wins.
      const last = vspdTickets[VSPD_TICKETS - 1]!;
      const a0 = agendas[0]!;
      const admin = createAdminClient(endpoints.grpc, { tls: world.operatorTls }) as unknown as { SetVoteChoices(req: unknown, cb: (err: Error | null) => void): void; close(): void };
      const yes = a0.choices.find((x) => x.id === 'yes')!.id;
      await new Promise<void>((resolve, reject) => admin.SetVoteChoices({ ticket_hash: last.ticketHash, choices: [{ agenda_id: a0.id, choice_id: yes }] }, (err) => (err ? reject(err) : resolve())));
      admin.close();
      wanted.get(last.ticketHash)![a0.id] = yes;

      const oldest = Math.min(...vspdTickets.map((t) => t.blockHeight));
      const check = async (): Promise<void> => {
        const r = await c.call('ticketinfo', oldest);
        expect(r.error).toBeNull();
        const byHash = new Map((r.result as Array<{ hash: string; blockhash: string; blockheight: number; status: string; choices: Array<{ agendaid: string; choiceid: string }> }>).map((x) => [x.hash, x]));
        for (const t of vspdTickets) {
          const info = byHash.get(t.ticketHash);
          expect(info, t.ticketHash).toBeDefined();
          // Mined tickets carry the block that holds them (vspd's consistency check reads them).
          expect(info!.blockhash).toBe(t.blockHash);
          expect(info!.blockheight).toBe(t.blockHeight);
          for (const [agendaid, choiceid] of Object.entries(wanted.get(t.ticketHash)!)) expect(info!.choices).toContainEqual({ agendaid, choiceid });
        }
      };
      await check();
      await check();

      // Mine until every handed-over ticket was drawn and its vote mined.
      const node = world.devnet.nodes[0]!;
      const mined = new Map<string, { bits: number; version: number }>();
      const vspdSet = new Set(vspdTickets.map((t) => t.ticketHash));
      for (let b = 0; b < 80 && mined.size < VSPD_TICKETS; b++) {
        await importOthers();
        await waitFor(() => world.devnet.nodeReport(0).tickets
          .filter((t) => t.outcome === 'pending' && !t.sideChain && (vspdSet.has(t.ticketHash) || world.admin.tickets.get(t.ticketHash)))
          .every((t) => t.firstVoteAt !== undefined), { timeoutMs: 20_000, message: 'a vote for every managed draw of the tip' });
        const [hash] = await world.devnet.generate(1);
        for (const [ticket, v] of await minedVotes(node, hash!)) if (vspdSet.has(ticket)) mined.set(ticket, v);
      }
      for (const t of vspdTickets) {
        const got = mined.get(t.ticketHash);
        expect(got, `ticket ${t.ticketHash} voted`).toBeDefined();
        expect(got).toEqual({ bits: expectedBits(agendas, wanted.get(t.ticketHash)!), version: gen.voteVersion });
      }
      // The chain counts them as votes of this version: dcrd's getvoteinfo totalvotes counts every vote
      // of the version in the rule change interval (rpcserver.go handleGetVoteInfo, CountVoteVersion).
      // Choices are not tallied on simnet: chaincfg/simnetparams.go forces "yes" on every agenda
      // (ForcedChoiceID), so dcrd reports them active and counts choices only for started agendas; a real
      // dcrd 2.0.6 simnet answers the same. The bits of each mined vote are checked above.
      const vi = (await httpCall(node.rpcUrl, node.rpcUser, node.rpcPass, 'getvoteinfo', [gen.voteVersion])).result as {
        totalvotes: number; agendas: Array<{ id: string; status: string; choices: Array<{ id: string; count: number }> }>;
      };
      expect(vi.totalvotes).toBeGreaterThanOrEqual(VSPD_TICKETS);
      for (const a of vi.agendas) {
        expect(a.status, a.id).toBe('active');
        for (const ch of a.choices) expect(ch.count, `${a.id}/${ch.id}`).toBe(0);
      }

      // vspd's status page (webapi/admin.go): walletinfo and getblockcount.
      expect((await c.call('walletinfo')).error).toBeNull();
      const height = (await c.call('getblockcount')).result as number;
      expect(height).toBe((await httpCall(node.rpcUrl, node.rpcUser, node.rpcPass, 'getblockcount')).result);
    } finally {
      c.close();
    }
  }, 300_000);
});
