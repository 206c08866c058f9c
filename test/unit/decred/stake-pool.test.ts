import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, hashToHex, toHex } from '../../../services/decred/bytes.ts';
import { REGNET } from '../../../services/decred/params.ts';
import { LiveTicketPool, stakeBlockFromTxs, type ConnectResult } from '../../../services/decred/stake-pool.ts';
import { txType } from '../../../services/decred/stake.ts';
import { decodeTxHex, txHash } from '../../../services/decred/wire/tx.ts';

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
    const txs = b.stake_txs.map((s) => {
      const tx = decodeTxHex(s.hex);
      expect(txType(tx)).toBe(TYPE_NAME[s.type]);
      expect(hashToHex(txHash(tx))).toBe(s.txid);
      return tx;
    });
    const sb = stakeBlockFromTxs(b.height, header, txs);
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
