/**
 * Runs one chaos scenario on a fresh layout and returns the devnet's verdict
 * and the loss check; the layout is always stopped.
 */
import { checkNothingLost, type LossCheck } from '../layout/drive.ts';
import { startLayout, type Layout, type LayoutOptions, type LayoutReport } from '../layout/layout.ts';
import { findScenario, SCENARIOS, type ScenarioContext } from './scenarios.ts';
import type { TakeoverReport } from './signer-faults.ts';
import { RACE_WINDOW_MS, type InputRaceReport } from './input-races.ts';

/**
 * Blocks of the CI form (>= 50 draws) and of the long form (`VOTECLUSTER_CHAOS_LONG=1`): the
 * blocks a scenario drives and reports; one more is mined at the end to judge the last draws.
 */
export const CHAOS_CI_BLOCKS = 10;
export const CHAOS_LONG_BLOCKS = 200;

export interface ChaosResult {
  scenario: string;
  report: LayoutReport;
  loss: LossCheck;
  durationMs: number;
  /** Draws since the layout was ready that the devnet judged missed (for failure messages). */
  missedDraws: Array<{ height: number; ticketHash: string; blockHash: string; drawnAt: number; firstVoteAt?: number }>;
  /** Scenarios that fault the signers of a draw: the takeovers judged from the chain and the vote records. */
  takeovers?: TakeoverReport;
  /** Scenarios that race a vote input against a draw: the changes made and the referee's verdict. */
  inputRaces?: InputRaceReport;
}

export interface RunChaosOptions {
  blocks?: number;
  /** Extra layout options (wan, strategy, traceFile, log, onDuty). */
  layout?: LayoutOptions;
  note?: (line: string) => void;
  signal?: AbortSignal;
  /** Called once the layout is up (live view). */
  onLayout?: (layout: Layout) => void;
}

/** Blocks for the current mode: long when VOTECLUSTER_CHAOS_LONG=1. */
export function chaosBlocks(env: NodeJS.ProcessEnv = process.env): number {
  return env['VOTECLUSTER_CHAOS_LONG'] === '1' ? CHAOS_LONG_BLOCKS : CHAOS_CI_BLOCKS;
}

/** Runs scenario `name`. Throws RangeError for an unknown name (listing the known ones). */
export async function runChaos(name: string, o: RunChaosOptions = {}): Promise<ChaosResult> {
  const s = findScenario(name);
  if (!s) throw new RangeError(`unknown chaos scenario ${JSON.stringify(name)}; known: ${SCENARIOS.map((x) => x.name).join(', ')}`);
  const t0 = Date.now();
  const layout = await startLayout({ ...s.layout, ...o.layout, voter: { ...s.layout.voter, ...o.layout?.voter } });
  try {
    o.onLayout?.(layout);
    // Faults start on a converged cluster: every ticket held by its rank-0 voter.
    await layout.awaitOwnershipSettled();
    const ctx: ScenarioContext = { layout, blocks: o.blocks ?? chaosBlocks(), note: o.note ?? (() => undefined), ...(o.signal ? { signal: o.signal } : {}) };
    await s.run(ctx);
    // The run's last block only judges the draws before it (its own are still open): the report
    // covers the blocks below it, so `--blocks N` reports the N blocks the scenario drove.
    const throughHeight = layout.devnet.height() - 1;
    const loss = await checkNothingLost(layout);
    const report = await layout.report({ throughHeight });
    o.note?.(`nothing-lost check: ${loss.votesUnrecorded.length} mined votes unrecorded, ${loss.recordsDiffering.length} differing, ${loss.repaired} records written by repair`);
    // After the loss check, which waited for every mined vote's record.
    const takeovers = ctx.takeovers ? await ctx.takeovers() : undefined;
    if (takeovers) {
      const t = takeovers.takeoverMs;
      const n = takeovers.takeoverNearestMs;
      o.note?.(`takeovers (victims: ${takeovers.choice}): ${takeovers.faults} faults, ${takeovers.faultsExercised} of them exercised a takeover; ${takeovers.takeovers} of the ${takeovers.victimDraws} winners the victims were to sign voted by another voter; draw → accepted at the miner ms p50 ${t.p50} p90 ${t.p90} p99 ${t.p99} max ${t.max}, at the nearest dcrd p50 ${n.p50} p99 ${n.p99} max ${n.max}`);
      for (const m of takeovers.notTakenOver.slice(0, 20)) o.note?.(`not taken over: ${m}`);
    }
    const inputRaces = ctx.inputRaces ? await ctx.inputRaces() : undefined;
    if (inputRaces) {
      const t = inputRaces.raceMs;
      o.note?.(`input races: ${inputRaces.faults} changes at held draws, ${inputRaces.faultsExercised} within ${RACE_WINDOW_MS} ms of the release on a drawn ticket; done − released ms min ${t.min} p50 |${t.p50}| max |${t.max}|; ${inputRaces.votesChecked} mined votes checked, ${inputRaces.mismatches.length} mismatches`);
      for (const m of inputRaces.mismatches.slice(0, 20)) o.note?.(`mismatch: ${m}`);
    }
    // Which draws were missed, and when (relative to the start), for the verbose notes.
    const missedDraws: ChaosResult['missedDraws'] = [];
    for (const t of layout.devnet.report().tickets) {
      if (t.outcome !== 'missed' || t.drawnAt < layout.readyAt) continue;
      missedDraws.push({ height: t.height, ticketHash: t.ticketHash, blockHash: t.blockHash, drawnAt: t.drawnAt, ...(t.firstVoteAt !== undefined ? { firstVoteAt: t.firstVoteAt } : {}) });
      o.note?.(`missed: height ${t.height} ticket ${t.ticketHash.slice(0, 12)} drawn at +${((t.drawnAt - t0) / 1000).toFixed(1)} s, first vote ${t.firstVoteAt === undefined ? 'never' : `+${((t.firstVoteAt - t.drawnAt) / 1000).toFixed(1)} s after the draw`}`);
    }
    return { scenario: name, report, loss, durationMs: Date.now() - t0, missedDraws, ...(takeovers ? { takeovers } : {}), ...(inputRaces ? { inputRaces } : {}) };
  } finally {
    await layout.stop();
  }
}
