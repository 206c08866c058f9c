import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../../services/decred/bytes.ts';
import { RuleError, InvalidArgumentError } from '../../../services/decred/errors.ts';
import { blake256, hash160 } from '../../../services/decred/hash.ts';
import { p2pkhScript } from '../../../services/decred/script.ts';
import { verifyInputScript } from '../../../services/decred/sign.ts';
import { privKeyToPubKey } from '../../../services/decred/signature.ts';
import { txType } from '../../../services/decred/stake.ts';
import { buildTicket, feeLimitExponent, parseTicket, ticketCommitmentScript } from '../../../services/decred/ticket.ts';
import { cloneTx, decodeTx, decodeTxHex, encodeTx, type Tx } from '../../../services/decred/wire/tx.ts';

const addresses = JSON.parse(readFileSync(new URL('../../vectors/addresses.json', import.meta.url), 'utf8')) as {
  vectors: { name: string; rewardScript?: string; rewardAmount?: string; revFeeLimit?: string; hash160?: string; address: string }[];
};
const sighash = JSON.parse(readFileSync(new URL('../../vectors/sighash.json', import.meta.url), 'utf8')) as {
  vectors: { tx_hex: string; comment: string }[];
};
const chain = JSON.parse(readFileSync(new URL('../../vectors/lottery_chain_regnet_0to168.json', import.meta.url), 'utf8')) as {
  blocks: { stake_txs: { hex: string; type: string }[] }[];
};

function mainnetTicket(): Tx {
  const v = sighash.vectors.find((x) => x.comment === 'block 257 ticket purchase, SigHashAll');
  if (!v) throw new Error('missing mainnet ticket vector');
  return decodeTxHex(v.tx_hex);
}

describe('ticketCommitmentScript (addresses.json rewardScript, stdaddr RewardCommitmentScript)', () => {
  for (const v of addresses.vectors.filter((x) => x.rewardScript)) {
    it(v.name, () => {
      const expected = fromHex(v.rewardScript as string);
      const isP2SH = v.name.includes('p2sh');
      const amount = BigInt(Number(v.rewardAmount));
      const rev = feeLimitExponent(BigInt(v.revFeeLimit as string));
      const script = ticketCommitmentScript(expected.slice(2, 22), amount, { isP2SH, revocationFeeLimit: rev });
      expect(toHex(script)).toBe(v.rewardScript);
    });
  }
  it('feeLimitExponent is ceil(log2)', () => {
    expect(feeLimitExponent(1n)).toBe(0);
    expect(feeLimitExponent(2n)).toBe(1);
    expect(feeLimitExponent(3n)).toBe(2);
    expect(feeLimitExponent(16777216n)).toBe(24);
    expect(feeLimitExponent(16777217n)).toBe(25);
    expect(() => feeLimitExponent(0n)).toThrow(InvalidArgumentError);
  });
});

