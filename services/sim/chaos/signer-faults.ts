/**
 * Faults aimed at the voters that will sign a draw. Each block is mined with its draw held (the
 * devnet's test hook, `mineHeld`): the harness works out who will sign each winner exactly as the
 * voters will, SIGKILLs or SIGSTOPs one of them (or every voter of its region), and only then
 * releases the draw. So every fault hits a voter with a vote to sign, and the vote must come
 * from someone else: a takeover.
 *
 * Who signs a winner depends on the strategy:
 * - `lease`: the canonical vote is signed by a region signer in EVERY region, the first voter of
 *   the region's rendezvous order (services/voter region-plan.ts `regionOrder`, computed here from
 *   the membership in etcd, as the voters compute it from their watch) that is running. The
 *   victim is preferably the signer of the miner's region (devnet node 0, region a): its vote
 *   must then come from the region's next voter or from another region's copy. A one-voter
 *   fault leaves its region another running voter (emptying a region is the region fault).
 * - `single-signer`: the claim owner of the ticket (its `owners/` key in etcd), as before.
 *
 * Takeovers are judged from the chain and the cluster's records, not from the voters' counters (a
 * SIGKILLed child loses its own): a winner whose designated signer was hit counts as taken over
 * when its vote was mined on the main chain and a voter the fault did not hit delivered it: the
 * miner's dcrd accepted it before any victim came back (a stopped or dead voter sends nothing),
 * or the vote's record names a signer that was not hit. (The canonical vote has the same bytes
 * whoever signs it, and a resumed zombie may still win the create-if-absent record of a vote
 * that was already mined.) Its takeover time is draw (release) → first acceptance at the miner's
 * dcrd (what decides a miss), and also → first acceptance at the nearest dcrd.
 */
import type { HeldBlock, TicketReportEntry } from '../devnet/index.ts';
import type { Layout } from '../layout/layout.ts';
import type { LayoutVoter } from '../layout/voter-handle.ts';
import { nearestRank } from '../../base/index.ts';
import { regionOrder, type VoterStrategy } from '../../voter/index.ts';
import type { RankableNode } from '../../cluster/index.ts';

/** How a fault hits the signers it found. */
export type SignerFaultKind = 'SIGKILL' | 'SIGSTOP' | 'region';

/** How the harness finds the voter(s) that will sign a winner. */
export type SignerChoice = 'region-signer' | 'claim-owner';

/** What a fault did to the signers of one held draw. */
export interface SignerFault {
  kind: SignerFaultKind;
  height: number;
  blockHash: string;
  /** nodeIds of the voters the fault hit. */
  victims: string[];
  /** Winners of the block that a victim was to sign when the draw was released. */
  victimTickets: string[];
  /** Unix ms when the victims came back (SIGCONT, or restart begun); unset while they are down. */
  backAt?: number;
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
  /** How the victims were chosen (`region-signer` for the lease strategy). */
  choice: SignerChoice;
  /** Faults injected at a held draw (each hit at least one designated signer of a winner). */
  faults: number;
  /** Winners a victim was to sign, over every fault (the samples). */
  victimDraws: number;
  /** Of those, voted on the main chain with a vote recorded by a voter the fault did not hit. */
  exercised: number;
  /** Faults of which at least one such winner was taken over (the target: every fault). */
  faultsExercised: number;
  /** Takeovers as the chain sees them: the victims' winners voted by someone else (= `exercised`). */
  takeovers: number;
  /** Draw → first acceptance at the miner's dcrd, of the winners taken over. */
  takeoverMs: MsSummary;
  /** Draw → first acceptance at the nearest dcrd (any node), of the same winners. */
  takeoverNearestMs: MsSummary;
  /** The faults, in order. */
  log: SignerFault[];
  /** The victims' winners not judged taken over, each with why (for notes and failure messages). */
  notTakenOver: string[];
}

/** n, p50, p90, p99 and max of `xs` (0 when empty). */
export function msSummary(xs: number[]): MsSummary {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: nearestRank(s, 0.5) ?? 0, p90: nearestRank(s, 0.9) ?? 0, p99: nearestRank(s, 0.99) ?? 0, max: s.at(-1) ?? 0 };
}

/** Designated signers of each winner of a draw: ticket → region → nodeId. */
export type DrawSigners = Map<string, Map<string, string>>;

/**
 * The region signer of every region for `ticketHex`: the first voter of the region's rendezvous
 * order (the voters' own `regionOrder`) that is not `isDown`. A voter still in membership but
 * down (killed, restarting) keeps its rank, as it does for the voters; the next one signs.
 * Regions whose every voter is down have no entry.
 */
