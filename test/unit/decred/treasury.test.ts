import { describe, expect, it } from 'vitest';
import {
  blake256, buildTSpend, calcTSpendExpiry, calcTSpendWindow, checkSSGen, checkTSpendFull, decodeTx, encodeTx, fromHex,
  insideTSpendWindow, isTreasuryVoteInterval, netParams, parseTSpend, privKeyToPubKey, RuleError, schnorrSign,
  schnorrSignWithNonce, schnorrVerify, toHex, treasuryVoteScript, tspendSigHash, tspendVotable, type Tx,
} from '../../../services/decred/index.ts';

const simnet = netParams('simnet');
// Upstream fixture: decred/dcrd chaincfg/simnetparams.go (comment above PiKeys): the simnet Pi key pair.
const SIMNET_PI_PRIV = fromHex('62deae1ab2b1ebd96a28c80e870aee325bed359e83d8db2464ef999e616a9eef');
const SIMNET_PI_PUB = '02a36b785d584555696b69d1b2bbeff4010332b301e3edd316d79438554cacb3e7';

// Upstream vectors: decred/dcrd dcrec/secp256k1/schnorr/signature_test.go TestSchnorrSignAndVerify (explicit nonces).
const SCHNORR = [
  {
    key: '0000000000000000000000000000000000000000000000000000000000000001',
    hash: 'c301ba9de5d6053caad9f5eb46523f007702add2c62fa39de03146a36b8026b7',
    nonce: 'd4e18f08eb87073cb2a6707def02007315f7349c3c132590a0088fefece557ef',
    sig: '4c68976afe187ff0167919ad181cb30f187e2af1c8233b2cbebbbe0fc97fff61e9ae2d0e306497236d4e328dc1a34244045745e87da69d806859348bc2a74525',
  },
  {
    key: '0000000000000000000000000000000000000000000000000000000000000002',
    hash: 'dc063eba3c8d52a159e725c1a161506f6cb6b53478ad5ef3f08d534efa871d9f',
    nonce: '026ece4cfb704733dd5eef7898e44c33bd5a0d749eb043f48705e40fa9e9afa0',
    sig: '3c4c5a2f217ea758113fd4e89eb756314dfad101a300f48e5bd764d3b6e0f8bfc29f43beed7d84348386152f1c43fc606d0887fa5b6f5c0b7875687f53b344f0',
  },
  {
    key: 'a1becef2069444a9dc6331c3247e113c3ee142edda683db8643f9cb0af7cbe33',
    hash: '4a6c419a1e25c85327115c4ace586decddfe2990ed8f3d4d801871158338501d',
    nonce: 'c23097718bd90c10ba2e99abff92f21c0eec71796712a772f0ce10f2b1bc6f5f',
    sig: '0b89d1fb10635e4a5da463c7339fd0f8d2e7d205a8288d4f973635beb8b59f7fe7c69c94ac665d14c105c2b4ba3b4c59a7819f8ecfe0d9f5f0c93a9f6d7ef447',
  },
  {
    key: 'b7548540f52fe20c161a0d623097f827608c56023f50442cc00cc50ad674f6b5',
    hash: 'e81db4f0d76e02805155441f50c861a8f86374f3ae34c7a3ff4111d3a634ecb1',
    nonce: '014c6f95c371ba1dd62e759229b65a7ffced18680f34789a204e1044926722ff',
    sig: 'c379f1c2a35b2f9712a5573fb59c4c29dfdc54cef833dc211716248d5c7e28e16e180f905cd4459551eed45b2f85b4222d21d66eb2374d9f340920b42ff9807e',
  },
];

function simnetTSpend(expiry: number, nonceByte = 1): Tx {
  return buildTSpend({
    payouts: [{ hash160: blake256(Uint8Array.of(nonceByte)).slice(0, 20), value: 100_000_000n }],
    expiry, fee: 1_000n, nonce: new Uint8Array(24).fill(nonceByte), piPrivKey: SIMNET_PI_PRIV,
  });
}

