/**
 * The Admin gRPC API over mutual TLS with the cluster CA: a caller without a
 * client certificate, a plaintext caller and a certificate from another CA are
 * refused; a `read-only` certificate reads but cannot mutate; an `operator`
 * certificate mutates and the audit log names it (CN and fingerprint); a
 * certificate with no role is refused everything (default deny).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Metadata, credentials, status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient, startAdminGrpcServer, ADMIN_METHODS } from '../../services/admin/index.ts';
import { createCertsDir, loadTlsMaterial, ROLE, type CertsDir } from '../../services/security/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { startAdminWorld, type AdminWorld } from './admin-harness.ts';

let w: AdminWorld;
let dir: string;
let certs: CertsDir;
let other: CertsDir;
let srv: Awaited<ReturnType<typeof startAdminGrpcServer>>;
const logLines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  w = await startAdminWorld();
  dir = mkdtempSync(join(tmpdir(), 'vc-admin-mtls-'));
  certs = await createCertsDir(join(dir, 'certs'), [
    { name: 'admin', commonName: 'admin-0', role: ROLE.admin, usage: 'peer', sans: ['127.0.0.1'] },
    { name: 'alice', commonName: 'alice', role: ROLE.operator, usage: 'client' },
    { name: 'monitor', commonName: 'monitor', role: ROLE.readOnly, usage: 'client' },
    { name: 'norole', commonName: 'norole', usage: 'client' },
  ]);
  other = await createCertsDir(join(dir, 'other'), [{ name: 'mallory', commonName: 'mallory', role: ROLE.operator, usage: 'client' }]);
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logLines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const log = createLogger({ service: 'admin', level: 'info', destination: sink });
  srv = await startAdminGrpcServer(
    { store: w.store, chain: w.chain, params: w.params, log, recentVotes: 10 },
    { host: '127.0.0.1', port: 0, tls: certs.files['admin']! },
  );
});

afterAll(async () => {
  await srv?.stop();
  await w?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

type Err = { code: number; metadata: { get(k: string): unknown[] } } | null;
type AnyClient = Record<string, (req: unknown, md: unknown, opts: unknown, cb: (err: Err, res: unknown) => void) => void> & { close(): void };

async function call(client: AnyClient, method: string, req: unknown): Promise<{ err: Err; res: unknown }> {
  try {
    return await new Promise((resolve) => {
      client[method]!(req, new Metadata(), { deadline: Date.now() + 5_000 }, (err, res) => resolve({ err, res }));
    });
  } finally {
    client.close();
  }
}

const clientFor = (name: string): AnyClient => createAdminClient(srv.address, { tls: certs.files[name]! }) as unknown as AnyClient;

const mutate = { ticket_hash: '', choices: [{ agenda_id: 'maxtreasuryspend', choice_id: 'yes' }] };

describe('Admin gRPC over mutual TLS', () => {
  it('every method of the service is in the access table', () => {
    const proto = readFileSync(join(import.meta.dirname, '..', '..', 'proto', 'votecluster', 'v1', 'admin.proto'), 'utf8');
    const rpcs = [...proto.matchAll(/^\s*rpc (\w+)\(/gm)].map((m) => m[1]);
    expect(rpcs.sort()).toEqual(Object.keys(ADMIN_METHODS).sort());
  });

  it('refuses a plaintext caller', async () => {
    const { Client } = await import('@grpc/grpc-js');
    const plain = createAdminClient(srv.address) as unknown as AnyClient;
    expect(plain).toBeInstanceOf(Client);
    const r = await call(plain, 'ListTickets', {});
    expect(r.err?.code).toBe(status.UNAVAILABLE);
  });

  it('refuses a caller without a client certificate', async () => {
    const { loadVoteclusterProto } = await import('../../services/nodeproxy/index.ts');
    const { Client: Ctor } = loadVoteclusterProto(['votecluster/v1/admin.proto']).service('votecluster.v1.Admin');
    const c = new Ctor(srv.address, credentials.createSsl(readFileSync(certs.caFile))) as unknown as AnyClient;
    const r = await call(c, 'ListTickets', {});
    expect(r.err?.code).toBe(status.UNAVAILABLE);
  });

  it('refuses a certificate from another CA', async () => {
    const { loadVoteclusterProto } = await import('../../services/nodeproxy/index.ts');
    const { Client: Ctor } = loadVoteclusterProto(['votecluster/v1/admin.proto']).service('votecluster.v1.Admin');
    const m = other.files['mallory']!;
    const c = new Ctor(srv.address, credentials.createSsl(readFileSync(certs.caFile), readFileSync(m.keyFile), readFileSync(m.certFile))) as unknown as AnyClient;
    const r = await call(c, 'SetVoteChoices', mutate);
    expect(r.err?.code).toBe(status.UNAVAILABLE);
    expect(w.cluster.config.voteDefaults().voteChoices['maxtreasuryspend']).not.toBe('yes');
  });

  it('a read-only certificate reads but cannot mutate', async () => {
    const st = await call(clientFor('monitor'), 'GetStatus', {});
    expect(st.err).toBeNull();
    expect((st.res as { network: string }).network).toBe('simnet');
    expect((await call(clientFor('monitor'), 'ListTickets', {})).err).toBeNull();
    const r = await call(clientFor('monitor'), 'SetVoteChoices', mutate);
    expect(r.err?.code).toBe(status.PERMISSION_DENIED);
    expect(r.err?.metadata.get('vc-error-code')).toEqual(['ADMIN_PERMISSION_DENIED']);
    const removed = await call(clientFor('monitor'), 'RemoveTicket', { ticket_hash: w.exported[0]!.ticketHash });
    expect(removed.err?.code).toBe(status.PERMISSION_DENIED);
    expect(w.cluster.config.voteDefaults().voteChoices['maxtreasuryspend']).not.toBe('yes');
  });

  it('a certificate without a role is refused even reads (default deny)', async () => {
    const r = await call(clientFor('norole'), 'GetStatus', {});
    expect(r.err?.code).toBe(status.PERMISSION_DENIED);
  });

  it('an operator certificate mutates, and the audit log names the caller', async () => {
    const r = await call(clientFor('alice'), 'SetVoteChoices', mutate);
    expect(r.err).toBeNull();
    expect(w.cluster.config.voteDefaults().voteChoices['maxtreasuryspend']).toBe('yes');
    const alice = loadTlsMaterial(certs.files['alice']!).identity;
    const audit = logLines.filter((l) => l['audit'] === true && l['rpc'] === 'SetVoteChoices');
    expect(audit).toContainEqual(expect.objectContaining({ outcome: 'ok', caller: { commonName: 'alice', role: 'operator', fingerprint: alice.fingerprint } }));
    // The refused read-only attempt is audited too.
    expect(audit).toContainEqual(expect.objectContaining({ outcome: 'ADMIN_PERMISSION_DENIED', caller: expect.objectContaining({ commonName: 'monitor' }) }));
  });
});
