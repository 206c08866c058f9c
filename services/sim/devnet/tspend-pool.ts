/**
 * Treasury spends in the devnet's mempool (decred/dcrd: internal/mempool/mempool.go, internal/rpcserver/rpcwebsocket.go): what
 * `sendrawtransaction` accepts for a tspend, what `notifytspend` subscribers are
 * sent and what `getrawmempool … tspend` lists. The devnet never mines a tspend
 * (it keeps no treasury balance and tallies no treasury votes): a tspend stays in
 * the pool until it expires, which is exactly how long a voting wallet keeps it.
 *
 * Acceptance (dcrd's mempool checks that need no chain state, plus the expiry):
 *   undecodable                                    -> -22
 *   same txid already in the pool                  -> -40
 *   CheckTSpend structure (version 3, one null input with `<sig64> <pubkey33> OP_TSPEND`,
 *   OP_RETURN 32-byte out[0], OP_TGEN payouts)      -> -1 NOT_A_TREASURY_SPEND
 *   expiry not two more than a TVI (no voting window) -> -1 BAD_TSPEND_EXPIRY
 *   the Pi key is not one of the network's sanctioned keys -> -1 UNKNOWN_PI_KEY
 *   the EC-Schnorr-DCRv0 signature over SigHashAll of input 0 fails -> -1 BAD_TSPEND_SIGNATURE
 *   expired (next block height >= expiry, dcrd IsExpiredTx) -> -1 EXPIRED
 * A tspend whose window has not started yet is accepted (voters vote once it starts).
 */
import {
  buildTSpend, blake256, calcTSpendExpiry, checkTSpendFull, DecredError, fromHex, hashToHex, RuleError,
  type NetParams, type TSpendInfo, type Tx,
} from '../../decred/index.ts';
import { RPC_ERR, RpcError } from './errors.ts';

export interface MempoolTSpend {
  tx: Tx;
  bytes: Uint8Array;
  txidHex: string;
  info: TSpendInfo;
  acceptedAt: number;
}

/** The tspends of one node, by txid, in arrival order. */
export class TSpendPool {
  readonly byTxid = new Map<string, MempoolTSpend>();

  get(txidHex: string): MempoolTSpend | undefined {
    return this.byTxid.get(txidHex);
  }
  get size(): number {
    return this.byTxid.size;
  }
  /** All tspends, arrival order. */
  list(): MempoolTSpend[] {
    return [...this.byTxid.values()];
  }
  /** Drops tspends expired at `nextHeight` (dcrd IsExpiredTx: expiry != 0 && height >= expiry). */
  pruneExpired(nextHeight: number): MempoolTSpend[] {
    const gone: MempoolTSpend[] = [];
    for (const [k, t] of this.byTxid) {
      if (t.tx.expiry !== 0 && nextHeight >= t.tx.expiry) {
        this.byTxid.delete(k);
        gone.push(t);
      }
    }
    return gone;
  }

  /** Runs the checks in the file header; on success adds the tspend and returns it. Throws RpcError. */
  accept(tx: Tx, bytes: Uint8Array, ctx: { params: NetParams; nextHeight: number; now: number }): MempoolTSpend {
    let info: TSpendInfo;
    try {
      info = checkTSpendFull(tx, ctx.params);
    } catch (e) {
      if (e instanceof RuleError) throw new RpcError(RPC_ERR.MISC, `rejected transaction: ${e.reason}: ${e.message}`, { cause: e });
      if (e instanceof DecredError) throw new RpcError(RPC_ERR.MISC, `rejected transaction: ${e.message}`, { cause: e });
      throw e;
    }
    const txidHex = hashToHex(info.hash);
    if (this.byTxid.has(txidHex)) throw new RpcError(RPC_ERR.DUPLICATE_TX, `rejected transaction ${txidHex}: already have transaction ${txidHex}`);
    if (ctx.nextHeight >= tx.expiry) {
      throw new RpcError(RPC_ERR.MISC, `rejected transaction ${txidHex}: EXPIRED: tspend expires at height ${tx.expiry}, next block is ${ctx.nextHeight}`);
    }
    const t: MempoolTSpend = { tx, bytes, txidHex, info, acceptedAt: ctx.now };
    this.byTxid.set(txidHex, t);
    return t;
  }
}

/**
 * Test fixture: the first simnet Pi private key, published in decred/dcrd
 * chaincfg/simnetparams.go (never a secret: simnet only).
 */
export const SIMNET_PI_PRIVKEY_HEX = '62deae1ab2b1ebd96a28c80e870aee325bed359e83d8db2464ef999e616a9eef';

export interface TestTSpendOptions {
  /** The height of the next block (the tspend's expiry is computed from it as dcrd's CalcTSpendExpiry). */
  nextHeight: number;
  /** Makes tspends of equal height distinct (out[0] nonce and payee). Default 1. */
  tag?: number;
  /** Payout in atoms. Default 1 DCR. */
  amount?: bigint;
  /** Overrides the expiry (tests of bad expiries). */
  expiry?: number;
  /** Signs with this key instead of the simnet Pi key (tests of unknown keys). */
  privKey?: Uint8Array;
}

/**
 * A signed simnet tspend for tests and the demo, signed with the simnet Pi key
 * fixture: expiry `calcTSpendExpiry(nextHeight)`, one OP_TGEN P2PKH payout.
 */
export function createTestTSpend(params: NetParams, o: TestTSpendOptions): Tx {
  const tag = o.tag ?? 1;
  const seed = blake256(new TextEncoder().encode(`devnet-tspend|${tag}`));
  return buildTSpend({
    payouts: [{ hash160: seed.slice(0, 20), value: o.amount ?? 100_000_000n }],
    expiry: o.expiry ?? calcTSpendExpiry(o.nextHeight, params.treasuryVoteInterval, params.treasuryVoteIntervalMultiplier),
    fee: 0n,
    nonce: seed.slice(8, 32),
    piPrivKey: o.privKey ?? fromHex(SIMNET_PI_PRIVKEY_HEX),
  });
}
