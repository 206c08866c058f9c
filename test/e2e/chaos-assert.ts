/**
 * Shared body of the chaos e2e files: runs one scenario (CI form, or long with
 * VOTECLUSTER_CHAOS_LONG=1) and asserts with the devnet as judge: >= 50 draws
 * voted, zero missed, zero conflicting, nothing lost in etcd. Prints one JSON
 * row per scenario (collected by `npm run chaos` into its table).
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { expect } from 'vitest';
import { runChaos, type ChaosResult } from '../../services/sim/chaos/run.ts';

/** Rows of the current `npm run chaos` run (one JSON object per line). */
export const CHAOS_ROWS_FILE = 'bench-results/chaos-rows.jsonl';

export async function runAndAssert(name: string): Promise<ChaosResult> {
  const verbose = process.env['VOTECLUSTER_CHAOS_VERBOSE'] === '1';
  const t0 = Date.now();
  const stamp = (): string => ((Date.now() - t0) / 1000).toFixed(1).padStart(6);
  // The timeline and every voter's duty outcome are kept (printed only when verbose) so that a
  // failing assertion says why: which draws were missed, who did what for them, and when.
  const notes: string[] = [];
  const duties: Array<{ nodeId: string; ticketHex: string; blockHashHex: string; rank: number; outcome: string; at: number }> = [];
  const r = await runChaos(name, {
    note: (l) => {
      notes.push(`[${stamp()}s] ${l}`);
      if (verbose) process.stderr.write(`[${name} ${stamp()}s] ${l}\n`);
    },
    layout: {
      onDuty: (e) => {
        duties.push({ nodeId: e.nodeId, ticketHex: e.ticketHex, blockHashHex: e.blockHashHex, rank: e.rank, outcome: e.outcome, at: Date.now() });
      },
    },
  });
  const rep = r.report;
  const missed = r.missedDraws.map((d) => {
    const ds = duties.filter((x) => x.ticketHex === d.ticketHash && x.blockHashHex === d.blockHash)
      .map((x) => `${x.nodeId} rank ${x.rank} ${x.outcome} +${x.at - d.drawnAt} ms`);
    return `height ${d.height} ticket ${d.ticketHash.slice(0, 12)} drawn at +${((d.drawnAt - t0) / 1000).toFixed(1)} s, first vote ${d.firstVoteAt === undefined ? 'never' : `+${d.firstVoteAt - d.drawnAt} ms`}; duties: ${ds.join(', ') || 'none reported'}`;
  });
  const why = `${name}: missed draws:\n  ${missed.join('\n  ') || 'none'}\ntimeline:\n  ${notes.slice(-40).join('\n  ')}`;
  const row = JSON.stringify({
    scenario: name, draws: rep.drawn, voted: rep.voted, missed: rep.missed, conflicting: rep.conflicting,
    takeovers: rep.takeovers, p99: rep.latencyMs.p99, durationMs: r.durationMs,
    // Standby copies sent early (resend.ts), records written by repair, broadcasts per vote per dcrd.
    releasedEarly: rep.voters.reduce((n, v) => n + (v.delivery.releasedEarly ?? 0), 0), repaired: r.loss.repaired,
    sendsPerVotePerProxy: Number(rep.sendsPerVotePerProxy.toFixed(3)),
    // Scenarios that fault the signers of a draw: takeovers judged from the chain and the records.
    ...(r.takeovers ? {
      takeovers: r.takeovers.takeovers, faults: r.takeovers.faults, faultsExercised: r.takeovers.faultsExercised,
      takeoverMs: { p50: r.takeovers.takeoverMs.p50, p90: r.takeovers.takeoverMs.p90, p99: r.takeovers.takeoverMs.p99, max: r.takeovers.takeoverMs.max },
      takeoverNearestMs: { p50: r.takeovers.takeoverNearestMs.p50, p90: r.takeovers.takeoverNearestMs.p90, p99: r.takeovers.takeoverNearestMs.p99, max: r.takeovers.takeoverNearestMs.max },
    } : {}),
    // Scenarios that race a vote input against a draw: changes made, exercised, the referee's count.
    ...(r.inputRaces ? {
      faults: r.inputRaces.faults, faultsExercised: r.inputRaces.faultsExercised, votesChecked: r.inputRaces.votesChecked,
      mismatches: r.inputRaces.mismatches.length, raceMs: r.inputRaces.raceMs,
    } : {}),
  });
  process.stdout.write(`CHAOS_ROW ${row}\n`);
  mkdirSync('bench-results', { recursive: true });
  appendFileSync(CHAOS_ROWS_FILE, `${row}\n`);
  expect(rep.voted, why).toBeGreaterThanOrEqual(50);
  expect(rep.missed, why).toBe(0);
  expect(rep.conflicting, why).toBe(0);
  expect(r.loss.ticketsMissing, why).toEqual([]);
  expect(r.loss.votesUnrecorded, why).toEqual([]);
  expect(r.loss.recordsDiffering, why).toEqual([]);
  return r;
}
