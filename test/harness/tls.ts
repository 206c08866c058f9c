/**
 * Test TLS: a cluster CA in a temp dir with a node proxy server certificate (valid for
 * 127.0.0.1) and a voter client certificate, so a test runs its proxies with mutual TLS
 * as production does (`tls: t.proxy` in the proxy config, `tls: t.clientPem` for a
 * NodeProxy client, `t.proxyFlags` for `votecluster proxy`).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertsDir, ROLE, type TlsFiles } from '../../services/security/index.ts';

/** What {@link startTestTls} made. */
export interface TestTls {
  /** The proxy's files (`--tls-ca/--tls-cert/--tls-key`). */
  readonly proxy: TlsFiles;
  /** The voter's files. */
  readonly client: TlsFiles;
  /** The voter's certificate as PEM, for `createNodeProxyClient(address, { tls })`. */
  readonly clientPem: { caPem: Buffer; certPem: Buffer; keyPem: Buffer };
  /** `votecluster proxy` flags for the proxy's files. */
  readonly proxyFlags: string[];
  /** Removes the directory. */
  stop(): Promise<void>;
}

/** Creates the CA and the two certificates. */
export async function startTestTls(): Promise<TestTls> {
  const dir = await mkdtemp(join(tmpdir(), 'vc-test-tls-'));
  const certs = await createCertsDir(join(dir, 'certs'), [
    { name: 'proxy', commonName: 'proxy-test', role: ROLE.proxy, usage: 'server', sans: ['127.0.0.1'] },
    { name: 'voter', commonName: 'voter-test', role: ROLE.voter, usage: 'client' },
  ]);
  const proxy = certs.files['proxy'] as TlsFiles;
  const client = certs.files['voter'] as TlsFiles;
  return {
    proxy,
    client,
    clientPem: { caPem: await readFile(client.caFile), certPem: await readFile(client.certFile), keyPem: await readFile(client.keyFile) },
    proxyFlags: ['--tls-ca', proxy.caFile, '--tls-cert', proxy.certFile, '--tls-key', proxy.keyFile],
    stop: () => rm(dir, { recursive: true, force: true }),
  };
}
