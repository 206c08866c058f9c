/**
 * TLS on both sides: the proxy dials a wss:// devnet trusting its rpc.cert
 * (as operators pass dcrd's rpc.cert), and serves gRPC with mTLS: a client
 * with a certificate signed by the configured client CA gets in, one without
 * does not.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, ProxyTransportError, type NodeProxy } from '../../services/nodeproxy/index.ts';

async function identity(cn: string, usage: 'serverAuth' | 'clientAuth'): Promise<{ certPem: string; keyPem: string }> {
  const pems = await generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', [usage]: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

let dn: Devnet;
let dir: string;
let proxy: NodeProxy;
let address: string;
let server: { certPem: string; keyPem: string };
let clientId: { certPem: string; keyPem: string };

beforeAll(async () => {
  dn = await startDevnet({ nodes: 1, tickets: 64, tls: true, blockInterval: { mode: 'manual' } });
  dir = mkdtempSync(join(tmpdir(), 'vc-proxy-tls-'));
  server = await identity('nodeproxy', 'serverAuth');
  clientId = await identity('voter', 'clientAuth');
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
    tls: { certFile: f('server.pem', server.certPem), keyFile: f('server.key', server.keyPem), clientCaFile: f('clients.pem', clientId.certPem) },
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
    const ok = createNodeProxyClient(address, { tls: { caPem: server.certPem, certPem: clientId.certPem, keyPem: clientId.keyPem } });
    const st = await ok.getStatus();
    expect(st.dcrd_state).toBe('ready');
    expect(st.best_block?.height).toBeGreaterThan(0);
    ok.close();

    const noCert = createNodeProxyClient(address, { tls: { caPem: server.certPem } });
    await expect(noCert.getStatus({ deadlineMs: 3_000 })).rejects.toBeInstanceOf(ProxyTransportError);
    noCert.close();
  });
});
