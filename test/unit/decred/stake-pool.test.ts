import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blake256 } from '../../../services/decred/hash.ts';
import { selectWinners } from '../../../services/decred/lottery.ts';
import { fromHex, hashToHex, toHex } from '../../../services/decred/bytes.ts';
import { REGNET } from '../../../services/decred/params.ts';
import { LiveTicketPool, stakeBlockFromTxs, type ConnectResult } from '../../../services/decred/stake-pool.ts';
import { txType } from '../../../services/decred/stake.ts';
import { decodeTxHex, txHash, type Tx } from '../../../services/decred/wire/tx.ts';

interface ChainBlock {
  height: number;
  header_hex: string;
  block_hash: string;
  stake_txs: { hex: string; txid: string; type: string }[];
}
const chain = JSON.parse(readFileSync(new URL('../../vectors/lottery_chain_regnet_0to168.json', import.meta.url), 'utf8')) as {
  params: { ticket_maturity: number; stake_enabled_height: number; stake_validation_height: number; tickets_per_block: number; ticket_expiry: number };
  blocks: ChainBlock[];
};
const results = JSON.parse(readFileSync(new URL('../../vectors/lottery_results_regnet.json', import.meta.url), 'utf8')) as {
  records: { height: number; block_hash: string; live_ticket_count: number; winning_indexes: number[]; winners: string[]; final_state: string }[];
};

const TYPE_NAME: Record<string, string> = { sstx: 'ticket', ssgen: 'vote', ssrtx: 'revocation' };

const PARAMS = {
  ticketMaturity: chain.params.ticket_maturity,
  ticketExpiry: chain.params.ticket_expiry,
  stakeEnabledHeight: chain.params.stake_enabled_height,
  stakeValidationHeight: chain.params.stake_validation_height,
  ticketsPerBlock: chain.params.tickets_per_block,
};

/** Stake txs decoded once (three replays below share them). */
const decoded = new Map<number, Tx[]>();
function stakeTxs(b: ChainBlock): Tx[] {
  let txs = decoded.get(b.height);
  if (!txs) {
    txs = b.stake_txs.map((s) => {
      const tx = decodeTxHex(s.hex);
      expect(txType(tx)).toBe(TYPE_NAME[s.type]);
      expect(hashToHex(txHash(tx))).toBe(s.txid);
      return tx;
    });
    decoded.set(b.height, txs);
  }
  return txs;
}

function replay(pool = new LiveTicketPool(PARAMS), from = 0, to = 168): { pool: LiveTicketPool; results: ConnectResult[] } {
  const out: ConnectResult[] = [];
  for (const b of chain.blocks.slice(from, to + 1)) {
    const header = fromHex(b.header_hex);
    // Header h commits the stake state after h-1.
    const commit = pool.nextHeaderCommitment();
    const view = new DataView(header.buffer, header.byteOffset);
    if (b.height > 0) {
      expect(view.getUint32(112, true), `PoolSize of header ${b.height}`).toBe(commit.poolSize);
      expect(toHex(header.subarray(102, 108)), `FinalState of header ${b.height}`).toBe(toHex(commit.finalState));
    }
    const sb = stakeBlockFromTxs(b.height, header, stakeTxs(b));
    expect(view.getUint16(108, true), `Voters of header ${b.height}`).toBe(sb.votedTickets.length);
    expect(header[110], `FreshStake of header ${b.height}`).toBe(sb.tickets.length);
    expect(header[111], `Revocations of header ${b.height}`).toBe(sb.revokedTickets.length);
    out.push(pool.connectBlock(sb));
  }
  return { pool, results: out };
}

