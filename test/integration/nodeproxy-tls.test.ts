/**
 * TLS on both sides: the proxy dials a wss:// devnet trusting its rpc.cert
 * (as operators pass dcrd's rpc.cert), and serves gRPC with mTLS: a client
 * with a certificate signed by the configured client CA gets in, one without
 * does not.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createCertsDir, ROLE, type CertsDir } from '../../services/security/index.ts';
import { createNodeProxy, createNodeProxyClient, ProxyTransportError, type NodeProxy } from '../../services/nodeproxy/index.ts';

let dn: Devnet;
let dir: string;
let proxy: NodeProxy;
let address: string;
let certs: CertsDir;
const pem = (f: string): string => readFileSync(f, 'utf8');

beforeAll(async () => {
  dn = await startDevnet({ nodes: 1, tickets: 64, tls: true, blockInterval: { mode: 'manual' } });
  dir = mkdtempSync(join(tmpdir(), 'vc-proxy-tls-'));
  certs = await createCertsDir(join(dir, 'certs'), [
    { name: 'proxy', commonName: 'proxy-0', role: ROLE.proxy, usage: 'server', sans: ['127.0.0.1', 'localhost'] },
    { name: 'voter', commonName: 'voter-0', role: ROLE.voter, usage: 'client' },
  ]);
  const f = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text, { mode: 0o600 });
    return p;
  };
  const node = dn.nodes[0]!;
  expect(node.wsUrl.startsWith('wss://')).toBe(true);
  proxy = createNodeProxy({
    network: 'simnet',
    dcrd: { url: node.wsUrl, user: node.rpcUser, pass: node.rpcPass, caFile: f('rpc.cert', node.certPem as string) },
    listen: '127.0.0.1:0',
    tls: certs.files['proxy']!,
  });
  ({ address } = await proxy.start());
});

afterAll(async () => {
  await proxy?.stop();
  await dn?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('nodeproxy TLS', () => {
  it('talks wss to dcrd with its CA and serves mTLS clients only', async () => {
    const ok = createNodeProxyClient(address, { tls: { caPem: pem(certs.caFile), certPem: pem(certs.files['voter']!.certFile), keyPem: pem(certs.files['voter']!.keyFile) } });
    const st = await ok.getStatus();
    expect(st.dcrd_state).toBe('ready');
    expect(st.best_block?.height).toBeGreaterThan(0);
    ok.close();

    const noCert = createNodeProxyClient(address, { tls: { caPem: pem(certs.caFile) } });
    await expect(noCert.getStatus({ deadlineMs: 3_000 })).rejects.toBeInstanceOf(ProxyTransportError);
    noCert.close();
  });
});
