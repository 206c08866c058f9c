/**
 * Devnet bench: boot time to SVH-1 for 64, 10,000 and 100,000 live tickets, and
 * memory while mining 10,000 blocks (20,000 with `-- devnet 20000`) in manual mode
 * with five signed house votes each, through the same judge and chain code the RPC
 * uses. Heap is measured after a forced GC (enabled at runtime), so it should stay
 * flat once the retention windows are full (the devnet runs for hours without growing memory).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startDevnet } from '../../services/sim/devnet/index.ts';

export interface DevnetBenchOptions {
  blocks?: number;
  /** Pool sizes whose boot is timed (default 64, 10,000, 100,000). */
  bootPools?: number[];
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

function forcedGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

export async function runDevnetBench(opts: DevnetBenchOptions = {}): Promise<Record<string, unknown>> {
  const blocks = opts.blocks ?? 10_000;
  const gc = forcedGc();
  const boot: Record<string, { bootMs: number; exportMs: number; exported: number; heapMb: number }> = {};
  for (const tickets of opts.bootPools ?? [64, 10_000, 100_000]) {
    const t0 = performance.now();
    const dn = await startDevnet({ seed: `bench-boot-${tickets}`, tickets });
    const t1 = performance.now();
    const exported = dn.exportTickets().length;
    const t2 = performance.now();
    gc();
    boot[String(tickets)] = { bootMs: Math.round(t1 - t0), exportMs: Math.round(t2 - t1), exported, heapMb: mb(process.memoryUsage().heapUsed) };
    await dn.stop();
    gc();
  }
  const dn = await startDevnet({ seed: 'bench-run', tickets: 64, houseShare: 1, retainBlocks: 256 });
  gc();
  const heapStart = mb(process.memoryUsage().heapUsed);
  const samples: Array<{ blocks: number; heapMb: number; rssMb: number }> = [];
  const t0 = performance.now();
  const step = 1_000;
  for (let done = 0; done < blocks; ) {
    const n = Math.min(step, blocks - done);
    await dn.generate(n);
    done += n;
    gc();
    const m = process.memoryUsage();
    samples.push({ blocks: done, heapMb: mb(m.heapUsed), rssMb: mb(m.rss) });
  }
  const elapsed = performance.now() - t0;
  await dn.stop();
  const at = (b: number) => samples.find((s) => s.blocks === b);
  const h1k = at(1_000)?.heapMb;
  const hEnd = samples[samples.length - 1]?.heapMb;
  return {
    boot,
    blocksMined: blocks,
    blocksPerSecond: Math.round((blocks / elapsed) * 1000),
    heapStartMb: heapStart,
    heapAfter1kMb: h1k,
    heapAfterEndMb: hEnd,
    heapGrowthPer1kBlocksKb: h1k !== undefined && hEnd !== undefined && blocks > 1_000 ? Math.round(((hEnd - h1k) * 1024) / ((blocks - 1_000) / 1_000)) : undefined,
    rssAfter1kMb: at(1_000)?.rssMb,
    rssAfterEndMb: samples[samples.length - 1]?.rssMb,
    samples: samples.map((s) => `${s.blocks}:${s.heapMb}/${s.rssMb}`),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const blocks = Number(process.argv[2] ?? 10_000);
  process.stdout.write(`${JSON.stringify(await runDevnetBench({ blocks }))}\n`);
}
