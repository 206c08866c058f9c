/**
 * services/devnet: a dcrd-compatible simnet chain that judges votes (issue 3), and a
 * local etcd launcher. See README.md.
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
export type { DevnetOptions, Devnet, DevnetNode, DevnetNodeOptions, StandaloneDevnetNode } from './devnet.ts';
export type { ExportedTicket } from './node.ts';
export type { DevnetReport, TicketReportEntry, LatencySummary, TicketOutcome } from './report.ts';
export type { BlockInterval } from './miner.ts';
/** dcrd's JSON-RPC error codes as the devnet returns them, and its error classes. */
export { RPC_ERR, RpcError, DevnetError } from './errors.ts';
/** Local etcd launcher (1 or 3 members on free loopback ports); see etcd-server.ts for the TSDoc of each export. */
export { startEtcd, findEtcdBinary, EtcdLauncherError, EtcdNotInstalledError, EtcdStartError, EtcdOptionsError, DEFAULT_ETCD_HEARTBEAT_MS, DEFAULT_ETCD_ELECTION_MS } from './etcd-server.ts';
export type { StartEtcdOptions, EtcdServer, EtcdMember, EtcdMemberListen, EtcdAdvertise } from './etcd-server.ts';
