import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { concatBytes, fromHex, hashToHex, toHex } from '../../../services/decred/bytes.ts';
import { InvalidArgumentError, KeyMismatchError, ScriptError } from '../../../services/decred/errors.ts';
import { hash160 } from '../../../services/decred/hash.ts';
import { multisigScript, p2pkhScript, p2shScript, parseScript, pushData, stakeTaggedScript } from '../../../services/decred/script.ts';
import {
  calcSignatureHash,
  SIGHASH_ALL,
  SIGHASH_ANYONECANPAY,
  SIGHASH_NONE,
  SIGHASH_SINGLE,
} from '../../../services/decred/sighash.ts';
import { signMultisigInput, signP2PKHInput, verifyInputScript } from '../../../services/decred/sign.ts';
import { decodeDer, encodeDer, privKeyToPubKey, SECP256K1_N, signHash } from '../../../services/decred/signature.ts';
import { cloneTx, decodeTx, newTxIn, txHash, type Tx } from '../../../services/decred/wire/tx.ts';

const sighash = JSON.parse(readFileSync(new URL('../../vectors/sighash.json', import.meta.url), 'utf8')) as {
  vectors: { tx_hex: string; script_hex: string; input_index: number; hash_type: number; comment: string }[];
};
/** Real mainnet spends whose subscript (the previous pkScript) the vector gives. */
const REAL = ['block 257 ticket purchase, SigHashAll', 'block 4096 vote, SigHashAll', 'block 4107 revocation, SigHashAll'].map((c) => {
  const v = sighash.vectors.find((x) => x.comment === c)!;
  return [c, { tx: decodeTx(fromHex(v.tx_hex)), idx: v.input_index, prev: fromHex(v.script_hex) }] as const;
});

interface ChainBlock {
  height: number;
  stake_txs: { hex: string; txid: string; type: string }[];
}
const chain = JSON.parse(readFileSync(new URL('../../vectors/lottery_chain_regnet_0to168.json', import.meta.url), 'utf8')) as {
  blocks: ChainBlock[];
};

describe('verifyInputScript on real mainnet transactions', () => {
  it.each(REAL)('%s verifies', (_n, { tx, idx, prev }) => {
    expect(verifyInputScript(tx, idx, prev)).toEqual({ valid: true });
  });
  it.each(REAL)('%s fails once an output value is tampered with', (_n, { tx, idx, prev }) => {
    const t = cloneTx(tx);
    t.outputs[t.outputs.length - 1]!.value += 1n;
    expect(verifyInputScript(t, idx, prev)).toMatchObject({ valid: false, error: expect.stringMatching(/^SIG_INVALID/) });
  });
  it.each(REAL)('%s fails against another previous script', (_n, { tx, idx, prev }) => {
    const other = Uint8Array.from(prev);
    other[other.length - 3]! ^= 1; // inside the hash160
    expect(verifyInputScript(tx, idx, other)).toMatchObject({ valid: false, error: expect.stringMatching(/^PUBKEY_HASH_MISMATCH/) });
  });
});

describe('verifyInputScript on every vote and revocation of the regnet test chain', () => {
  const txs = new Map<string, Tx>();
  const spends: [string, Tx, number][] = [];
  for (const b of chain.blocks) {
    for (const s of b.stake_txs) {
      const tx = decodeTx(fromHex(s.hex));
      txs.set(s.txid, tx);
      if (s.type === 'ssgen') spends.push([`vote ${s.txid} @${b.height}`, tx, 1]);
      if (s.type === 'ssrtx') spends.push([`revocation ${s.txid} @${b.height}`, tx, 0]);
    }
  }
  it('has 124 votes and 1 revocation', () => expect(spends.length).toBe(125));
  it('every ticket spend verifies against the ticket voting output', () => {
    for (const [name, tx, idx] of spends) {
      const ticket = txs.get(hashToHex(tx.inputs[idx]!.prevOut.hash));
      expect(ticket, name).toBeDefined();
      const prev = ticket!.outputs[0]!.pkScript;
      expect(prev[0], name).toBe(0xba);
      expect(verifyInputScript(tx, idx, prev), name).toEqual({ valid: true });
    }
  });
});

