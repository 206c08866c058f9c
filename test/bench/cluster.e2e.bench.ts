/**
 * End-to-end cluster bench, all in one run:
 * - 3 regions behind the WAN link (40 ms ± 5 ms one way, 3 etcd members):
 *   draw → accepted latency p50/p90/p99 at the owner's nearest dcrd (the
 *   devnet's min over nodes of acceptance − draw at that node) and at the miner,
 *   for the lease strategy (region signers for canonical draws), single-signer
 *   (one signer per ticket for every draw) and all-vote, side by side, their
 *   ratios, SendVote calls per
 *   vote per dcrd (broadcasts), after WARMUP_BLOCKS that are not counted;
 * - the physical floor measured in the same run: one sign (decred signHash)
 *   plus one SendVote round trip through the voter's local proxy to its dcrd
 *   (a re-send of a vote already in the mempool, answered DUPLICATE by dcrd);
 * - takeover latency on the same 3-region layout: the owner of a winner (a child
 *   process) SIGKILLed while the devnet holds the draw, then the draw released;
 *   draw → accepted for the tickets it owned, takeovers per kill from the chain;
 * - expected miss rate: mean over draws of 1 − exp(−t / 300 s) with t the
 *   latency to the miner (docs/architecture.md, "Latency and missed votes");
 * - the same lease (and single-signer) figures on one region on loopback;
 * - per latency run, where the time goes: draws by how the miner region's first signer
 *   established its vote inputs (view current at once, waited for its watches, read from etcd,
 *   not canonical), the slowest draws at the miner with every voter's duty on them, and block
 *   drawn → every voter's view holding its cluster tip. Blocks are mined at least
 *   BLOCK_GAP_MS apart.
 */
import { randomBytes } from 'node:crypto';
import { fromHex, signHash } from '../../services/decred/index.ts';
import { createNodeProxyClient, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { loadTlsMaterial, ROLE, type TlsMaterial } from '../../services/security/index.ts';
import { awaitTipVotes, checkNothingLost, driveBlocks, mineHeld, startLayout, tipDraws, type Layout, type LayoutOptions } from '../../services/sim/layout/index.ts';
import { SignerFaults, msSummary, type MsSummary, type SignerFault } from '../../services/sim/chaos/signer-faults.ts';
import type { DutyEvent } from '../../services/voter/index.ts';
import { initTelemetry } from '../../services/telemetry/index.ts';

const WAN = { delayMs: 40, jitterMs: 5 };
const BLOCKS = Number(process.env['VOTECLUSTER_BENCH_BLOCKS'] ?? 20);
const TAKEOVER_KILLS = Number(process.env['VOTECLUSTER_BENCH_KILLS'] ?? 12);
const MAINNET_BLOCK_S = 300;
/**
 * Least time between two blocks of the latency runs (ms; VOTECLUSTER_BENCH_BLOCK_GAP_MS). A draw
 * is canonical once the voter's caches hold the cluster tip of the block before it, committed
 * across the WAN's etcd members when that block was first heard (~150-200 ms here). Blocks mined
 * closer together than that (mainnet: 5 min on average; under 0.2 s for about 0.07 % of blocks)
 * make a voter wait for that commit, up to its hedge: a block race, not the steady state the
 * figures are for. 0 mines as fast as the votes allow; the report counts such waits either way.
 */
const BLOCK_GAP_MS = Number(process.env['VOTECLUSTER_BENCH_BLOCK_GAP_MS'] ?? 500);
/**
 * Voters of the latency runs: in the bench's process (default: one event loop, the steadiest
 * figures on a small machine) or child processes as in production (VOTECLUSTER_BENCH_VOTER_MODE=process).
 */
const VOTER_MODE = process.env['VOTECLUSTER_BENCH_VOTER_MODE'] === 'process' ? 'process' : 'in-process';
/** Which parts to run (comma-separated): lease, single-signer, all-vote, takeover, takeover-local, local, local-single-signer. */
const PARTS = new Set((process.env['VOTECLUSTER_BENCH_PARTS'] ?? 'lease,single-signer,all-vote,takeover,takeover-local,local,local-single-signer').split(',').map((p) => p.trim()));

/** n, p50, p90, p99 and max of `xs` (nearest rank, as the chaos report computes them), rounded to 0.01 ms. */
const rounded = (m: MsSummary): MsSummary => ({ n: m.n, p50: round(m.p50), p90: round(m.p90), p99: round(m.p99), max: round(m.max) });
const summary = (xs: number[]): MsSummary => rounded(msSummary(xs));
const round = (x: number): number => Math.round(x * 100) / 100;

function signMs(samples = 200): number[] {
  const key = randomBytes(32);
  key[0] = 1;
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const h = randomBytes(32);
    const t = performance.now();
    signHash(h, key);
    out.push(performance.now() - t);
  }
  return out;
}