describe('LiveTicketPool: full replay of the regnet test chain 0..168', () => {
  let pool: LiveTicketPool;
  let connected: ConnectResult[];

  it('connects all 169 blocks; every header PoolSize, FinalState and Voters matches', () => {
    ({ pool, results: connected } = replay());
    expect(pool.height).toBe(168);
    expect(connected).toHaveLength(169);
  });

  it('reproduces every lottery result record (live count, indexes, winners, final state)', () => {
    expect(results.records).toHaveLength(26);
    for (const rec of results.records) {
      const r = connected[rec.height] as ConnectResult;
      expect(r.poolSize, `live count at ${rec.height}`).toBe(rec.live_ticket_count);
      expect(r.winnerIdxs).toEqual(rec.winning_indexes);
      expect(r.winners.map(hashToHex)).toEqual(rec.winners);
      expect(toHex(r.finalState)).toBe(rec.final_state);
    }
  });

  it('no winners and a zero final state before SVH-1', () => {
    const r = connected[REGNET.stakeValidationHeight - 2] as ConnectResult;
    expect(r.winners).toHaveLength(0);
    expect(toHex(r.finalState)).toBe('000000000000');
  });

  it('the one missed ticket (4 votes at 151) becomes missed, and the revocation at 153 revokes it', () => {
    const missedAt151 = (connected[151] as ConnectResult).missed;
    expect(missedAt151).toHaveLength(1);
    const ticket = missedAt151[0] as Uint8Array;
    expect(pool.isRevoked(ticket)).toBe(true);
    expect(pool.isMissed(ticket)).toBe(false);
    expect(pool.isLive(ticket)).toBe(false);
  });

  it('a snapshot at 150 restores a pool that replays 151..168 to the same state', () => {
    const { pool: half } = replay(undefined, 0, 150);
    const snap = JSON.parse(JSON.stringify(half.snapshot())) as ReturnType<LiveTicketPool['snapshot']>;
    const restored = LiveTicketPool.fromSnapshot(PARAMS, snap);
    expect(restored.snapshot()).toEqual(half.snapshot());
    replay(restored, 151, 168);
    expect(restored.snapshot()).toEqual(pool.snapshot());
  });

  it('rejects out-of-order heights and votes for tickets that were not called', () => {
    const { pool: p } = replay(undefined, 0, 144);
    const b = chain.blocks[146] as ChainBlock;
    expect(() => p.connectBlock({ height: 146, header: fromHex(b.header_hex), tickets: [], votedTickets: [], revokedTickets: [] })).toThrow(/expected height 145/);
    const b145 = chain.blocks[145] as ChainBlock;
    let err: unknown;
    try {
      p.connectBlock({ height: 145, header: fromHex(b145.header_hex), tickets: [], votedTickets: [new Uint8Array(32)], revokedTickets: [] });
    } catch (e) {
      err = e;
    }
    expect((err as { reason?: string }).reason).toBe('NOT_A_WINNER');
  });

  it('a rejected block leaves the pool untouched (NOT_A_WINNER, NOT_MISSED, NOT_ENOUGH_TICKETS)', () => {
    const { pool: p } = replay(undefined, 0, 150);
    const before = JSON.stringify(p.snapshot());
    const b = chain.blocks[151] as ChainBlock;
    const header = fromHex(b.header_hex);
    const reason = (f: () => unknown): string | undefined => {
      try {
        f();
      } catch (e) {
        return (e as { reason?: string }).reason;
      }
      return undefined;
    };
    const empty = { height: 151, header, tickets: [], votedTickets: [], revokedTickets: [] };
    expect(reason(() => p.connectBlock({ ...empty, votedTickets: [new Uint8Array(32)] }))).toBe('NOT_A_WINNER');
    expect(reason(() => p.connectBlock({ ...empty, revokedTickets: [p.liveTickets()[0] as Uint8Array] }))).toBe('NOT_MISSED');
    expect(JSON.stringify(p.snapshot())).toBe(before);
    const tiny = new LiveTicketPool({ ...PARAMS, stakeEnabledHeight: 1, stakeValidationHeight: 3, ticketMaturity: 1 });
    tiny.connectBlock({ height: 0, header, tickets: [], votedTickets: [], revokedTickets: [] });
    tiny.connectBlock({ height: 1, header, tickets: [new Uint8Array(32).fill(1)], votedTickets: [], revokedTickets: [] });
    const snap = JSON.stringify(tiny.snapshot());
    expect(reason(() => tiny.connectBlock({ height: 2, header, tickets: [], votedTickets: [], revokedTickets: [] }))).toBe('NOT_ENOUGH_TICKETS');
    expect(JSON.stringify(tiny.snapshot())).toBe(snap);
  });
});

