/**
 * The ONE place the layout reaches the userspace WAN link (DESIGN.md §8). It
 * lives in test/harness today; when it moves into services/devnet (exported
 * from its index.ts) only the two lines below change.
 */
export { createWanTopology, createWanLink, parseDelay, DEFAULT_WAN_DELAY_MS, DEFAULT_WAN_JITTER_MS } from '../../../test/harness/wan-proxy.ts';
export type { WanTopology, WanLink, WanLinkKey, WanRegion, PartitionOptions } from '../../../test/harness/wan-proxy.ts';
