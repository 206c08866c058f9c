/**
 * The layout's view of the userspace WAN link (docs/architecture.md, "The simulation"), which lives in
 * services/sim/wan (part of the simulated environment).
 */
export { createWanTopology, createWanLink, parseDelay, DEFAULT_WAN_DELAY_MS, DEFAULT_WAN_JITTER_MS } from '../devnet/index.ts';
export type { WanTopology, WanLink, WanLinkKey, WanRegion, PartitionOptions } from '../devnet/index.ts';
