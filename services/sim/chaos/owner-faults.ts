/**
 * Faults aimed at the signers of a draw. Each block is mined with its draw held (the devnet's
 * test hook, `mineHeld`): the harness reads from etcd who owns (holds the lease claim on) each
 * winner at that moment, SIGKILLs or SIGSTOPs the owner of one (or every voter of the owner's
 * region), and only then releases the draw. So every fault hits a voter that had a vote to
 * sign, and the vote must come from a backup: a takeover.
 *
 * Takeovers are then judged from the chain and the cluster's records, not from the voters'
 * counters (a SIGKILLed child loses its own): a drawn ticket whose mined vote is recorded in
 * etcd with a signer other than the ticket's owner at the draw was taken over. Its takeover
 * time is draw (release) → first acceptance at the nearest dcrd, as the devnet measures it.
 */
import type { HeldBlock } from '../devnet/index.ts';
import type { Layout } from '../layout/layout.ts';
import type { LayoutVoter } from '../layout/voter-handle.ts';
import { nearestRank } from '../../base/index.ts';

/** What a fault did to the signers of one held draw. */
export interface OwnerFault {
  kind: 'SIGKILL' | 'SIGSTOP' | 'region';
  height: number;
  blockHash: string;
  /** nodeIds of the voters the fault hit. */
  victims: string[];
  /** Winners of the block owned by a victim when the draw was released. */
  victimTickets: string[];
}

/** Percentiles of a set of durations, in ms. */
export interface MsSummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The takeovers of a run, judged from the chain and etcd's vote records. */
export interface TakeoverReport {
  /** Faults injected at a held draw (each hit at least one owner of a winner). */
  faults: number;
  /** Draws whose owner at the draw was a victim of that draw's fault. */
  victimDraws: number;
  /** Of those, voted on chain with a vote recorded by another voter (the takeovers the faults caused). */
  exercised: number;
  /** Faults of which at least one draw was taken over (the target: every fault). */
  faultsExercised: number;
  /** Every drawn ticket with an owner at its draw whose mined vote another voter recorded (faults of earlier rounds included). */
  takeovers: number;
  /** Draws with no owner at the draw (nobody held the ticket's claim then). */
  unownedDraws: number;
  /** Draw → first acceptance at the nearest dcrd, of the draws taken over. */
  takeoverMs: MsSummary;
  /** Draw → first acceptance at the miner's dcrd, of the same draws. */
  takeoverToMinerMs: MsSummary;
  /** The faults, in order. */
  log: OwnerFault[];
}

/** n, p50, p90, p99 and max of `xs` (0 when empty). */
export function msSummary(xs: number[]): MsSummary {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: nearestRank(s, 0.5) ?? 0, p90: nearestRank(s, 0.9) ?? 0, p99: nearestRank(s, 0.99) ?? 0, max: s.at(-1) ?? 0 };
}

/** Records owners at each held draw and the faults injected, then judges the takeovers. */
export class OwnerFaults {
  /** `${blockHash}:${ticketHash}` → owner nodeId at the draw (undefined: unowned). */
  private readonly owners = new Map<string, string | undefined>();
  readonly log: OwnerFault[] = [];

  constructor(private readonly layout: Layout) {}

  /** Reads the owner of every winner of `held` from etcd (the claims the voters hold right now). */
  async ownersAt(held: HeldBlock): Promise<Map<string, string | undefined>> {
    const ks = this.layout.admin.keyspace;
    const out = new Map<string, string | undefined>();
    await Promise.all(held.winners.map(async (t) => {
      const v = await this.layout.admin.client.get(ks.owner(t)).string();
      const nodeId = v === null ? undefined : (JSON.parse(v) as { nodeId?: string }).nodeId;
      out.set(t, nodeId);
      this.owners.set(`${held.blockHash}:${t}`, nodeId);
    }));
    return out;
  }

