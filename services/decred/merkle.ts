/**
 * Merkle roots (decred/dcrd: blockchain/standalone/merkle.go).
 * Nodes are BLAKE256(left ‖ right); an odd level duplicates its last node; an
 * empty tree is 32 zero bytes. Transaction leaves are TxHashFull.
 */
import { blake256 } from './hash.ts';
import { txHashFull, type Tx } from './wire/tx.ts';

/** CalcMerkleRoot over raw 32-byte leaves (internal order). */
export function calcMerkleRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return new Uint8Array(32);
  let level = leaves.slice();
  const buf = new Uint8Array(64);
  while (level.length > 1) {
    if (level.length % 2 === 1) level.push(level[level.length - 1] as Uint8Array);
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      buf.set(level[i] as Uint8Array, 0);
      buf.set(level[i + 1] as Uint8Array, 32);
      next.push(blake256(buf));
    }
    level = next;
  }
  return (level[0] as Uint8Array).slice();
}

/** CalcTxTreeMerkleRoot: the root over the TxHashFull of each transaction. */
export function calcTxTreeMerkleRoot(txs: Tx[]): Uint8Array {
  return calcMerkleRoot(txs.map(txHashFull));
}

/** DCP0005 header MerkleRoot: BLAKE256(regular tree root ‖ stake tree root). */
export function calcCombinedTxTreeMerkleRoot(regular: Tx[], stake: Tx[]): Uint8Array {
  const buf = new Uint8Array(64);
  buf.set(calcTxTreeMerkleRoot(regular), 0);
  buf.set(calcTxTreeMerkleRoot(stake), 32);
  return blake256(buf);
}
