/**
 * End-to-end cluster bench (issue 6, DESIGN.md §7 and §9), all in one run:
 * - 3 regions behind the WAN link (40 ms ± 5 ms one way): draw → accepted
 *   latency p50/p90/p99 for the lease strategy and for all-vote, their p99
 *   ratio, SendVote calls per vote per dcrd;
 * - the physical floor measured in the same run: one sign (decred signHash)
 *   plus one SendVote round trip through the voter's local proxy to its dcrd
 *   (a re-send of a vote already in the mempool, answered DUPLICATE by dcrd),
 *   plus, across regions, the one-way WAN delay to the miner;
 * - takeover latency: owners (child processes) SIGKILLed just before draws,
 *   draw → accepted for the tickets they owned;
 * - expected miss rate 1 − exp(−t / 300 s) from the latencies (DESIGN §7);
 * - the same lease figures on one region on loopback.
 */
import { randomBytes } from 'node:crypto';
import { fromHex, signHash } from '../../services/decred/index.ts';
import { createNodeProxyClient } from '../../services/nodeproxy/index.ts';
import { awaitTipVotes, driveBlocks, startLayout, tipDraws, type Layout, type LayoutOptions } from '../../services/cli/layout/index.ts';

const WAN = { delayMs: 40, jitterMs: 5 };
const BLOCKS = Number(process.env['VOTECLUSTER_BENCH_BLOCKS'] ?? 20);
const MAINNET_BLOCK_S = 300;

function pct(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}
const summary = (xs: number[]): { n: number; p50: number; p90: number; p99: number; max: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: round(pct(s, 0.5)), p90: round(pct(s, 0.9)), p99: round(pct(s, 0.99)), max: round(s.at(-1) ?? 0) };
};
const round = (x: number): number => Math.round(x * 100) / 100;
/** DESIGN §7: a vote t ms after the draw is missed with probability 1 − exp(−t / 300 s). */
const missRate = (ms: number): string => `${((1 - Math.exp(-ms / 1000 / MAINNET_BLOCK_S)) * 100).toFixed(4)} %`;

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

/** One SendVote round trip per round: re-send a tip vote (in the mempool) through the local proxy of its signer. */
async function measureSendRtt(l: Layout, out: number[]): Promise<void> {
  const d = tipDraws(l);
  const rec = l.voteRecords().find((r) => r.blockHash === d.blockHash);
  if (!rec) return;
  const region = l.voters.find((v) => v.nodeId === rec.signer)?.region ?? l.regions[0];
  const proxy = l.proxies.find((p) => p.region === region) ?? l.proxies[0];
  if (!proxy) return;
  const c = createNodeProxyClient(proxy.address, { clientId: 'bench' });
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

async function latencyRun(opts: LayoutOptions, rtts: number[]): Promise<{ latencyMs: ReturnType<typeof summary>; sendsPerVotePerProxy: number; voted: number; missed: number; conflicting: number }> {
  const l = await startLayout(opts);
  try {
    await driveBlocks(l, { blocks: BLOCKS, beforeBlock: () => measureSendRtt(l, rtts) });
    const r = await l.report();
    const lats = r.devnet.tickets.filter((t) => !t.sideChain && t.latencyMs !== undefined).map((t) => t.latencyMs as number);
    return { latencyMs: summary(lats), sendsPerVotePerProxy: round(r.sendsPerVotePerProxy), voted: r.voted, missed: r.missed, conflicting: r.conflicting };
  } finally {
    await l.stop();
  }
}

/** Owners SIGKILLed just before draws: draw → accepted of the tickets the victim owned. */
async function takeoverRun(opts: LayoutOptions, kills: number): Promise<{ takeoverMs: ReturnType<typeof summary>; takeovers: number; hedgeMs: number }> {
  const l = await startLayout({ ...opts, voterMode: 'process', voter: { leaseTtlSec: 5, staleness: { leaseMaxAgeMs: 4_000, watchMaxAgeMs: 4_000 } } });
  const lat: number[] = [];
  try {
    let i = 0;
    let owned = new Set<string>();
    let victimIdx = 0;
    await driveBlocks(l, {
      blocks: kills,
      beforeBlock: async () => {
        const v = l.voters[victimIdx++ % l.voters.length];
        if (!v) return;
        if (!v.isRunning) await v.start();
        owned = new Set(l.admin.tickets.list().map((t) => t.record.ticketHash).filter((t) => l.admin.owners.ownerOf(t) === v.nodeId));
        await v.kill('SIGKILL');
      },
      afterBlock: async (_r, hash) => {
        await awaitTipVotes(l);
        for (const t of l.devnet.report().tickets) if (t.blockHash === hash && owned.has(t.ticketHash) && t.latencyMs !== undefined) lat.push(t.latencyMs);
        const dead = l.voters.filter((v) => !v.isRunning);
        await Promise.all(dead.map((v) => v.start()));
        i++;
      },
    });
    const r = await l.report();
    return { takeoverMs: summary(lat), takeovers: r.takeovers, hedgeMs: 250 };
  } finally {
    await l.stop();
  }
}

export async function runClusterE2eBench(): Promise<Record<string, unknown>> {
  const sign = summary(signMs());
  const rttWan: number[] = [];
  const lease = await latencyRun({ regions: 3, votersPerRegion: 2, wan: WAN, strategy: 'lease' }, rttWan);
  const allVote = await latencyRun({ regions: 3, votersPerRegion: 2, wan: WAN, strategy: 'all-vote' }, rttWan);
  const rttLocal: number[] = [];
  const local = await latencyRun({ regions: 1, votersPerRegion: 2, strategy: 'lease' }, rttLocal);
  const takeover = await takeoverRun({ regions: 1, votersPerRegion: 3 }, 8);
  const rttW = summary(rttWan);
  const rttL = summary(rttLocal);
  const floorLocal = round(sign.p50 + rttL.p50);
  // Across regions a vote reaches the miner from the owner's region: + one one-way delay (2/3 of owners are remote).
  const floorWan = round(sign.p50 + rttW.p50 + WAN.delayMs);
  return {
    blocksPerRun: BLOCKS,
    wan: `${WAN.delayMs} ms ± ${WAN.jitterMs} ms one way`,
    threeRegions: {
      lease: { ...lease, expectedMissRateAtP50: missRate(lease.latencyMs.p50), expectedMissRateAtP99: missRate(lease.latencyMs.p99) },
      allVote: { ...allVote, expectedMissRateAtP50: missRate(allVote.latencyMs.p50), expectedMissRateAtP99: missRate(allVote.latencyMs.p99) },
      p99RatioLeaseOverAllVote: round(lease.latencyMs.p99 / Math.max(1, allVote.latencyMs.p99)),
      floorMs: floorWan,
      targetP99Ms: `<= one-way delay + 10 ms of the draw at the owner's nearest dcrd (${WAN.delayMs + 10} ms)`,
    },
    oneRegion: {
      lease: { ...local, expectedMissRateAtP99: missRate(local.latencyMs.p99) },
      floorMs: floorLocal,
      p99OverFloor: round(local.latencyMs.p99 / Math.max(0.01, floorLocal)),
      target: 'p99 <= 2 x floor',
    },
    floor: { signMs: sign, sendVoteRttLocalMs: rttL, sendVoteRttWanLayoutMs: rttW },
    takeover: { ...takeover, target: 'hedge + 50 ms' },
  };
}
