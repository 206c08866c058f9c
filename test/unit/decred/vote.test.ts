import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { equalBytes, hashFromHex, hashToHex, toHex } from '../../../services/decred/bytes.ts';
import { KeyMismatchError, RuleError } from '../../../services/decred/errors.ts';
import { blake256, hash160 } from '../../../services/decred/hash.ts';
import { REGNET, SIMNET, MAINNET } from '../../../services/decred/params.ts';
import { concatBytes } from '../../../services/decred/bytes.ts';
import { pushData, p2pkhScript } from '../../../services/decred/script.ts';
import { calcSignatureHash, SIGHASH_ALL } from '../../../services/decred/sighash.ts';
import { privKeyToPubKey, signHash } from '../../../services/decred/signature.ts';
import { verifyInputScript } from '../../../services/decred/sign.ts';
import { txType } from '../../../services/decred/stake.ts';
import { voteSubsidy } from '../../../services/decred/subsidy.ts';
import { buildTicket, parseTicket } from '../../../services/decred/ticket.ts';
import { buildVote, calcVotePayouts, checkVote, parseVote, prepareVoteKey, signVote, type CheckVoteContext } from '../../../services/decred/vote.ts';
import { cloneTx, decodeTx, decodeTxHex, encodeTx, txHash, type Tx } from '../../../services/decred/wire/tx.ts';

const chain = JSON.parse(readFileSync(new URL('../../vectors/lottery_chain_regnet_0to168.json', import.meta.url), 'utf8')) as {
  blocks: { height: number; block_hash: string; stake_txs: { hex: string; txid: string; type: string }[] }[];
};
const results = JSON.parse(readFileSync(new URL('../../vectors/lottery_results_regnet.json', import.meta.url), 'utf8')) as {
  records: { height: number; block_hash: string; winners: string[] }[];
};
const sighash = JSON.parse(readFileSync(new URL('../../vectors/sighash.json', import.meta.url), 'utf8')) as {
  vectors: { tx_hex: string; comment: string; script_hex: string; derived_txid: string }[];
};

function flip(b: Uint8Array, i: number): void {
  b[i] = (b[i] as number) ^ 1;
}

function reasonOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof RuleError) return e.reason;
    throw e;
  }
  return undefined;
}

describe('the 124 votes of the regnet chain', () => {
  const tickets = new Map<string, Tx>();
  for (const b of chain.blocks) for (const s of b.stake_txs) if (s.type === 'sstx') tickets.set(s.txid, decodeTxHex(s.hex));
  const votes = chain.blocks.flatMap((b) => b.stake_txs.filter((s) => s.type === 'ssgen').map((s) => ({ b, s })));
  const winnersByHeight = new Map(results.records.map((r) => [r.height, r.winners.map((w) => hashFromHex(w))]));

  it('there are 124', () => expect(votes).toHaveLength(124));

  it('parse, vote on the parent block, and their stakebase and payouts reproduce exactly', () => {
    for (const { b, s } of votes) {
      const tx = decodeTxHex(s.hex);
      expect(txType(tx)).toBe('vote');
      const v = parseVote(tx);
      const parent = chain.blocks[b.height - 1] as (typeof chain.blocks)[number];
      expect(v.blockHeight).toBe(parent.height);
      expect(hashToHex(v.blockHash)).toBe(parent.block_hash);
      const ticket = tickets.get(hashToHex(v.ticketHash));
      expect(ticket, `ticket of vote ${s.txid}`).toBeDefined();
      const info = parseTicket(ticket as Tx);
      const subsidy = voteSubsidy(v.blockHeight, REGNET, 'original');
      expect(v.stakebase).toBe(subsidy);
      expect(v.payouts.map((p) => p.value)).toEqual(calcVotePayouts(info, subsidy));
    }
  });

  it('their stakebase script is the mock-regnet deadbeef, which checkVote against REGNET (7357) rejects', () => {
    const { b, s } = votes[0] as (typeof votes)[number];
    const tx = decodeTxHex(s.hex);
    expect(toHex(tx.inputs[0]?.sigScript as Uint8Array)).toBe('deadbeef');
    const ticket = tickets.get(hashToHex(parseVote(tx).ticketHash)) as Tx;
    expect(reasonOf(() => checkVote(tx, { ticket, params: REGNET, split: 'original', winners: winnersByHeight.get(b.height - 1) }))).toBe('BAD_STAKEBASE_SCRIPT');
  });

  it('all pass checkVote with the drawn winners, including the signature', () => {
    for (const { b, s } of votes) {
      const tx = decodeTxHex(s.hex);
      const v = parseVote(tx);
      const ticket = tickets.get(hashToHex(v.ticketHash)) as Tx;
      // The chain was generated with dcrd's mock regnet params, whose StakeBaseSigScript is deadbeef.
      const params = { ...REGNET, stakeBaseSigScript: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) };
      const ctx: CheckVoteContext = { ticket, params, split: 'original', winners: winnersByHeight.get(b.height - 1) };
      expect(() => checkVote(tx, ctx)).not.toThrow();
    }
  });
});

