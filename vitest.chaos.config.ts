import { defineConfig } from 'vitest/config';

// `npm run chaos`: the long form of the chaos suite (VOTECLUSTER_CHAOS_LONG=1).
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    env: { VOTECLUSTER_CHAOS_LONG: '1' },
    globalSetup: ['test/e2e/chaos-table.ts'],
  },
});
