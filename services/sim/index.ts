/**
 * services/sim: everything that simulates the world around a production cluster, for the
 * demo, the tests and the benchmarks: the devnet (a dcrd-compatible simnet that judges
 * votes), the local etcd launcher, the userspace WAN link, the layout (a whole cluster on
 * one machine) and the chaos harness. Production services never import this folder
 * (test/lint/check-imports.ts enforces it).
 */
import type { CommandTable } from '../cli/index.ts';

/** The demo commands the executable adds beside the production ones. */
export const SIM_COMMANDS: CommandTable = {
  start: () => import('./commands/start.ts'),
  devnet: () => import('./commands/devnet.ts'),
};