describe('the real mainnet vote of block 4096 (sighash.json)', () => {
  const v = sighash.vectors.find((x) => x.comment === 'block 4096 vote, SigHashAll') as (typeof sighash.vectors)[number];
  const tx = decodeTxHex(v.tx_hex);

  it('parses: type, ticket hash, voted block and subsidy', () => {
    expect(txType(tx)).toBe('vote');
    expect(hashToHex(txHash(tx))).toBe(v.derived_txid);
    const info = parseVote(tx);
    // The vote spends output 0 of the ticket named in input 1 (raw bytes 46..78 of the tx: version 4, count 1, stakebase outpoint+sequence 41).
    expect(toHex(info.ticketHash)).toBe(v.tx_hex.slice(2 * 46, 2 * 78));
    expect(info.blockHeight).toBe(4095);
    expect(hashToHex(info.blockHash)).toMatch(/^000000000000/); // a PoW block hash in display order
    expect(info.stakebase).toBe(187_174_959n); // subsidy_mainnet.json: height 4095, original split
    expect(info.voteBits).toBe(1);
    expect(info.voteVersion).toBe(0);
    expect(info.treasuryVotes).toEqual([]);
    expect(info.payouts).toHaveLength(1);
    expect(toHex(info.payouts[0]?.script as Uint8Array).startsWith('bb76a914')).toBe(true);
  });

  it('its signature verifies against the ticket voting script', () => {
    expect(verifyInputScript(tx, 1, Buffer.from(v.script_hex, 'hex'))).toEqual({ valid: true });
  });
});

