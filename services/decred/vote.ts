/**
 * Votes (SSGen): building the exact unsigned vote dcrwallet builds, signing
 * it, parsing it, and checking every consensus rule a single vote must meet
 * (decred/dcrwallet: wallet/createtx.go createUnsignedVote, newVoteScript,
 * signVoteOrRevocation; decred/dcrd: blockchain/stake/staketx.go
 * CheckSSGenVotes, internal/blockchain/validate.go checkVoteInputs,
 * checkTicketRedeemerCommitments, calcTicketReturnAmounts).
 *
 * Invariant: a vote that `checkVote` accepts is one dcrd accepts for the same
 * ticket, voted block, subsidy split and winner set.
 */
import { concatBytes, equalBytes, hashToHex, toHex } from './bytes.ts';
import { InvalidArgumentError, KeyMismatchError, RuleError } from './errors.ts';
import { hash160 } from './hash.ts';
import { nullDataScript, pushData } from './script.ts';
import { calcSignatureHash, SIGHASH_ALL } from './sighash.ts';
import { privKeyToPubKey, signHash } from './signature.ts';
import { verifyInputScript } from './sign.ts';
import { checkSSGen, type TreasuryVote } from './stake.ts';
import { encodeAddress } from './address.ts';
import { voteSubsidy as calcVoteSubsidy, type SubsidySplit } from './subsidy.ts';
import { parseTicket, votePayoutScript, type TicketInfo } from './ticket.ts';
import type { NetParams } from './params.ts';
import {
  MAX_TX_IN_SEQUENCE,
  NULL_BLOCK_HEIGHT,
  NULL_BLOCK_INDEX,
  NULL_PREV_INDEX,
  TX_TREE_REGULAR,
  TX_TREE_STAKE,
  TX_VERSION,
  TX_VERSION_TREASURY,
  txHash,
  type Tx,
  type TxIn,
  type TxOut,
} from './wire/tx.ts';

export interface BuildVoteParams {
  ticket: Tx;
  /** The ticket's txid (internal order); computed from `ticket` when absent. */
  ticketHash?: Uint8Array;
  /** Hash of the block voted on, internal order. */
  blockHash: Uint8Array;
  blockHeight: number;
  voteBits: number;
  voteVersion: number;
  /** Stakebase value: `voteSubsidy(blockHeight, params, split)`. */
  voteSubsidy: bigint;
  /** Treasury votes; when non-empty the vote gets a 'T','V' output and tx version 3. */
  treasuryVotes?: { tspendHash: Uint8Array; vote: 1 | 2 }[];
  params: NetParams;
  /** An already parsed ticket, to skip parsing (the caller vouches it matches `ticket`). */
  ticketInfo?: TicketInfo;
}

/** A parsed vote. */
export interface VoteInfo {
  /** Ticket txid, internal order. */
  ticketHash: Uint8Array;
  /** Voted block hash, internal order. */
  blockHash: Uint8Array;
  blockHeight: number;
  voteBits: number;
  /** 0 when the vote-bits push has no version (old votes). */
  voteVersion: number;
  /** in[0].valueIn. */
  stakebase: bigint;
  treasuryVotes: TreasuryVote[];
  /** The OP_SSGEN payouts in commitment order. */
  payouts: { value: bigint; script: Uint8Array }[];
}

/**
 * Payouts of a vote (calcTicketReturnAmounts for votes; stake.CalculateRewards):
 * floor(commitment_i × (price + subsidy) / Σ commitments). Rounding dust is
 * not paid out. Exact BigInt arithmetic.
 */
export function calcVotePayouts(ticket: Pick<TicketInfo, 'price' | 'commitments'>, voteSubsidy: bigint): bigint[] {
  const contribSum = ticket.commitments.reduce((s, c) => s + c.amount, 0n);
  const total = ticket.price + voteSubsidy;
  if (contribSum === 0n) return ticket.commitments.map(() => 0n);
  // dcrd: ((contrib * total) << 32 / contribSum) >> 32, which equals floor(contrib * total / contribSum).
  return ticket.commitments.map((c) => (c.amount * total) / contribSum);
}

function checkU(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new InvalidArgumentError(`buildVote: ${what} ${v} outside 0..${max}`);
}

/** `6a 24 <block hash, internal order> <u32 LE height>` (txscript GenerateSSGenBlockRef). */
export function voteBlockRefScript(blockHash: Uint8Array, blockHeight: number): Uint8Array {
  if (blockHash.length !== 32) throw new InvalidArgumentError(`vote: block hash must be 32 bytes, got ${blockHash.length}`);
  checkU(blockHeight, 0xffffffff, 'block height');
  const s = new Uint8Array(38);
  s[0] = 0x6a;
  s[1] = 0x24;
  s.set(blockHash, 2);
  new DataView(s.buffer).setUint32(34, blockHeight, true);
  return s;
}