/**
 * The bench's proxy clients present a client certificate of the layout's cluster CA, as the
 * voters do: the proxies accept nothing else (mutual TLS). One certificate per layout.
 */
const benchTls = new WeakMap<Layout, Promise<TlsMaterial>>();
async function benchProxyClient(l: Layout, address: string, clientId: string): Promise<NodeProxyClient> {
  let tls = benchTls.get(l);
  if (!tls) {
    tls = l.issueClientTls('bench', ROLE.voter).then((files) => loadTlsMaterial(files));
    benchTls.set(l, tls);
  }
  const m = await tls;
  return createNodeProxyClient(address, { clientId, tls: { caPem: m.ca, certPem: m.cert, keyPem: m.key } });
}

/** One SendVote round trip per round: re-send a tip vote (in the mempool) through the local proxy of its signer. */
async function measureSendRtt(l: Layout, out: number[]): Promise<void> {
  const d = tipDraws(l);
  const rec = l.voteRecords().find((r) => r.blockHash === d.blockHash);
  if (!rec) return;
  const region = l.voters.find((v) => v.nodeId === rec.signer)?.region ?? l.regions[0];
  const proxy = l.proxies.find((p) => p.region === region) ?? l.proxies[0];
  if (!proxy) return;
  const c = await benchProxyClient(l, proxy.address, 'bench');
  try {
    const raw = fromHex(rec.voteTxHex, 'vote');
    await c.sendVote(raw, { deadlineMs: 2_000 }); // warm the channel
    const t = performance.now();
    const r = await c.sendVote(raw, { deadlineMs: 2_000 });
    if (r.status === 'DUPLICATE' || r.status === 'ACCEPTED') out.push(performance.now() - t);
  } finally {
    c.close();
  }
}

/** Blocks mined before measuring (claims settle after start-up; not counted). */
const WARMUP_BLOCKS = 2;

/** Latencies of draws since `from`: at the owner's nearest dcrd (report: min over nodes) and at the miner. */
function windowLatencies(l: Layout, from: number): { nearest: number[]; toMiner: number[] } {
  const nearest = l.devnet.report().tickets.filter((t) => t.drawnAt >= from && !t.sideChain && t.latencyMs !== undefined).map((t) => t.latencyMs as number);
  const toMiner = l.devnet.minerReport().tickets
    .filter((t) => t.drawnAt >= from && !t.sideChain && t.firstVoteAt !== undefined)
    .map((t) => (t.firstVoteAt as number) - t.drawnAt);
  return { nearest, toMiner };
}

const sendsOf = async (l: Layout): Promise<number> => (await Promise.all(l.voters.map((v) => v.allStats()))).flat().reduce((n, s) => n + s.delivery.sends, 0);

/** Expected miss rate averaged over the draws: mean of 1 − exp(−t / 300 s). */
const meanMissRate = (ms: number[]): string =>
  ms.length === 0 ? 'n/a' : `${((ms.reduce((a, t) => a + (1 - Math.exp(-t / 1000 / MAINNET_BLOCK_S)), 0) / ms.length) * 100).toFixed(4)} %`;

/** One voter's duty on one draw, relative to the draw at the miner (ms). */
interface DutySample {
  nodeId: string;
  region: string;
  path: string;
  rank: number;
  outcome: string;
  /** How the vote inputs were established (`view`, `waited`, `read`, `none`), and how long it took. */
  inputs?: string;
  inputsMs?: number;
  /** Draw height − 1 − the lowest tip marker height of the voter's caches at arrival (0: current). */
  markerLag?: number;
  arrivedMs?: number;
  doneMs?: number;
}

/** A draw at the miner: its latency there and every voter's duty on it. */
interface DrawTrace { height: number; ticket: string; toMinerMs: number; duties: DutySample[] }

/**
 * When each in-process voter's vote-input view first held the cluster tip of each height (no
 * I/O: polled every 5 ms): block H drawn at the miner → the last voter able to prove its inputs
 * current for a draw at H + 1. Empty with voters in child processes.
 */
