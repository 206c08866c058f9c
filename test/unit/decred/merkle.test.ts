import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromHex, hashToHex } from '../../../services/decred/bytes.ts';
import { calcCombinedTxTreeMerkleRoot, calcMerkleRoot, calcTxTreeMerkleRoot } from '../../../services/decred/merkle.ts';
import { decodeTx, txHash, txHashFull } from '../../../services/decred/wire/tx.ts';

interface VecTx {
  hex: string;
  derived_txid: string;
  derived_tx_hash_full: string;
}
interface MerkleVector {
  name: string;
  kind: string;
  txs?: VecTx[];
  regular_txs?: VecTx[];
  stake_txs?: VecTx[];
  expected_merkle_root: string;
}

const file = JSON.parse(readFileSync(new URL('../../vectors/tx_merkle.json', import.meta.url), 'utf8')) as {
  vectors: MerkleVector[];
};
const trees = file.vectors.filter((v) => v.txs !== undefined).map((v) => [v.name, v] as const);
const combined = file.vectors.filter((v) => v.txs === undefined).map((v) => [v.name, v] as const);
const decodeAll = (txs: VecTx[]) => txs.map((t) => decodeTx(fromHex(t.hex)));

describe('tx tree merkle root (standalone/merkle_test.go TestCalcTxTreeMerkleRoot)', () => {
  it('has 3 tree and 3 combined vectors', () => {
    expect(trees.length).toBe(3);
    expect(combined.length).toBe(3);
  });

  it.each(trees)('%s', (_n, v) => {
    const txs = decodeAll(v.txs as VecTx[]);
    txs.forEach((tx, i) => {
      expect(hashToHex(txHash(tx))).toBe(v.txs![i]!.derived_txid);
      expect(hashToHex(txHashFull(tx))).toBe(v.txs![i]!.derived_tx_hash_full);
    });
    expect(hashToHex(calcTxTreeMerkleRoot(txs))).toBe(v.expected_merkle_root);
  });
});

describe('combined merkle root (DCP0005, TestCalcCombinedTxTreeMerkleRoot)', () => {
  it.each(combined)('%s', (_n, v) => {
    const reg = decodeAll(v.regular_txs as VecTx[]);
    const stake = decodeAll(v.stake_txs as VecTx[]);
    expect(hashToHex(calcCombinedTxTreeMerkleRoot(reg, stake))).toBe(v.expected_merkle_root);
  });
});

describe('calcMerkleRoot', () => {
  it('duplicates the last node on odd levels (3 leaves == leaves a,b,c,c)', () => {
    const l = [1, 2, 3].map((n) => new Uint8Array(32).fill(n));
    expect(calcMerkleRoot(l)).toEqual(calcMerkleRoot([...l, l[2]!]));
  });
  it('one leaf is its own root, empty is 32 zero bytes', () => {
    const a = new Uint8Array(32).fill(7);
    expect(calcMerkleRoot([a])).toEqual(a);
    expect(calcMerkleRoot([])).toEqual(new Uint8Array(32));
  });
});
