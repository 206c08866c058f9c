/**
 * The etcd client's certificates that follow their files: every connection path of etcd3
 * (each host's service clients and the log-in) is given the one set of credentials built on the
 * certificate reloader, so a new connection presents the current certificate. This pins the
 * etcd3 internals that are replaced (etcd-client.ts `useChannelCredentials`); the behaviour
 * against a real etcd is test/integration/etcd-cert-rotation.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { ClusterConfigError, createEtcdClient, followEtcdTls, loadEtcdAccess } from '../../../services/cluster/index.ts';
import { createCertsDir, grpcChannelCredentials, type CertsDir, type TlsFiles } from '../../../services/security/index.ts';

let dir: string;
let certs: CertsDir;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vc-etcd-client-'));
  certs = await createCertsDir(dir, [{ name: 'voter', commonName: 'etcd-client-voter', role: 'etcd-client', usage: 'client' }]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface PoolView {
  hosts: Array<{ channelCredentials: ChannelCredentials }>;
  authenticator: { credentials: ChannelCredentials };
}
const poolOf = (c: Etcd3): PoolView => (c as unknown as { pool: PoolView }).pool;
const endpoints = ['https://127.0.0.1:2379', 'https://127.0.0.2:2379'];

it('every host and the log-in use credentials on the reloader, when the TLS files are followed', async () => {
  const files = certs.files['voter'] as TlsFiles;
  const access = await loadEtcdAccess({ caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile });
  const tls = followEtcdTls(access);
  if (!tls) throw new Error('a client certificate is configured: followed');
  const client = createEtcdClient({ endpoints, access, tls });
  try {
    const pool = poolOf(client);
    const creds = pool.authenticator.credentials;
    expect(pool.hosts).toHaveLength(2);
    for (const h of pool.hosts) expect(h.channelCredentials).toBe(creds);
    expect(creds._equals(grpcChannelCredentials(tls))).toBe(true);

    // Read once at start (the static form the one-shot commands use): not the reloader's.
    const fixed = createEtcdClient({ endpoints, access });
    try {
      expect(poolOf(fixed).authenticator.credentials._equals(grpcChannelCredentials(tls))).toBe(false);
    } finally {
      fixed.close();
    }
  } finally {
    client.close();
    tls.close();
  }
});

it('no client certificate: nothing to follow; files that do not check out: a config error naming the file', async () => {
  const files = certs.files['voter'] as TlsFiles;
  expect(followEtcdTls(await loadEtcdAccess({ caFile: files.caFile }))).toBeUndefined();
  // The CA's key given as the certificate's.
  const access = await loadEtcdAccess({ caFile: files.caFile, certFile: files.certFile, keyFile: certs.caKeyFile });
  expect(() => followEtcdTls(access)).toThrow(ClusterConfigError);
  expect(() => followEtcdTls(access)).toThrow(/etcd client TLS: TLS key file .*ca\.key does not match the certificate/);
});
