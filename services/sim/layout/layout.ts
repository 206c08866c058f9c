/**
 * `startLayout`: a whole cluster on one machine (docs/architecture.md, "The simulation"). Regions
 * a, b, c on loopback blocks 127.0.1.x, 127.0.2.x, 127.0.3.x; per region one
 * devnet node (node 0, in a, mines), one node proxy beside it, N voters and
 * (with 3 members) one etcd member. With `wan`, every cross-region
 * connection (devnet relay, etcd peer and client traffic, voter → remote
 * proxy) crosses a userspace WAN link.
 *
 * Addresses in region r: .1 devnet node, .2 node proxy, .3 etcd member,
 * .201 the WAN ingress link in front of the etcd member's peer port, .101-.103
 * the topology's links to other regions.
 *
 * Tickets: the devnet's exported tickets are imported into etcd through the
 * admin intake with a generated cluster key; the key file (0600) lives in a
 * temp dir removed on stop(), beside the cluster CA and the certificates the
 * proxies and voters use for mutual TLS (the production configuration).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { BrokenCircuitError } from 'cockatiel';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterTicketStore, importExportEntries } from '../../admin/index.ts';
import { generateClusterKey, openCluster, type Cluster, type VoteRecord } from '../../cluster/index.ts';
import { netParams } from '../../decred/index.ts';
import type { BlockInterval, DevnetReport } from '../devnet/index.ts';
import { createNodeProxy, type NodeProxy } from '../../nodeproxy/index.ts';
import { createCertsDir, issueInto, ROLE, type KnownRole, type TlsFiles } from '../../security/index.ts';
import { createLogger, type Logger, type SecretKey } from '../../telemetry/index.ts';
import type { DutyEvent, VoterConfigInput, VoterStats, VoterStrategy } from '../../voter/index.ts';
import { startLayoutDevnet, summarise, type LayoutDevnet } from './devnet-layout.ts';
import { startLayoutEtcd, type LayoutEtcd } from './etcd-layout.ts';
import { inProcessVoter, processVoter, startWithRetry, voterChildPool, type LayoutVoter, type VoterChildPool } from './voter-handle.ts';
import { createWanLink, createWanTopology, type WanLink, type WanTopology } from './wan.ts';

/** Region names, in loopback-block order. */
export const REGION_NAMES = ['a', 'b', 'c'] as const;
export const DEFAULT_VOTERS_PER_REGION = 2;
/** Demo blocks: exponential with a 1 s mean (PoW-like, fast). */
export const DEFAULT_DEMO_BLOCK_INTERVAL: BlockInterval = { mode: 'exponential', meanMs: 1_000 };
export const DEFAULT_LAYOUT_TICKETS = 300;
/** Concurrent ticket-import lanes (each imports its share one ticket at a time). */
const IMPORT_LANES = 64;

/** Options of {@link startLayout}. */
export interface LayoutOptions {
  /** Called with a short line at each start-up step (etcd, devnet, tickets imported, proxies, voters). */
  onProgress?: (line: string) => void;
  /** 1..3 regions (a, b, c); default 3. */
  regions?: number;
  votersPerRegion?: number;
  /** 1 (in region a) or 3 (one per region); default 3 with `wan` and 3 regions, else 1. */
  etcdMembers?: 1 | 3;
  /** One-way delay and jitter of every cross-region connection. */
  wan?: { delayMs: number; jitterMs: number };
  strategy?: VoterStrategy;
  hedgeMs?: number;
  blockInterval?: BlockInterval;
  /** devnet vote wait after the 3rd vote (dcrd: 2.5 s). */
  voteWaitMs?: number;
  /** The dcrd release the devnet behaves as: 2.1.6 (default) or 2.0.6. */
  dcrdVersion?: '2.1.6' | '2.0.6';
  tickets?: number;
  voterMode?: 'process' | 'in-process';
  traceFile?: string;
  /** Overrides for every voter's config (lease TTL, staleness, re-send...). */
  voter?: Partial<VoterConfigInput>;
  /** Root logger (default: warn level on stderr). */
  log?: Logger;
  /** Every finished duty of every voter (live view). */
  onDuty?: (e: DutyEvent & { nodeId: string }) => void;
}