describe('parseTicket', () => {
  it('parses the real mainnet ticket of block 257', () => {
    const tx = mainnetTicket();
    expect(txType(tx)).toBe('ticket');
    const t = parseTicket(tx);
    expect(t.price).toBe(200_000_000n); // mainnet MinimumStakeDiff, the price at height 257
    expect(t.votingIsP2SH).toBe(false);
    expect(toHex(t.votingScript)).toBe(toHex((tx.outputs[0] as { pkScript: Uint8Array }).pkScript));
    expect(t.commitments).toHaveLength(1);
    const c = t.commitments[0] as (typeof t.commitments)[number];
    // Commitment = price + fee = valueIn - change (dcrwallet).
    const valueIn = (tx.inputs[0] as { valueIn: bigint }).valueIn;
    expect(c.amount).toBe(valueIn - (t.changes[0] as { value: bigint }).value);
    expect(c.isP2SH).toBe(false);
    expect(c.voteFeeLimit).toBeNull();
    expect(c.revocationFeeLimit).toBe(24); // 0x5800
  });

  it('parses all 1211 tickets of the regnet chain', () => {
    let n = 0;
    for (const b of chain.blocks) {
      for (const s of b.stake_txs.filter((x) => x.type === 'sstx')) {
        const t = parseTicket(decodeTxHex(s.hex));
        expect(t.commitments.length).toBeGreaterThan(0);
        n++;
      }
    }
    expect(n).toBe(1211);
  });

  const tampers: [string, (tx: Tx) => void][] = [
    ['untagged voting output', (tx) => ((tx.outputs[0] as { pkScript: Uint8Array }).pkScript = p2pkhScript(new Uint8Array(20)))],
    ['extra output', (tx) => tx.outputs.push({ value: 0n, version: 0, pkScript: Uint8Array.of(0x6a) })],
    ['commitment too short', (tx) => ((tx.outputs[1] as { pkScript: Uint8Array }).pkScript = Uint8Array.of(0x6a, 0x02, 1, 2))],
    ['script version 1', (tx) => ((tx.outputs[2] as { version: number }).version = 1)],
    ['untagged change', (tx) => ((tx.outputs[2] as { pkScript: Uint8Array }).pkScript = p2pkhScript(new Uint8Array(20)))],
  ];
  it.each(tampers)('rejects a ticket with %s as NOT_A_TICKET', (_n, tamper) => {
    const tx = cloneTx(mainnetTicket());
    tamper(tx);
    let err: unknown;
    try {
      parseTicket(tx);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuleError);
    expect((err as RuleError).reason).toBe('NOT_A_TICKET');
    expect(txType(tx)).not.toBe('ticket');
  });
});

describe('buildTicket', () => {
  const fundKey = blake256(new TextEncoder().encode('votecluster ticket funding key'));
  const fundPkScript = p2pkhScript(hash160(privKeyToPubKey(fundKey)));

  it('builds a signed dcrwallet-shaped ticket that parses back and verifies', () => {
    const voting = hash160(privKeyToPubKey(blake256(Uint8Array.of(1))));
    const reward = hash160(privKeyToPubKey(blake256(Uint8Array.of(2))));
    const tx = buildTicket({
      input: { prevOut: { hash: blake256(Uint8Array.of(9)), index: 1, tree: 0 }, valueIn: 10_000_000_000n },
      price: 20_000n,
      fee: 2_980n,
      votingHash160: voting,
      rewardHash160: reward,
      expiry: 1000,
      signWith: { privKey: fundKey, fundingPkScript: fundPkScript },
    });
    expect(tx.outputs).toHaveLength(3);
    expect(txType(tx)).toBe('ticket');
    const t = parseTicket(decodeTx(encodeTx(tx)));
    expect(t.price).toBe(20_000n);
    expect(toHex(t.votingHash160)).toBe(toHex(voting));
    expect(t.commitments[0]?.amount).toBe(22_980n);
    expect(toHex(t.commitments[0]?.hash160 as Uint8Array)).toBe(toHex(reward));
    expect(t.changes[0]?.value).toBe(10_000_000_000n - 22_980n);
    expect(verifyInputScript(tx, 0, fundPkScript)).toEqual({ valid: true });
  });

  it('round-trips any price/fee/limits through parseTicket', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        fc.option(fc.integer({ min: 0, max: 63 })),
        fc.option(fc.integer({ min: 0, max: 63 })),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        (price, fee, vl, rl, h) => {
          const tx = buildTicket({
            input: { prevOut: { hash: new Uint8Array(32), index: 0, tree: 0 }, valueIn: price + fee },
            price,
            fee,
            votingHash160: h,
            rewardHash160: h,
            voteFeeLimit: vl,
            revocationFeeLimit: rl,
          });
          const t = parseTicket(decodeTx(encodeTx(tx)));
          expect(t.commitments[0]).toEqual({ hash160: h, isP2SH: false, amount: price + fee, voteFeeLimit: vl, revocationFeeLimit: rl });
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses an input that does not cover price + fee', () => {
    expect(() =>
      buildTicket({
        input: { prevOut: { hash: new Uint8Array(32), index: 0, tree: 0 }, valueIn: 100n },
        price: 100n,
        fee: 1n,
        votingHash160: new Uint8Array(20),
        rewardHash160: new Uint8Array(20),
      }),
    ).toThrow(InvalidArgumentError);
  });
});
