/**
 * The chaos harness's signer faults (services/sim/chaos/signer-faults.ts): the victim it picks at a
 * held draw is the voter that will sign, as the voters' own region plan says (planRegion rank 0 of
 * the miner's region), and the takeovers it counts are exactly the victims' winners that the chain
 * shows voted by someone else, never the other drawn tickets another region's signer recorded.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { judgeTakeovers, pickVictim, regionSigners, SignerFaults, winnersSignedBy, type DrawSigners, type RecordedVote, type SignerFault } from '../../../services/sim/chaos/signer-faults.ts';
import type { Layout } from '../../../services/sim/layout/layout.ts';
import type { LayoutVoter } from '../../../services/sim/layout/voter-handle.ts';
import { planRegion } from '../../../services/voter/index.ts';
import type { TicketReportEntry } from '../../../services/sim/devnet/index.ts';

const LIVE = ['a', 'b', 'c'].flatMap((r) => [1, 2, 3].map((k) => ({ nodeId: `${r}${k}`, region: r })));
const PROXIES = ['a', 'b', 'c'].map((r) => ({ address: `127.0.${r.charCodeAt(0) - 96}.2:9000`, region: r }));
const ticket = (i: number): string => createHash('sha256').update(`ticket ${i}`).digest('hex');

/** The voter's own answer: rank of `selfId` in its region for `ticketHex`, with `gone` voters declared gone. */
function rankOf(selfId: string, ticketHex: string, gone: ReadonlySet<string> = new Set()): { rank: number; order: readonly string[] } {
  const self = LIVE.find((n) => n.nodeId === selfId) as { nodeId: string; region: string };
  return planRegion({ selfId, region: self.region, ticketHex, live: LIVE, isGone: (id) => gone.has(id), proxies: PROXIES, hedgeMs: 100 });
}

describe('regionSigners', () => {
  it("names, in every region, the voter whose region plan has rank 0 for the ticket", () => {
    for (let i = 0; i < 40; i++) {
      const t = ticket(i);
      const signers = regionSigners(t, LIVE, () => false);
      expect([...signers.keys()]).toEqual(['a', 'b', 'c']);
      for (const [region, id] of signers) {
        expect(id.startsWith(region)).toBe(true);
        expect(rankOf(id, t).rank).toBe(0);
      }
    }
  });

  it('skips a down voter that keeps its rank: the next voter of its region signs, and a region with every voter down has none', () => {
    const t = ticket(7);
    const first = regionSigners(t, LIVE, () => false).get('a') as string;
    const order = rankOf(first, t).order;
    const down = new Set([first]);
    expect(regionSigners(t, LIVE, (id) => down.has(id)).get('a')).toBe(order[1]);
    expect(rankOf(order[1] as string, t, down).rank).toBe(1);
    const allA = new Set(['a1', 'a2', 'a3']);
    expect(regionSigners(t, LIVE, (id) => allA.has(id)).has('a')).toBe(false);
  });
});

describe('pickVictim', () => {
  const winners = [0, 1, 2, 3, 4].map((i) => ticket(100 + i));
  const signers: DrawSigners = new Map(winners.map((t) => [t, regionSigners(t, LIVE, () => false)]));

  it("hits the miner's region signer of the most winners, and its winners are those it signs (rank 0 for each)", () => {
    const c = pickVictim(signers, () => true, 'a');
    expect(c).toBeDefined();
    if (!c) return;
    expect(c.victim.startsWith('a')).toBe(true);
    expect(c.tickets.length).toBeGreaterThan(0);
    for (const t of winners) expect(c.tickets.includes(t)).toBe(rankOf(c.victim, t).rank === 0);
    // No other voter of the region signs more of these winners.
    for (const other of ['a1', 'a2', 'a3']) expect(winners.filter((t) => rankOf(other, t).rank === 0).length).toBeLessThanOrEqual(c.tickets.length);
  });

  it("falls back to another region's signer when no signer of the miner's region may be hit", () => {
    const c = pickVictim(signers, (id) => !id.startsWith('a'), 'a');
    expect(c?.victim.startsWith('a')).toBe(false);
    for (const t of c?.tickets ?? []) expect(rankOf(c?.victim as string, t).rank).toBe(0);
    expect(pickVictim(signers, () => false, 'a')).toBeUndefined();
  });

  it('a region fault hits every winner with a signer in that region', () => {
    expect(winnersSignedBy(signers, ['a1', 'a2', 'a3'])).toEqual(winners);
  });
});