export function regionSigners(ticketHex: string, live: readonly RankableNode[], isDown: (nodeId: string) => boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const region of [...new Set(live.map((n) => n.region))].sort()) {
    const first = live.find((n) => n.region === region) as RankableNode;
    const signer = regionOrder(first.nodeId, region, ticketHex, live).find((id) => !isDown(id));
    if (signer !== undefined) out.set(region, signer);
  }
  return out;
}

/** The victim of a one-voter fault and the winners it was to sign. */
export interface VictimChoice {
  victim: string;
  tickets: string[];
}

/**
 * The voter to hit at a draw: among the designated signers in `preferRegion` that are
 * `eligible`, the one that signs the most winners (ties: node id); when that region has none,
 * the same over every region. `tickets` are every winner it signs, in any region.
 */
export function pickVictim(signers: DrawSigners, eligible: (nodeId: string) => boolean, preferRegion?: string): VictimChoice | undefined {
  const pick = (region: string | undefined): string | undefined => {
    const count = new Map<string, number>();
    for (const byRegion of signers.values()) {
      for (const [r, id] of byRegion) if ((region === undefined || r === region) && eligible(id)) count.set(id, (count.get(id) ?? 0) + 1);
    }
    return [...count].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0];
  };
  const victim = (preferRegion !== undefined ? pick(preferRegion) : undefined) ?? pick(undefined);
  if (victim === undefined) return undefined;
  return { victim, tickets: winnersSignedBy(signers, [victim]) };
}

/** Winners (in draw order) with a designated signer among `victims`. */
export function winnersSignedBy(signers: DrawSigners, victims: readonly string[]): string[] {
  return [...signers].filter(([, byRegion]) => [...byRegion.values()].some((id) => victims.includes(id))).map(([t]) => t);
}

/** A vote record as the judge reads it. */
export interface RecordedVote {
  ticketHash: string;
  blockHash: string;
  voteTxid: string;
  signer: string;
}

/**
 * Judges the faults: `tickets` are the devnet's merged report (first acceptance at any node),
 * `minerTickets` the miner's own, `records` the vote records in etcd. A victim's winner is taken
 * over when it was voted on the main chain and either the miner first accepted that vote before
 * the victims came back, or the record of the mined vote names a signer the fault did not hit.
 */
export function judgeTakeovers(
  choice: SignerChoice, log: readonly SignerFault[], tickets: readonly TicketReportEntry[], minerTickets: readonly TicketReportEntry[],
  records: readonly RecordedVote[],
): TakeoverReport {
  const key = (blockHash: string, ticketHash: string): string => `${blockHash}:${ticketHash}`;
  const rec = new Map(records.map((r) => [key(r.blockHash, r.ticketHash), r]));
  const merged = new Map(tickets.map((t) => [key(t.blockHash, t.ticketHash), t]));
  const atMiner = new Map(minerTickets.map((t) => [key(t.blockHash, t.ticketHash), t]));
  const toMiner: number[] = [];
  const nearest: number[] = [];
  const notTakenOver: string[] = [];
  let victimDraws = 0;
  let exercised = 0;
  let faultsExercised = 0;
  for (const f of log) {
    let hit = 0;
    for (const ticket of f.victimTickets) {
      const k = key(f.blockHash, ticket);
      victimDraws++;
      const t = merged.get(k);
      const what = `height ${f.height} ticket ${ticket.slice(0, 12)} (${f.kind} ${f.victims.join(',')})`;
      if (!t || t.sideChain || t.outcome !== 'voted') {
        notTakenOver.push(`${what}: ${!t ? 'not in the devnet report' : t.sideChain ? 'side chain' : t.outcome}`);
        continue;
      }
      const m = atMiner.get(k);
      const r = rec.get(k);
      // The harness resumes or restarts the victims only once it saw the tip's votes at the miner:
      // an acceptance in the same millisecond came first.
      const beforeBack = m?.firstVoteAt !== undefined && (f.backAt === undefined || m.firstVoteAt <= f.backAt);
      const recordedByOther = r !== undefined && r.voteTxid === t.minedVoteTxid && !f.victims.includes(r.signer);
      if (!beforeBack && !recordedByOther) {
        const at = (x: number | undefined): string => (x === undefined ? 'never' : `+${x - t.drawnAt} ms`);
        notTakenOver.push(`${what}: accepted at the miner ${at(m?.firstVoteAt)}, victims back ${at(f.backAt)}, record ${r ? `by ${r.signer}${r.voteTxid === t.minedVoteTxid ? '' : ' of another vote'}` : 'missing'}`);
        continue;
      }
      hit++;
      if (t.latencyMs !== undefined) nearest.push(t.latencyMs);
      if (m?.firstVoteAt !== undefined) toMiner.push(m.firstVoteAt - m.drawnAt);
    }
    exercised += hit;
    if (hit > 0) faultsExercised++;
  }
  return {
    choice, faults: log.length, victimDraws, exercised, faultsExercised, takeovers: exercised,
    takeoverMs: msSummary(toMiner), takeoverNearestMs: msSummary(nearest), log: [...log], notTakenOver,
  };
}

