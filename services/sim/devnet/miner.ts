/**
 * The mining-time model of dcrd's background template generator plus a PoW clock
 * (the mining model): a block on tip P needs >= 3 votes for P (from SVH on);
 * after the 3rd vote the template waits up to `voteWaitMs` for the rest, all 5 make
 * it ready at once; PoW "finds" the block `interval` after P connected (fixed or
 * exponential), but never before the template is ready. Votes that arrive before the
 * block is found are included (the generator regenerates templates on new votes).
 * Manual mode never mines by itself: `generate` does.
 */
export type BlockInterval = { mode: 'manual' } | { mode: 'fixed'; ms: number } | { mode: 'exponential'; meanMs: number };

export interface MinerHooks {
  /** Votes in the mempool for the current best tip. */
  votesForTip(): number;
  /** Whether the next block needs votes (height >= SVH). */
  needsVotes(): boolean;
  /** Mines one block on the best tip now; errors are reported, not thrown. */
  mine(): void;
  onError(err: unknown): void;
}

/** Samples the time PoW needs for one block. */
export function sampleInterval(i: BlockInterval, rnd: () => number = Math.random): number {
  if (i.mode === 'fixed') return i.ms;
  if (i.mode === 'exponential') return -Math.log(1 - rnd()) * i.meanMs;
  return Number.POSITIVE_INFINITY;
}

export class MinerClock {
  private timer: NodeJS.Timeout | undefined;
  private powAt = Number.POSITIVE_INFINITY;
  private readyAt: number | undefined;
  private stopped = false;

  constructor(
    private readonly interval: BlockInterval,
    private readonly voteWaitMs: number,
    private readonly hooks: MinerHooks,
    private readonly ticketsPerBlock = 5,
  ) {}

  /** A new best tip connected at `now`. */
  onNewTip(now = Date.now()): void {
    this.powAt = now + sampleInterval(this.interval);
    this.readyAt = undefined;
    this.reassess(now);
  }

  /** A vote entered the mempool. */
  onVote(now = Date.now()): void {
    this.reassess(now);
  }

  private reassess(now: number): void {
    if (this.stopped || this.interval.mode === 'manual') return;
    if (!this.hooks.needsVotes()) this.readyAt = now;
    else {
      const n = this.hooks.votesForTip();
      if (n >= this.ticketsPerBlock) this.readyAt = Math.min(this.readyAt ?? now, now);
      else if (n >= Math.floor(this.ticketsPerBlock / 2) + 1 && this.readyAt === undefined) this.readyAt = now + this.voteWaitMs;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.readyAt === undefined) return;
    const at = Math.max(this.powAt, this.readyAt);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.hooks.mine();
      } catch (err) {
        this.hooks.onError(err);
      }
    }, Math.max(0, at - Date.now()));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  resume(now = Date.now()): void {
    this.stopped = false;
    this.onNewTip(now);
  }
}
