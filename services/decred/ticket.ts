/**
 * Ticket purchases (SStx): parsing the voting output and the reward
 * commitments, and building tickets the way dcrwallet does
 * (decred/dcrd: blockchain/stake/staketx.go CheckSStx, SStxStakeOutputInfo;
 * txscript/stdaddr RewardCommitmentScript; decred/dcrwallet: wallet/createtx.go).
 *
 * Commitment output: `6a <push 30..75> <hash160(20)> <amount u64 LE, bit 63 =
 * P2SH> <fee limits u16 LE>`. Fee limits: low byte = vote, high byte =
 * revocation; in each, 0x40 = "a limit applies" and bits 0..5 = exponent, the
 * largest fee being 2^exp atoms.
 */
import { RuleError, InvalidArgumentError } from './errors.ts';
import { classifyScript, p2pkhScript, p2shScript, stakeTaggedScript } from './script.ts';
import { signP2PKHInput } from './sign.ts';
import { checkSStx } from './stake.ts';
import { newTxIn, TX_VERSION, type OutPoint, type Tx, type TxOut } from './wire/tx.ts';

/** Vote fee-limit flag and exponent mask in the commitment's u16 (SStxVoteFractionFlag / SStxVoteReturnFractionMask). */
export const SSTX_VOTE_FRACTION_FLAG = 0x0040;
export const SSTX_VOTE_RETURN_FRACTION_MASK = 0x003f;
/** Revocation fee-limit flag and exponent mask (SStxRevFractionFlag / SStxRevReturnFractionMask). */
export const SSTX_REV_FRACTION_FLAG = 0x4000;
export const SSTX_REV_RETURN_FRACTION_MASK = 0x3f00;
/** What dcrwallet writes: no vote fee limit, revocation fee limit 2^24 atoms (0x5800). */
export const DEFAULT_REVOCATION_FEE_LIMIT_EXP = 24;

const P2SH_FLAG = 1n << 63n;
const MAX_AMOUNT = 21_000_000n * 100_000_000n;

/** One reward commitment of a ticket. */
export interface TicketCommitment {
  /** hash160 the vote/revocation payout must pay to. */
  hash160: Uint8Array;
  /** Pay to P2SH (bit 63 of the amount) rather than P2PKH. */
  isP2SH: boolean;
  /** Committed contribution in atoms (P2SH bit cleared). */
  amount: bigint;
  /** Vote fee-limit exponent (max fee 2^exp atoms), or null when no fee is allowed (payout must be exact). */
  voteFeeLimit: number | null;
  /** Revocation fee-limit exponent, or null. */
  revocationFeeLimit: number | null;
}

/** A parsed ticket purchase. */
export interface TicketInfo {
  /** out[0].value: the ticket price (SBits). */
  price: bigint;
  /** out[0].pkScript: the OP_SSTX-tagged voting script (the vote's signing subscript). */
  votingScript: Uint8Array;
  /** hash160 of the voting key (P2PKH) or redeem script (P2SH). */
  votingHash160: Uint8Array;
  votingIsP2SH: boolean;
  commitments: TicketCommitment[];
  /** The OP_SSTXCHANGE outputs, one per input. */
  changes: TxOut[];
}

/**
 * Parses a ticket purchase. Throws {@link RuleError} `NOT_A_TICKET` (with
 * dcrd's error kind in the message) on any deviation from CheckSStx, and
 * `BAD_COMMITMENT` for an amount above 21e6 DCR.
 */
export function parseTicket(tx: Tx): TicketInfo {
  checkSStx(tx);
  const out0 = tx.outputs[0] as TxOut;
  const c = classifyScript(out0.pkScript);
  const commitments: TicketCommitment[] = [];
  const changes: TxOut[] = [];
  for (let i = 1; i < tx.outputs.length; i += 2) {
    const s = (tx.outputs[i] as TxOut).pkScript;
    const view = new DataView(s.buffer, s.byteOffset, s.byteLength);
    const raw = view.getBigUint64(22, true);
    const limits = view.getUint16(30, true);
    const amount = raw & ~P2SH_FLAG;
    if (amount > MAX_AMOUNT) {
      throw new RuleError('BAD_COMMITMENT', `ErrSStxBadCommitAmount: commitment ${(i - 1) / 2} amount ${amount} exceeds the maximum`);
    }
    commitments.push({
      hash160: s.slice(2, 22),
      isP2SH: (raw & P2SH_FLAG) !== 0n,
      amount,
      voteFeeLimit: limits & SSTX_VOTE_FRACTION_FLAG ? limits & SSTX_VOTE_RETURN_FRACTION_MASK : null,
      revocationFeeLimit: limits & SSTX_REV_FRACTION_FLAG ? (limits & SSTX_REV_RETURN_FRACTION_MASK) >> 8 : null,
    });
    const ch = tx.outputs[i + 1] as TxOut;
    changes.push({ ...ch, pkScript: ch.pkScript.slice() });
  }
  return {
    price: out0.value,
    votingScript: out0.pkScript.slice(),
    votingHash160: c.hash160 as Uint8Array,
    votingIsP2SH: c.kind === 'p2sh',
    commitments,
    changes,
  };
}

/**
 * The fee-limit exponent for a limit of `atoms` as the wallet encodes it
 * (stdaddr calcRewardCommitScriptLimits): ceil(log2(atoms)), 0 for 1.
 */