describe('LiveTicketPool against a naive model (fast-check)', () => {
  /** dcrd connectNode written as plainly as possible: unsorted arrays, selectWinners sorts each time. */
  class NaivePool {
    live: { h: Uint8Array; at: number }[] = [];
    missed: Uint8Array[] = [];
    revoked: Uint8Array[] = [];
    mined = new Map<number, Uint8Array[]>();
    winners: Uint8Array[] = [];
    constructor(readonly p: typeof PARAMS) {}
    connect(b: { height: number; header: Uint8Array; tickets: Uint8Array[]; votedTickets: Uint8Array[]; revokedTickets: Uint8Array[] }): void {
      const h = b.height;
      this.mined.set(h, b.tickets);
      const eq = (a: Uint8Array, c: Uint8Array) => toHex(a) === toHex(c);
      if (h >= this.p.stakeEnabledHeight) {
        for (const w of this.winners) {
          this.live = this.live.filter((t) => !eq(t.h, w));
          if (!b.votedTickets.some((v) => eq(v, w))) this.missed.push(w);
        }
        for (const t of this.live.filter((x) => x.at <= h - this.p.ticketExpiry)) this.missed.push(t.h);
        this.live = this.live.filter((x) => x.at > h - this.p.ticketExpiry);
        for (const r of b.revokedTickets) {
          this.missed = this.missed.filter((m) => !eq(m, r));
          this.revoked.push(r);
        }
        for (const t of this.mined.get(h - this.p.ticketMaturity) ?? []) this.live.push({ h: t, at: h });
      }
      this.winners = h >= this.p.stakeValidationHeight - 1 ? selectWinners(this.live.map((x) => x.h), b.header).winners : [];
    }
  }

  it('agrees block by block on live set, winners, missed and revoked (small expiry so tickets expire)', () => {
    const small = { ticketMaturity: 2, ticketExpiry: 6, stakeEnabledHeight: 3, stakeValidationHeight: 8, ticketsPerBlock: 5 };
    const seen = { expired: 0, voted: 0, missed: 0, revoked: 0 };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 7 })), { minLength: 10, maxLength: 40 }), (plan) => {
        const pool = new LiveTicketPool(small);
        const naive = new NaivePool(small);
        let serial = 0;
        // Enough early tickets so the lottery always has 5 candidates.
        const blocks = [[0, 0, 0] as const, [8, 0, 0] as const, [8, 0, 0] as const, ...plan];
        for (const [h, [nTickets, voteMask, revokeMask]] of blocks.entries()) {
          const header = blake256(Uint8Array.of(h, 0xaa)).slice(0, 32);
          const header180 = new Uint8Array(180);
          header180.set(header);
          const tickets = Array.from({ length: h < small.stakeValidationHeight ? Math.max(nTickets, 2) : nTickets }, () => blake256(Uint8Array.of(serial & 0xff, serial++ >> 8, 0x77)));
          const votedTickets = pool.winners.filter((_, i) => (voteMask >> i) & 1);
          const missed = pool.missedTickets();
          const revokedTickets = missed.filter((_, i) => (revokeMask >> i) & 1);
          const block = { height: h, header: header180, tickets, votedTickets, revokedTickets };
          let threw = false;
          try {
            const r = pool.connectBlock(block);
            seen.expired += r.expired.length;
            seen.voted += r.voted.length;
            seen.missed += r.missed.length;
            seen.revoked += revokedTickets.length;
          } catch (e) {
            expect((e as { reason?: string }).reason).toBe('NOT_ENOUGH_TICKETS');
            threw = true;
          }
          if (threw) return; // the chain cannot continue; both models agree up to here
          naive.connect(block);
          const sortHex = (xs: Uint8Array[]) => xs.map(toHex).sort();
          expect(sortHex([...pool.liveTickets()])).toEqual(sortHex(naive.live.map((x) => x.h)));
          expect(pool.winners.map(toHex)).toEqual(naive.winners.map(toHex));
          expect(sortHex(pool.missedTickets())).toEqual(sortHex(naive.missed));
          for (const r of naive.revoked) expect(pool.isRevoked(r)).toBe(true);
        }
      }),
      { numRuns: 30 },
    );
    // The generated chains really exercise every transition.
    expect(seen.expired).toBeGreaterThan(0);
    expect(seen.voted).toBeGreaterThan(0);
    expect(seen.missed).toBeGreaterThan(0);
    expect(seen.revoked).toBeGreaterThan(0);
  });
});