/** `6a 06 <u16 LE voteBits> <u32 LE voteVersion>` (dcrwallet newVoteScript). */
export function voteBitsScript(voteBits: number, voteVersion: number): Uint8Array {
  checkU(voteBits, 0xffff, 'vote bits');
  checkU(voteVersion, 0xffffffff, 'vote version');
  const s = new Uint8Array(8);
  const v = new DataView(s.buffer);
  s[0] = 0x6a;
  s[1] = 0x06;
  v.setUint16(2, voteBits, true);
  v.setUint32(4, voteVersion, true);
  return s;
}

/** `OP_RETURN <canonical push of 'T' 'V' {tspend hash, vote}*>`. */
export function treasuryVoteScript(votes: { tspendHash: Uint8Array; vote: 1 | 2 }[]): Uint8Array {
  const data = new Uint8Array(2 + 33 * votes.length);
  data[0] = 0x54;
  data[1] = 0x56;
  const seen = new Set<string>();
  votes.forEach((v, i) => {
    if (v.tspendHash.length !== 32) throw new InvalidArgumentError(`treasury vote ${i}: tspend hash must be 32 bytes`);
    if (v.vote !== 1 && v.vote !== 2) throw new InvalidArgumentError(`treasury vote ${i}: vote must be 1 (yes) or 2 (no)`);
    const k = toHex(v.tspendHash);
    if (seen.has(k)) throw new InvalidArgumentError(`treasury vote ${i}: duplicate tspend ${k}`);
    seen.add(k);
    data.set(v.tspendHash, 2 + 33 * i);
    data[2 + 33 * i + 32] = v.vote;
  });
  return nullDataScript(data);
}

/**
 * The exact unsigned vote dcrwallet builds (§5.1): version 1 (3 with
 * treasury votes), stakebase input worth the subsidy with the network's
 * StakeBaseSigScript, the ticket input (tree 1) worth the ticket price,
 * the block reference, the vote bits with version, one OP_SSGEN payout per
 * commitment and, if any, the 'T','V' output. Throws {@link RuleError}
 * `NOT_A_TICKET` for a bad ticket and {@link InvalidArgumentError} for bad fields.
 */
export function buildVote(p: BuildVoteParams): Tx {
  const info = p.ticketInfo ?? parseTicket(p.ticket);
  const ticketHash = p.ticketHash ?? txHash(p.ticket);
  if (ticketHash.length !== 32) throw new InvalidArgumentError(`buildVote: ticket hash must be 32 bytes`);
  if (p.voteSubsidy < 0n) throw new InvalidArgumentError(`buildVote: negative subsidy ${p.voteSubsidy}`);
  const payouts = calcVotePayouts(info, p.voteSubsidy);
  const stakebase: TxIn = {
    prevOut: { hash: new Uint8Array(32), index: NULL_PREV_INDEX, tree: TX_TREE_REGULAR },
    sequence: MAX_TX_IN_SEQUENCE,
    valueIn: p.voteSubsidy,
    blockHeight: NULL_BLOCK_HEIGHT,
    blockIndex: NULL_BLOCK_INDEX,
    // Copies: the tx must never alias the caller's or the params' arrays.
    sigScript: p.params.stakeBaseSigScript.slice(),
  };
  const ticketIn: TxIn = {
    prevOut: { hash: ticketHash.slice(), index: 0, tree: TX_TREE_STAKE },
    sequence: MAX_TX_IN_SEQUENCE,
    valueIn: info.price,
    blockHeight: NULL_BLOCK_HEIGHT,
    blockIndex: NULL_BLOCK_INDEX,
    sigScript: new Uint8Array(),
  };
  const outputs: TxOut[] = [
    { value: 0n, version: 0, pkScript: voteBlockRefScript(p.blockHash, p.blockHeight) },
    { value: 0n, version: 0, pkScript: voteBitsScript(p.voteBits, p.voteVersion) },
  ];
  info.commitments.forEach((c, i) => outputs.push({ value: payouts[i] as bigint, version: 0, pkScript: votePayoutScript(c) }));
  const tv = p.treasuryVotes ?? [];
  if (tv.length > 0) outputs.push({ value: 0n, version: 0, pkScript: treasuryVoteScript(tv) });
  return { version: tv.length > 0 ? TX_VERSION_TREASURY : TX_VERSION, inputs: [stakebase, ticketIn], outputs, lockTime: 0, expiry: 0 };
}

/**
 * A private key with its public key and hash160 derived once; pass it to
 * {@link signVote} when signing many votes with one key (deriving the public
 * key costs about as much as a signature).
 */
export interface VoteKey {
  readonly privKey: Uint8Array;
  readonly pubKey: Uint8Array;
  readonly pubKeyHash160: Uint8Array;
}