describe('buildVote / signVote / checkVote', () => {
  const params = SIMNET;
  const votingKey = blake256(new TextEncoder().encode('votecluster voting key'));
  const otherKey = blake256(new TextEncoder().encode('votecluster other key'));
  const rewardH160 = hash160(privKeyToPubKey(blake256(Uint8Array.of(7))));
  const ticket = buildTicket({
    input: { prevOut: { hash: blake256(Uint8Array.of(3)), index: 0, tree: 0 }, valueIn: 1_000_000_000n },
    price: 20_000n,
    fee: 3_001n,
    votingHash160: hash160(privKeyToPubKey(votingKey)),
    rewardHash160: rewardH160,
  });
  const ticketHash = txHash(ticket);
  const blockHash = blake256(Uint8Array.of(0xbb));
  const blockHeight = 200;
  const subsidy = voteSubsidy(blockHeight, params, 'dcp0012');
  const unsigned = buildVote({ ticket, blockHash, blockHeight, voteBits: 1, voteVersion: params.voteVersion, voteSubsidy: subsidy, params });
  const signed = signVote(unsigned, ticket, votingKey);
  const ctx: CheckVoteContext = { ticket, params, split: 'dcp0012', winners: [blake256(Uint8Array.of(1)), ticketHash], block: { hash: blockHash, height: blockHeight } };

  it('builds the dcrwallet layout (§5.1)', () => {
    expect(unsigned.version).toBe(1);
    expect(unsigned.lockTime).toBe(0);
    expect(unsigned.expiry).toBe(0);
    const [i0, i1] = unsigned.inputs as [Tx['inputs'][number], Tx['inputs'][number]];
    expect(toHex(i0.prevOut.hash)).toBe('00'.repeat(32));
    expect([i0.prevOut.index, i0.prevOut.tree, i0.sequence, i0.blockHeight, i0.blockIndex]).toEqual([0xffffffff, 0, 0xffffffff, 0, 0xffffffff]);
    expect(i0.valueIn).toBe(subsidy);
    expect(toHex(i0.sigScript)).toBe('0000');
    expect([toHex(i1.prevOut.hash), i1.prevOut.index, i1.prevOut.tree, i1.valueIn]).toEqual([toHex(ticketHash), 0, 1, 20_000n]);
    expect(toHex(unsigned.outputs[0]?.pkScript as Uint8Array)).toBe(`6a24${toHex(blockHash)}c8000000`);
    expect(toHex(unsigned.outputs[1]?.pkScript as Uint8Array)).toBe('6a0601000c000000');
    expect(toHex(unsigned.outputs[2]?.pkScript as Uint8Array)).toBe(`bb76a914${toHex(rewardH160)}88ac`);
    expect(unsigned.outputs[2]?.value).toBe(20_000n + subsidy); // one commitment gets everything
  });

  it('reproduces the real regnet votes output-for-output (only the vote-bits push differs: old 2-byte format)', () => {
    const b = chain.blocks[150] as (typeof chain.blocks)[number];
    const real = decodeTxHex((b.stake_txs.find((s) => s.type === 'ssgen') as { hex: string }).hex);
    const info = parseVote(real);
    const t = chain.blocks.flatMap((x) => x.stake_txs).find((s) => s.txid === hashToHex(info.ticketHash)) as { hex: string };
    const built = buildVote({
      ticket: decodeTxHex(t.hex),
      blockHash: info.blockHash,
      blockHeight: info.blockHeight,
      voteBits: info.voteBits,
      voteVersion: 0,
      voteSubsidy: voteSubsidy(info.blockHeight, REGNET, 'original'),
      params: REGNET,
    });
    expect(built.outputs.length).toBe(real.outputs.length);
    for (const i of [0, ...real.outputs.keys()].filter((k) => k !== 1)) {
      expect(toHex(built.outputs[i]?.pkScript as Uint8Array)).toBe(toHex(real.outputs[i]?.pkScript as Uint8Array));
      expect(built.outputs[i]?.value).toBe(real.outputs[i]?.value);
    }
    expect(built.inputs.map((x) => [toHex(x.prevOut.hash), x.prevOut.index, x.prevOut.tree, x.valueIn])).toEqual(
      real.inputs.map((x) => [toHex(x.prevOut.hash), x.prevOut.index, x.prevOut.tree, x.valueIn]),
    );
  });

  it('signs input 1 only, deterministically, and checkVote accepts it', () => {
    expect(toHex(signed.inputs[0]?.sigScript as Uint8Array)).toBe('0000');
    expect(signed.inputs[1]?.sigScript.length).toBeGreaterThan(100);
    expect(unsigned.inputs[1]?.sigScript.length).toBe(0); // not mutated
    expect(toHex(encodeTx(signVote(unsigned, ticket, prepareVoteKey(votingKey))))).toBe(toHex(encodeTx(signed)));
    expect(equalBytes(txHash(signed), txHash(unsigned))).toBe(true); // signing never changes the txid
    const info = checkVote(decodeTx(encodeTx(signed)), ctx);
    expect(info.blockHeight).toBe(blockHeight);
  });

  it('refuses to sign with a key that does not control the voting output, naming both', () => {
    let err: unknown;
    try {
      signVote(unsigned, ticket, otherKey, { params });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeyMismatchError);
    const msg = (err as Error).message;
    expect(msg).toContain(toHex(hash160(privKeyToPubKey(votingKey))));
    expect(msg).toContain(toHex(hash160(privKeyToPubKey(otherKey))));
    expect(msg).toMatch(/Ss[1-9A-HJ-NP-Za-km-z]{30,}/); // simnet addresses
  });

  const tampers: [string, (tx: Tx) => Tx, string, Partial<CheckVoteContext>?][] = [
    ['a changed payout', (tx) => ((tx.outputs[2] as { value: bigint }).value -= 1n, tx), 'BAD_PAYOUT'],
    ['a changed stakebase subsidy', (tx) => ((tx.inputs[0] as { valueIn: bigint }).valueIn += 1n, tx), 'BAD_SUBSIDY'],
    ['the wrong subsidy split', (tx) => tx, 'BAD_SUBSIDY', { split: 'dcp0010' }],
    ['another voted block', (tx) => (flip((tx.outputs[0] as { pkScript: Uint8Array }).pkScript, 5), tx), 'WRONG_BLOCK'],
    ['another voted block (no expected block given)', (tx) => (flip((tx.outputs[0] as { pkScript: Uint8Array }).pkScript, 5), tx), 'BAD_SIGNATURE', { block: undefined }],
    ['voteBits changed after signing', (tx) => ((tx.outputs[1] as { pkScript: Uint8Array }).pkScript[2] = 0, tx), 'BAD_SIGNATURE'],
    ['a non-winning ticket', (tx) => tx, 'NOT_A_WINNER', { winners: [blake256(Uint8Array.of(1))] }],
    ['another ticket', (tx) => ((tx.inputs[1] as { prevOut: { hash: Uint8Array } }).prevOut.hash = blake256(Uint8Array.of(5)), tx), 'WRONG_TICKET'],
    ['another stakebase script', (tx) => ((tx.inputs[0] as { sigScript: Uint8Array }).sigScript = Uint8Array.of(0x73, 0x57), tx), 'BAD_STAKEBASE_SCRIPT'],
    ['a wrong ticket valueIn', (tx) => ((tx.inputs[1] as { valueIn: bigint }).valueIn = 1n, tx), 'BAD_VALUE_IN'],
    ['a third input', (tx) => (tx.inputs.push({ ...(tx.inputs[1] as Tx['inputs'][number]) }), tx), 'NOT_A_VOTE'],
    ['a payout to another address', (tx) => (flip((tx.outputs[2] as { pkScript: Uint8Array }).pkScript, 10), tx), 'BAD_PAYEE'],
    ['a missing payout', (tx) => (tx.outputs.pop(), tx), 'NOT_A_VOTE'],
    ['an early vote', (tx) => tx, 'EARLY_VOTE', { params: { ...params, stakeValidationHeight: 1000 } }],
    [
      'a signature by the wrong key',
      (tx) => {
        const h = calcSignatureHash(parseTicket(ticket).votingScript, SIGHASH_ALL, tx, 1);
        const sig = concatBytes(signHash(h, otherKey), Uint8Array.of(SIGHASH_ALL));
        (tx.inputs[1] as { sigScript: Uint8Array }).sigScript = concatBytes(pushData(sig), pushData(privKeyToPubKey(otherKey)));
        return tx;
      },
      'BAD_SIGNATURE',
    ],
    ['no signature', (tx) => ((tx.inputs[1] as { sigScript: Uint8Array }).sigScript = new Uint8Array(), tx), 'BAD_SIGNATURE'],
  ];
  it.each(tampers)('rejects %s', (_name, tamper, reason, over) => {
    const tx = tamper(cloneTx(signed));
    expect(reasonOf(() => checkVote(tx, { ...ctx, ...over }))).toBe(reason);
  });

  it('a vote for a ticket whose voting script is not ours: BAD_TICKET when the context ticket is not a ticket', () => {
    const notTicket = cloneTx(ticket);
    (notTicket.outputs[0] as { pkScript: Uint8Array }).pkScript = p2pkhScript(new Uint8Array(20));
    expect(reasonOf(() => checkVote(signed, { ...ctx, ticket: notTicket, ticketHash }))).toBe('BAD_TICKET');
  });

  it('respects a commitment vote fee limit: up to 2^limit lower is fine, higher is not', () => {
    const t2 = buildTicket({
      input: { prevOut: { hash: blake256(Uint8Array.of(4)), index: 0, tree: 0 }, valueIn: 50_000n },
      price: 20_000n,
      votingHash160: hash160(privKeyToPubKey(votingKey)),
      rewardHash160: rewardH160,
      voteFeeLimit: 4,
    });
    const u = buildVote({ ticket: t2, blockHash, blockHeight, voteBits: 1, voteVersion: 1, voteSubsidy: subsidy, params });
    const c2: CheckVoteContext = { ticket: t2, params, split: 'dcp0012' };
    const withFee = (fee: bigint): Tx => {
      const x = cloneTx(u);
      (x.outputs[2] as { value: bigint }).value -= fee;
      return signVote(x, t2, votingKey);
    };
    expect(reasonOf(() => checkVote(withFee(16n), c2))).toBeUndefined();
    expect(reasonOf(() => checkVote(withFee(17n), c2))).toBe('BAD_PAYOUT');
    expect(reasonOf(() => checkVote(withFee(-1n), c2))).toBe('BAD_PAYOUT');
  });

  it('round-trips any vote bits, version, height and treasury votes through encode/decode/parse', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: params.stakeValidationHeight, max: 0xffffffff }),
        fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 7, selector: (h) => toHex(h) }),
        fc.array(fc.constantFrom<1 | 2>(1, 2), { minLength: 7, maxLength: 7 }),
        (voteBits, voteVersion, height, tspends, choices) => {
          const treasuryVotes = tspends.map((tspendHash, i) => ({ tspendHash, vote: choices[i] as 1 | 2 }));
          const u = buildVote({ ticket, ticketHash, blockHash, blockHeight: height, voteBits, voteVersion, voteSubsidy: 5n, params, treasuryVotes });
          const back = parseVote(decodeTx(encodeTx(u)));
          expect(u.version).toBe(treasuryVotes.length > 0 ? 3 : 1);
          expect([back.voteBits, back.voteVersion, back.blockHeight, back.stakebase]).toEqual([voteBits, voteVersion, height, 5n]);
          expect(back.treasuryVotes).toEqual(treasuryVotes);
          expect(back.payouts).toHaveLength(1);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('a treasury-voting vote signs and checks', () => {
    const u = buildVote({
      ticket, blockHash, blockHeight, voteBits: 1, voteVersion: 12, voteSubsidy: subsidy, params,
      treasuryVotes: [{ tspendHash: blake256(Uint8Array.of(1)), vote: 1 }, { tspendHash: blake256(Uint8Array.of(2)), vote: 2 }],
    });
    const s = signVote(u, ticket, votingKey);
    expect(s.version).toBe(3);
    expect(checkVote(s, ctx).treasuryVotes.map((t) => t.vote)).toEqual([1, 2]);
    const v1 = cloneTx(s);
    v1.version = 1;
    expect(reasonOf(() => parseVote(v1))).toBe('NOT_A_VOTE');
  });

  it('mainnet subsidy split matters: dcp0012 vs original for the same height', () => {
    expect(voteSubsidy(900_000, MAINNET, 'dcp0012')).toBeGreaterThan(voteSubsidy(900_000, MAINNET, 'original'));
  });
});