function watchViews(l: Layout): { stop(): void; lagAfter(l: Layout, from: number): MsSummary & { byHeight: Record<number, number> } } {
  const reached = new Map<number, Map<string, number>>();
  const timer = setInterval(() => {
    const now = Date.now();
    for (const v of l.voters) {
      const h = v.voter?.cluster?.voteView.viewHeight();
      if (h === undefined || h < 0) continue;
      const at = reached.get(h) ?? new Map<string, number>();
      if (!at.has(v.nodeId)) at.set(v.nodeId, now);
      reached.set(h, at);
    }
  }, 5);
  return {
    stop: () => clearInterval(timer),
    lagAfter: (lay, from) => {
      const drawn = new Map<number, number>();
      for (const t of lay.devnet.minerReport().tickets) if (t.drawnAt >= from && !t.sideChain) drawn.set(t.height, Math.min(drawn.get(t.height) ?? Infinity, t.drawnAt));
      const lags: number[] = [];
      const byHeight: Record<number, number> = {};
      for (const [h, at] of drawn) {
        // A view that skipped h (it went straight to a higher tip) counts at its first higher one.
        const times = lay.voters.map((v) => {
          let first = Infinity;
          for (const [rh, m] of reached) if (rh >= h) first = Math.min(first, m.get(v.nodeId) ?? Infinity);
          return first;
        });
        const last = Math.max(...times);
        if (!Number.isFinite(last)) continue;
        lags.push(last - at);
        byHeight[h] = last - at;
      }
      return { ...summary(lags), byHeight };
    },
  };
}

interface LatencyRun {
  latencyMs: MsSummary;
  toMinerMs: MsSummary;
  /** SendVote calls per delivered vote per dcrd in the measured window (1 = one broadcast per vote per dcrd). */
  broadcastsPerVotePerDcrd: number;
  voted: number;
  missed: number;
  conflicting: number;
  expectedMissRate: string;
  /**
   * Duties of the measured draws by how their vote inputs were established (lease strategy):
   * view (current at arrival), waited (own watches caught up), read (from etcd), none (single-signer).
   */
  inputs: Record<string, number>;
  /** The miner region's first signer per draw: draws by how its inputs were established, and that step's p50/p99 (ms). */
  minerRegionInputs: Record<string, number>;
  minerRegionInputsMs: MsSummary;
  /** The slowest draws at the miner with every voter's duty on them. */
  slowest: DrawTrace[];
  /** Block drawn at the miner → every voter's view holds its tip (ms; in-process voters only). */
  tipCurrentMs?: MsSummary & { byHeight: Record<number, number> };
}

const EMPTY_RUN: LatencyRun = {
  latencyMs: summary([]), toMinerMs: summary([]), broadcastsPerVotePerDcrd: 0, voted: 0, missed: 0, conflicting: 0, expectedMissRate: 'n/a',
  inputs: {}, minerRegionInputs: {}, minerRegionInputsMs: summary([]), slowest: [],
};

/** Draws kept with their duties in a run's report, slowest first. */
const SLOWEST_KEPT = 5;

/** Duty events by `${blockHash}:${ticketHash}`, for the per-draw breakdown. */
function dutyLog(): { onDuty: NonNullable<LayoutOptions['onDuty']>; byDraw: Map<string, Array<DutyEvent & { nodeId: string }>> } {
  const byDraw = new Map<string, Array<DutyEvent & { nodeId: string }>>();
  return {
    byDraw,
    onDuty: (e) => {
      const k = `${e.blockHashHex}:${e.ticketHex}`;
      const list = byDraw.get(k) ?? [];
      list.push(e);
      byDraw.set(k, list);
    },
  };
}