describe('treasury window (upstream blockchain/standalone treasury_test.go)', () => {
  it('CalcTSpendExpiry(2880, 288, 7) = 5186 with window [3168, 5184]', () => {
    expect(calcTSpendExpiry(2880, 288, 7)).toBe(5186);
    expect(calcTSpendWindow(5186, 288, 7)).toEqual({ start: 3168, end: 5184 });
  });

  it('an expiry that is not TVI+2, or below one window, has no window', () => {
    expect(() => calcTSpendWindow(5, 11, 3)).toThrow(RuleError);
    expect(() => calcTSpendWindow(5187, 288, 7)).toThrow(/two more than a multiple/);
    expect(() => calcTSpendWindow(48 * 3 + 1, 48, 3)).toThrow(/at least 146/);
    expect(insideTSpendWindow(10, 5, 11, 3)).toBe(false);
  });

  it('window edges are inclusive at both ends (simnet TVI 48 x 3)', () => {
    const expiry = calcTSpendExpiry(150, 48, 3); // next TVI 192, + 144 + 2
    expect(expiry).toBe(338);
    const { start, end } = calcTSpendWindow(expiry, 48, 3);
    expect([start, end]).toEqual([192, 336]);
    expect(tspendVotable(start - 1, expiry, simnet)).toBe(false);
    expect(tspendVotable(start, expiry, simnet)).toBe(true);
    expect(tspendVotable(end, expiry, simnet)).toBe(true);
    expect(tspendVotable(end + 1, expiry, simnet)).toBe(false);
    expect(isTreasuryVoteInterval(0, 48)).toBe(false);
    expect(isTreasuryVoteInterval(96, 48)).toBe(true);
  });
});

describe('EC-Schnorr-DCRv0 (upstream dcrec/secp256k1/schnorr vectors)', () => {
  it.each(SCHNORR)('signs $hash with key $key to the upstream bytes and verifies', (v) => {
    const sig = schnorrSignWithNonce(fromHex(v.hash), fromHex(v.key), fromHex(v.nonce));
    expect(toHex(sig)).toBe(v.sig);
    const pub = privKeyToPubKey(fromHex(v.key));
    expect(schnorrVerify(sig, fromHex(v.hash), pub)).toBe(true);
    const bad = sig.slice();
    bad[40] = (bad[40] as number) ^ 1;
    expect(schnorrVerify(bad, fromHex(v.hash), pub)).toBe(false);
    const otherHash = fromHex(v.hash);
    otherHash[0] = (otherHash[0] as number) ^ 1;
    expect(schnorrVerify(sig, otherHash, pub)).toBe(false);
  });

  it('deterministic signing verifies and rejects another key', () => {
    const h = blake256(Uint8Array.of(9));
    const sig = schnorrSign(h, SIMNET_PI_PRIV);
    expect(schnorrSign(h, SIMNET_PI_PRIV)).toEqual(sig);
    expect(schnorrVerify(sig, h, fromHex(SIMNET_PI_PUB))).toBe(true);
    expect(schnorrVerify(sig, h, privKeyToPubKey(fromHex(SCHNORR[0]!.key)))).toBe(false);
    expect(schnorrVerify(sig.slice(0, 63), h, fromHex(SIMNET_PI_PUB))).toBe(false);
  });
});

describe('tspend', () => {
  it('the simnet Pi private key fixture derives the first simnet Pi key', () => {
    expect(toHex(privKeyToPubKey(SIMNET_PI_PRIV))).toBe(SIMNET_PI_PUB);
    expect(toHex(simnet.piKeys[0]!)).toBe(SIMNET_PI_PUB);
  });

  it('buildTSpend makes a tspend that passes the full check and round-trips', () => {
    const tx = simnetTSpend(338);
    const back = decodeTx(encodeTx(tx));
    const info = checkTSpendFull(back, simnet);
    expect(toHex(info.piKey)).toBe(SIMNET_PI_PUB);
    expect(info.expiry).toBe(338);
    expect(info.valueIn).toBe(100_001_000n);
    expect(toHex(parseTSpend(back).hash)).toBe(toHex(info.hash));
    expect(schnorrVerify(info.signature, tspendSigHash(back), info.piKey)).toBe(true);
  });

  it('rejects a changed payout (signature), a foreign Pi key, a bad expiry and a broken script', () => {
    const tx = simnetTSpend(338);
    const changed: Tx = { ...tx, outputs: tx.outputs.map((o, i) => (i === 1 ? { ...o, value: o.value + 1n } : o)) };
    expect(() => checkTSpendFull(changed, simnet)).toThrow(expect.objectContaining({ reason: 'BAD_TSPEND_SIGNATURE' }));
    const foreign = buildTSpend({ payouts: [{ hash160: new Uint8Array(20), value: 5n }], expiry: 338, piPrivKey: fromHex(SCHNORR[2]!.key) });
    expect(() => checkTSpendFull(foreign, simnet)).toThrow(expect.objectContaining({ reason: 'UNKNOWN_PI_KEY' }));
    expect(() => checkTSpendFull(simnetTSpend(339), simnet)).toThrow(expect.objectContaining({ reason: 'BAD_TSPEND_EXPIRY' }));
    const in0 = tx.inputs[0]!;
    const broken: Tx = { ...tx, inputs: [{ ...in0, sigScript: in0.sigScript.slice(0, 99) }] };
    expect(() => checkTSpendFull(broken, simnet)).toThrow(expect.objectContaining({ reason: 'NOT_A_TREASURY_SPEND' }));
  });
});

