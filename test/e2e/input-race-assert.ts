/**
 * Shared assertion of the chaos scenarios that race a vote input against a draw
 * (services/sim/chaos/input-races.ts): at least `minFaults` changes made at held draws, at
 * least `minExercised` of them completed within the race window of their draw's release, mined
 * votes checked, and the referee (input-rule.ts) found every mined vote carrying what the
 * cluster's rule says.
 */
import { expect } from 'vitest';
import type { ChaosResult } from '../../services/sim/chaos/run.ts';

export function expectInputRacesJudged(r: ChaosResult, o: { minFaults: number; minExercised: number }): void {
  const t = r.inputRaces;
  expect(t, `${r.scenario}: no input-race report`).toBeDefined();
  if (!t) return;
  const why = `${r.scenario}: ${JSON.stringify({ ...t, log: t.log.map((f) => `${f.height} ${f.kind} ${f.target.slice(0, 12)} ${f.timing} ${f.doneAt - f.releasedAt} ms`) })}`;
  expect(t.mismatches, why).toEqual([]);
  expect(t.faults, why).toBeGreaterThanOrEqual(o.minFaults);
  expect(t.faultsExercised, why).toBeGreaterThanOrEqual(o.minExercised);
  expect(t.votesChecked, why).toBeGreaterThanOrEqual(50);
}
