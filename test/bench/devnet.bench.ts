/**
 * Devnet bench: boot time to SVH-1 with 64 live tickets, and memory after mining
 * 10,000 blocks in manual mode with five (house) votes each, through the same
 * judge and chain code the RPC uses.
 */
import { startDevnet } from '../../services/devnet/index.ts';

export interface DevnetBenchOptions {
  blocks?: number;
}

function rssMb(): number {
  return Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10;
}

export async function runDevnetBench(opts: DevnetBenchOptions = {}): Promise<Record<string, unknown>> {
  const blocks = opts.blocks ?? 10_000;
  const boots: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const dn = await startDevnet({ seed: `bench-boot-${i}`, tickets: 64 });
    boots.push(performance.now() - t0);
    await dn.stop();
  }
  boots.sort((a, b) => a - b);
  const dn = await startDevnet({ seed: 'bench-run', tickets: 64, houseShare: 1, retainBlocks: 256 });
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssStart = rssMb();
  const samples: Array<{ blocks: number; rssMb: number }> = [];
  const t0 = performance.now();
  const step = Math.max(1, Math.floor(blocks / 10));
  for (let done = 0; done < blocks; ) {
    const n = Math.min(step, blocks - done);
    await dn.generate(n);
    done += n;
    gc?.();
    samples.push({ blocks: done, rssMb: rssMb() });
  }
  const elapsed = performance.now() - t0;
  await dn.stop();
  return {
    bootMsMedian: Math.round(boots[1] as number),
    bootMsMax: Math.round(boots[2] as number),
    blocksMined: blocks,
    blocksPerSecond: Math.round((blocks / elapsed) * 1000),
    rssStartMb: rssStart,
    rssEndMb: samples[samples.length - 1]?.rssMb,
    rssSamples: samples,
    gcExposed: gc !== undefined,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const blocks = Number(process.argv[2] ?? 10_000);
  process.stdout.write(`${JSON.stringify(await runDevnetBench({ blocks }))}\n`);
}
