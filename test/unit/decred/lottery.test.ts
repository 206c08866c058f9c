import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareBytes, fromHex, hashFromHex, hashToHex, toHex } from '../../../services/decred/bytes.ts';
import { InvalidArgumentError } from '../../../services/decred/errors.ts';
import { blake256 } from '../../../services/decred/hash.ts';
import { Hash256Prng, findTicketIdxs, selectWinners, sortTicketHashes } from '../../../services/decred/lottery.ts';

const vectors = JSON.parse(readFileSync(new URL('../../vectors/lottery_prng.json', import.meta.url), 'utf8')) as {
  vectors: {
    name: string;
    seed_hex: string;
    iv_hex?: string;
    calls_hash256rand?: number;
    steps?: { op: string; pool_size: number; n: number; expected: number[] }[];
    expected_state_hash_display: string;
  }[];
};
const results = JSON.parse(readFileSync(new URL('../../vectors/lottery_results_regnet.json', import.meta.url), 'utf8')) as {
  records: {
    height: number;
    header: string;
    live_ticket_count: number;
    live_tickets_sorted?: string[];
    winning_indexes: number[];
    winners: string[];
    final_state: string;
  }[];
};

function vector(name: string) {
  const v = vectors.vectors.find((x) => x.name === name);
  if (!v) throw new Error(`missing vector ${name}`);
  return v;
}

describe('Hash256Prng (blockchain/stake/lottery_test.go)', () => {
  it('the seed is BLAKE256(0x01) and the IV matches', () => {
    const v = vector('TestBasicPRNG');
    expect(toHex(blake256(Uint8Array.of(1)))).toBe(v.seed_hex);
    const iv = blake256(Uint8Array.from([...fromHex(v.seed_hex), 0x24, 0x3f, 0x6a, 0x88, 0x85, 0xa3, 0x08, 0xd3]));
    expect(toHex(iv)).toBe(v.iv_hex);
  });

  it('TestBasicPRNG: state hash after 100000 draws', () => {
    const v = vector('TestBasicPRNG');
    const prng = new Hash256Prng(fromHex(v.seed_hex));
    for (let i = 0; i < (v.calls_hash256rand as number); i++) prng.next();
    expect(hashToHex(prng.stateHash())).toBe(v.expected_state_hash_display);
  });

  it('fromIv gives the same stream as the seed constructor', () => {
    const v = vector('TestBasicPRNG');
    const a = new Hash256Prng(fromHex(v.seed_hex));
    const b = Hash256Prng.fromIv(fromHex(v.iv_hex as string));
    for (let i = 0; i < 50; i++) expect(b.next()).toBe(a.next());
  });

  it('TestLotteryNumSelection: findTicketIdxs draws and final state', () => {
    const v = vector('TestLotteryNumSelection');
    const prng = new Hash256Prng(fromHex(v.seed_hex));
    expect(() => findTicketIdxs(4, 5, prng)).toThrow(InvalidArgumentError);
    for (const s of v.steps ?? []) expect(findTicketIdxs(s.pool_size, s.n, prng)).toEqual(s.expected);
    expect(hashToHex(prng.stateHash())).toBe(v.expected_state_hash_display);
  });

  it('uniformRandom stays in range and findTicketIdxs returns distinct indexes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 5, max: 2 ** 32 - 1 }), (seed, n) => {
        const prng = new Hash256Prng(seed);
        const r = prng.uniformRandom(n);
        expect(r).toBeGreaterThanOrEqual(0);
        expect(r).toBeLessThan(n);
        const idxs = findTicketIdxs(Math.min(n, 1000), 5, prng);
        expect(new Set(idxs).size).toBe(5);
      }),
      { numRuns: 200 },
    );
  });
});

describe('selectWinners (lottery_results_regnet.json)', () => {
  for (const rec of results.records.filter((r) => r.live_tickets_sorted)) {
    it(`height ${rec.height}: winners, indexes and final state from the full live set`, () => {
      const live = (rec.live_tickets_sorted as string[]).map((h) => hashFromHex(h));
      expect(live).toHaveLength(rec.live_ticket_count);
      // Any input order: reverse it so the sort is exercised.
      const res = selectWinners([...live].reverse(), fromHex(rec.header));
      expect(res.idxs).toEqual(rec.winning_indexes);
      expect(res.winners.map(hashToHex)).toEqual(rec.winners);
      expect(toHex(res.finalState)).toBe(rec.final_state);
      const pre = selectWinners(live, fromHex(rec.header), { sorted: true });
      expect(toHex(pre.finalState)).toBe(rec.final_state);
    });
  }

  it('sorts by raw bytes, not display hex', () => {
    const rec = results.records.find((r) => r.live_tickets_sorted) as (typeof results.records)[number];
    const live = (rec.live_tickets_sorted as string[]).map((h) => hashFromHex(h));
    for (let i = 1; i < live.length; i++) expect(compareBytes(live[i - 1] as Uint8Array, live[i] as Uint8Array)).toBeLessThan(0);
  });

  it('rejects a header that is not 180 bytes and a pool smaller than 5', () => {
    expect(() => selectWinners([], new Uint8Array(179))).toThrow(InvalidArgumentError);
    expect(() => selectWinners([new Uint8Array(32)], new Uint8Array(180))).toThrow(InvalidArgumentError);
  });

  it('draws the same winners from a 100,000-ticket pool whether it is passed sorted or not', () => {
    // The draw's speed over a pool this size is measured by `npm run bench -- protocol` (lottery100k*).
    const live: Uint8Array[] = [];
    for (let i = 0; i < 100_000; i++) live.push(blake256(Uint8Array.of(i & 0xff, (i >> 8) & 0xff, i >> 16)));
    const a = selectWinners(live, new Uint8Array(180));
    const b = selectWinners(sortTicketHashes([...live]), new Uint8Array(180), { sorted: true });
    expect(a.winners).toHaveLength(5);
    expect(b.winners).toEqual(a.winners);
  });
});