describe('judgeTakeovers', () => {
  const entry = (blockHash: string, ticketHash: string, o: Partial<TicketReportEntry>): TicketReportEntry => ({
    ticketHash, blockHash, height: 10, drawnAt: 1_000, outcome: 'voted', distinctVotes: 1, sideChain: false, ...o,
  });
  const rec = (blockHash: string, ticketHash: string, signer: string, voteTxid: string): RecordedVote => ({ blockHash, ticketHash, signer, voteTxid });

  it('counts the victims\' winners voted on chain by another voter, once each, with their latency at the miner and the nearest dcrd', () => {
    const log: SignerFault[] = [
      { kind: 'SIGKILL', height: 10, blockHash: 'B1', victims: ['a1'], victimTickets: ['t1', 't2', 't3'] },
      { kind: 'SIGKILL', height: 11, blockHash: 'B2', victims: ['a2'], victimTickets: ['t4'], backAt: 1_020 },
      { kind: 'SIGSTOP', height: 12, blockHash: 'B3', victims: ['a3'], victimTickets: ['t6'], backAt: 1_006 },
      { kind: 'SIGSTOP', height: 13, blockHash: 'B4', victims: ['a3'], victimTickets: ['t7'], backAt: 1_100 },
    ];
    const tickets = [
      entry('B1', 't1', { minedVoteTxid: 'x1', latencyMs: 12 }), // taken over (b1 recorded)
      entry('B1', 't2', { minedVoteTxid: 'x2', latencyMs: 9 }), // taken over (a2, the region's next voter)
      entry('B1', 't3', { outcome: 'missed' }), // not voted: not a takeover
      entry('B1', 't9', { minedVoteTxid: 'x9', latencyMs: 5 }), // another winner, recorded by another region's signer: no fault, no takeover
      entry('B2', 't4', { minedVoteTxid: 'x4', latencyMs: 30 }), // accepted after the victim was back, record not of the mined vote: not a takeover
      entry('B3', 't6', { minedVoteTxid: 'x6', latencyMs: 7 }), // accepted after the stopped victim resumed, and it recorded the vote: not a takeover
      entry('B4', 't7', { minedVoteTxid: 'x7', latencyMs: 8 }), // the resumed zombie won the record, but the miner had the vote while it was stopped: taken over
    ];
    const miner = [
      entry('B1', 't1', { firstVoteAt: 1_050 }), entry('B1', 't2', { firstVoteAt: 1_020 }), entry('B1', 't9', { firstVoteAt: 1_005 }),
      entry('B2', 't4', { firstVoteAt: 1_030 }), entry('B3', 't6', { firstVoteAt: 1_007 }), entry('B4', 't7', { firstVoteAt: 1_010 }),
    ];
    const records = [
      rec('B1', 't1', 'b1', 'x1'), rec('B1', 't2', 'a2', 'x2'), rec('B1', 't9', 'c2', 'x9'), rec('B2', 't4', 'b2', 'other'), rec('B3', 't6', 'a3', 'x6'),
      rec('B4', 't7', 'a3', 'x7'),
    ];
    const r = judgeTakeovers('region-signer', log, tickets, miner, records);
    expect(r).toMatchObject({ choice: 'region-signer', faults: 4, victimDraws: 6, exercised: 3, faultsExercised: 2, takeovers: 3 });
    expect(r.takeoverMs).toEqual({ n: 3, p50: 20, p90: 50, p99: 50, max: 50 });
    expect(r.takeoverNearestMs).toEqual({ n: 3, p50: 9, p90: 12, p99: 12, max: 12 });
    expect(r.notTakenOver).toHaveLength(3);
    expect(r.notTakenOver[0]).toContain('missed');
    expect(r.notTakenOver[2]).toContain('record by a3');
  });

  it('a side-chain draw is not a takeover', () => {
    const log: SignerFault[] = [{ kind: 'SIGKILL', height: 10, blockHash: 'B1', victims: ['a1'], victimTickets: ['t1'] }];
    const r = judgeTakeovers('claim-owner', log, [entry('B1', 't1', { minedVoteTxid: 'x1', sideChain: true })], [], [rec('B1', 't1', 'b1', 'x1')]);
    expect(r).toMatchObject({ faults: 1, exercised: 0, faultsExercised: 0, takeovers: 0 });
  });
});

describe('SignerFaults.choose', () => {
  type FakeVoter = { nodeId: string; region: string; isRunning: boolean };
  const voters: FakeVoter[] = LIVE.filter((n) => !n.nodeId.endsWith('3')).map((n) => ({ ...n, isRunning: true }));
  const live = voters.map(({ nodeId, region }) => ({ nodeId, region }));
  // choose() reads only the layout's regions and voters.
  const faults = (vs: FakeVoter[]): SignerFaults => new SignerFaults({ regions: ['a', 'b', 'c'], voters: vs } as unknown as Layout, 'lease');
  const winners = [0, 1, 2, 3, 4].map((i) => ticket(200 + i));
  const signersWith = (down: ReadonlySet<string>): DrawSigners => new Map(winners.map((t) => [t, regionSigners(t, live, (id) => down.has(id))]));
  const running = (v: LayoutVoter): boolean => v.isRunning;

  it("a SIGKILL hits the region signer of the miner's region for the most winners, never a voter that signs none", () => {
    const c = faults(voters).choose('SIGKILL', signersWith(new Set()), running);
    expect(c?.victims.map((v) => v.nodeId)).toHaveLength(1);
    const victim = c?.victims[0]?.nodeId as string;
    expect(victim.startsWith('a')).toBe(true);
    expect(c?.tickets).toEqual(winners.filter((t) => regionSigners(t, live, () => false).get('a') === victim));
    expect(c?.tickets.length).toBeGreaterThan(0);
  });

  it('never empties a region: with a1 down, a2 signs every winner of region a but the victim is in another region', () => {
    const vs = voters.map((v) => (v.nodeId === 'a1' ? { ...v, isRunning: false } : v));
    const c = faults(vs).choose('SIGSTOP', signersWith(new Set(['a1'])), running);
    const victim = c?.victims[0]?.nodeId as string;
    expect(victim.startsWith('a')).toBe(false);
    for (const t of c?.tickets ?? []) expect([...(signersWith(new Set(['a1'])).get(t)?.values() ?? [])]).toContain(victim);
  });

  it('a region fault hits every running voter of the chosen region and every winner', () => {
    const c = faults(voters).choose('region', signersWith(new Set()), running);
    expect(c?.victims.map((v) => v.nodeId)).toEqual(['a1', 'a2']);
    expect(c?.tickets).toEqual(winners);
  });
});
