/**
 * Ticket intake against real etcd, a real devnet and a real node proxy:
 * the CLI imports a devnet export file, lists it, re-imports idempotently,
 * and bad imports are refused with clear errors while nothing else changes.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importExportEntries, importTicket, parseExportFile, type IntakeDeps } from '../../services/admin/index.ts';
import { decodeWif, encodeWif, TESTNET3, SIMNET } from '../../services/decred/index.ts';
import { runCli, startAdminWorld, type AdminWorld } from './admin-harness.ts';

const cli = runCli;

let w: AdminWorld;
let deps: IntakeDeps;

beforeAll(async () => {
  w = await startAdminWorld();
  deps = { store: w.store, chain: w.chain, params: w.params, log: w.log };
});
afterAll(() => w?.stop());

async function storedHashes(): Promise<string[]> {
  return (await w.store.listTickets()).map((t) => t.ticketHash).sort();
}

describe('ticket import from a devnet export file (CLI)', () => {
  it('imports every ticket, lists them, and a second import changes nothing', async () => {
    const first = await cli(['ticket', 'import', '--file', w.exportFile, '--json', ...w.cliFlags()]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const outcomes = JSON.parse(first.stdout) as Array<{ ok: boolean; created: boolean; ticketHash: string; chainStatus: string }>;
    expect(outcomes).toHaveLength(w.exported.length);
    expect(outcomes.filter((o) => !(o.ok && o.created && ['live', 'immature'].includes(o.chainStatus)))).toEqual([]);
    // the devnet exports its live tickets and the immature ones still maturing
    const liveAtImport = new Set(outcomes.filter((o) => o.chainStatus === 'live').map((o) => o.ticketHash));
    expect(liveAtImport.size).toBe(16);
    // the WIFs never reach the output
    for (const t of w.exported) expect(first.stdout + first.stderr).not.toContain(t.wif);

    await expect.poll(storedHashes).toEqual(w.exported.map((t) => t.ticketHash).sort());
    const revisionsBefore = w.cluster.tickets.list().map((c) => c.modRevision);

    const list = await cli(['ticket', 'list', '--json', ...w.cliFlags()]);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Array<{ ticketHash: string; status: string; votingAddress: string; blockHeight: number }>;
    expect(listed.map((t) => t.ticketHash).sort()).toEqual(w.exported.map((t) => t.ticketHash).sort());
    for (const t of listed) {
      const e = w.exported.find((x) => x.ticketHash === t.ticketHash)!;
      expect(t.votingAddress).toBe(e.votingAddress);
      expect(t.blockHeight).toBe(e.blockHeight);
      expect(t.status).toBe(liveAtImport.has(t.ticketHash) ? 'live' : 'immature');
    }

    const again = await importExportEntries(deps, parseExportFile(await readFile(w.exportFile, 'utf8')));
    expect(again.filter((o) => !(o.ok && !o.created))).toEqual([]);
    expect(w.cluster.tickets.list().map((c) => c.modRevision)).toEqual(revisionsBefore);
  });

  it('exits 2 listing every bad flag', async () => {
    const r = await cli(['ticket', 'import', '--etcd', 'not-a-url', '--network', 'moon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--etcd');
    expect(r.stderr).toContain('--network');
    expect(r.stderr).toContain('--cluster-key-file');
    expect(r.stderr).toContain('one of --file or --ticket is required');
  });
});

describe('bad imports are refused with clear errors and affect nothing', () => {
  // Each case uses the world's tickets; run after the CLI import so the store is populated.
  it('a WIF of another network names both networks', async () => {
    const before = await storedHashes();
    const t = w.exported[0]!;
    const testnetWif = encodeWif(decodeWif(t.wif, SIMNET).privKey, TESTNET3);
    await expect(importTicket(deps, { ticketHash: t.ticketHash, wif: testnetWif, rawTicket: Buffer.from(t.ticketHex, 'hex') })).rejects.toMatchObject({
      code: 'ADMIN_WRONG_NETWORK',
      message: expect.stringMatching(/testnet3.*simnet/),
    });
    expect(await storedHashes()).toEqual(before);
  });

  it('a key that does not control the ticket names both addresses', async () => {
    await w.cluster.tickets.removeTicket(w.exported[1]!.ticketHash);
    await expect.poll(() => w.cluster.tickets.get(w.exported[1]!.ticketHash)).toBeUndefined();
    const before = await storedHashes();
    const [a, b] = [w.exported[1]!, w.exported[2]!];
    const err = await importTicket(deps, { ticketHash: a.ticketHash, wif: b.wif, rawTicket: Buffer.from(a.ticketHex, 'hex') }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('ADMIN_KEY_MISMATCH');
    expect(err?.message).toContain(a.votingAddress);
    expect(err?.message).toContain(b.votingAddress);
    expect(err?.message).not.toContain(b.wif);
    expect(await storedHashes()).toEqual(before);
  });

  it('corrupt ticket hex is not a ticket', async () => {
    const before = await storedHashes();
    const t = w.exported[1]!;
    const truncated = Buffer.from(t.ticketHex, 'hex').subarray(0, 40);
    await expect(importTicket(deps, { wif: t.wif, rawTicket: truncated })).rejects.toMatchObject({ code: 'ADMIN_NOT_A_TICKET' });
    // the same bytes with the voting output's script turned into a non-ticket script: decodes, different hash
    const raw = Buffer.from(t.ticketHex, 'hex');
    const notTicket = Buffer.from(raw);
    const at = notTicket.indexOf(Buffer.from([0xba, 0x76, 0xa9, 0x14])); // OP_SSTX OP_DUP OP_HASH160 OP_DATA_20
    expect(at).toBeGreaterThan(0);
    notTicket[at] = 0x76;
    notTicket[at + 1] = 0x76;
    await expect(importTicket(deps, { wif: t.wif, rawTicket: notTicket })).rejects.toMatchObject({ code: 'ADMIN_NOT_A_TICKET' });
    await expect(importTicket(deps, { ticketHash: t.ticketHash, wif: t.wif, rawTicket: notTicket })).rejects.toMatchObject({
      code: 'ADMIN_TICKET_HASH_MISMATCH',
    });
    // the witness is outside the tx hash: altered witness bytes are caught against the chain's copy
    const witness = Buffer.from(raw);
    witness[witness.length - 1] = (witness[witness.length - 1] as number) ^ 0xff;
    await expect(importTicket(deps, { ticketHash: t.ticketHash, wif: t.wif, rawTicket: witness })).rejects.toMatchObject({
      code: 'ADMIN_TICKET_BYTES_MISMATCH',
    });
    expect(await storedHashes()).toEqual(before);
  });

  it('an unknown ticket is refused through the proxy', async () => {
    const before = await storedHashes();
    await expect(importTicket(deps, { ticketHash: 'ab'.repeat(32), wif: w.exported[1]!.wif })).rejects.toMatchObject({
      code: 'ADMIN_TICKET_NOT_FOUND',
      message: expect.not.stringContaining(w.exported[1]!.wif),
    });
    expect(await storedHashes()).toEqual(before);
  });

  it('an export file with refused entries: batched write, one outcome per entry in order, the others unaffected', async () => {
    const [gone, wrongNet, badHex, mismatch, other, known] = [w.exported[3]!, w.exported[4]!, w.exported[5]!, w.exported[6]!, w.exported[7]!, w.exported[8]!];
    await w.cluster.tickets.removeTicket(gone.ticketHash);
    await expect.poll(() => w.cluster.tickets.get(gone.ticketHash)).toBeUndefined();
    const revisionOfKnown = w.cluster.tickets.get(known.ticketHash)!.modRevision;
    const entries = parseExportFile(JSON.stringify([
      known,
      { ...wrongNet, network: 'testnet3' },
      { ...badHex, ticketHex: 'zz' },
      { ...mismatch, wif: other.wif },
      gone,
      { ...badHex, ticketHex: badHex.ticketHex.slice(0, 80) },
    ]));
    const outcomes = await importExportEntries(deps, entries);
    expect(outcomes.map((o) => (o.ok ? `ok:${o.created}` : o.code))).toEqual([
      'ok:false', 'ADMIN_WRONG_NETWORK', 'ADMIN_NOT_A_TICKET', 'ADMIN_KEY_MISMATCH', 'ok:true', 'ADMIN_NOT_A_TICKET',
    ]);
    expect(outcomes.map((o) => o.ticketHash)).toEqual(entries.map((e) => e.ticketHash));
    expect(JSON.stringify(outcomes, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))).not.toContain(other.wif);
    await expect.poll(() => w.cluster.tickets.get(gone.ticketHash)?.record.ticketHash).toBe(gone.ticketHash);
    expect(w.cluster.tickets.get(known.ticketHash)!.modRevision).toBe(revisionOfKnown);
    for (const t of [wrongNet, badHex, mismatch]) expect(w.cluster.tickets.get(t.ticketHash)).toBeDefined(); // imported earlier, untouched
  });

  it('the same ticket fetched through the proxy imports fine afterwards', async () => {
    const t = w.exported[1]!;
    const wifFile = join(w.dir, 'one.wif');
    await writeFile(wifFile, `${t.wif}\n`, { mode: 0o600 });
    const r = await cli(['ticket', 'import', '--ticket', t.ticketHash, '--wif-file', wifFile, '--block-height', String(t.blockHeight), ...w.cliFlags()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`imported ${t.ticketHash}`);
    await expect.poll(storedHashes).toEqual(w.exported.map((x) => x.ticketHash).sort());
  });
});
