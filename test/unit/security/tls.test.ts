/**
 * The cluster CA and mutual TLS over real gRPC sockets on loopback: only a
 * client with a certificate from the cluster CA gets in (no plaintext, no
 * client certificate, no other CA), the client checks the server's SANs,
 * and certificates rotated on disk are taken without a restart.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { Server, ServerCredentials, credentials, makeGenericClientConstructor, status, type ChannelCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateExistsError,
  CertificateRequestError,
  createCertificateAuthority,
  createCertsDir,
  grpcCallerIdentity,
  grpcChannelCredentials,
  grpcServerCredentials,
  issueCertificate,
  issueInto,
  loadTlsMaterial,
  ROLE,
  TlsMaterialError,
  TlsReloader,
  writePemPair,
  type CertsDir,
} from '../../../services/security/index.ts';

const echo: ServiceDefinition = {
  whoami: {
    path: '/test.Echo/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Buffer) => v,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (v: Buffer) => v,
    responseDeserialize: (b: Buffer) => b,
  },
};
const EchoClient = makeGenericClientConstructor(echo, 'Echo');

let dir: string;
let certs: CertsDir;
let other: CertsDir;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vc-security-'));
  certs = await createCertsDir(join(dir, 'cluster'), [
    { name: 'proxy', commonName: 'proxy-0', role: ROLE.proxy, usage: 'server', sans: ['127.0.0.1', 'localhost'] },
    { name: 'voter', commonName: 'voter-0', role: ROLE.voter, usage: 'client' },
    { name: 'wrong-san', commonName: 'proxy-x', role: ROLE.proxy, usage: 'server', sans: ['proxy.example'] },
  ]);
  other = await createCertsDir(join(dir, 'other'), [{ name: 'voter', commonName: 'intruder', role: ROLE.operator, usage: 'client' }]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function startServer(tls: TlsReloader): Promise<{ server: Server; port: number }> {
  const server = new Server();
  server.addService(echo, {
    whoami: (call: Parameters<typeof grpcCallerIdentity>[0], cb: (e: null, v: Buffer) => void) => {
      const id = grpcCallerIdentity(call);
      cb(null, Buffer.from(JSON.stringify(id)));
    },
  });
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpcServerCredentials(tls), (e, p) => (e ? rej(e) : res(p))));
  return { server, port };
}

function call(port: number, creds: ChannelCredentials, host = '127.0.0.1'): Promise<{ commonName: string; role: string; fingerprint: string }> {
  // A fresh subchannel per call: a refused attempt must not leave a shared one in backoff.
  const client = new EchoClient(`${host}:${port}`, creds, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise((res, rej) => {
    client.makeUnaryRequest('/test.Echo/WhoAmI', (v: Buffer) => v, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err, v) => {
      client.close();
      if (err) rej(err);
      else res(JSON.parse((v as Buffer).toString()));
    });
  });
}

describe('certificates', () => {
  it('issues ECDSA P-256 certificates with the role as OU and the SANs the operator named', () => {
    const x = new X509Certificate(readFileSync(certs.files['proxy']!.certFile));
    expect(x.subject).toContain('CN=proxy-0');
    expect(x.subject).toContain('OU=proxy');
    expect(x.subjectAltName?.split(', ').sort()).toEqual(['DNS:localhost', 'IP Address:127.0.0.1']);
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x.ca).toBe(false);
    expect(x.checkIssued(new X509Certificate(readFileSync(certs.caFile)))).toBe(true);
    expect(new X509Certificate(readFileSync(certs.caFile)).ca).toBe(true);
  });

  it('writes keys with mode 0600 and refuses to overwrite without force', async () => {
    expect(statSync(certs.files['voter']!.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(certs.caKeyFile).mode & 0o777).toBe(0o600);
    const pair = await issueCertificate(certs.ca, { commonName: 'x', usage: 'client' });
    expect(() => writePemPair(certs.dir, 'voter', pair)).toThrow(CertificateExistsError);
    expect(readFileSync(certs.files['voter']!.certFile, 'utf8')).not.toBe(pair.certPem);
  });

  it('refuses bad requests with a typed error', async () => {
    await expect(issueCertificate(certs.ca, { commonName: 'p', usage: 'server' })).rejects.toBeInstanceOf(CertificateRequestError);
    await expect(issueCertificate(certs.ca, { commonName: 'p', usage: 'server', sans: ['not a name!'] })).rejects.toBeInstanceOf(CertificateRequestError);
    await expect(issueCertificate(certs.ca, { commonName: 'p', usage: 'client', role: 'Operator' })).rejects.toBeInstanceOf(CertificateRequestError);
  });

  it('loadTlsMaterial refuses a key readable by others, a mismatched key and a certificate from another CA', () => {
    const f = certs.files['voter']!;
    const loose = join(dir, 'loose.key');
    writeFileSync(loose, readFileSync(f.keyFile), { mode: 0o644 });
    expect(() => loadTlsMaterial({ ...f, keyFile: loose })).toThrow(/chmod 600/);
    expect(() => loadTlsMaterial({ ...f, keyFile: certs.files['proxy']!.keyFile })).toThrow(/does not match/);
    expect(() => loadTlsMaterial({ ...other.files['voter']!, caFile: certs.caFile })).toThrow(/not issued by a CA/);
    try {
      loadTlsMaterial({ ...f, certFile: join(dir, 'absent.crt') });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TlsMaterialError);
      expect((err as TlsMaterialError).file).toBe(join(dir, 'absent.crt'));
    }
  });
});

describe('mutual TLS on gRPC', () => {
  let serverTls: TlsReloader;
  let clientTls: TlsReloader;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    serverTls = new TlsReloader(certs.files['proxy']!, { intervalMs: 3_600_000 });
    clientTls = new TlsReloader(certs.files['voter']!, { intervalMs: 3_600_000 });
    ({ server, port } = await startServer(serverTls));
  });
  afterAll(async () => {
    serverTls.close();
    clientTls.close();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
  });

  it('a client with a certificate from the cluster CA gets in, and the server sees who it is', async () => {
    const id = await call(port, grpcChannelCredentials(clientTls));
    expect(id.commonName).toBe('voter-0');
    expect(id.role).toBe('voter');
    expect(id.fingerprint).toBe(clientTls.current.identity.fingerprint);
  });

  it('a plaintext client is refused', async () => {
    await expect(call(port, credentials.createInsecure())).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });

  it('a TLS client without a client certificate is refused', async () => {
    await expect(call(port, credentials.createSsl(readFileSync(certs.caFile)))).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });

  it('a client certificate from another CA is refused', async () => {
    const f = other.files['voter']!;
    const creds = credentials.createSsl(readFileSync(certs.caFile), readFileSync(f.keyFile), readFileSync(f.certFile));
    await expect(call(port, creds)).rejects.toMatchObject({ code: status.UNAVAILABLE });
  });

  it('the client refuses a server whose certificate does not name the dialled address', async () => {
    const tls = new TlsReloader(certs.files['wrong-san']!, { intervalMs: 3_600_000 });
    const s = await startServer(tls);
    try {
      await expect(call(s.port, grpcChannelCredentials(clientTls))).rejects.toMatchObject({ code: status.UNAVAILABLE });
      // Naming the SAN the certificate carries makes it acceptable.
      await expect(call(s.port, grpcChannelCredentials(clientTls, { serverName: 'proxy.example' }))).resolves.toMatchObject({ commonName: 'voter-0' });
    } finally {
      tls.close();
      await new Promise<void>((r) => s.server.tryShutdown(() => r()));
    }
  });
});

describe('rotation on disk', () => {
  let rot: CertsDir;
  let serverTls: TlsReloader;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    rot = await createCertsDir(join(dir, 'rot'), [{ name: 'server', commonName: 'proxy-r', role: ROLE.proxy, usage: 'server', sans: ['127.0.0.1'] }]);
    serverTls = new TlsReloader(rot.files['server']!, { intervalMs: 3_600_000 });
    ({ server, port } = await startServer(serverTls));
  });
  afterAll(async () => {
    serverTls.close();
    await new Promise<void>((r) => server.tryShutdown(() => r()));
  });

  function servedFingerprint(): Promise<string> {
    return new Promise((res, rej) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca: readFileSync(rot.caFile), ALPNProtocols: ['h2'], rejectUnauthorized: false, servername: '' }, () => {
        const fp = s.getPeerX509Certificate()?.fingerprint256 ?? '';
        s.destroy();
        res(`sha256:${fp.replace(/:/g, '').toLowerCase()}`);
      });
      s.on('error', rej);
    });
  }

  it('a new server certificate on disk is served to new connections without a restart', async () => {
    const before = await servedFingerprint();
    expect(before).toBe(serverTls.current.identity.fingerprint);
    await issueInto(rot, { name: 'server', commonName: 'proxy-r', role: ROLE.proxy, usage: 'server', sans: ['127.0.0.1'] }, { force: true });
    expect(serverTls.check()).toBe(true);
    const after = await servedFingerprint();
    expect(after).not.toBe(before);
    expect(after).toBe(serverTls.current.identity.fingerprint);
  });

  it('a CA bundle extended on disk admits the new CA\'s clients without a restart', async () => {
    const f = other.files['voter']!;
    const creds = credentials.createSsl(readFileSync(rot.caFile), readFileSync(f.keyFile), readFileSync(f.certFile));
    await expect(call(port, creds)).rejects.toMatchObject({ code: status.UNAVAILABLE });
    // Concatenated without a newline between them, as a careless `cat` of trimmed files would.
    writeFileSync(rot.caFile, readFileSync(rot.caFile, 'utf8').trim() + readFileSync(other.caFile, 'utf8').trim());
    expect(serverTls.check()).toBe(true);
    await expect(call(port, creds)).resolves.toMatchObject({ commonName: 'intruder' });
  });

  it('a half-written rotation is ignored and the last good certificate stays in use', async () => {
    const good = serverTls.current.identity.fingerprint;
    const pair = await issueCertificate(rot.ca, { commonName: 'proxy-r', usage: 'server', sans: ['127.0.0.1'] });
    writeFileSync(rot.files['server']!.certFile, pair.certPem); // new certificate, old key: does not match
    expect(serverTls.check()).toBe(false);
    expect(await servedFingerprint()).toBe(good);
    writeFileSync(rot.files['server']!.keyFile, pair.keyPem, { mode: 0o600 });
    expect(serverTls.check()).toBe(true);
    expect(await servedFingerprint()).not.toBe(good);
  });

  it('the reloader picks the change up on its own timer', async () => {
    const tls = new TlsReloader(rot.files['server']!, { intervalMs: 20 });
    try {
      const seen = new Promise<string>((r) => tls.onChange((m) => r(m.identity.fingerprint)));
      const files = await issueInto(rot, { name: 'server', commonName: 'proxy-r', usage: 'server', sans: ['127.0.0.1'] }, { force: true });
      const fp = await seen;
      expect(fp).toBe(loadTlsMaterial(files).identity.fingerprint);
    } finally {
      tls.close();
    }
  });

  it('a CA made separately is usable as the cluster CA', async () => {
    const ca = await createCertificateAuthority({ commonName: 'ops CA', validDays: 30 });
    expect(new X509Certificate(ca.certPem).subject).toContain('CN=ops CA');
  });
});
