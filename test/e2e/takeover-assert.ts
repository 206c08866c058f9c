/**
 * Shared assertion of the chaos scenarios that fault the signers of a draw (signer-faults.ts):
 * at least `minFaults` faults, each hit a designated signer of a winner, and each was taken over
 * on chain by another voter (a winner the victims were to sign, voted with a mined vote recorded
 * by a signer the fault did not hit). The takeovers are exactly those winners, one latency each.
 */
import { expect } from 'vitest';
import type { ChaosResult } from '../../services/sim/chaos/run.ts';

export function expectEveryFaultTakenOver(r: ChaosResult, minFaults: number): void {
  const t = r.takeovers;
  expect(t, `${r.scenario}: no takeover report`).toBeDefined();
  if (!t) return;
  const why = `${r.scenario}: ${JSON.stringify({ ...t, log: t.log.map((f) => `${f.height} ${f.kind} ${f.victims.join(',')} signing ${f.victimTickets.length}`) })}`;
  // The layouts of these files run the lease strategy: the victims are region signers.
  expect(t.choice, why).toBe('region-signer');
  expect(t.faults, why).toBeGreaterThanOrEqual(minFaults);
  // Each fault hit a voter with a vote to sign, and that vote came from someone else.
  for (const f of t.log) expect(f.victimTickets.length, why).toBeGreaterThan(0);
  expect(t.faultsExercised, why).toBe(t.faults);
  expect(t.exercised, why).toBe(t.victimDraws);
  expect(t.takeovers, why).toBe(t.exercised);
  expect(t.takeoverMs.n, why).toBe(t.takeovers);
  expect(t.takeoverNearestMs.n, why).toBe(t.takeovers);
}
