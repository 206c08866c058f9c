/**
 * Test file order for `vitest run`: longest first (LPT), so the two workers
 * finish together instead of one running the slowest files at the end.
 *
 * Why: vitest's own order uses its results cache (durations of the previous
 * run), which a clean CI clone does not have; it then runs the LARGEST files
 * first, and our slowest files (test/e2e/*.e2e.test.ts, a few lines each,
 * minutes of work in total) came last, two at a time, on a machine the rest
 * of the suite had already left. Estimates come from, in order: vitest's
 * cache (a local re-run), `test/durations.json` (seconds per file, measured
 * by a CI run; regenerate it from a run's per-file times when files move a
 * lot: the order only needs to be roughly right), a per-folder default.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds for files not in test/durations.json, by folder. */
const DEFAULT_SECONDS: ReadonlyArray<[prefix: string, seconds: number]> = [
  ['test/e2e/', 40],
  ['test/integration/', 15],
  ['test/', 1],
];

function loadEstimates(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(new URL('./durations.json', import.meta.url), 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

/** Longest expected file first (within a project group order); ties by path (a stable order). */
export class LongestFirstSequencer extends BaseSequencer {
  private readonly estimates = loadEstimates();

  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const root = this.ctx.config.root;
    const seconds = (spec: TestSpecification): number => {
      const path = relative(root, spec.moduleId);
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${path}`);
      if (cached && cached.duration > 0) return cached.duration / 1000;
      const known = this.estimates[path];
      if (known !== undefined) return known;
      return DEFAULT_SECONDS.find(([prefix]) => path.startsWith(prefix))?.[1] ?? 1;
    };
    const keyed = files.map((spec) => ({ spec, group: spec.project.config.sequence.groupOrder, s: seconds(spec), path: relative(root, spec.moduleId) }));
    // Projects' groupOrder first (a project with a higher one runs after), as vitest's own order.
    keyed.sort((a, b) => a.group - b.group || b.s - a.s || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return keyed.map((k) => k.spec);
  }
}
