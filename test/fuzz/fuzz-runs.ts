/**
 * How many generated cases each fuzz property runs. CI runs a bounded number
 * (the default); `npm run fuzz` sets FUZZ_RUNS for the long form.
 */
export function fuzzRuns(ciDefault: number): number {
  const v = Number(process.env['FUZZ_RUNS']);
  return Number.isInteger(v) && v > 0 ? v : ciDefault;
}

/**
 * The seed: FUZZ_SEED when set (to replay a failure fast-check printed); a fixed one in
 * the bounded CI form, so CI is repeatable; a fresh one in the long form.
 */
export function fuzzSeed(): number {
  const v = Number(process.env['FUZZ_SEED']);
  if (process.env['FUZZ_SEED'] !== undefined && Number.isInteger(v)) return v;
  return process.env['FUZZ_RUNS'] ? Date.now() % 0x7fffffff : 0x5eed;
}