/** Per-draw breakdown of the measured window: counts by inputs verdict, and the slowest draws at the miner. */
function breakdown(l: Layout, from: number, byDraw: Map<string, Array<DutyEvent & { nodeId: string }>>): Pick<LatencyRun, 'inputs' | 'minerRegionInputs' | 'minerRegionInputsMs' | 'slowest'> {
  const regionOf = new Map(l.voters.map((v) => [v.nodeId, v.region]));
  const minerRegion = l.proxies[0]?.region;
  const inputs: Record<string, number> = { view: 0, waited: 0, read: 0, none: 0 };
  const minerRegionInputs: Record<string, number> = { view: 0, waited: 0, read: 0, none: 0 };
  const minerRegionMs: number[] = [];
  const traces: DrawTrace[] = [];
  for (const t of l.devnet.minerReport().tickets) {
    if (t.drawnAt < from || t.sideChain || t.firstVoteAt === undefined) continue;
    const duties: DutySample[] = (byDraw.get(`${t.blockHash}:${t.ticketHash}`) ?? []).map((e) => ({
      nodeId: e.nodeId, region: regionOf.get(e.nodeId) ?? '?', path: e.path ?? '?', rank: e.rank, outcome: e.outcome,
      ...(e.inputs ? { inputs: e.inputs.how, inputsMs: round(e.inputs.ms) } : {}),
      ...(e.inputs?.viewHeight !== undefined ? { markerLag: t.height - 1 - e.inputs.viewHeight } : {}),
      ...(e.receivedAtMs !== undefined ? { arrivedMs: e.receivedAtMs - t.drawnAt } : {}),
      ...(e.doneAtMs !== undefined ? { doneMs: e.doneAtMs - t.drawnAt } : {}),
    }));
    for (const d of duties) if (d.inputs) inputs[d.inputs] = (inputs[d.inputs] ?? 0) + 1;
    const first = duties.filter((d) => d.region === minerRegion).sort((a, b) => a.rank - b.rank)[0];
    if (first?.inputs) {
      minerRegionInputs[first.inputs] = (minerRegionInputs[first.inputs] ?? 0) + 1;
      if (first.inputsMs !== undefined) minerRegionMs.push(first.inputsMs);
    }
    traces.push({ height: t.height, ticket: t.ticketHash.slice(0, 12), toMinerMs: t.firstVoteAt - t.drawnAt, duties });
  }
  traces.sort((a, b) => b.toMinerMs - a.toMinerMs);
  return { inputs, minerRegionInputs, minerRegionInputsMs: summary(minerRegionMs), slowest: traces.slice(0, SLOWEST_KEPT) };
}

async function latencyRun(opts: LayoutOptions, rtts: number[], hops: number[]): Promise<LatencyRun> {
  const duties = dutyLog();
  // VOTECLUSTER_BENCH_LATENCY_TRACE_FILE: spans of the latency runs (every part appends) for `votecluster trace`.
  const traceFile = process.env['VOTECLUSTER_BENCH_LATENCY_TRACE_FILE'];
  // In-process voters and proxies trace through this process's provider.
  const telemetry = traceFile ? await initTelemetry({ serviceName: 'votecluster-bench', traceFile }) : undefined;
  const l = await startLayout({ voterMode: VOTER_MODE, ...opts, onDuty: duties.onDuty, ...(traceFile ? { traceFile } : {}) });
  // Notify hop: the miner's proxy → a WatchChain client beside it (what a voter in region a sees).
  const arrivals = new Map<string, number>();
  const watcher = await benchProxyClient(l, l.proxies[0]?.address ?? '', 'bench-hop');
  const watch = watcher.watchChain({}, (ev) => {
    if (ev.kind === 'winning_tickets' && !arrivals.has(ev.draw.blockHash)) arrivals.set(ev.draw.blockHash, Date.now());
  });
  const views = watchViews(l);
  try {
    await driveBlocks(l, { blocks: WARMUP_BLOCKS, minRoundMs: BLOCK_GAP_MS });
    const from = Date.now();
    const sends0 = await sendsOf(l);
    await driveBlocks(l, { blocks: BLOCKS, minRoundMs: BLOCK_GAP_MS, beforeBlock: () => measureSendRtt(l, rtts) });
    const sends = (await sendsOf(l)) - sends0;
    const r = await l.report();
    const w = windowLatencies(l, from);
    const delivered = l.devnet.report().tickets.filter((t) => t.drawnAt >= from && t.firstVoteAt !== undefined).length;
    const drawnAt = new Map(l.devnet.minerReport().tickets.filter((t) => t.drawnAt >= from).map((t) => [t.blockHash, t.drawnAt]));
    for (const [b, at] of drawnAt) {
      const got = arrivals.get(b);
      if (got !== undefined) hops.push(got - at);
    }
    return {
      latencyMs: summary(w.nearest),
      toMinerMs: summary(w.toMiner),
      broadcastsPerVotePerDcrd: round(sends / Math.max(1, delivered * l.proxies.length)),
      voted: r.voted, missed: r.missed, conflicting: r.conflicting,
      expectedMissRate: meanMissRate(w.toMiner),
      ...breakdown(l, from, duties.byDraw),
      tipCurrentMs: views.lagAfter(l, from),
    };
  } finally {
    views.stop();
    watch.close();
    watcher.close();
    await l.stop();
    await telemetry?.shutdown();
  }
}