function spendingTx(nIn: number, nOut: number): Tx {
  return {
    version: 1,
    inputs: Array.from({ length: nIn }, (_, i) => newTxIn({ hash: new Uint8Array(32).fill(i + 1), index: i, tree: 1 }, 1000n)),
    outputs: Array.from({ length: nOut }, (_, i) => ({ value: BigInt(100 + i), version: 0, pkScript: p2pkhScript(new Uint8Array(20).fill(i)) })),
    lockTime: 0,
    expiry: 0,
  };
}
const K1 = new Uint8Array(32).fill(0x11);
const K2 = new Uint8Array(32).fill(0x22);
const K3 = new Uint8Array(32).fill(0x33);

describe('signP2PKHInput', () => {
  const prev = stakeTaggedScript('sstx', p2pkhScript(hash160(privKeyToPubKey(K1))));

  it.each([
    ['All', SIGHASH_ALL],
    ['None', SIGHASH_NONE],
    ['Single', SIGHASH_SINGLE],
    ['All|AnyOneCanPay', SIGHASH_ALL | SIGHASH_ANYONECANPAY],
    ['None|AnyOneCanPay', SIGHASH_NONE | SIGHASH_ANYONECANPAY],
    ['Single|AnyOneCanPay', SIGHASH_SINGLE | SIGHASH_ANYONECANPAY],
  ])('signs a stake-tagged P2PKH input with %s and verifies', (_n, ht) => {
    const tx = spendingTx(2, 2);
    tx.inputs[1]!.sigScript = signP2PKHInput(tx, 1, prev, K1, ht);
    expect(verifyInputScript(tx, 1, prev)).toEqual({ valid: true });
    const ops = parseScript(tx.inputs[1]!.sigScript);
    expect(ops.length).toBe(2);
    expect(ops[0]!.data![ops[0]!.data!.length - 1]).toBe(ht);
    expect(toHex(ops[1]!.data!)).toBe(toHex(privKeyToPubKey(K1)));
  });

  it('commits to the full tagged script (a plain P2PKH subscript gives another signature)', () => {
    const tx = spendingTx(1, 1);
    const plain = p2pkhScript(hash160(privKeyToPubKey(K1)));
    tx.inputs[0]!.sigScript = signP2PKHInput(tx, 0, plain, K1);
    expect(verifyInputScript(tx, 0, plain).valid).toBe(true);
    expect(verifyInputScript(tx, 0, prev)).toMatchObject({ valid: false, error: expect.stringMatching(/^SIG_INVALID/) });
  });

  it('is deterministic and accepts the txid as a cached prefix hash', () => {
    const tx = spendingTx(1, 1);
    const a = signP2PKHInput(tx, 0, prev, K1);
    expect(toHex(signP2PKHInput(tx, 0, prev, K1))).toBe(toHex(a));
    expect(toHex(signP2PKHInput(tx, 0, prev, K1, SIGHASH_ALL, txHash(tx)))).toBe(toHex(a));
  });

  it('refuses a key that does not match, a non-P2PKH script and a bad hash type', () => {
    const tx = spendingTx(1, 1);
    expect(() => signP2PKHInput(tx, 0, prev, K2)).toThrow(KeyMismatchError);
    expect(() => signP2PKHInput(tx, 0, p2shScript(new Uint8Array(20)), K1)).toThrow(ScriptError);
    expect(() => signP2PKHInput(tx, 0, prev, K1, 0x04)).toThrow(InvalidArgumentError);
  });
});

