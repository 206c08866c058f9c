import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, hashToHex, toHex } from '../../../services/decred/bytes.ts';
import { SighashError } from '../../../services/decred/errors.ts';
import { calcSignatureHash, SIGHASH_ALL, SIGHASH_SINGLE } from '../../../services/decred/sighash.ts';
import { decodeTx, encodeTx, txHash, txHashFull } from '../../../services/decred/wire/tx.ts';

interface SighashVector {
  tx_hex: string;
  script_hex: string;
  input_index: number;
  hash_type: number;
  expected_sighash: string;
  expected_error: 'OK' | 'SIGHASH_SINGLE_IDX';
  comment: string;
  derived_txid: string;
  derived_tx_hash_full: string;
}

const file = JSON.parse(readFileSync(new URL('../../vectors/sighash.json', import.meta.url), 'utf8')) as {
  vectors: SighashVector[];
};
const named = file.vectors.map((v, i) => [`#${i} ${v.comment} (hashType ${v.hash_type})`, v] as const);
const ok = named.filter(([, v]) => v.expected_error === 'OK');
const errors = named.filter(([, v]) => v.expected_error !== 'OK');

describe('sighash (txscript/testdata/sighash.json)', () => {
  it('has 119 OK and 4 error vectors', () => {
    expect(ok.length).toBe(119);
    expect(errors.length).toBe(4);
  });

  it.each(ok)('%s', (_n, v) => {
    const tx = decodeTx(fromHex(v.tx_hex));
    expect(toHex(calcSignatureHash(fromHex(v.script_hex), v.hash_type, tx, v.input_index))).toBe(v.expected_sighash);
  });

  it.each(errors)('error: %s', (_n, v) => {
    const tx = decodeTx(fromHex(v.tx_hex));
    expect(v.hash_type & 0x1f).toBe(SIGHASH_SINGLE);
    expect(() => calcSignatureHash(fromHex(v.script_hex), v.hash_type, tx, v.input_index)).toThrow(SighashError);
  });

  it.each(named)('derived txid / full hash / re-encoding: %s', (_n, v) => {
    const tx = decodeTx(fromHex(v.tx_hex));
    expect(hashToHex(txHash(tx))).toBe(v.derived_txid);
    expect(hashToHex(txHashFull(tx))).toBe(v.derived_tx_hash_full);
    expect(toHex(encodeTx(tx))).toBe(v.tx_hex);
  });

  it('the cached prefix hash (txid) gives the same SigHashAll digest', () => {
    const v = ok.find(([, x]) => x.hash_type === SIGHASH_ALL && x.comment.includes('vote'))?.[1] as SighashVector;
    const tx = decodeTx(fromHex(v.tx_hex));
    expect(toHex(calcSignatureHash(fromHex(v.script_hex), SIGHASH_ALL, tx, v.input_index, txHash(tx)))).toBe(v.expected_sighash);
  });

  it('rejects an input index out of range with SighashError', () => {
    const tx = decodeTx(fromHex(file.vectors[0]!.tx_hex));
    expect(() => calcSignatureHash(new Uint8Array(), SIGHASH_ALL, tx, 5)).toThrow(SighashError);
    expect(() => calcSignatureHash(new Uint8Array(), SIGHASH_ALL, tx, -1)).toThrow(SighashError);
  });
});
