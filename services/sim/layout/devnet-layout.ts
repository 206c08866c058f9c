/**
 * One devnet node per region (node 0, in region a, mines). Without WAN the
 * devnet's own composition links the followers to the miner directly; with
 * WAN every follower is a separate node whose relay to the miner goes through
 * the WAN link "follower's region reaches a".
 */
import { randomBytes } from 'node:crypto';
import {
  startDevnet,
  startDevnetNode,
  DevnetError,
  type BlockInterval,
  type DevnetNode,
  type DevnetReport,
  type ExportedTicket,
  type HeldBlock,
  type StandaloneDevnetNode,
  type TicketReportEntry,
} from '../devnet/index.ts';
import type { WanTopology } from './wan.ts';
import { nearestRank } from '../../base/index.ts';

/** The devnet as the layout uses it (same shape with or without WAN). */
export interface LayoutDevnet {
  readonly nodes: DevnetNode[];
  /** Mines `n` blocks on the miner's best tip. */
  generate(n: number): Promise<string[]>;
  /** Test hook: mines one block with the miner's notifications and relay held until `release()` (Devnet.generateHeld). */
  generateHeld(): Promise<HeldBlock>;
  exportTickets(): ExportedTicket[];
  /** Per-ticket report: outcome from the miner, latency = min over nodes of (first acceptance − draw) at that node. */
  report(): DevnetReport;
  /**
   * The miner's own view: its draws and the votes it holds. What decides whether the next
   * block includes a vote (a vote accepted only by a follower is not in the block yet).
   */
  minerReport(): DevnetReport;
  /** Height of the miner's best tip. */
  height(): number;
  /** Mines a competing sibling of the best block (no WAN only). */
  forkNextBlock(): Promise<string>;
  /** Mines `n` blocks on `blockHash` (no WAN only). */
  mineOn(blockHash: string, n?: number): Promise<string[]>;
  stop(): Promise<void>;
}

export interface DevnetLayoutOptions {
  regionHosts: string[];
  regionNames: string[];
  tickets: number;
  blockInterval: BlockInterval;
  voteWaitMs?: number;
  /** The dcrd release the devnet behaves as (default 2.1.6). */
  dcrdVersion?: '2.1.6' | '2.0.6';
  wan?: WanTopology;
}

const SYNC_TIMEOUT_MS = 30_000;

/** Summarises report entries the way the devnet does (main-chain draws only). */
export function summarise(tickets: TicketReportEntry[], blocks: number): DevnetReport {
  let drawn = 0;
  let voted = 0;
  let missed = 0;
  let conflicting = 0;
  const lats: number[] = [];
  for (const t of tickets) {
    if (t.distinctVotes > 1) conflicting++;
    if (t.sideChain) continue;
    drawn++;
    if (t.outcome === 'voted') voted++;
    if (t.outcome === 'missed') missed++;
    if (t.latencyMs !== undefined) lats.push(t.latencyMs);
  }
  lats.sort((a, b) => a - b);
  return {
    blocks, drawn, voted, missed, conflicting, tickets,
    latencyMs: { p50: nearestRank(lats, 0.5) ?? 0, p90: nearestRank(lats, 0.9) ?? 0, p99: nearestRank(lats, 0.99) ?? 0, max: lats.at(-1) ?? 0 },
  };
}

/** Merges standalone node reports: the miner's draws, latency min over nodes, distinct votes max over nodes. */
function mergeStandalone(reports: DevnetReport[]): DevnetReport {
  const [miner, ...others] = reports as [DevnetReport, ...DevnetReport[]];
  const byKey = new Map<string, TicketReportEntry>();
  for (const t of miner.tickets) byKey.set(`${t.blockHash}:${t.ticketHash}`, { ...t });
  for (const r of others) {
    for (const t of r.tickets) {
      const e = byKey.get(`${t.blockHash}:${t.ticketHash}`);
      if (!e) continue; // draws a follower recorded while syncing the bootstrap chain
      e.distinctVotes = Math.max(e.distinctVotes, t.distinctVotes);
      if (t.latencyMs !== undefined && (e.latencyMs === undefined || t.latencyMs < e.latencyMs)) e.latencyMs = t.latencyMs;
      if (t.firstVoteAt !== undefined && (e.firstVoteAt === undefined || t.firstVoteAt < e.firstVoteAt)) e.firstVoteAt = t.firstVoteAt;
    }
  }
  return summarise([...byKey.values()], miner.blocks);
}

