/**
 * A SIGKILLed voter is not silent: its WatchChain stream ends at the proxy when the kernel
 * closes its connection, and the proxy tells the other voters' streams `voter_gone` with its
 * node id; when a voter of that id streams again, `voter_back`. Real devnet, real proxy with
 * mutual TLS, the "dead" voter a real child process killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxy, type VoterPresence } from '../../services/nodeproxy/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startTestTls } from '../harness/tls.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const tls = await startTestTls();
afterAll(() => tls.stop());

let devnet: Devnet;
let proxy: NodeProxy;
let address: string;
beforeAll(async () => {
  devnet = await startDevnet({ nodes: 1, tickets: 16 });
  const n = devnet.nodes[0]!;
  proxy = createNodeProxy(
    { network: 'simnet', dcrd: { url: n.wsUrl, user: n.rpcUser, pass: n.rpcPass }, listen: '127.0.0.1:0', tls: tls.proxy, drainMs: 0 },
    { logger: createLogger({ service: 'nodeproxy', level: 'silent' }) },
  );
  ({ address } = await proxy.start());
});
afterAll(async () => {
  await proxy?.stop();
  await devnet?.stop();
});

/** A voter process streaming from the proxy as `nodeId`; prints "up" once its stream started. */
function voterProcess(nodeId: string): Promise<ChildProcess> {
  const code = `
import { readFileSync } from 'node:fs';
const { createNodeProxyClient } = await import(${JSON.stringify(resolve(ROOT, 'services/nodeproxy/index.ts'))});
const f = ${JSON.stringify(tls.client)};
const c = createNodeProxyClient(${JSON.stringify(address)}, { clientId: ${JSON.stringify(nodeId)}, tls: { caPem: readFileSync(f.caFile), certPem: readFileSync(f.certFile), keyPem: readFileSync(f.keyFile) } });
c.watchChain({ onStreamStart: () => process.stdout.write('up\\n') }, () => undefined);
`;
  const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((res, rej) => {
    p.stdout?.on('data', (d: Buffer) => {
      if (String(d).includes('up')) res(p);
    });
    p.on('exit', (c) => rej(new Error(`voter process exited (${c}) before its stream started`)));
  });
}

describe('voter gone / back', () => {
  it('announces a SIGKILLed voter gone to the other voters, and back when it streams again', async () => {
    const seen: VoterPresence[] = [];
    const watcher = createNodeProxyClient(address, { clientId: 'b1', tls: tls.clientPem });
    let started = false;
    const h = watcher.watchChain({ onStreamStart: () => (started = true), onVoterPresence: (v) => seen.push(v) }, () => undefined);
    try {
      await waitFor(() => started, { timeoutMs: 15_000, message: 'watcher stream started' });
      const a1 = await voterProcess('a1');
      const exited = new Promise((r) => a1.on('exit', r));
      a1.kill('SIGKILL');
      await exited;
      await waitFor(() => seen.length >= 1, { timeoutMs: 10_000, message: 'voter_gone for a1' });
      expect(seen.map((v) => [v.kind, v.nodeId])).toEqual([['gone', 'a1']]);
      expect(seen[0]!.atMs).toBeGreaterThan(0);
      const again = await voterProcess('a1');
      await waitFor(() => seen.length >= 2, { timeoutMs: 10_000, message: 'voter_back for a1' });
      expect(seen.map((v) => [v.kind, v.nodeId])).toEqual([['gone', 'a1'], ['back', 'a1']]);
      again.kill('SIGKILL');
      await waitFor(() => seen.length >= 3, { timeoutMs: 10_000, message: 'voter_gone for a1 again' });
      expect(seen[2]!.kind).toBe('gone');
    } finally {
      h.close();
      watcher.close();
    }
  }, 60_000);
});
