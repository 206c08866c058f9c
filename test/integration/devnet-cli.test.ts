/**
 * `votecluster devnet` as an operator runs it: prints URLs and credentials, exports
 * tickets, answers `devnet report`, and stops cleanly on SIGTERM.
 */
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait-for.ts';
import { parseBlockInterval } from '../../services/sim/commands/devnet.ts';

const MAIN = join(import.meta.dirname, '..', '..', 'bin', 'votecluster.ts');

describe('votecluster devnet', () => {
  it('parses block intervals', () => {
    expect(parseBlockInterval('manual')).toEqual({ mode: 'manual' });
    expect(parseBlockInterval('1s')).toEqual({ mode: 'exponential', meanMs: 1000 });
    expect(parseBlockInterval('fixed:500ms')).toEqual({ mode: 'fixed', ms: 500 });
    expect(() => parseBlockInterval('soon')).toThrow(/block-interval/);
  });

  it('runs, exports tickets, reports and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'devnet-cli-'));
    const file = join(dir, 'tickets.json');
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'devnet', '--seed', 'cli', '--rpcuser', 'u', '--rpcpass', 'p', '--rpclisten', '127.0.0.1:0', '--block-interval', 'manual', '--export-tickets', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => out.includes('devnet: ready'), { timeoutMs: 20_000, message: 'devnet ready' });
      const m = /rpc (http:\/\/127\.0\.0\.1:\d+\/) ws (\S+) user u pass p/.exec(out);
      expect(m).not.toBeNull();
      const tickets = JSON.parse(readFileSync(file, 'utf8')) as Array<{ ticketHash: string; wif: string; network: string }>;
      expect(tickets).toHaveLength(64 + 5 * 16);
      expect(tickets[0]).toMatchObject({ network: 'simnet' });
      expect(tickets[0]!.wif.startsWith('Ps')).toBe(true);
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', MAIN, 'devnet', 'report', '--rpc', m![1]!, '--rpcuser', 'u', '--rpcpass', 'p']);
      const report = JSON.parse(stdout) as { drawn: number; tickets: unknown[] };
      expect(report.drawn).toBe(5);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