describe("'T','V' output bytes", () => {
  it('is OP_RETURN, a canonical push, "TV", then hash||vote per tspend', () => {
    const h1 = blake256(Uint8Array.of(1));
    const h2 = blake256(Uint8Array.of(2));
    const s = treasuryVoteScript([{ tspendHash: h1, vote: 1 }, { tspendHash: h2, vote: 2 }]);
    expect(toHex(s)).toBe(`6a44${'5456'}${toHex(h1)}01${toHex(h2)}02`);
    // Three votes (101 bytes of data) need OP_PUSHDATA1, as txscript's AddData makes it.
    const s3 = treasuryVoteScript([1, 2, 3].map((i) => ({ tspendHash: blake256(Uint8Array.of(i)), vote: 1 as const })));
    expect(toHex(s3.slice(0, 5))).toBe('6a4c655456');
  });

  it('consensus parsing rejects a bad vote byte, a duplicate, a short body and a version-1 tx', () => {
    const h = blake256(Uint8Array.of(1));
    const mk = (data: Uint8Array): Uint8Array => Uint8Array.of(0x6a, data.length, ...data);
    const vote = (last: Uint8Array, version = 3): Tx => ({
      version, lockTime: 0, expiry: 0,
      inputs: [
        { prevOut: { hash: new Uint8Array(32), index: 0xffffffff, tree: 0 }, sequence: 0xffffffff, valueIn: 0n, blockHeight: 0, blockIndex: 0xffffffff, sigScript: Uint8Array.of(0, 0) },
        { prevOut: { hash: h, index: 0, tree: 1 }, sequence: 0xffffffff, valueIn: 0n, blockHeight: 0, blockIndex: 0xffffffff, sigScript: new Uint8Array() },
      ],
      outputs: [
        { value: 0n, version: 0, pkScript: Uint8Array.of(0x6a, 0x24, ...new Uint8Array(36)) },
        { value: 0n, version: 0, pkScript: Uint8Array.of(0x6a, 0x06, 1, 0, 12, 0, 0, 0) },
        { value: 0n, version: 0, pkScript: last },
      ],
    });
    expect(checkSSGen(vote(mk(Uint8Array.of(0x54, 0x56, ...h, 1))))).toHaveLength(1);
    expect(() => checkSSGen(vote(mk(Uint8Array.of(0x54, 0x56, ...h, 3))))).toThrow(/ErrSSGenInvalidTreasuryVote/);
    expect(() => checkSSGen(vote(mk(Uint8Array.of(0x54, 0x56, ...h, 1, ...h, 2))))).toThrow(/ErrSSGenDuplicateTreasuryVote/);
    expect(() => checkSSGen(vote(mk(Uint8Array.of(0x54, 0x56, ...h))))).toThrow(/ErrSSGenInvalidTVLength/);
    expect(() => checkSSGen(vote(mk(Uint8Array.of(0x54, 0x56, ...h, 1)), 1))).toThrow(/ErrSSGenInvalidTxVersion/);
    expect(() => checkSSGen(vote(mk(Uint8Array.of(0x54, 0x57, ...h, 1))))).toThrow(/ErrSSGenUnknownDiscriminator/);
  });
});
