/**
 * services/cli/lifecycle.ts in a child process (signals and exit codes are
 * process-wide): a completed stop exits 0 even when a straggling handle keeps
 * the event loop alive, a second signal during shutdown is ignored, a stop
 * past the cap exits 1 and says so.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Child: runUntilSignal with a stop of `stopMs`; `linger` keeps a ref'd interval alive after stop. */
function child(stopMs: number, capMs: number, linger: boolean): { run: (signals: string[]) => Promise<{ code: number | null; logs: Array<Record<string, unknown>>; ms: number }> } {
  const code = `
const { runUntilSignal } = await import(${JSON.stringify(resolve(ROOT, 'services/cli/lifecycle.ts'))});
const line = (level) => (obj, msg) => process.stdout.write(JSON.stringify({ level, msg, ...obj }) + '\\n');
const log = { info: line('info'), warn: line('warn'), error: line('error') };
// Stands for the service's servers; with linger, stop() "forgets" it (a straggling handle).
const keep = setInterval(() => undefined, 1000);
const stop = () => new Promise((r) => setTimeout(r, ${stopMs})).then(() => { ${linger ? '' : 'clearInterval(keep);'} });
const done = runUntilSignal(stop, log, ${capMs});
process.stdout.write(JSON.stringify({ msg: 'ready' }) + '\\n');
await done;
`;
  return {
    run: (signals) => new Promise((res) => {
      const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      let t0 = 0;
      let sent = 0;
      p.stdout.on('data', (d: Buffer) => {
        out += String(d);
        if (t0 === 0 && out.includes('"ready"')) {
          t0 = performance.now();
          p.kill(signals[sent++] as NodeJS.Signals);
        }
        // Further signals one at a time, each after the previous one was handled (the kernel
        // merges a pending signal with an identical one).
        const handled = (out.match(/"shutting down"|already shutting down/g) ?? []).length;
        while (sent < signals.length && handled >= sent) p.kill(signals[sent++] as NodeJS.Signals);
      });
      p.on('exit', (c) => res({
        code: c,
        ms: performance.now() - t0,
        logs: out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
      }));
    }),
  };
}

describe('runUntilSignal', () => {
  it('exits 0 after a completed stop although a straggling handle keeps the loop alive, ignoring a repeated signal', async () => {
    const r = await child(300, 5_000, true).run(['SIGTERM', 'SIGINT', 'SIGTERM']);
    expect(r.code).toBe(0);
    const msgs = r.logs.map((l) => l['msg']);
    expect(msgs).toContain('shutting down');
    expect(msgs.filter((m) => m === 'already shutting down; signal ignored')).toHaveLength(2);
    expect(r.logs.find((l) => l['msg'] === 'stopped')?.['stopMs']).toBeGreaterThanOrEqual(250);
    expect(msgs).toContain('event loop still busy after a completed stop; exiting');
    // Exit 0 (above) means the stop ended within the 5 s cap: past it the process exits 1.
  }, 30_000);

  it('exits 1 when stop() outlasts the cap, naming the cap', async () => {
    const r = await child(10_000, 500, false).run(['SIGTERM']);
    expect(r.code).toBe(1);
    expect(r.logs.find((l) => l['msg'] === 'shutdown exceeded its cap; exiting')).toMatchObject({ level: 'error', capMs: 500 });
  }, 30_000);
});