/** The region of devnet node 0, which mines every block (services/sim/layout devnet-layout.ts). */
export function minerRegion(layout: Pick<Layout, 'regions'>): string {
  return layout.regions[0] as string;
}

/** Finds the designated signers at each held draw, records the faults injected, then judges the takeovers. */
export class SignerFaults {
  readonly log: SignerFault[] = [];
  readonly choice: SignerChoice;

  /** `layout`: `choose` reads only its regions and voters; the rest reach etcd and the devnet. */
  constructor(private readonly layout: Layout, strategy: VoterStrategy) {
    this.choice = strategy === 'lease' ? 'region-signer' : 'claim-owner';
  }

  /**
   * The designated signers of every winner of `held`, read from etcd now (before the release):
   * region signers from the membership (`nodes/`), or claim owners (`owners/`). `isDown`: voters
   * the harness knows are not running (killed, restarting), which cannot sign.
   */
  async signersAt(held: HeldBlock, isDown: (nodeId: string) => boolean): Promise<DrawSigners> {
    const l = this.layout;
    const ks = l.admin.keyspace;
    const out: DrawSigners = new Map();
    if (this.choice === 'region-signer') {
      const kvs = await l.admin.client.getAll().prefix(ks.nodesPrefix()).strings();
      const live: RankableNode[] = [];
      for (const [k, v] of Object.entries(kvs)) {
        const nodeId = ks.nodeIdOf(k);
        const region = (JSON.parse(v) as { region?: unknown }).region;
        if (nodeId !== undefined && typeof region === 'string') live.push({ nodeId, region });
      }
      for (const t of held.winners) out.set(t, regionSigners(t, live, isDown));
      return out;
    }
    const regionOf = new Map(l.voters.map((v) => [v.nodeId, v.region]));
    await Promise.all(held.winners.map(async (t) => {
      const v = await l.admin.client.get(ks.owner(t)).string();
      const nodeId = v === null ? undefined : (JSON.parse(v) as { nodeId?: string }).nodeId;
      out.set(t, nodeId === undefined || isDown(nodeId) ? new Map() : new Map([[regionOf.get(nodeId) ?? '', nodeId]]));
    }));
    // Keep the draw's order (the owner reads finish in any order).
    return new Map(held.winners.map((t) => [t, out.get(t) as Map<string, string>]));
  }

  /**
   * Chooses the voters to hit at a draw: the designated signer that signs the most winners (in
   * the miner's region first). A one-voter fault only hits a voter whose region keeps another
   * eligible voter (the region's next voter is then the takeover; a region left with no voter is
   * the `region` fault), which hits every eligible voter of the chosen signer's region.
   * Undefined when no such voter signs any winner.
   */
  choose(kind: SignerFaultKind, signers: DrawSigners, eligible: (v: LayoutVoter) => boolean): { victims: LayoutVoter[]; tickets: string[] } | undefined {
    const l = this.layout;
    const byId = new Map(l.voters.map((v) => [v.nodeId, v]));
    const ok = (id: string): boolean => {
      const v = byId.get(id);
      return v !== undefined && eligible(v) && (kind === 'region' || l.voters.some((o) => o !== v && o.region === v.region && eligible(o)));
    };
    const c = pickVictim(signers, ok, this.choice === 'region-signer' ? minerRegion(l) : undefined);
    if (!c) return undefined;
    const first = byId.get(c.victim) as LayoutVoter;
    const victims = kind === 'region' ? l.voters.filter((v) => v.region === first.region && eligible(v)) : [first];
    return { victims, tickets: winnersSignedBy(signers, victims.map((v) => v.nodeId)) };
  }

  /** Records a fault on `victims` at `held`, which hit the winners `tickets`. */
  record(kind: SignerFaultKind, held: HeldBlock, victims: readonly LayoutVoter[], tickets: readonly string[]): SignerFault {
    const f: SignerFault = { kind, height: held.height, blockHash: held.blockHash, victims: victims.map((v) => v.nodeId), victimTickets: [...tickets] };
    this.log.push(f);
    return f;
  }

  /** Notes that the victims of `f` came back (SIGCONT, or their restart begins) now. */
  back(f: SignerFault, at = Date.now()): void {
    f.backAt ??= at;
  }

  /** Judges the run: call after the loss check (which waits for every mined vote's record). */
  async judge(): Promise<TakeoverReport> {
    const l = this.layout;
    const recs = await l.admin.client.getAll().prefix(l.admin.keyspace.votesPrefix()).strings();
    const records = Object.values(recs).map((v) => JSON.parse(v) as RecordedVote);
    return judgeTakeovers(this.choice, this.log, l.devnet.report().tickets, l.devnet.minerReport().tickets, records);
  }
}
