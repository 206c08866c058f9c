/**
 * Ticket cache memory: what 100,000 cached ticket records hold in the cache's
 * compact form (ticket and sealed-key bytes in a shared arena, equal maps and
 * field sets shared, times as numbers; services/cluster/ticket-cache.ts) and as
 * the plain parsed records, each measured in a fresh process after a full GC.
 * The compact form is worth its code only while this difference is large next
 * to the voter's start-up memory target (< 300 MB RSS with 100k tickets).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function measure(form: 'compact' | 'plain', tickets: number): Promise<Record<string, unknown>> {
  return new Promise((res) => {
    const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', 'test/bench/ticket-cache-child.ts', form, String(tickets)], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.on('error', (err) => res({ form, error: err.message }));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      res(code === 0 && line.startsWith('{') ? (JSON.parse(line) as Record<string, unknown>) : { form, error: `exited ${code}`, lastOutput: out.slice(-400) });
    });
  });
}

/** Runs the bench: both forms of `tickets` records (default 100,000). */
export async function runTicketCacheBench(opts: { tickets?: number } = {}): Promise<Record<string, unknown>> {
  const tickets = opts.tickets ?? Number(process.env['BENCH_TICKET_CACHE_TICKETS'] ?? 100_000);
  const compact = await measure('compact', tickets);
  const plain = await measure('plain', tickets);
  const c = compact['totalMB'];
  const p = plain['totalMB'];
  return {
    tickets,
    compact,
    plain,
    ...(typeof c === 'number' && typeof p === 'number' ? { plainOverCompact: Math.round((p / c) * 10) / 10, savedMB: Math.round((p - c) * 10) / 10 } : {}),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runTicketCacheBench()));
}
