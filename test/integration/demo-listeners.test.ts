/**
 * Every listener of a running demo (the layout `npm start` runs: three regions, three etcd
 * members, a node proxy per region, the demo's admin service) refuses what it must refuse:
 * - node proxy gRPC: a plaintext caller, a TLS caller without a client certificate;
 * - Admin gRPC: the same, and a read-only certificate cannot mutate (an operator's can);
 * - etcd client port: a plaintext gRPC or HTTP client, a TLS client without a client
 *   certificate, and a cluster certificate without an etcd user and password;
 * - etcd peer port: plaintext, TLS without a client certificate, and a cluster certificate
 *   that is not a member's;
 * - status page and metrics: loopback only.
 * Each refusal has its positive control (the right credentials get through), so the
 * checks cannot pass for a listener that is simply down.
 */
import { readFileSync } from 'node:fs';
import { credentials, Client, Metadata, status, type ChannelCredentials } from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminClient } from '../../services/admin/index.ts';
import { Keyspace } from '../../services/cluster/index.ts';
import { ROLE, type TlsFiles } from '../../services/security/index.ts';
import { etcdHttp, type EtcdHttpTls } from '../../services/sim/devnet/index.ts';
import { startDemoAdmin, type DemoAdmin } from '../../services/sim/layout/demo-admin.ts';
import { startLayout, type Layout } from '../../services/sim/layout/index.ts';

let layout: Layout;
let demo: DemoAdmin;
let operator: TlsFiles;
let monitor: TlsFiles;

beforeAll(async () => {
  layout = await startLayout({ regions: 3, etcdMembers: 3, votersPerRegion: 1, tickets: 40 });
  demo = await startDemoAdmin(layout, layout.log);
  operator = await layout.issueClientTls('listener-operator', ROLE.operator);
  monitor = await layout.issueClientTls('listener-monitor', ROLE.readOnly);
}, 180_000);

afterAll(async () => {
  await demo?.stop();
  await layout?.stop();
});

const pem = (f: TlsFiles): EtcdHttpTls => ({ ca: readFileSync(f.caFile), cert: readFileSync(f.certFile), key: readFileSync(f.keyFile) });
const caOnly = (): ChannelCredentials => credentials.createSsl(readFileSync(layout.caFile));
const withCert = (f: TlsFiles): ChannelCredentials => {
  const p = pem(f);
  return credentials.createSsl(p.ca, p.key, p.cert);
};
const hostPort = (url: string): string => new URL(url).host;

/**
 * One unary call of a method no listener serves: UNIMPLEMENTED means the connection (TLS and
 * all) was accepted; UNAVAILABLE means the listener refused the connection.
 */
async function probe(address: string, creds: ChannelCredentials): Promise<number> {
  const c = new Client(address, creds);
  try {
    return await new Promise<number>((resolve) => {
      c.makeUnaryRequest(
        '/votecluster.probe.v1.Probe/Nothing',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        new Metadata(),
        { deadline: Date.now() + 10_000 },
        (err) => resolve(err?.code ?? status.OK),
      );
    });
  } finally {
    c.close();
  }
}

describe('node proxy gRPC', () => {
  it('refuses plaintext and certificate-less callers; a cluster certificate connects', async () => {
    expect(layout.proxies.length).toBe(3);
    const voterCert = await layout.issueClientTls('listener-voter', ROLE.voter);
    for (const p of layout.proxies) {
      expect(await probe(p.address, credentials.createInsecure()), `${p.region} plaintext`).toBe(status.UNAVAILABLE);
      expect(await probe(p.address, caOnly()), `${p.region} no client certificate`).toBe(status.UNAVAILABLE);
      expect(await probe(p.address, withCert(voterCert)), `${p.region} cluster certificate`).toBe(status.UNIMPLEMENTED);
    }
  });
});