  /** Records a fault on `victims` at `held`. */
  record(kind: OwnerFault['kind'], held: HeldBlock, owners: Map<string, string | undefined>, victims: readonly LayoutVoter[]): OwnerFault {
    const ids = victims.map((v) => v.nodeId);
    const f: OwnerFault = {
      kind, height: held.height, blockHash: held.blockHash, victims: ids,
      victimTickets: [...owners].filter(([, o]) => o !== undefined && ids.includes(o)).map(([t]) => t),
    };
    this.log.push(f);
    return f;
  }

  /**
   * Judges the run: call after the loss check (which waits for every mined vote's record).
   * Reads the vote records from etcd and the draws from the devnet's reports.
   */
  async judge(): Promise<TakeoverReport> {
    const l = this.layout;
    const recs = await l.admin.client.getAll().prefix(l.admin.keyspace.votesPrefix()).strings();
    const signerOf = new Map<string, { signer: string; voteTxid: string }>();
    for (const v of Object.values(recs)) {
      const r = JSON.parse(v) as { ticketHash: string; blockHash: string; voteTxid: string; signer: string };
      signerOf.set(`${r.blockHash}:${r.ticketHash}`, { signer: r.signer, voteTxid: r.voteTxid });
    }
    const toMiner = new Map<string, number>();
    for (const t of l.devnet.minerReport().tickets) if (t.firstVoteAt !== undefined) toMiner.set(`${t.blockHash}:${t.ticketHash}`, t.firstVoteAt - t.drawnAt);
    const takenOver = new Set<string>();
    let unownedDraws = 0;
    for (const t of l.devnet.report().tickets) {
      const k = `${t.blockHash}:${t.ticketHash}`;
      if (!this.owners.has(k) || t.sideChain) continue;
      const owner = this.owners.get(k);
      if (owner === undefined) {
        unownedDraws++;
        continue;
      }
      const rec = signerOf.get(k);
      // The chain's vote, recorded by someone other than the owner at the draw.
      if (t.outcome === 'voted' && rec !== undefined && rec.voteTxid === t.minedVoteTxid && rec.signer !== owner) takenOver.add(k);
    }
    const latency = new Map(l.devnet.report().tickets.map((t) => [`${t.blockHash}:${t.ticketHash}`, t.latencyMs]));
    const ms: number[] = [];
    const msMiner: number[] = [];
    let victimDraws = 0;
    let exercised = 0;
    let faultsExercised = 0;
    for (const f of this.log) {
      let hit = 0;
      for (const t of f.victimTickets) {
        const k = `${f.blockHash}:${t}`;
        victimDraws++;
        if (!takenOver.has(k)) continue;
        hit++;
        const lat = latency.get(k);
        if (lat !== undefined) ms.push(lat);
        const m = toMiner.get(k);
        if (m !== undefined) msMiner.push(m);
      }
      exercised += hit;
      if (hit > 0) faultsExercised++;
    }
    return {
      faults: this.log.length, victimDraws, exercised, faultsExercised, takeovers: takenOver.size, unownedDraws,
      takeoverMs: msSummary(ms), takeoverToMinerMs: msSummary(msMiner), log: this.log,
    };
  }
}

/**
 * The running voters that own the most winners of a draw (ties: the draw's order), best first.
 * `eligible` excludes voters that must not be hit (restarting, or over the cap).
 */
export function ownersByDuty(voters: readonly LayoutVoter[], owners: Map<string, string | undefined>, eligible: (v: LayoutVoter) => boolean): LayoutVoter[] {
  const count = new Map<string, number>();
  for (const o of owners.values()) if (o !== undefined) count.set(o, (count.get(o) ?? 0) + 1);
  return voters
    .filter((v) => v.isRunning && eligible(v) && (count.get(v.nodeId) ?? 0) > 0)
    .sort((a, b) => (count.get(b.nodeId) ?? 0) - (count.get(a.nodeId) ?? 0));
}
