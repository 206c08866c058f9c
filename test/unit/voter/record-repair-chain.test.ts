/**
 * Repair from the chain (record-repair.ts): after an etcd outage, a vote a dcrd knows for a
 * managed draw that has no record is recorded with exactly the chain's bytes, by the voter whose
 * turn it is in the ticket's signer order. The votes are the upstream regnet chain's (test
 * vectors), so "verifies as this ticket's vote on this block" is judged on real transactions.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, hashToHex } from '../../../services/decred/bytes.ts';
import { parseVote } from '../../../services/decred/vote.ts';
import { decodeTxHex } from '../../../services/decred/wire/tx.ts';
import { createLogger } from '../../../services/telemetry/index.ts';
import { EtcdUnavailableError, type VoteRecord } from '../../../services/cluster/index.ts';
import { EtcdReach } from '../../../services/voter/etcd-reach.ts';
import { MAX_REPAIR_RANK, OUTAGE_LOOKBACK_MS, RecordRepair, type ChainVote } from '../../../services/voter/record-repair.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const chain = JSON.parse(readFileSync(new URL('../../vectors/lottery_chain_regnet_0to168.json', import.meta.url), 'utf8')) as {
  blocks: { height: number; block_hash: string; stake_txs: { hex: string; txid: string; type: string }[] }[];
};

/** Real votes of one block of the vector chain: each with its ticket and the block it votes on. */
function votesOfBlock(height: number): Array<{ hex: string; txid: string; ticket: string; votedHash: string; votedHeight: number; voteBits: number }> {
  const b = chain.blocks.find((x) => x.height === height);
  if (!b) throw new Error(`no block ${height} in the vectors`);
  return b.stake_txs.filter((s) => s.type === 'ssgen').map((s) => {
    const v = parseVote(decodeTxHex(s.hex));
    return { hex: s.hex, txid: s.txid, ticket: hashToHex(v.ticketHash), votedHash: hashToHex(v.blockHash), votedHeight: v.blockHeight, voteBits: v.voteBits };
  });
}