/** Derives the public key and its hash160 once. Throws {@link InvalidArgumentError} for an invalid key. */
export function prepareVoteKey(privKey: Uint8Array): VoteKey {
  const pubKey = privKeyToPubKey(privKey);
  return { privKey, pubKey, pubKeyHash160: hash160(pubKey) };
}

function isVoteKey(k: Uint8Array | VoteKey): k is VoteKey {
  return !(k instanceof Uint8Array);
}

/**
 * Signs input 1 of an unsigned vote with SigHashAll over the ticket's
 * voting script (§5.5) and returns a new tx; the input is not modified.
 * Throws {@link KeyMismatchError} naming the ticket's voting hash160 (and
 * address when `params` is given) and the key's if the key does not control
 * the ticket's P2PKH voting output.
 */
export function signVote(unsigned: Tx, ticket: Tx, key: Uint8Array | VoteKey, opts: { params?: NetParams; ticketInfo?: TicketInfo } = {}): Tx {
  const info = opts.ticketInfo ?? parseTicket(ticket);
  const k = isVoteKey(key) ? key : prepareVoteKey(key);
  const describe = (h160: Uint8Array, isP2SH: boolean): string => {
    const hex = toHex(h160);
    return opts.params ? `${encodeAddress(isP2SH ? 'p2sh' : 'p2pkh', h160, opts.params)} (hash160 ${hex})` : `hash160 ${hex}`;
  };
  if (info.votingIsP2SH || !equalBytes(k.pubKeyHash160, info.votingHash160)) {
    throw new KeyMismatchError(
      `signVote: the key (${describe(k.pubKeyHash160, false)}) does not control the ticket's voting output ` +
        `(${info.votingIsP2SH ? 'P2SH ' : ''}${describe(info.votingHash160, info.votingIsP2SH)})`,
    );
  }
  if (unsigned.inputs.length !== 2) throw new InvalidArgumentError(`signVote: a vote has 2 inputs, got ${unsigned.inputs.length}`);
  const hash = calcSignatureHash(info.votingScript, SIGHASH_ALL, unsigned, 1);
  const sig = concatBytes(signHash(hash, k.privKey), Uint8Array.of(SIGHASH_ALL));
  const sigScript = concatBytes(pushData(sig), pushData(k.pubKey));
  const in1 = unsigned.inputs[1] as TxIn;
  return { ...unsigned, inputs: [unsigned.inputs[0] as TxIn, { ...in1, sigScript }] };
}

/**
 * Parses a vote. Throws {@link RuleError} `NOT_A_VOTE` (dcrd's error kind in
 * the message) if it fails CheckSSGenVotes with the treasury agenda active.
 */
export function parseVote(tx: Tx): VoteInfo {
  const treasuryVotes = checkSSGen(tx, true);
  const ref = (tx.outputs[0] as TxOut).pkScript;
  const bits = (tx.outputs[1] as TxOut).pkScript;
  const refView = new DataView(ref.buffer, ref.byteOffset, ref.byteLength);
  const bitsView = new DataView(bits.buffer, bits.byteOffset, bits.byteLength);
  const payoutEnd = treasuryVotes.length > 0 ? tx.outputs.length - 1 : tx.outputs.length;
  return {
    ticketHash: (tx.inputs[1] as TxIn).prevOut.hash.slice(),
    blockHash: ref.slice(2, 34),
    blockHeight: refView.getUint32(34, true),
    voteBits: bitsView.getUint16(2, true),
    voteVersion: bits.length >= 8 ? bitsView.getUint32(4, true) : 0,
    stakebase: (tx.inputs[0] as TxIn).valueIn,
    treasuryVotes,
    payouts: tx.outputs.slice(2, payoutEnd).map((o) => ({ value: o.value, script: o.pkScript })),
  };
}

export interface CheckVoteContext {
  /** The ticket the vote spends. */
  ticket: Tx;
  /** The ticket's txid if already known (skips hashing). */
  ticketHash?: Uint8Array;
  params: NetParams;
  /** The subsidy split the chain uses at this height. */
  split: SubsidySplit;
  /** The winners of the voted block; when given, the ticket must be among them. */
  winners?: readonly Uint8Array[];
  /** The block the vote must vote on; when given, out[0] must name it. */
  block?: { hash: Uint8Array; height: number };
}

/**
 * Checks every consensus rule for one vote and throws {@link RuleError} with
 * a stable `reason` for the first broken one, cheapest first:
 * `NOT_A_VOTE` (structure), `BAD_TICKET` (the context ticket is not a
 * ticket), `WRONG_TICKET` (input 1 does not spend ctx.ticket),
 * `BAD_STAKEBASE_SCRIPT` (input 0 script is not params.stakeBaseSigScript),
 * `BAD_VALUE_IN` (input 1 valueIn is not the ticket price: dcrd's
 * ErrFraudAmountIn fraud-proof check), `EARLY_VOTE`
 * (voted height < SVH-1), `WRONG_BLOCK`, `BAD_SUBSIDY` (stakebase is not the
 * vote subsidy of the voted height), `BAD_PAYOUT_COUNT`, `BAD_PAYEE` (payout
 * script does not match its commitment), `BAD_PAYOUT` (amount differs from
 * the computed return, beyond the commitment's fee limit), `NOT_A_WINNER`,
 * `BAD_SIGNATURE` (input 1 does not verify against the voting script).
 */