describe('verifyInputScript failure reasons', () => {
  const pub = privKeyToPubKey(K1);
  const prev = p2pkhScript(hash160(pub));
  const tx = spendingTx(1, 1);
  const hash = calcSignatureHash(prev, SIGHASH_ALL, tx, 0);
  const der = signHash(hash, K1);
  const withSig = (sigItem: Uint8Array, pk = pub) => {
    const t = cloneTx(tx);
    t.inputs[0]!.sigScript = concatBytes(pushData(sigItem), pushData(pk));
    return verifyInputScript(t, 0, prev);
  };
  const { r, s } = decodeDer(der);

  it.each([
    ['SIG_HASHTYPE', () => withSig(concatBytes(der, Uint8Array.of(0x00)))],
    ['SIG_HASHTYPE', () => withSig(concatBytes(der, Uint8Array.of(0x84)))],
    ['SIG_DER', () => withSig(concatBytes(highS(r, s), Uint8Array.of(1)))],
    ['SIG_DER', () => withSig(concatBytes(der.subarray(0, 10), Uint8Array.of(1)))],
    ['SIG_EMPTY', () => withSig(new Uint8Array())],
    ['PUBKEY_FORMAT', () => withSig(concatBytes(der, Uint8Array.of(1)), Uint8Array.of(pub[0] === 2 ? 6 : 7, ...new Uint8Array(64)))],
    ['PUBKEY_HASH_MISMATCH', () => withSig(concatBytes(der, Uint8Array.of(1)), privKeyToPubKey(K2))],
    ['SIGSCRIPT_NOT_PUSH_ONLY', () => verifyWith(Uint8Array.of(0x76))],
    ['SIGSCRIPT_MALFORMED', () => verifyWith(Uint8Array.of(0x4c))],
    ['SIGSCRIPT_SHAPE', () => verifyWith(pushData(pub))],
    ['PKSCRIPT_UNSUPPORTED', () => verifyInputScript(tx, 0, Uint8Array.of(0x6a))],
    ['INPUT_INDEX', () => verifyInputScript(tx, 3, prev)],
  ])('%s', (reason, run) => {
    const res = run();
    expect(res.valid).toBe(false);
    expect(res.error?.startsWith(reason)).toBe(true);
  });
  it('the good signature verifies (control)', () => {
    expect(withSig(concatBytes(der, Uint8Array.of(1)))).toEqual({ valid: true });
  });
  function highS(r0: bigint, s0: bigint): Uint8Array {
    // encodeDer refuses nothing about S's half, so this is a well-formed high-S DER.
    return encodeDer({ r: r0, s: SECP256K1_N - s0 });
  }
  function verifyWith(sigScript: Uint8Array) {
    const t = cloneTx(tx);
    t.inputs[0]!.sigScript = sigScript;
    return verifyInputScript(t, 0, prev);
  }
});

describe('P2SH multisig (no dummy OP_0)', () => {
  const pubs = [K1, K2, K3].map(privKeyToPubKey);
  const redeem = multisigScript(2, pubs);
  const prev = p2shScript(hash160(redeem));

  it('signs 2-of-3 with keys in any order; signatures follow pubkey order', () => {
    const tx = spendingTx(1, 1);
    tx.inputs[0]!.sigScript = signMultisigInput(tx, 0, redeem, [K3, K1]);
    const ops = parseScript(tx.inputs[0]!.sigScript);
    expect(ops.length).toBe(3); // sig, sig, redeem (no OP_0)
    expect(toHex(ops[2]!.data!)).toBe(toHex(redeem));
    expect(verifyInputScript(tx, 0, prev)).toEqual({ valid: true });
  });

  it('rejects swapped signatures, too few signatures and a wrong redeem script', () => {
    const tx = spendingTx(1, 1);
    const ops = parseScript(signMultisigInput(tx, 0, redeem, [K1, K3]));
    const [s1, s3] = [ops[0]!.data!, ops[1]!.data!];
    const build = (...items: Uint8Array[]) => {
      const t = cloneTx(tx);
      t.inputs[0]!.sigScript = concatBytes(...items.map(pushData));
      return verifyInputScript(t, 0, prev);
    };
    expect(build(s1, s3, redeem)).toEqual({ valid: true });
    expect(build(s3, s1, redeem).error).toMatch(/^SIG_INVALID/);
    expect(build(s1, redeem).error).toMatch(/^SIGSCRIPT_SHAPE/);
    expect(build(s1, s3, multisigScript(2, pubs.slice(0, 2))).error).toMatch(/^REDEEM_HASH_MISMATCH/);
    const p2shOfP2pkh = p2pkhScript(hash160(pubs[0]!));
    const t = cloneTx(tx);
    t.inputs[0]!.sigScript = concatBytes(pushData(s1), pushData(p2shOfP2pkh));
    expect(verifyInputScript(t, 0, p2shScript(hash160(p2shOfP2pkh))).error).toMatch(/^REDEEM_UNSUPPORTED/);
  });

  it('signs a legacy stakepool 1-of-2 stake-tagged P2SH ticket output', () => {
    const r12 = multisigScript(1, pubs.slice(0, 2));
    const tagged = stakeTaggedScript('sstx', p2shScript(hash160(r12)));
    const tx = spendingTx(2, 3);
    tx.inputs[1]!.sigScript = signMultisigInput(tx, 1, r12, [K2]);
    expect(verifyInputScript(tx, 1, tagged)).toEqual({ valid: true });
  });

  it('refuses keys that are not in the script', () => {
    expect(() => signMultisigInput(spendingTx(1, 1), 0, redeem, [K1, new Uint8Array(32).fill(0x44)])).toThrow(KeyMismatchError);
  });
});