/** Starts the per-region devnet. */
export async function startLayoutDevnet(o: DevnetLayoutOptions): Promise<LayoutDevnet> {
  const common = {
    tickets: o.tickets, blockInterval: o.blockInterval,
    ...(o.voteWaitMs !== undefined ? { voteWaitMs: o.voteWaitMs } : {}),
    ...(o.dcrdVersion !== undefined ? { dcrdVersion: o.dcrdVersion } : {}),
  };
  if (!o.wan || o.regionHosts.length === 1) {
    const dn = await startDevnet({ nodes: o.regionHosts.length, hosts: o.regionHosts, ...common });
    return {
      nodes: dn.nodes,
      generate: (n) => dn.generate(n),
      generateHeld: () => dn.generateHeld(),
      exportTickets: () => dn.exportTickets(),
      report: () => dn.report(),
      minerReport: () => dn.nodeReport(0),
      height: () => tipHeight(dn),
      forkNextBlock: () => dn.forkNextBlock(),
      mineOn: (h, n) => dn.mineOn(h, n),
      stop: () => dn.stop(),
    };
  }
  const wan = o.wan;
  const seed = randomBytes(8).toString('hex');
  const rpcUser = 'devnet';
  const rpcPass = randomBytes(12).toString('hex');
  const nodes: StandaloneDevnetNode[] = [];
  try {
    const miner = await startDevnetNode({ ...common, seed, rpcUser, rpcPass, host: o.regionHosts[0] as string, miner: true, index: 0 });
    nodes.push(miner);
    const minerPort = Number(new URL(miner.wsUrl).port);
    for (let i = 1; i < o.regionHosts.length; i++) {
      const via = await wan.reach(o.regionNames[i] as string, o.regionNames[0] as string, o.regionHosts[0] as string, minerPort);
      nodes.push(await startDevnetNode({ ...common, seed, rpcUser, rpcPass, host: o.regionHosts[i] as string, miner: false, index: i, peers: [`ws://${via.host}:${via.port}/ws`] }));
    }
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    while (nodes.some((n) => n.height !== miner.height)) {
      if (Date.now() > deadline) throw new DevnetError('DEVNET_SYNC', 'followers did not sync with the miner through the WAN links within 30 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  } catch (err) {
    await Promise.allSettled(nodes.map((n) => n.stop()));
    throw err;
  }
  const miner = nodes[0] as StandaloneDevnetNode;
  const unsupported = (what: string) => (): Promise<never> => Promise.reject(new DevnetError('DEVNET_FORK', `${what} is not available with WAN links (standalone nodes)`));
  return {
    nodes,
    generate: (n) => miner.generate(n),
    generateHeld: () => miner.generateHeld(),
    exportTickets: () => miner.exportTickets(),
    report: () => mergeStandalone(nodes.map((n) => n.report())),
    minerReport: () => miner.report(),
    height: () => miner.height,
    forkNextBlock: unsupported('forkNextBlock'),
    mineOn: unsupported('mineOn'),
    stop: async () => {
      for (const n of [...nodes].reverse()) await n.stop();
    },
  };
}

/**
 * Best height of a composed devnet: it has no height accessor, and every block from
 * SVH-1 on draws five winners (all managed when houseShare is 0), so the highest
 * main-chain draw in the report is the tip.
 */
function tipHeight(dn: { report(): DevnetReport }): number {
  let h = 0;
  for (const t of dn.report().tickets) if (t.height > h && !t.sideChain) h = t.height;
  return h;
}