async function waitFor(cond: () => boolean, timeoutMs = 3_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** An etcd stand-in (create-if-absent map) and a chain stand-in answering GetBlockVotes. */
function world(opts: { rank?: (t: string) => number; chainVotes?: (block: string, height: number) => ChainVote[] } = {}) {
  let etcdUp = true;
  const stored = new Map<string, VoteRecord>();
  const written: VoteRecord[] = [];
  const asked: string[] = [];
  const reach = new EtcdReach(async () => {
    if (!etcdUp) throw new Error('down');
  }, log, 5);
  const repair = new RecordRepair({
    reach,
    lookup: async (_h, b, t) => {
      if (!etcdUp) throw new Error('down');
      return stored.get(`${b}:${t}`) ?? null;
    },
    knownToDcrd: async () => false,
    records: {
      record: async (r) => {
        if (!etcdUp) throw new EtcdUnavailableError('down');
        const k = `${r.blockHash}:${r.ticketHash}`;
        const prev = stored.get(k);
        if (prev) return { created: prev.voteTxid === r.voteTxid, stored: prev };
        stored.set(k, r);
        written.push(r);
        return { created: true, stored: r };
      },
    },
    chainVotes: async (block, height) => {
      asked.push(`${height}:${block}`);
      return opts.chainVotes?.(block, height) ?? [];
    },
    repairRank: opts.rank ?? (() => 0),
    selfId: 'c1',
  }, log, { graceMs: 10, stepMs: 30 });
  return {
    reach, repair, stored, written, asked,
    outage(): void {
      etcdUp = false;
      reach.noteFailure();
    },
    restore(): void {
      etcdUp = true;
    },
    async stop(): Promise<void> {
      await repair.stop();
      await reach.stop();
    },
  };
}

describe('RecordRepair from the chain', () => {
  const votes = votesOfBlock(150);
  const v0 = votes[0] as (typeof votes)[number];
  const v1 = votes[1] as (typeof votes)[number];
  const onChain = (v: typeof v0, minedIn?: string): ChainVote => ({ rawTx: fromHex(v.hex), txidHex: v.txid, ...(minedIn ? { minedIn } : {}) });

  it('records a vote the chain holds but etcd lost, with exactly the chain\'s bytes (path repair)', async () => {
    const w = world({ chainVotes: (b) => (b === v0.votedHash ? [onChain(v0, 'cc'.repeat(32)), onChain(v1, 'cc'.repeat(32))] : []) });
    w.repair.start();
    // The owner signed and sent during the outage, then died with its record queued: no backup held the vote.
    w.outage();
    w.repair.drawSeen(v0.votedHash, v0.votedHeight, [v0.ticket, v1.ticket]);
    expect(w.repair.stats().chainPending).toBe(0);
    w.restore();
    await waitFor(() => w.repair.stats().chainRepaired === 2);
    const rec = w.written.find((r) => r.ticketHash === v0.ticket) as VoteRecord;
    expect(rec.voteTxHex).toBe(v0.hex);
    expect(rec).toMatchObject({ voteTxid: v0.txid, height: v0.votedHeight, blockHash: v0.votedHash, path: 'repair', signer: 'c1', voteBits: v0.voteBits });
    // One GetBlockVotes per block and pass, not one per ticket.
    expect(w.asked).toEqual([`${v0.votedHeight}:${v0.votedHash}`]);
    await w.stop();
  });

  it('never records bytes that do not verify as this ticket\'s vote on this block, nor over an existing record', async () => {
    const otherBlock = 'ab'.repeat(32);
    const forged = { ...onChain(v1), txidHex: 'ee'.repeat(32) }; // claims a txid its bytes do not hash to
    const w = world({
      chainVotes: (b) => (b === otherBlock ? [onChain(v0)] /* votes on another block */ : [forged, onChain(v0)]),
    });
    // v0's draw already has a DIFFERENT record: it must stay.
    w.stored.set(`${v0.votedHash}:${v0.ticket}`, {
      height: v0.votedHeight, blockHash: v0.votedHash, ticketHash: v0.ticket, voteTxHex: '01', voteTxid: '11'.repeat(32), signer: 'a1',
      choicesRevision: 5, voteBits: 1, voteVersion: 10, treasuryVotes: [], createdAt: new Date(0).toISOString(),
    });
    w.repair.start();
    w.outage();
    w.repair.drawSeen(otherBlock, v0.votedHeight, [v0.ticket]); // a draw of v0's ticket on a block v0 does not vote on
    w.repair.drawSeen(v1.votedHash, v1.votedHeight, [v1.ticket, v0.ticket]);
    w.restore();
    await waitFor(() => w.reach.isReachable && w.repair.stats().chainPending === 0);
    expect(w.written).toEqual([]);
    expect(w.stored.get(`${v0.votedHash}:${v0.ticket}`)?.voteTxid).toBe('11'.repeat(32));
    expect(w.repair.stats()).toMatchObject({ chainRepaired: 0, alreadyRecorded: 1, notOnChain: 2, rejectedChainVotes: 2 });
    await w.stop();
  });

  it('only the first repairers of a ticket check it, each one step after the previous', async () => {
    const ranks = new Map([[v0.ticket, 1], [v1.ticket, MAX_REPAIR_RANK]]);
    const w = world({ rank: (t) => ranks.get(t) ?? 0, chainVotes: () => [onChain(v0), onChain(v1)] });
    // Passes driven with explicit times (no loop): the clock is the test's.
    const seen = 1_000_000;
    const back = seen + 100;
    w.repair.drawSeen(v0.votedHash, v0.votedHeight, [v0.ticket, v1.ticket], seen);
    w.repair.outageEnded(seen - 1, back);
    // v1: not among this voter's repairs (rank too far); v0: rank 1 → grace (10) + 1 step (30).
    expect(await w.repair.chainRepairOnce(back + 10 + 30 - 1)).toBe(true);
    expect(w.written).toEqual([]);
    expect(await w.repair.chainRepairOnce(back + 10 + 30)).toBe(true);
    expect(w.written.map((r) => r.ticketHash)).toEqual([v0.ticket]);
    expect(w.repair.stats().chainPending).toBe(0);
    await w.stop();
  });

  it('draws seen long before the outage, or with no outage at all, are not checked', async () => {
    const w = world({ chainVotes: () => [onChain(v0)] });
    w.repair.start();
    w.repair.drawSeen(v0.votedHash, v0.votedHeight, [v0.ticket], Date.now() - OUTAGE_LOOKBACK_MS - 1_000);
    w.repair.drawSeen(v1.votedHash, v1.votedHeight, [v1.ticket]);
    await new Promise((r) => setTimeout(r, 50));
    expect(w.asked).toEqual([]); // no outage: nothing to repair
    w.outage();
    w.restore();
    await waitFor(() => w.reach.isReachable && w.repair.stats().chainPending === 0 && w.asked.length === 1);
    expect(w.asked).toEqual([`${v1.votedHeight}:${v1.votedHash}`]);
    expect(w.written).toEqual([]); // the chain knows no vote of v1's ticket here: nothing invented
    await w.stop();
  });
});
