/** Bounded waits for the voter's stop path (the CLI's 5 s shutdown cap must hold). */

/** Resolves true when `p` settled within `ms`, false otherwise (the timer never outlives the race). */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