/** A node proxy of the layout. */
export interface LayoutProxy {
  readonly region: string;
  /** `host:port` (stable across restarts). */
  readonly address: string;
  readonly isRunning: boolean;
  stop(): Promise<void>;
  /** Starts it again on the same address; `notifyDelayMs` routes its dcrd session through a link delaying dcrd → proxy traffic. */
  start(opts?: { notifyDelayMs?: number }): Promise<void>;
  restart(opts?: { notifyDelayMs?: number }): Promise<void>;
}

/** The one-line contract of `start --report json` (docs/architecture.md, "Machine-readable contracts"). */
export interface ContractReport {
  blocks: number;
  drawn: number;
  voted: number;
  missed: number;
  /** Draws not settled yet: their vote can only be judged once the next block connects (drawn = voted + missed + open). */
  open: number;
  conflicting: number;
  duplicatesSent: number;
  takeovers: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

/** The report plus what produced it. */
export interface LayoutReport extends ContractReport {
  devnet: DevnetReport;
  voters: VoterStats[];
  /** SendVote calls by all voters. */
  sends: number;
  /** SendVote calls per vote per proxy (1 = every vote sent once to every dcrd). */
  sendsPerVotePerProxy: number;
}

/** A running layout. */
export interface Layout {
  readonly regions: readonly string[];
  /** The voters' strategy (every voter of the layout runs the same one). */
  readonly strategy: VoterStrategy;
  readonly devnet: LayoutDevnet;
  readonly etcd: LayoutEtcd;
  readonly proxies: LayoutProxy[];
  readonly voters: LayoutVoter[];
  /** The WAN topology (also present without `wan`: it lays out the addresses). */
  readonly wan: WanTopology;
  /** A non-member cluster handle (ticket import, vote records, owners). */
  readonly admin: Cluster;
  readonly log: Logger;
  /** Imports every exported ticket not yet imported; returns how many were new. */
  importAllTickets(): Promise<number>;
  /** Hashes of every ticket imported so far. */
  importedTickets(): ReadonlySet<string>;
  /** Unix ms when the layout was ready: draws before it are not reported. */
  readonly readyAt: number;
  /** Height of the best block when the layout was ready. */
  readonly readyHeight: number;
  /** The cluster key file (0600) the voters and the intake read. */
  readonly clusterKeyFile: string;
  /** Issues a client certificate of the layout's cluster CA (e.g. for an admin that dials the proxies). */
  issueClientTls(name: string, role: KnownRole): Promise<TlsFiles>;
  /**
   * Issues a certificate of the layout's cluster CA for a listener that also dials (both usages),
   * valid for `sans` (e.g. the admin's gRPC listener).
   */
  issueServerTls(name: string, role: KnownRole, sans: readonly string[]): Promise<TlsFiles>;
  /** The layout's cluster CA (PEM file): what every certificate of the layout is issued by. */
  readonly caFile: string;
  /**
   * Contract report over draws since {@link readyAt}; with `throughHeight`, only the blocks
   * up to that height (and their draws) count.
   */
  report(o?: { throughHeight?: number }): Promise<LayoutReport>;
  /**
   * Resolves once ownership has converged (lease strategy): every managed ticket is claimed
   * by its rank-0 live voter and no running voter has claims left to hand over. Faults are
   * injected from there: a ticket caught between a release and the next claim has no owner,
   * so through an etcd outage it could not vote (in the fault model only owners keep the fast path).
   * Throws after `timeoutMs` (default 20 s) with each voter's figures.
   */
  awaitOwnershipSettled(timeoutMs?: number): Promise<void>;
  /** Vote records in etcd (read through the admin handle's watch cache). */
  voteRecords(): VoteRecord[];
  stop(): Promise<void>;
}

function etcdEndpointOrder(memberRegions: string[], region: string): number[] {
  const idx = memberRegions.map((_, i) => i);
  return [...idx.filter((i) => memberRegions[i] === region), ...idx.filter((i) => memberRegions[i] !== region)];
}

/** An etcd failure worth another try: unavailable or past its deadline (etcd3's raw errors or the cluster's retryable ones). */
function transientEtcd(err: unknown): boolean {
  const e = err as { retryable?: unknown; name?: unknown; cause?: unknown } | undefined;
  if (!e) return false;
  if (e.retryable === true) return true;
  // cockatiel's BrokenCircuitError keeps the name 'Error': match it by class.
  if (err instanceof BrokenCircuitError || e.name === 'GRPCDeadlineExceededError' || e.name === 'GRPCUnavailableError') return true;
  return e.cause !== undefined && e.cause !== err && transientEtcd(e.cause);
}

/** Starts the layout; on failure everything started so far is stopped. */
export async function startLayout(opts: LayoutOptions = {}): Promise<Layout> {
  const nRegions = opts.regions ?? 3;
  if (!Number.isInteger(nRegions) || nRegions < 1 || nRegions > 3) throw new RangeError(`layout: regions must be 1..3, got ${nRegions}`);
  const regions = REGION_NAMES.slice(0, nRegions);
  // With WAN the layout is the multi-region one: one etcd member per region by default.
  const etcdMembers = opts.etcdMembers ?? (opts.wan && nRegions === 3 ? 3 : 1);
  if (etcdMembers === 3 && nRegions !== 3) throw new RangeError('layout: 3 etcd members need 3 regions');
  const votersPerRegion = opts.votersPerRegion ?? DEFAULT_VOTERS_PER_REGION;
  // Diagnosis of chaos runs: VOTECLUSTER_LAYOUT_LOG=warn (in-process components' logs on stderr).
  const log = opts.log ?? createLogger({ service: 'layout', level: (process.env['VOTECLUSTER_LAYOUT_LOG'] ?? 'error') as 'error', destination: 2 });
  const wan = createWanTopology({ regions, delayMs: opts.wan?.delayMs ?? 0, jitterMs: opts.wan?.jitterMs ?? 0 });
  const useWan = opts.wan !== undefined;
  const host = (r: string, n: number): string => wan.region(r).host(n);
  const reach = async (from: string, to: string, h: string, port: number): Promise<{ host: string; port: number }> =>
    useWan ? wan.reach(from, to, h, port) : { host: h, port };

  const cleanup: Array<() => Promise<void>> = [];
  const keyDir = mkdtempSync(join(tmpdir(), 'votecluster-layout-'));
  cleanup.push(async () => rmSync(keyDir, { recursive: true, force: true }));
  const stopAll = async (): Promise<void> => {
    for (const f of cleanup.splice(0).reverse()) {
      try {
        await f();
      } catch (err) {
        // teardown carries on: one stuck component must not leave the others running
        log.warn({ err }, 'layout: a component failed to stop');
      }
    }
  };

  const mode = opts.voterMode ?? 'in-process';
  try {
    cleanup.push(() => wan.close());
    // Process mode: the voter children load their modules (most of their start-up CPU) while
    // the devnet and etcd come up; each gets its config when its voter starts.
    let pool: VoterChildPool | undefined;
    if (mode === 'process') {
      const p = voterChildPool(regions.length * votersPerRegion);
      pool = p;
      cleanup.push(() => p.close());
    }
    // Mutual TLS on every link, as in production: one cluster CA in the layout's directory issues
    // etcd's certificates, a server certificate per proxy naming every address voters dial it at
    // (its own, and each other region's WAN gateway to it), and a client certificate per voter.
    const certs = await createCertsDir(join(keyDir, 'certs'), []);

    // The devnet (CPU: bootstrap) and etcd (waiting for a leader) start side by side.
    const [dnRes, etcdRes] = await Promise.allSettled([
      startLayoutDevnet({
        regionHosts: regions.map((r) => host(r, 1)),
        regionNames: [...regions],
        tickets: opts.tickets ?? DEFAULT_LAYOUT_TICKETS,
        blockInterval: opts.blockInterval ?? { mode: 'manual' },
        ...(opts.voteWaitMs !== undefined ? { voteWaitMs: opts.voteWaitMs } : {}),
        ...(opts.dcrdVersion !== undefined ? { dcrdVersion: opts.dcrdVersion } : {}),
        ...(useWan ? { wan } : {}),
      }),
      startLayoutEtcd({
        members: etcdMembers,
        hosts: regions.map((r) => host(r, 3)),
        regions: [...regions],
        certs,
        ...(opts.wan ? { wan: { topology: wan, delayMs: opts.wan.delayMs } } : {}),
      }),
    ]);
    if (dnRes.status === 'fulfilled') cleanup.push(() => dnRes.value.stop());
    if (etcdRes.status === 'fulfilled') cleanup.push(() => etcdRes.value.stop());
    if (dnRes.status === 'rejected') throw dnRes.reason;
    if (etcdRes.status === 'rejected') throw etcdRes.reason;
    const devnet = dnRes.value;
    const etcd = etcdRes.value;
    const progress = opts.onProgress ?? ((): void => undefined);
    progress(`etcd up (${etcd.server.endpoints.length} member(s)); devnet up (${devnet.nodes.length} node(s), height ${devnet.height()})`);

    // Cluster key: generated, written 0600 to the temp dir; voters read it from there
    // (process mode) or get the bytes (in-process).
    const clusterKey: SecretKey = generateClusterKey();
    const keyFile = join(keyDir, 'cluster.key');
    writeFileSync(keyFile, Buffer.from(clusterKey.expose()).toString('hex') + '\n', { mode: 0o600 });
    chmodSync(keyFile, 0o600);

    const admin = await openCluster({
      endpoints: etcd.server.endpoints.slice(0, 1).concat(etcd.server.endpoints.slice(1)),
      etcdAccess: etcd.server.access('admin'),
      network: 'simnet', nodeId: 'layout-admin', region: regions[0] as string, join: false,
      clusterKey: new Uint8Array(clusterKey.expose()), storeKeyFingerprint: true,
    }, { log: log.child({ component: 'admin-cluster' }) });
    cleanup.push(() => admin.close());

    const imported = new Set<string>();
    const params = netParams('simnet');
    const intakeLog = log.child({ component: 'intake' });
    const importAllTickets = async (): Promise<number> => {
      const entries = devnet.exportTickets().filter((t) => !imported.has(t.ticketHash));
      if (entries.length === 0) return 0;
      // The intake imports one ticket after the other; with etcd across WAN links each
      // takes a few round trips, so run IMPORT_LANES independent lanes (distinct keys).
      const lanes = Array.from({ length: Math.min(IMPORT_LANES, entries.length) }, (_, k) => entries.filter((_, j) => j % IMPORT_LANES === k));
      const out = (await Promise.all(lanes.map((lane) => importExportEntries({ store: clusterTicketStore(admin), params, log: intakeLog }, lane)))).flat();
      let n = 0;
      for (const o of out) {
        if (o.ok) {
          imported.add(o.ticketHash);
          n++;
        }
      }
      return n;
    };
    // The first import right after etcd became healthy: one of its txns past etcd's deadline on
    // a loaded machine (etcd still settling) is tried again once etcd can commit, as the voters'
    // starts are (startWithRetry), instead of failing the layout.
    const importWithProgress = async (): Promise<number> => {
      const total = devnet.exportTickets().length;
      const timer = setInterval(() => progress(`tickets imported ${imported.size}/${total} ...`), 1_000);
      try {
        const n = await importAllTickets();
        progress(`tickets imported ${imported.size}/${total}`);
        return n;
      } finally {
        clearInterval(timer);
      }
    };
    await startWithRetry(log, 'layout-import', () => importWithProgress().then(() => undefined, (err: unknown) => {
      throw transientEtcd(err) ? Object.assign(new Error(`ticket import: ${(err as Error).message}`, { cause: err }), { retryable: true }) : err;
    }), { etcdReady: () => etcd.ready() });

    // One node proxy per region, beside its devnet node.
    const proxies: LayoutProxy[] = [];
    for (const [i, r] of regions.entries()) {
      const node = devnet.nodes[i] as LayoutDevnet['nodes'][number];
      const proxyTls = await issueInto(certs, {
        name: `proxy-${r}`, commonName: `proxy-${r}`, role: ROLE.proxy, usage: 'server',
        sans: [host(r, 2), ...regions.filter((x) => x !== r).map((x) => wan.gateway(x, r))],
      });
      let proxy: NodeProxy | undefined;
      let delayLink: WanLink | undefined;
      let address = `${host(r, 2)}:0`;
      const handle: LayoutProxy = {
        region: r,
        get address() {
          return address;
        },
        get isRunning() {
          return proxy !== undefined;
        },
        async start(o = {}) {
          if (proxy) return;
          let url = node.wsUrl;
          if (o.notifyDelayMs !== undefined) {
            const u = new URL(node.wsUrl);
            delayLink = await createWanLink({
              name: `notify delay ${r}`, listenHost: host(r, 4), targetHost: u.hostname, targetPort: Number(u.port),
              delayMs: 0, jitterMs: 0, down: { delayMs: o.notifyDelayMs },
            });
            url = `ws://${delayLink.address}:${delayLink.port}${u.pathname}`;
          }
          const p = createNodeProxy(
            { network: 'simnet', dcrd: { url, user: node.rpcUser, pass: node.rpcPass }, listen: address, tls: proxyTls },
            { logger: log.child({ component: 'nodeproxy', region: r }) },
          );
          const started = await p.start();
          proxy = p;
          address = started.address;
        },
        async stop() {
          const p = proxy;
          proxy = undefined;
          await p?.stop();
          await delayLink?.close();
          delayLink = undefined;
        },
        async restart(o = {}) {
          await handle.stop();
          await handle.start(o);
        },
      };
      await handle.start();
      proxies.push(handle);
      cleanup.push(() => handle.stop());
    }

    // Voters: every voter watches every proxy, its own region's first.
    const voters: LayoutVoter[] = [];
    for (const r of regions) {
      const proxyCfg: Array<{ address: string; region: string }> = [];
      for (const p of [...proxies.filter((x) => x.region === r), ...proxies.filter((x) => x.region !== r)]) {
        const [h, port] = [p.address.slice(0, p.address.lastIndexOf(':')), Number(p.address.slice(p.address.lastIndexOf(':') + 1))];
        const via = await reach(r, p.region, h, port);
        proxyCfg.push({ address: `${via.host}:${via.port}`, region: p.region });
      }
      const endpoints: string[] = [];
      for (const i of etcdEndpointOrder(etcd.memberRegions, r)) {
        const t = etcd.clientTargets[i] as { host: string; port: number };
        const via = await reach(r, etcd.memberRegions[i] as string, t.host, t.port);
        endpoints.push(`https://${via.host}:${via.port}`);
      }
      for (let k = 1; k <= votersPerRegion; k++) {
        const voterTls = await issueInto(certs, { name: `voter-${r}${k}`, commonName: `${r}${k}`, role: ROLE.voter, usage: 'client' });
        const config: VoterConfigInput = {
          nodeId: `${r}${k}`, region: r, network: 'simnet', etcd: { endpoints, ...etcd.server.access('voter') }, proxies: proxyCfg, clusterKeyFile: keyFile, tls: voterTls,
          strategy: opts.strategy ?? 'lease',
          ...(opts.hedgeMs !== undefined ? { hedgeMs: opts.hedgeMs } : {}),
          resendIntervalMs: 500,
          ...(opts.traceFile ? { trace: { file: opts.traceFile } } : {}),
          ...opts.voter,
        };
        const ho = {
          config, clusterKey, log: log.child({ component: 'voter', nodeId: config.nodeId }),
          ...(opts.onDuty ? { onDuty: opts.onDuty } : {}),
          ...(opts.traceFile ? { traceFile: opts.traceFile } : {}),
          ...(pool ? { pool } : {}),
          // A start failing while etcd elects waits for it instead of using up its retries.
          etcdReady: () => etcd.ready(),
          // Process voters' own log level (their stdout); diagnosis of chaos runs: VOTECLUSTER_VOTER_CHILD_LOG=warn.
          childLogLevel: process.env['VOTECLUSTER_VOTER_CHILD_LOG'] ?? 'error',
        };
        voters.push(mode === 'process' ? processVoter(ho) : inProcessVoter(ho));
      }
    }
    cleanup.push(async () => {
      await Promise.allSettled(voters.map((v) => v.stop()));
    });
    progress(`node proxies up (${proxies.map((p) => p.address).join(', ')}); starting ${voters.length} voters ...`);
    await Promise.all(voters.map((v) => v.start()));
    progress(`voters ready (${voters.length})`);
    const readyAt = Date.now();
    const blocksAtReady = devnet.report().blocks;
    const readyHeight = devnet.height();

    const layout: Layout = {
      regions, strategy: opts.strategy ?? 'lease', devnet, etcd, proxies, voters, wan, admin, log, readyAt, readyHeight, clusterKeyFile: keyFile,
      issueClientTls: (name, role) => issueInto(certs, { name, commonName: name, role, usage: 'client' }),
      issueServerTls: (name, role, sans) => issueInto(certs, { name, commonName: name, role, usage: 'peer', sans: [...sans] }),
      caFile: certs.caFile,
      importAllTickets,
      importedTickets: () => imported,
      voteRecords: () => admin.votes.list(),
      async report(o = {}) {
        const full = devnet.report();
        const through = o.throughHeight;
        const blocks = through === undefined ? Math.max(0, full.blocks - blocksAtReady) : Math.max(0, Math.min(full.blocks - blocksAtReady, through - readyHeight));
        const dn = summarise(full.tickets.filter((t) => t.drawnAt >= readyAt && (through === undefined || t.height <= through)), blocks);
        const stats = (await Promise.all(voters.map((v) => v.allStats()))).flat();
        const sends = stats.reduce((n, s) => n + s.delivery.sends, 0);
        const takeovers = stats.reduce((n, s) => n + s.takeovers, 0);
        // Votes delivered (each (ticket, block) with a vote at dcrd) × proxies = the sends strictly needed.
        const votesAtDcrd = dn.tickets.filter((t) => t.firstVoteAt !== undefined).length;
        const needed = votesAtDcrd * proxies.length;
        return {
          blocks: dn.blocks, drawn: dn.drawn, voted: dn.voted, missed: dn.missed,
          open: dn.tickets.filter((t) => t.outcome === 'pending').length, conflicting: dn.conflicting,
          duplicatesSent: Math.max(0, sends - needed), takeovers, latencyMs: dn.latencyMs,
          devnet: dn, voters: stats, sends, sendsPerVotePerProxy: needed > 0 ? sends / needed : 0,
        };
      },
      async awaitOwnershipSettled(timeoutMs = 20_000) {
        if ((opts.strategy ?? 'lease') === 'all-vote') return;
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const running = voters.filter((v) => v.isRunning);
          const stats = (await Promise.all(running.map((v) => v.stats()))).filter((x) => x !== undefined);
          const managed = Math.max(0, ...stats.map((x) => x.managedTickets));
          const owned = stats.reduce((n, x) => n + x.ownedTickets, 0);
          if (stats.length === running.length && owned === managed && stats.every((x) => x.ownership.unowned === 0 && x.ownership.surplus === 0)) return;
          if (Date.now() > deadline) {
            const each = stats.map((x) => `${x.nodeId}: owned ${x.ownedTickets}, unowned ${x.ownership.unowned}, surplus ${x.ownership.surplus}`).join('; ');
            throw new Error(`layout: ownership not settled within ${timeoutMs} ms (${managed} managed, ${owned} owned; ${each})`);
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      stop: stopAll,
    };
    return layout;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The contract line of a report (exactly the §5 fields, in order). */
export function contractOf(r: ContractReport): ContractReport {
  return {
    blocks: r.blocks, drawn: r.drawn, voted: r.voted, missed: r.missed, open: r.open, conflicting: r.conflicting,
    duplicatesSent: r.duplicatesSent, takeovers: r.takeovers,
    latencyMs: { p50: r.latencyMs.p50, p90: r.latencyMs.p90, p99: r.latencyMs.p99, max: r.latencyMs.max },
  };
}
