import { defineConfig } from 'vitest/config';
import { RetryReporter } from './test/retry-reporter.ts';
import { LongestFirstSequencer } from './test/sequencer.ts';

// Three projects: `unit` (test/unit: pure and in-process, never retried), `integration`
// (test/integration and test/fuzz: real etcd, gRPC, devnet, proxies, CLI and voter processes) and `e2e`
// (test/e2e: one whole multi-process cluster per fault). `npm test` runs all three;
// `npm run test:unit` and `npm run test:integration` (integration + e2e) run a part.
// CI runs on 2 cores, two test files at a time; the longest files start first (test/sequencer.ts).
export default defineConfig({
  test: {
    exclude: ['test/**/*.long.test.ts', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    // RetryReporter lists every test that passed only on its retry, with the first error.
    reporters: ['default', new RetryReporter()],
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      // Unit test files share their worker's module graph (isolate: false): each file loading the
      // services afresh cost more than the tests themselves. A unit test file therefore leaves no
      // process-wide state behind (telemetry shut down, fake timers and env restored).
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      // test/fuzz: property tests of untrusted input over real sockets and etcd, a bounded number
      // of cases each (FUZZ_RUNS raises it: `npm run fuzz`).
      // One retry per failing test where real processes run (etcd members, devnet nodes, proxies,
      // CLI and voter processes), two files at a time on 2 cores: under that load a scheduling
      // stall can push one run past a harness deadline (a voter child loading its modules, the
      // first block of a demo). A behaviour that is really broken fails twice and still fails
      // CI; RetryReporter names every test that needed its retry. Unit tests are never retried.
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts', 'test/fuzz/**/*.test.ts'], retry: 1 } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], retry: 1 } },
    ],
  },
});
