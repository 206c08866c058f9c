/**
 * The devnet's judge of "two different votes for one (ticket, block)", the verdict every chaos
 * scenario relies on: generated sends of signed votes (several distinct votes per winner, to
 * any of three relaying nodes, in any order) over JSON-RPC. Each send is accepted, refused as a
 * duplicate (-40) or refused as a second vote for the ticket and block (-1, decred/dcrd
 * internal/mempool/mempool.go maybeAcceptTransaction: a vote for a ticket already voting on that
 * block); once the relay settled, every node holds exactly one vote per (ticket, block), the
 * report counts exactly the distinct votes sent per draw and calls the draw conflicting exactly
 * when there were two or more, and the next block mines one of the votes sent. Each case
 * votes on the tip's draw and mines the next block.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeTx, hashToHex, toHex, txHash } from '../../services/decred/index.ts';
import { startDevnet, type Devnet, type ExportedTicket } from '../../services/sim/devnet/index.ts';
import { waitUntil } from '../../services/base/index.ts';
import { httpCall, makeVote } from '../integration/devnet-rpc-client.ts';
import { fuzzRuns, fuzzSeed } from './fuzz-runs.ts';

const NODES = 3;
/** Distinct votes a winner may get: vote bits that differ only beyond the block-valid bit. */
const BITS = [0x0001, 0x0003, 0x0005] as const;

let dn: Devnet;
let tickets: Map<string, ExportedTicket>;

beforeAll(async () => {
  dn = await startDevnet({ seed: 'conflict-judge', nodes: NODES, tickets: 64, blockInterval: { mode: 'manual' }, subsidySplit: 'dcp0012' });
  tickets = new Map(dn.exportTickets().map((t) => [t.ticketHash, t]));
}, 60_000);

afterAll(async () => {
  await dn?.stop();
});

const rpc = (node: number, method: string, params: unknown[]) => {
  const n = dn.nodes[node]!;
  return httpCall(n.rpcUrl, n.rpcUser, n.rpcPass, method, params);
};

/** One send: winner index (0-4), which of its votes, to which node. */
const sendArb = fc.record({ winner: fc.integer({ min: 0, max: 4 }), variant: fc.integer({ min: 0, max: BITS.length - 1 }), node: fc.integer({ min: 0, max: NODES - 1 }) });
/** Every winner gets at least one send (the next block needs 3 votes), then any further sends in any order. */
const sendsArb = fc.tuple(
  fc.tuple(...[0, 1, 2, 3, 4].map((w) => fc.record({ winner: fc.constant(w), variant: fc.integer({ min: 0, max: BITS.length - 1 }), node: fc.integer({ min: 0, max: NODES - 1 }) }))),
  fc.array(sendArb, { maxLength: 12 }),
).chain(([first, more]) => fc.shuffledSubarray([...first, ...more], { minLength: first.length + more.length }));

describe('devnet judge: two different votes for one (ticket, block)', () => {
  it('counts exactly the distinct votes of each draw, conflicting exactly when two or more, one vote per draw in every mempool', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(sendsArb, async (sends) => {
        const conflictsBefore = dn.report().conflicting;
        // The tip's draw (each run's generate(1) at the end makes the next one).
        const best = (await rpc(0, 'getbestblock', [])).result as { hash: string; height: number };
        const blockHash = best.hash;
        const height = best.height;
        const winners = dn.report().tickets.filter((t) => t.blockHash === blockHash).map((t) => t.ticketHash);
        expect(winners.length).toBe(5);
        const sent = new Map<string, Set<string>>();
        for (const s of sends) {
          const ticketHash = winners[s.winner] as string;
          const vote = makeVote(tickets.get(ticketHash)!, blockHash, height, BITS[s.variant]);
          const txid = hashToHex(txHash(vote));
          const r = await rpc(s.node, 'sendrawtransaction', [toHex(encodeTx(vote))]);
          const why = `send ${JSON.stringify(s)} -> ${JSON.stringify(r.error)}`;
          if (r.error) {
            const dup = r.error.code === -40;
            const second = r.error.code === -1 && /already votes on block/.test(r.error.message);
            expect(dup || second, why).toBe(true);
          } else {
            expect(r.result, why).toBe(txid);
          }
          sent.set(ticketHash, (sent.get(ticketHash) ?? new Set()).add(txid));
        }
        // Relay settles: every node holds one vote for each winner of the block.
        const perNode = async (): Promise<Array<Map<string, number>>> => Promise.all(dn.nodes.map(async (_, i) => {
          const ids = (await rpc(i, 'getrawmempool', [false, 'votes'])).result as string[];
          const byTicket = new Map<string, number>();
          for (const id of ids) {
            const tx = (await rpc(i, 'getrawtransaction', [id, 1])).result as { vin: Array<{ txid: string }>; vout: Array<{ scriptPubKey: { hex: string } }> };
            const ticket = tx.vin[1]?.txid as string;
            if (!sent.has(ticket)) continue;
            byTicket.set(ticket, (byTicket.get(ticket) ?? 0) + 1);
          }
          return byTicket;
        }));
        const settled = await waitUntil(async () => (await perNode()).every((m) => m.size === winners.length), 10_000, 20);
        expect(settled, 'every node holds a vote for every winner').toBe(true);
        for (const m of await perNode()) for (const [t, n] of m) expect(n, `one vote for ${t} per mempool`).toBe(1);
        const report = () => dn.report().tickets.filter((t) => t.blockHash === blockHash);
        await waitUntil(() => report().every((t) => t.distinctVotes === (sent.get(t.ticketHash)?.size ?? 0)), 5_000, 20);
        for (const t of report()) {
          const distinct = sent.get(t.ticketHash)?.size ?? 0;
          expect(t.distinctVotes, `distinct votes of ${t.ticketHash}`).toBe(distinct);
        }
        // The next block mines one of the votes sent for each winner.
        await dn.generate(1);
        for (const t of report()) {
          expect(t.outcome, `outcome of ${t.ticketHash}`).toBe('voted');
          expect(sent.get(t.ticketHash)?.has(t.minedVoteTxid as string), `mined vote of ${t.ticketHash} is one sent`).toBe(true);
        }
        // Conflicting draws: exactly those that got two or more distinct votes.
        const want = [...sent.values()].filter((s) => s.size > 1).length;
        expect(dn.report().conflicting - conflictsBefore, 'conflicting draws added by this block').toBe(want);
      }),
      { numRuns: fuzzRuns(6), seed: fuzzSeed() },
    );
  });
});
