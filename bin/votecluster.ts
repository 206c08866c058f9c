#!/usr/bin/env node
/**
 * The `votecluster` executable: the production commands of services/cli plus the
 * demo commands of services/sim (`start`, `devnet`), loaded only when named.
 */
import { main } from '../services/cli/index.ts';
import { SIM_COMMANDS } from '../services/sim/index.ts';

process.exitCode = await main(process.argv.slice(2), SIM_COMMANDS);
