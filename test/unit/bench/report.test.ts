import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRecord, readRecords, renderBenchmarksDoc, writeBenchmarksDoc, type BenchRecord } from '../../bench/report.ts';

const record = (over: Partial<BenchRecord> = {}): BenchRecord => ({
  name: 'protocol',
  startedAt: '2026-01-02T03:04:05.000Z',
  durationMs: 1234,
  node: 'v20.20.2',
  cpu: 'Test CPU',
  cores: 2,
  loadAvg1m: 3.5,
  ok: true,
  results: { votesBuiltSignedPerCpuSec: 4321, votesBuiltSignedOk: true, txDecodePerCpuSec: 40_000, txDecodeOk: false },
  ...over,
});

const render = (records: BenchRecord[], unreadable: Array<{ file: string; problem: string }> = []): string =>
  renderBenchmarksDoc({ records, unreadable, generatedAt: '2026-01-02T04:00:00.000Z', loadAvgNow: [7.25, 6, 5], coresNow: 2 });

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'bench-report-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('docs/benchmarks.md generator', () => {
  it('writes figure, value, target with its verdict, machine and date per row', () => {
    const doc = render([record()]);
    expect(doc).toContain('| bench | figure | value | target | machine | date |');
    expect(doc).toMatch(/\| `protocol` \| votes built \+ signed per CPU-second \(one core\) \| 4,321 \| ≥ 2,000 ✔ \| 2 × Test CPU, v20.20.2, load 3.5 \| 2026-01-02 03:04 UTC \|/);
    expect(doc).toMatch(/transactions decoded per CPU-second \| 40,000 \| ≥ 50,000 ✘ \|/);
  });

  it('says the machine is shared, with the load average when generated', () => {
    const doc = render([record()]);
    expect(doc).toContain('**The machine is shared.**');
    expect(doc).toContain('7.3 / 6 / 5');
    expect(doc).toContain('Do not edit');
  });

  it('leaves out a figure whose field is missing, and lists benches that were not run', () => {
    const doc = render([record({ results: { votesBuiltSignedPerCpuSec: 10 } })]);
    expect(doc).not.toContain('transactions decoded per CPU-second |');
    expect(doc).toContain('`cluster-e2e` (`npm run bench -- cluster-e2e`)');
    expect(doc).not.toContain('`protocol` (`npm run bench -- protocol`)');
  });

  it('shows a failed bench with its error', () => {
    const doc = render([record({ ok: false, error: 'Error: etcd | gone', results: {} })]);
    expect(doc).toContain('| `protocol` | **failed** | Error: etcd \\| gone |');
  });

  it('keeps the newest record of a bench', () => {
    const doc = render([record({ startedAt: '2026-01-01T00:00:00.000Z', results: { votesBuiltSignedPerCpuSec: 1 } }), record({ results: { votesBuiltSignedPerCpuSec: 2222 } })]);
    expect(doc).toContain('| 2,222 |');
    expect(doc).not.toMatch(/per CPU-second \(one core\) \| 1 \|/);
  });

  it('names the settings a bench ran with, so a short run reads as one', () => {
    expect(render([record({ settings: { VOTECLUSTER_BENCH_BLOCKS: '10' } })])).toContain('settings: `VOTECLUSTER_BENCH_BLOCKS=10`');
    expect(parseRecord(JSON.stringify({ ...record(), settings: { TRACING_BENCH_PAIRS: 4 } })).record?.settings).toEqual({ TRACING_BENCH_PAIRS: '4' });
  });

  it('says so when there are no results at all', () => {
    expect(render([])).toContain('No bench results were found.');
  });

  it('refuses records that are not JSON or lack a name or a start time', () => {
    expect(parseRecord('{').problem).toMatch(/^not JSON/);
    expect(parseRecord('[]').problem).toBe('no bench name');
    expect(parseRecord(JSON.stringify({ name: 'x' })).problem).toBe('no start time');
    expect(parseRecord(JSON.stringify({ name: 'x', startedAt: '2026-01-01T00:00:00Z' })).record?.results).toEqual({});
  });

  it('reads a results folder: skips latest.json and reports unusable files; a missing folder is empty', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'protocol.json'), JSON.stringify(record()));
    writeFileSync(join(dir, 'latest.json'), JSON.stringify({ benches: {} }));
    writeFileSync(join(dir, 'broken.json'), '{"name":');
    const { records, unreadable } = readRecords(dir);
    expect(records.map((r) => r.name)).toEqual(['protocol']);
    expect(unreadable.map((u) => u.file)).toEqual(['broken.json']);
    expect(readRecords(join(dir, 'absent'))).toEqual({ records: [], unreadable: [] });
  });

  it('writes the document from a folder', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'results'));
    writeFileSync(join(dir, 'results', 'protocol.json'), JSON.stringify(record()));
    const out = writeBenchmarksDoc(join(dir, 'results'), join(dir, 'benchmarks.md'));
    expect(readFileSync(out, 'utf8')).toContain('| `protocol` |');
  });
});