export function checkVote(tx: Tx, ctx: CheckVoteContext): VoteInfo {
  const vote = parseVote(tx);
  let info: TicketInfo;
  try {
    info = parseTicket(ctx.ticket);
  } catch (e) {
    if (e instanceof RuleError) throw new RuleError('BAD_TICKET', `the ticket given to checkVote is not a ticket: ${e.message}`, { cause: e });
    throw e;
  }
  const ticketHash = ctx.ticketHash ?? txHash(ctx.ticket);
  if (!equalBytes(vote.ticketHash, ticketHash)) {
    throw new RuleError('WRONG_TICKET', `vote spends ticket ${hashToHex(vote.ticketHash)}, expected ${hashToHex(ticketHash)}`);
  }
  // CheckTransactionSanity: the stakebase script is the network's StakeBaseSigScript (ErrBadStakebaseScrVal).
  const sbScript = (tx.inputs[0] as TxIn).sigScript;
  if (!equalBytes(sbScript, ctx.params.stakeBaseSigScript)) {
    throw new RuleError(
      'BAD_STAKEBASE_SCRIPT',
      `stakebase script ${toHex(sbScript)} is not the ${ctx.params.name} StakeBaseSigScript ${toHex(ctx.params.stakeBaseSigScript)}`,
    );
  }
  const in1 = tx.inputs[1] as TxIn;
  if (in1.valueIn !== info.price) {
    throw new RuleError('BAD_VALUE_IN', `input 1 valueIn ${in1.valueIn} is not the ticket price ${info.price}`);
  }
  if (vote.blockHeight < ctx.params.stakeValidationHeight - 1) {
    throw new RuleError('EARLY_VOTE', `vote on height ${vote.blockHeight} before stake validation height ${ctx.params.stakeValidationHeight} - 1`);
  }
  if (ctx.block && (vote.blockHeight !== ctx.block.height || !equalBytes(vote.blockHash, ctx.block.hash))) {
    throw new RuleError(
      'WRONG_BLOCK',
      `vote is on ${hashToHex(vote.blockHash)} at ${vote.blockHeight}, expected ${hashToHex(ctx.block.hash)} at ${ctx.block.height}`,
    );
  }
  const subsidy = calcVoteSubsidy(vote.blockHeight, ctx.params, ctx.split);
  if (vote.stakebase !== subsidy) {
    throw new RuleError('BAD_SUBSIDY', `stakebase ${vote.stakebase} is not the ${ctx.split} vote subsidy ${subsidy} for height ${vote.blockHeight}`);
  }
  if (vote.payouts.length !== info.commitments.length) {
    throw new RuleError('BAD_PAYOUT_COUNT', `vote has ${vote.payouts.length} payouts for ${info.commitments.length} commitments`);
  }
  const expected = calcVotePayouts(info, subsidy);
  info.commitments.forEach((c, i) => {
    const out = vote.payouts[i] as { value: bigint; script: Uint8Array };
    if (!equalBytes(out.script, votePayoutScript(c))) {
      throw new RuleError('BAD_PAYEE', `payout ${i} does not pay the committed ${c.isP2SH ? 'P2SH' : 'P2PKH'} hash160 ${toHex(c.hash160)}`);
    }
    const want = expected[i] as bigint;
    if (c.voteFeeLimit === null) {
      if (out.value !== want) throw new RuleError('BAD_PAYOUT', `payout ${i} is ${out.value} atoms, must be exactly ${want}`);
    } else {
      const min = want - (1n << BigInt(Math.min(c.voteFeeLimit, 63)));
      if (out.value > want || out.value < min) {
        throw new RuleError('BAD_PAYOUT', `payout ${i} is ${out.value} atoms, must be in [${min}, ${want}] (fee limit 2^${c.voteFeeLimit})`);
      }
    }
  });
  if (ctx.winners && !ctx.winners.some((w) => equalBytes(w, ticketHash))) {
    throw new RuleError('NOT_A_WINNER', `ticket ${hashToHex(ticketHash)} is not among the winners of block ${hashToHex(vote.blockHash)}`);
  }
  const v = verifyInputScript(tx, 1, info.votingScript);
  if (!v.valid) throw new RuleError('BAD_SIGNATURE', `input 1 signature: ${v.error ?? 'invalid'}`);
  return vote;
}