/**
 * Signers SIGKILLed just before their draws: each block is mined with its draw held (the devnet's
 * test hook), the voter that would sign the most winners (lease: the region signer of the
 * miner's region; single-signer: the claim owner) is SIGKILLed, then the draw is released.
 * Draw → accepted (nearest dcrd, and at the miner) of the winners the victims were to sign, i.e.
 * what the other signers achieved; takeovers judged from the chain and the vote records
 * (services/sim/chaos/signer-faults.ts).
 */
interface TakeoverRun {
  takeoverMs: MsSummary;
  toMinerMs: MsSummary;
  /** SIGKILLs at held draws, each of the designated signer of at least one winner. */
  kills: number;
  /** Kills of which at least one draw was taken over by another voter (target: every kill). */
  killsExercised: number;
  /** Victim-owned draws (the samples), and how many another voter's vote took over. */
  victimDraws: number;
  exercised: number;
  /** Takeovers per kill, from the chain (a victim's winner whose mined vote another voter recorded). */
  takeoversPerKill: number;
  missed: number;
  conflicting: number;
  hedgeMs: number;
}

async function takeoverRun(opts: LayoutOptions, kills: number): Promise<TakeoverRun> {
  const hedgeMs = opts.hedgeMs ?? 250;
  // VOTECLUSTER_BENCH_TRACE_FILE: spans of the takeover run (voter.hedge, cluster.record, cluster.takeover, voter.broadcast) for `votecluster trace`.
  const traceFile = process.env['VOTECLUSTER_BENCH_TRACE_FILE'];
  const l = await startLayout({
    ...opts, voterMode: 'process', voter: { leaseTtlSec: 5, staleness: { leaseMaxAgeMs: 4_000, watchMaxAgeMs: 4_000 } },
    ...(traceFile ? { traceFile } : {}),
  });
  try {
    await l.awaitOwnershipSettled();
    await driveBlocks(l, { blocks: WARMUP_BLOCKS });
    const faults = new SignerFaults(l, l.strategy);
    let restarts: Promise<unknown> = Promise.resolve();
    let last: SignerFault | undefined;
    await driveBlocks(l, {
      blocks: kills,
      // At most one voter down at a time: the next kill waits for the last restart.
      beforeBlock: async () => {
        await restarts;
      },
      mine: () => mineHeld(l, async (held) => {
        const signers = await faults.signersAt(held, (id) => l.voters.some((v) => v.nodeId === id && !v.isRunning));
        const c = faults.choose('SIGKILL', signers, (v) => v.isRunning);
        if (!c) return;
        await Promise.all(c.victims.map((v) => v.kill('SIGKILL')));
        last = faults.record('SIGKILL', held, c.victims, c.tickets);
      }),
      afterBlock: async () => {
        await awaitTipVotes(l);
        if (last) faults.back(last);
        last = undefined;
        // Restart in the background (a SIGKILLed id rejoins once its lease expires).
        restarts = Promise.all(l.voters.filter((v) => !v.isRunning).map((v) => v.start()));
      },
    });
    await restarts;
    await checkNothingLost(l);
    const t = await faults.judge();
    const r = await l.report();
    return {
      takeoverMs: rounded(t.takeoverNearestMs), toMinerMs: rounded(t.takeoverMs), kills: t.faults, killsExercised: t.faultsExercised,
      victimDraws: t.victimDraws, exercised: t.exercised, takeoversPerKill: round(t.exercised / Math.max(1, t.faults)),
      missed: r.missed, conflicting: r.conflicting, hedgeMs,
    };
  } finally {
    await l.stop();
  }
}

