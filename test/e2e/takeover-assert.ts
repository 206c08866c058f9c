/**
 * Shared assertion of the chaos scenarios that fault the signers of a draw (owner-faults.ts):
 * at least `minFaults` faults, each hit an owner of a winner, and each was taken over on chain
 * by another voter (its mined vote recorded by a signer other than the owner at the draw).
 */
import { expect } from 'vitest';
import type { ChaosResult } from '../../services/sim/chaos/run.ts';

export function expectEveryFaultTakenOver(r: ChaosResult, minFaults: number): void {
  const t = r.takeovers;
  expect(t, `${r.scenario}: no takeover report`).toBeDefined();
  if (!t) return;
  const why = `${r.scenario}: ${JSON.stringify({ ...t, log: t.log.map((f) => `${f.height} ${f.kind} ${f.victims.join(',')} owning ${f.victimTickets.length}`) })}`;
  expect(t.faults, why).toBeGreaterThanOrEqual(minFaults);
  // Each fault hit a voter with a vote to sign, and that vote came from someone else.
  for (const f of t.log) expect(f.victimTickets.length, why).toBeGreaterThan(0);
  expect(t.faultsExercised, why).toBe(t.faults);
  expect(t.exercised, why).toBe(t.victimDraws);
  expect(t.takeovers, why).toBeGreaterThanOrEqual(t.exercised);
  expect(t.takeoverMs.n, why).toBe(t.exercised);
}
