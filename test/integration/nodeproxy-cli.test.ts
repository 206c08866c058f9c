/**
 * `votecluster proxy` as an operator runs it: a child process against a devnet
 * node, password from a file, gRPC on a free loopback port; SIGTERM drains the
 * streams and the process exits 0 well within its 5 s cap.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxyError, type StreamStartInfo } from '../../services/nodeproxy/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startTestTls } from '../harness/tls.ts';

/** Mutual TLS on every proxy link, as in production (a test CA, a proxy and a voter certificate). */
const tls = await startTestTls();
afterAll(() => tls.stop());

const ROOT = resolve(import.meta.dirname, '..', '..');
let dn: Devnet;
let dir: string;

beforeAll(async () => {
  dn = await startDevnet({ nodes: 1, tickets: 64, blockInterval: { mode: 'manual' } });
  dir = mkdtempSync(join(tmpdir(), 'vc-proxy-cli-'));
});

afterAll(async () => {
  await dn?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('votecluster proxy', () => {
  it('serves, then drains and exits 0 on SIGTERM', async () => {
    const node = dn.nodes[0]!;
    const passFile = join(dir, 'dcrd.pass');
    writeFileSync(passFile, `${node.rpcPass}\n`, { mode: 0o600 });
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/votecluster.ts', 'proxy', '--dcrd', node.wsUrl, '--dcrd-user', node.rpcUser, '--dcrd-pass-file', passFile, '--network', 'simnet', '--log-level', 'warn', ...tls.proxyFlags],
      { cwd: ROOT, env: { ...process.env, VOTECLUSTER_PROXY_LISTEN: '127.0.0.1:0' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    const line = await waitFor(() => out.split('\n').find((l) => l.includes('"listening"')), { timeoutMs: 20_000, message: `proxy listening (stderr: ${err})` });
    const { listening } = JSON.parse(line) as { listening: string };
    expect(listening).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(out + err).not.toContain(node.rpcPass);

    const c = createNodeProxyClient(listening, { tls: tls.clientPem });
    const starts: StreamStartInfo[] = [];
    let ended = false;
    c.watchChain({ autoResume: false, onStreamStart: (s) => starts.push(s), onError: () => (ended = true) }, () => undefined);
    await waitFor(() => starts.length === 1, { message: 'stream open' });
    expect((await c.getStatus()).dcrd_state).toBe('ready');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await waitFor(() => ended, { message: 'stream ended by shutdown' });
    c.close();
  });

  it('a watching client gets a typed shutdown error and resumes on the restarted proxy (new epoch)', async () => {
    const node = dn.nodes[0]!;
    const cfg = (listen: string) => ({ network: 'simnet', dcrd: { url: node.wsUrl, user: node.rpcUser, pass: node.rpcPass }, listen, tls: tls.proxy });
    const first = createNodeProxy(cfg('127.0.0.1:0'));
    const { address } = await first.start();
    const c = createNodeProxyClient(address, { tls: tls.clientPem });
    const starts: StreamStartInfo[] = [];
    const errors: NodeProxyError[] = [];
    const h = c.watchChain({ fromHeight: 0, resumeMinMs: 20, resumeMaxMs: 100, onStreamStart: (s) => starts.push(s), onError: (e) => errors.push(e) }, () => undefined);
    await waitFor(() => starts.length === 1 && h.lastSeq >= 2, { message: 'first stream replayed the current draw' });
    await first.stop();
    await waitFor(() => errors.length >= 1, { message: 'shutdown error' });
    expect(errors[0]?.code).toBe('NODEPROXY_SHUTTING_DOWN');
    const second = createNodeProxy(cfg(address));
    await second.start();
    try {
      await waitFor(() => starts.length >= 2, { timeoutMs: 10_000, message: 'stream resumed on the restarted proxy' });
      const last = starts[starts.length - 1]!;
      expect(last.resumeStatus).toBe('epoch_changed');
      expect(last.epoch).not.toBe(starts[0]!.epoch);
      await waitFor(() => h.epoch === last.epoch && h.lastSeq >= 2, { message: 'events of the new epoch delivered' });
    } finally {
      c.close();
      await second.stop();
    }
  });
});
