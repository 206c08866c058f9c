/**
 * globalSetup of `npm run chaos` (vitest.chaos.config.ts): clears the row file
 * at start; at the end prints the table (scenario, draws, voted, missed,
 * conflicting, takeovers, p99) from the rows chaos-assert.ts appended, and
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
}

export function setup(): () => void {
  rmSync(CHAOS_ROWS_FILE, { force: true });
  return () => {
    if (!existsSync(CHAOS_ROWS_FILE)) return;
    const rows = readFileSync(CHAOS_ROWS_FILE, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
    const cols: Array<[keyof Row, string]> = [['scenario', 'scenario'], ['draws', 'draws'], ['voted', 'voted'], ['missed', 'missed'], ['conflicting', 'conflicting'], ['takeovers', 'takeovers'], ['p99', 'p99 ms'], ['durationMs', 'time ms']];
    const w = cols.map(([k, h]) => Math.max(h.length, ...rows.map((r) => String(r[k]).length)));
    const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join('  ');
    const out = [fmt(cols.map(([, h]) => h)), ...rows.map((r) => fmt(cols.map(([k]) => String(r[k]))))];
    process.stdout.write(`\nchaos suite\n${out.join('\n')}\n`);
    mkdirSync('bench-results', { recursive: true });
    writeFileSync('bench-results/chaos.json', JSON.stringify({ updatedAt: new Date().toISOString(), rows }, null, 2) + '\n');
  };
}
