/**
 * A stopped devnet is collectable (services/sim/devnet/README.md "Memory and pruning"):
 * its chain must not stay reachable through a handle the caller still holds (a test
 * file's `let dn`, a suspended async frame: the 100,000-ticket bench kept ~300 MB
 * that way), nor through anything else once the handle is dropped. Runs in a child
 * process with --expose-gc so the collector can be driven; WeakRefs observe it.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The child: starts a devnet, stops it, drives GC until the WeakRefs clear (bounded), prints one JSON line. */
const CHILD = `
const { startDevnet } = await import(${JSON.stringify(resolve(ROOT, 'services/sim/devnet/index.ts'))});
const collected = async (ref) => {
  // Polls the collector with a deadline (sockets finish closing on later turns of the loop).
  for (const until = Date.now() + 5000; Date.now() < until; ) {
    await new Promise((r) => setTimeout(r, 20));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
};
let dn = await startDevnet({ seed: 'collectable', tickets: 500, nodes: 2 });
dn.exportTickets();
const implRef = new WeakRef(dn.nodes[0].impl);
const followerRef = new WeakRef(dn.nodes[1].impl);
const drawnBefore = dn.report().drawn;
await dn.stop();
// At once: stop() resolves after the listeners' handles finished closing.
gc();
const out = { releasedAtStop: implRef.deref() === undefined && followerRef.deref() === undefined };
out.nodeStateCollected = (await collected(implRef)) && (await collected(followerRef));
// The handle still answers what it can without the chain.
out.rpcUrl = dn.nodes[0].rpcUrl;
out.reportDrawnSame = dn.report().drawn === drawnBefore && dn.nodeReport(1).drawn >= 0;
try { await dn.generate(1); out.generate = 'ok'; } catch (e) { out.generate = e.code; }
try { dn.exportTickets(); out.exportTickets = 'ok'; } catch (e) { out.exportTickets = e.code; }
await dn.stop(); // idempotent
const handleRef = new WeakRef(dn);
dn = undefined;
out.handleCollected = await collected(handleRef);
process.stdout.write(JSON.stringify(out) + '\\n');
`;

describe('devnet memory after stop', () => {
  it('a stopped devnet releases its nodes while the handle is held, and the handle itself is collectable', async () => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(code, err).toBe(0);
    const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(r).toEqual({
      releasedAtStop: true,
      nodeStateCollected: true,
      rpcUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/),
      reportDrawnSame: true,
      generate: 'DEVNET_STOPPED',
      exportTickets: 'DEVNET_STOPPED',
      handleCollected: true,
    });
  }, 60_000);
});
