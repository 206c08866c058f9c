/**
 * services/sim/devnet: a dcrd-compatible simnet chain that judges votes. Also re-exports
 * the local etcd launcher (../etcd) and the userspace WAN link (../wan). See README.md.
 */

/**
 * Starts a devnet of `nodes` nodes (node 0 mines). The chain is bootstrapped from
 * `seed` to SVH-1 with `tickets` live tickets; votes are judged by dcrd's rules.
 * Throws DevnetError `DEVNET_BAD_OPTIONS` on invalid options.
 * @example const dn = await startDevnet({ tickets: 64, blockInterval: { mode: 'manual' } });
 */
export { startDevnet } from './devnet.ts';
/** Starts a single node that relays blocks and votes to `peers` (ws URLs) — for separate processes. */
export { startDevnetNode } from './devnet.ts';
/** zod schema of {@link DevnetOptions} (defaults applied). */
export { DevnetOptionsSchema } from './devnet.ts';
/** Options, handles and results of the devnet API. */
export type { DevnetOptions, Devnet, DevnetNode, DevnetNodeOptions, StandaloneDevnetNode, HeldBlock } from './devnet.ts';
export type { ExportedTicket } from './node.ts';
/**
 * A signed simnet treasury spend for tests and the demo (simnet Pi key fixture of
 * dcrd's chaincfg; expiry from `nextHeight` as dcrd's CalcTSpendExpiry). Post it with
 * `sendrawtransaction`; the devnet checks it (tspend-pool.ts) and sends `tspend` notifications.
 * @example const tx = createTestTSpend(netParams('simnet'), { nextHeight: dn.height + 1 });
 */
export { createTestTSpend, SIMNET_PI_PRIVKEY_HEX } from './tspend-pool.ts';
export type { TestTSpendOptions } from './tspend-pool.ts';
export type { DevnetReport, TicketReportEntry, LatencySummary, TicketOutcome } from './report.ts';
export type { BlockInterval } from './miner.ts';
/** dcrd's JSON-RPC error codes as the devnet returns them, and its error classes. */
export { RPC_ERR, RpcError, DevnetError } from './errors.ts';
/**
 * `bindDevnetMetrics(devnet, metrics)`: keeps telemetry's `devnet` families
 * (blocks mined, tickets drawn, tickets missed) in step with the judge's report;
 * `stop()` clears its timer.
 */
export { bindDevnetMetrics, DEVNET_METRICS_REFRESH_MS } from './metrics.ts';
export type { DevnetMetricsBinding } from './metrics.ts';

/** Local etcd launcher (1 or 3 members on free loopback ports); see etcd-server.ts for the TSDoc of each export. */
export { startEtcd, setUpEtcdAuth, etcdAccessHelpers, issueEtcdClientTls, isEtcdMemberHealthy, findEtcdBinary, EtcdLauncherError, EtcdNotInstalledError, EtcdStartError, EtcdOptionsError, DEFAULT_ETCD_HEARTBEAT_MS, DEFAULT_ETCD_ELECTION_MS } from '../etcd/etcd-server.ts';
export type { StartEtcdOptions, EtcdServer, EtcdUserKind, EtcdCredentials, EtcdAuthSetup, EtcdMember, EtcdMemberListen, EtcdAdvertise, EtcdClientTls } from '../etcd/etcd-server.ts';
/** etcd's TLS material and flags, and https requests to its HTTP endpoints with a client certificate; see etcd-tls.ts. */
export { createEtcdTls, etcdTlsFlags, etcdHttp, etcdClientCommonName, ETCD_PEER_COMMON_NAME } from '../etcd/etcd-tls.ts';
export type { EtcdHttpTls, EtcdTlsMaterial } from '../etcd/etcd-tls.ts';

/**
 * Userspace WAN link: a TCP proxy adding, per direction, one-way delay, jitter, loss (as stalls)
 * and a bandwidth cap, with partition (`drop` | `reset`) and heal. Bytes of one connection are
 * never reordered or lost. Rejects with WanConfigError `DEVNET_WAN_CONFIG` (bad option or a
 * non-loopback address) or WanListenError `DEVNET_WAN_LISTEN`.
 * @example const link = await createWanLink({ listenHost: '127.0.1.101', targetHost: '127.0.2.1', targetPort: p, delayMs: 40, jitterMs: 5 });
 */
export { createWanLink } from '../wan/wan-link.ts';
/**
 * Regions on loopback blocks (region i owns 127.0.i.0/24) with on-demand links between them:
 * `reach(from, to, host, port)`, `ingress(region, host, port)`, `partition(region)`, `heal()`.
 * @example const wan = createWanTopology({ regions: ['a', 'b', 'c'], delayMs: 40, jitterMs: 5 });
 */
export { createWanTopology } from '../wan/wan-link.ts';
/** Parses a delay flag such as `40ms`, `0.04s` or `40` (ms); WanConfigError otherwise. */
export { parseDelay } from '../wan/wan-link.ts';
/** Defaults of the topology (40 ms one way, 5 ms jitter), the loss stall (200 ms = min TCP RTO) and the queue high-water mark. */
export { DEFAULT_WAN_DELAY_MS, DEFAULT_WAN_JITTER_MS, DEFAULT_LOSS_STALL_MS, QUEUE_HIGH_WATER_BYTES } from '../wan/wan-link.ts';
/** Errors of the WAN link (both extend DevnetError). */
export { WanConfigError, WanListenError } from '../wan/wan-link.ts';
/** Options, handles and stats of the WAN link and topology. */
export type {
  WanLink,
  WanLinkOptions,
  WanLinkStats,
  WanDirection,
  DirectionOptions,
  PartitionOptions,
  WanTopology,
  WanTopologyOptions,
  WanRegion,
  WanLinkKey,
} from '../wan/wan-link.ts';
