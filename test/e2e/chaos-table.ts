/**
 * globalSetup of `npm run chaos` (vitest.chaos.config.ts): clears the row file
 * at start; at the end prints the table (scenario, draws, voted, missed,
 * conflicting, takeovers, faults and takeover time of the signer faults, p99) from the rows chaos-assert.ts appended, and
 * writes it to bench-results/chaos.json.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { CHAOS_ROWS_FILE } from './chaos-assert.ts';

interface Row {
  scenario: string;
  draws: number;
  voted: number;
  missed: number;
  conflicting: number;
  takeovers: number;
  p99: number;
  durationMs: number;
  /** Signer-fault scenarios: faults injected at held draws and the takeover time (draw → accepted). */
  faults?: number;
  takeoverMs?: { p50: number; p99: number };
}

export function setup(): () => void {
  rmSync(CHAOS_ROWS_FILE, { force: true });
  return () => {
    if (!existsSync(CHAOS_ROWS_FILE)) return;
    const rows = readFileSync(CHAOS_ROWS_FILE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
    const cols: Array<[string, string, (r: Row) => unknown]> = [
      ['scenario', 'scenario', (r) => r.scenario], ['draws', 'draws', (r) => r.draws], ['voted', 'voted', (r) => r.voted],
      ['missed', 'missed', (r) => r.missed], ['conflicting', 'conflicting', (r) => r.conflicting], ['takeovers', 'takeovers', (r) => r.takeovers],
      ['faults', 'faults', (r) => r.faults ?? '-'], ['takeoverP50', 'takeover p50 ms', (r) => r.takeoverMs?.p50 ?? '-'],
      ['takeoverP99', 'takeover p99 ms', (r) => r.takeoverMs?.p99 ?? '-'], ['p99', 'p99 ms', (r) => r.p99], ['durationMs', 'time ms', (r) => r.durationMs],
    ];
    const w = cols.map(([, h, get]) => Math.max(h.length, ...rows.map((r) => String(get(r)).length)));
    const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join('  ');
    const out = [fmt(cols.map(([, h]) => h)), ...rows.map((r) => fmt(cols.map(([, , get]) => String(get(r)))))];
    process.stdout.write(`\nchaos suite\n${out.join('\n')}\n`);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/chaos.json', JSON.stringify({ updatedAt: new Date().toISOString(), rows }, null, 2) + '\n');
  };
}