describe('Admin gRPC', () => {
  type Cb = (err: { code: number } | null, res: unknown) => void;
  const call = async (tls: TlsFiles | undefined, method: string, req: unknown): Promise<{ code: number; res: unknown }> => {
    const c = createAdminClient(demo.grpcAddress, tls ? { tls } : {}) as unknown as Record<string, (r: unknown, md: Metadata, o: unknown, cb: Cb) => void> & { close(): void };
    try {
      return await new Promise((resolve) => c[method]!(req, new Metadata(), { deadline: Date.now() + 10_000 }, (err, res) => resolve({ code: err?.code ?? status.OK, res })));
    } finally {
      c.close();
    }
  };
  const mutate = { ticket_hash: '', choices: [{ agenda_id: 'maxtreasuryspend', choice_id: 'abstain' }] };

  it('refuses a plaintext caller and a caller without a client certificate', async () => {
    expect((await call(undefined, 'GetStatus', {})).code).toBe(status.UNAVAILABLE);
    expect(await probe(demo.grpcAddress, caOnly())).toBe(status.UNAVAILABLE);
  });

  it('a read-only certificate reads but cannot mutate; an operator certificate mutates', async () => {
    expect((await call(monitor, 'GetStatus', {})).code).toBe(status.OK);
    expect((await call(monitor, 'SetVoteChoices', mutate)).code).toBe(status.PERMISSION_DENIED);
    expect(layout.admin.config.voteDefaults().voteChoices['maxtreasuryspend']).not.toBe('abstain');
    expect((await call(operator, 'SetVoteChoices', mutate)).code).toBe(status.OK);
  });
});

describe('etcd client port', () => {
  const ks = new Keyspace('simnet');

  it('every member refuses plaintext gRPC and HTTP, and TLS without a client certificate; a cluster certificate connects', async () => {
    const members = layout.etcd.server.members;
    expect(members.length).toBe(3);
    const cert = layout.etcd.server.clientTls?.files.reader as TlsFiles;
    for (const m of members) {
      const addr = hostPort(m.listenClientUrl);
      expect(new URL(m.listenClientUrl).protocol).toBe('https:');
      expect(await probe(addr, credentials.createInsecure()), `${m.name} plaintext gRPC`).toBe(status.UNAVAILABLE);
      expect(await probe(addr, caOnly()), `${m.name} no client certificate`).toBe(status.UNAVAILABLE);
      expect(await probe(addr, withCert(cert)), `${m.name} cluster certificate`).toBe(status.UNIMPLEMENTED);
      // Go's TLS server answers a plaintext HTTP request with 400, never with etcd's answer.
      const plain = await etcdHttp(`http://${addr}/health`).catch(() => undefined);
      expect(plain?.status ?? 0, `${m.name} plaintext /health`).not.toBe(200);
      await expect(etcdHttp(`https://${addr}/health`, { tls: { ca: pem(cert).ca } })).rejects.toThrow();
      expect((await etcdHttp(`https://${addr}/health`, { tls: pem(cert) })).status, `${m.name} /health with a cluster certificate`).toBe(200);
    }
  });

  it('a cluster certificate without an etcd user and password reads nothing; with the reader user it reads', async () => {
    const p = layout.etcd.server.clientTls?.pem.reader as EtcdHttpTls;
    const creds = { rootCertificate: p.ca, certChain: p.cert, privateKey: p.key };
    const anon = new Etcd3({ hosts: layout.etcd.server.endpoints, credentials: creds });
    const reader = new Etcd3(layout.etcd.server.clientOptions('reader'));
    try {
      await expect(anon.get(ks.schemaVersion()).string()).rejects.toThrow(/permission denied|user name not found/);
      await expect(reader.get(ks.schemaVersion()).string()).resolves.toContain('version');
    } finally {
      anon.close();
      reader.close();
    }
  });
});

describe('etcd peer port', () => {
  it('every member refuses plaintext, TLS without a client certificate, and a cluster certificate that is not a member certificate', async () => {
    const server = layout.etcd.server;
    const voterCert = pem(server.clientTls?.files.voter as TlsFiles);
    for (const m of server.members) {
      const addr = hostPort(m.listenPeerUrl);
      expect(new URL(m.listenPeerUrl).protocol).toBe('https:');
      const plain = await etcdHttp(`http://${addr}/version`).catch(() => undefined);
      expect(plain?.status ?? 0, `${m.name} plaintext`).not.toBe(200);
      await expect(etcdHttp(`https://${addr}/version`, { tls: { ca: voterCert.ca } }), `${m.name} no client certificate`).rejects.toThrow();
      await expect(etcdHttp(`https://${addr}/version`, { tls: voterCert }), `${m.name} a voter's certificate`).rejects.toThrow();
      const member = await etcdHttp(`https://${addr}/version`, { tls: pem(m.tls as TlsFiles) });
      expect(member.status, `${m.name} a member certificate`).toBe(200);
    }
  });
});

describe('HTTP surfaces of the demo', () => {
  it('the status page and the metrics endpoint listen on loopback only', () => {
    expect(new URL(demo.statusUrl).hostname).toMatch(/^127\./);
    expect(new URL(demo.metricsUrl).hostname).toMatch(/^127\./);
  });
});
