import { defineConfig } from 'vitest/config';

// Unit and integration tests run in CI on 2 cores; e2e files bring up real etcd,
// devnet nodes, proxies and voters, so they run one file at a time.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.long.test.ts', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