export function feeLimitExponent(atoms: bigint): number {
  if (atoms < 1n) throw new InvalidArgumentError(`fee limit ${atoms} must be at least 1 atom`);
  const e = atoms === 1n ? 0 : (atoms - 1n).toString(2).length;
  if (e > 63) throw new InvalidArgumentError(`fee limit ${atoms} exceeds 2^63`);
  return e;
}

export interface CommitmentOptions {
  isP2SH?: boolean;
  /** Vote fee-limit exponent, or null/undefined for none (exact payout). */
  voteFeeLimit?: number | null;
  /** Revocation fee-limit exponent; default 24 as dcrwallet; null for none. */
  revocationFeeLimit?: number | null;
}

/** The 32-byte ticket commitment script `6a 1e <hash160> <amount|P2SH bit> <limits>`. */
export function ticketCommitmentScript(hash160: Uint8Array, amount: bigint, opts: CommitmentOptions = {}): Uint8Array {
  if (hash160.length !== 20) throw new InvalidArgumentError(`commitment: expected a 20-byte hash160, got ${hash160.length}`);
  if (amount < 0n || amount > MAX_AMOUNT) throw new InvalidArgumentError(`commitment: amount ${amount} out of range`);
  const exp = (e: number | null | undefined, what: string): number => {
    if (e === null || e === undefined) return 0;
    if (!Number.isInteger(e) || e < 0 || e > 63) throw new InvalidArgumentError(`commitment: ${what} exponent ${e} outside 0..63`);
    return e | 0x40;
  };
  const rev = opts.revocationFeeLimit === undefined ? DEFAULT_REVOCATION_FEE_LIMIT_EXP : opts.revocationFeeLimit;
  const s = new Uint8Array(32);
  s[0] = 0x6a;
  s[1] = 0x1e;
  s.set(hash160, 2);
  const view = new DataView(s.buffer);
  view.setBigUint64(22, amount | (opts.isP2SH ? P2SH_FLAG : 0n), true);
  view.setUint16(30, exp(opts.voteFeeLimit, 'vote fee limit') | (exp(rev, 'revocation fee limit') << 8), true);
  return s;
}

export interface BuildTicketParams {
  /** The funding output being spent (regular tree) and its value. */
  input: { prevOut: OutPoint; valueIn: bigint };
  /** Ticket price (header SBits); becomes out[0].value. */
  price: bigint;
  /** Transaction fee in atoms; the commitment is price + fee. Default 0. */
  fee?: bigint;
  /** hash160 of the P2PKH voting key (out[0] is OP_SSTX P2PKH). */
  votingHash160: Uint8Array;
  /** hash160 of the P2PKH reward address (the single commitment). */
  rewardHash160: Uint8Array;
  /** hash160 of the P2PKH change address; default the reward address. */
  changeHash160?: Uint8Array;
  /** Tx expiry height (0 = none). */
  expiry?: number;
  /** Commitment fee limits; default none for votes, 2^24 for revocations (0x5800). */
  voteFeeLimit?: number | null;
  revocationFeeLimit?: number | null;
  /** When given, input 0 is signed as a P2PKH spend of `fundingPkScript`. */
  signWith?: { privKey: Uint8Array; fundingPkScript: Uint8Array };
}

/**
 * Builds a one-input ticket as dcrwallet does: out[0] OP_SSTX P2PKH voting
 * output worth `price`, out[1] the commitment of price + fee to the reward
 * address, out[2] OP_SSTXCHANGE P2PKH change of valueIn - price - fee.
 * Unsigned unless `signWith` is given. Throws {@link InvalidArgumentError}
 * when the input does not cover price + fee.
 */
export function buildTicket(p: BuildTicketParams): Tx {
  const fee = p.fee ?? 0n;
  if (p.price <= 0n || fee < 0n) throw new InvalidArgumentError(`buildTicket: price ${p.price} must be > 0 and fee ${fee} >= 0`);
  const change = p.input.valueIn - p.price - fee;
  if (change < 0n) {
    throw new InvalidArgumentError(`buildTicket: input value ${p.input.valueIn} does not cover price ${p.price} + fee ${fee}`);
  }
  const tx: Tx = {
    version: TX_VERSION,
    inputs: [newTxIn({ ...p.input.prevOut, hash: p.input.prevOut.hash.slice() }, p.input.valueIn)],
    outputs: [
      { value: p.price, version: 0, pkScript: stakeTaggedScript('sstx', p2pkhScript(p.votingHash160)) },
      {
        value: 0n,
        version: 0,
        pkScript: ticketCommitmentScript(p.rewardHash160, p.price + fee, {
          voteFeeLimit: p.voteFeeLimit ?? null,
          revocationFeeLimit: p.revocationFeeLimit === undefined ? DEFAULT_REVOCATION_FEE_LIMIT_EXP : p.revocationFeeLimit,
        }),
      },
      { value: change, version: 0, pkScript: stakeTaggedScript('sstxchange', p2pkhScript(p.changeHash160 ?? p.rewardHash160)) },
    ],
    lockTime: 0,
    expiry: p.expiry ?? 0,
  };
  if (p.signWith) {
    (tx.inputs[0] as { sigScript: Uint8Array }).sigScript = signP2PKHInput(tx, 0, p.signWith.fundingPkScript, p.signWith.privKey);
  }
  return tx;
}

/** The OP_SSGEN payout script for a commitment (stdaddr PayVoteCommitmentScript). */
export function votePayoutScript(c: Pick<TicketCommitment, 'hash160' | 'isP2SH'>): Uint8Array {
  return stakeTaggedScript('ssgen', c.isP2SH ? p2shScript(c.hash160) : p2pkhScript(c.hash160));
}