export async function runClusterE2eBench(): Promise<Record<string, unknown>> {
  const sign = summary(signMs());
  const rttWan: number[] = [];
  const hopWan: number[] = [];
  const three = { regions: 3, votersPerRegion: 2, wan: WAN } as const;
  const lease = PARTS.has('lease') ? await latencyRun({ ...three, strategy: 'lease' }, rttWan, hopWan) : EMPTY_RUN;
  const single = PARTS.has('single-signer') ? await latencyRun({ ...three, strategy: 'single-signer' }, rttWan, hopWan) : EMPTY_RUN;
  const allVote = PARTS.has('all-vote') ? await latencyRun({ ...three, strategy: 'all-vote' }, rttWan, hopWan) : EMPTY_RUN;
  const takeover = PARTS.has('takeover') ? await takeoverRun({ ...three }, TAKEOVER_KILLS) : undefined;
  const takeoverLocal = PARTS.has('takeover-local') ? await takeoverRun({ regions: 1, votersPerRegion: 3 }, TAKEOVER_KILLS) : undefined;
  const rttLocal: number[] = [];
  const hopLocal: number[] = [];
  const local = PARTS.has('local') ? await latencyRun({ regions: 1, votersPerRegion: 2, strategy: 'lease' }, rttLocal, hopLocal) : EMPTY_RUN;
  const localSingle = PARTS.has('local-single-signer') ? await latencyRun({ regions: 1, votersPerRegion: 2, strategy: 'single-signer' }, rttLocal, hopLocal) : EMPTY_RUN;
  const rttW = summary(rttWan);
  const rttL = summary(rttLocal);
  const hopW = summary(hopWan);
  const hopL = summary(hopLocal);
  // Floor: the hops a vote must make to its nearest dcrd plus one sign: dcrd → proxy → voter
  // (notify hop, measured with a WatchChain client) + sign + voter → proxy → dcrd and back
  // (SendVote round trip of a vote dcrd already holds: DUPLICATE, no full judge).
  const floorLocal = round(hopL.p50 + sign.p50 + rttL.p50);
  const floorWan = round(hopW.p50 + sign.p50 + rttW.p50);
  const targetWan = WAN.delayMs + 10;
  return {
    blocksPerRun: BLOCKS,
    blockGapMs: BLOCK_GAP_MS,
    warmupBlocks: WARMUP_BLOCKS,
    wan: `${WAN.delayMs} ms ± ${WAN.jitterMs} ms one way, 3 etcd members (one per region)`,
    threeRegions: {
      lease,
      singleSigner: single,
      allVote,
      toMinerP99RatioLeaseOverAllVote: round(lease.toMinerMs.p99 / Math.max(1, allVote.toMinerMs.p99)),
      toMinerP99RatioSingleSignerOverAllVote: round(single.toMinerMs.p99 / Math.max(1, allVote.toMinerMs.p99)),
      toMinerTarget: 'lease p99 at the miner <= 1.1 x all-vote p99, with <= 1.1 broadcasts per vote per dcrd',
      leaseMeetsToMinerTarget: lease.toMinerMs.n > 0 && lease.toMinerMs.p99 <= 1.1 * allVote.toMinerMs.p99 && lease.broadcastsPerVotePerDcrd <= 1.1,
      p99RatioLeaseOverAllVote: round(lease.latencyMs.p99 / Math.max(1, allVote.latencyMs.p99)),
      p50RatioLeaseOverAllVote: round(lease.latencyMs.p50 / Math.max(1, allVote.latencyMs.p50)),
      floorMs: floorWan,
      leaseP99OverFloor: round(lease.latencyMs.p99 / Math.max(0.01, floorWan)),
      targetP99Ms: targetWan,
      leaseMeetsTarget: lease.latencyMs.p99 <= targetWan,
      target: `p99 <= one-way delay + 10 ms at the owner's nearest dcrd; ratio <= 1.1 with ~1 broadcast per vote per dcrd (all-vote: N = ${three.regions * three.votersPerRegion})`,
    },
    ...(takeover ? { takeover: { ...takeover, targetMs: takeover.hedgeMs + 50, target: 'hedge + 50 ms (the signer SIGKILLed just before the draw; 3 regions)' } } : {}),
    ...(takeoverLocal ? { takeoverOneRegion: { ...takeoverLocal, targetMs: 100, target: 'p99 <= 100 ms (the signer SIGKILLed just before the draw; 1 region, 3 voters, loopback)' } } : {}),
    oneRegion: {
      lease: local,
      singleSigner: localSingle,
      floorMs: floorLocal,
      p99OverFloor: round(local.latencyMs.p99 / Math.max(0.01, floorLocal)),
      target: 'p99 <= 2 x floor',
    },
    floor: { notifyHopWanLayoutMs: hopW, notifyHopLocalMs: hopL, signMs: sign, sendVoteRttLocalMs: rttL, sendVoteRttWanLayoutMs: rttW },
  };
}
