/**
 * `npm run bench [-- NAME ...]`: runs every registered bench module (or the
 * named ones), prints a table per bench, and writes
 * `bench-results/<name>.json` and `bench-results/latest.json` (the latest
 * result of every bench, merged across runs), then regenerates docs/benchmarks.md
 * from bench-results/ (test/bench/report.ts; `npm run bench:report` does only that).
 *
 * To add a bench: write `test/bench/<name>.bench.ts` exporting an
 * `async function run…(): Promise<Record<string, unknown>>` and add ONE line
 * to BENCHES below.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { writeBenchmarksDoc } from './report.ts';

type BenchFn = () => Promise<Record<string, unknown>>;

/** Registered benches, in run order: one line each. */
const BENCHES: ReadonlyArray<{ name: string; load: () => Promise<BenchFn> }> = [
  { name: 'protocol', load: async () => (await import('./protocol.bench.ts')).runProtocolBench },
  { name: 'cluster-e2e', load: async () => (await import('./cluster.e2e.bench.ts')).runClusterE2eBench },
  { name: 'cluster', load: async () => (await import('./cluster.bench.ts')).runClusterBench },
  { name: 'ticket-cache', load: async () => (await import('./ticket-cache.bench.ts')).runTicketCacheBench },
  { name: 'voter-scale', load: async () => (await import('./voter-scale.bench.ts')).runVoterScaleBench },
  { name: 'admin-import', load: async () => (await import('./admin-import.bench.ts')).runAdminImportBench },
  { name: 'devnet', load: async () => (await import('./devnet.bench.ts')).runDevnetBench },
  { name: 'nodeproxy', load: async () => (await import('./nodeproxy.bench.ts')).runNodeProxyBench },
  { name: 'vote-latency', load: async () => (await import('./vote-latency.bench.ts')).runVoteLatencyBench },
  { name: 'tracing', load: async () => (await import('./tracing.bench.ts')).runTracingBench },
];

const OUT_DIR = fileURLToPath(new URL('../../bench-results/', import.meta.url));

interface BenchRecord {
  name: string;
  startedAt: string;
  durationMs: number;
  node: string;
  cpu: string;
  cores: number;
  /** 1-minute load average when the bench started: results on a busy machine are slower. */
  loadAvg1m: number;
  /** Bench settings taken from the environment (e.g. fewer blocks for a short run). */
  settings: Record<string, string>;
  ok: boolean;
  error?: string;
  results: Record<string, unknown>;
}

/** Environment variables that change what a bench measures. */
function benchSettings(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env)
      .filter((e): e is [string, string] => e[1] !== undefined && /^(VOTECLUSTER_BENCH_|BENCH_|TRACING_BENCH_)/.test(e[0]))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

function flatten(obj: Record<string, unknown>, prefix = ''): [string, string][] {
  const rows: [string, string][] = [];
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) rows.push(...flatten(v as Record<string, unknown>, key));
    else rows.push([key, Array.isArray(v) ? v.join(', ') : String(v)]);
  }
  return rows;
}

function printTable(rec: BenchRecord): void {
  const rows = flatten(rec.results);
  const w = Math.max(10, ...rows.map(([k]) => k.length));
  const lines = [
    `== ${rec.name} (${(rec.durationMs / 1000).toFixed(1)} s, load ${rec.loadAvg1m.toFixed(2)} on ${rec.cores} cores)${rec.ok ? '' : '  FAILED'}`,
    ...(rec.error ? [`   error: ${rec.error}`] : []),
    ...rows.map(([k, v]) => `   ${k.padEnd(w)}  ${v}`),
  ];
  process.stdout.write(lines.join('\n') + '\n\n');
}

function toJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2) + '\n';
}

async function main(argv: string[]): Promise<number> {
  const wanted = argv.filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown bench(es) ${unknown.join(', ')}; known: ${BENCHES.map((b) => b.name).join(', ')}\n`);
    return 2;
  }
  const selected = wanted.length > 0 ? BENCHES.filter((b) => wanted.includes(b.name)) : BENCHES;
  mkdirSync(OUT_DIR, { recursive: true });
  let latest: Record<string, BenchRecord> = {};
  try {
    latest = (JSON.parse(readFileSync(`${OUT_DIR}latest.json`, 'utf8')) as { benches?: Record<string, BenchRecord> }).benches ?? {};
  } catch {
    latest = {};
  }
  let failed = 0;
  for (const b of selected) {
    const rec: BenchRecord = {
      name: b.name,
      startedAt: new Date().toISOString(),
      durationMs: 0,
      node: process.version,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      loadAvg1m: loadavg()[0] ?? 0,
      settings: benchSettings(),
      ok: true,
      results: {},
    };
    const t0 = performance.now();
    try {
      rec.results = await (await b.load())();
    } catch (e) {
      rec.ok = false;
      rec.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      failed++;
    }
    rec.durationMs = Math.round(performance.now() - t0);
    printTable(rec);
    writeFileSync(`${OUT_DIR}${b.name}.json`, toJson(rec));
    latest[b.name] = rec;
    writeFileSync(`${OUT_DIR}latest.json`, toJson({ updatedAt: new Date().toISOString(), benches: latest }));
  }
  process.stdout.write(`bench results written to ${OUT_DIR}\n`);
  process.stdout.write(`${writeBenchmarksDoc()} regenerated from them\n`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
