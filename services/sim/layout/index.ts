/**
 * services/sim/layout: a whole votecluster on one machine (regions on loopback
 * blocks, devnet, etcd, node proxies, voters, optional WAN links), used by
 * `votecluster start`, the chaos suite (test/e2e) and the bench. See README.md.
 */

/**
 * Starts a layout: devnet (one node per region, node 0 mines), etcd (1 or 3
 * members), one node proxy per region, voters watching every proxy (local
 * first), tickets imported. Everything started is stopped if start-up fails.
 * @example const l = await startLayout({ regions: 3, votersPerRegion: 2, wan: { delayMs: 40, jitterMs: 5 } });
 */
export { startLayout, contractOf, REGION_NAMES, DEFAULT_VOTERS_PER_REGION, DEFAULT_DEMO_BLOCK_INTERVAL, DEFAULT_LAYOUT_TICKETS } from './layout.ts';
export type { Layout, LayoutOptions, LayoutProxy, LayoutReport, ContractReport } from './layout.ts';
export type { LayoutVoter } from './voter-handle.ts';
export type { LayoutDevnet } from './devnet-layout.ts';
export type { LayoutEtcd } from './etcd-layout.ts';
/** Block driving for a manually mining devnet, and the end-of-run loss check. */
export { driveBlocks, awaitTipVotes, mineOne, mineHeld, tipDraws, checkNothingLost, DEFAULT_VOTE_DEADLINE_MS } from './drive.ts';
export type { DriveOptions, LossCheck } from './drive.ts';
/** WAN helpers (the link itself is services/sim/wan). */
export { parseDelay } from './wan.ts';
/** The demo's admin service on a layout: status page, chain judge on every proxy, metrics. */
export { startDemoAdmin } from './demo-admin.ts';
export type { DemoAdmin } from './demo-admin.ts';
