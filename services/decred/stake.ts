/**
 * Stake transaction types and the structural checks dcrd applies before any
 * chain context (decred/dcrd: blockchain/stake/staketx.go CheckSStx,
 * CheckSSGenVotes, CheckSSRtx, DetermineTxType; blockchain/stake/treasury.go;
 * blockchain/standalone/tx.go IsCoinBaseTx).
 *
 * Each `check*` throws a {@link RuleError} whose `reason` names the tx kind it
 * failed to be (`NOT_A_TICKET`, `NOT_A_VOTE`, ...) and whose message starts
 * with dcrd's error kind (e.g. `ErrSSGenNoStakebase`) and says what is wrong.
 * The treasury agenda (DCP0006) is active on every network we run, so checks
 * default to `isTreasuryEnabled = true`, as dcrd does on mainnet today.
 */
import { RuleError } from './errors.ts';
import { classifyScript, type StakeTag } from './script.ts';
import { NULL_BLOCK_HEIGHT, NULL_BLOCK_INDEX, NULL_PREV_INDEX, TX_TREE_REGULAR, TX_TREE_STAKE, TX_VERSION_TREASURY, type Tx } from './wire/tx.ts';

/** Every tx kind the protocol distinguishes (the `type` of `tx decode`). */
export type TxType =
  | 'vote'
  | 'ticket'
  | 'revocation'
  | 'regular'
  | 'coinbase'
  | 'treasury-add'
  | 'treasury-spend'
  | 'treasurybase';

export const MAX_INPUTS_PER_SSTX = 64;
export const MAX_OUTPUTS_PER_SSTX = MAX_INPUTS_PER_SSTX * 2 + 1;
export const NUM_INPUTS_PER_SSGEN = 2;
export const MAX_OUTPUTS_PER_SSGEN = MAX_INPUTS_PER_SSTX + 2;
export const NUM_INPUTS_PER_SSRTX = 1;
export const MAX_OUTPUTS_PER_SSRTX = MAX_INPUTS_PER_SSTX;
export const SSTX_COMMITMENT_MIN_SIZE = 32;
export const SSTX_COMMITMENT_MAX_SIZE = 77;
export const SSGEN_BLOCK_REFERENCE_SIZE = 38;
export const SSGEN_VOTE_BITS_MIN_SIZE = 4;
export const SSGEN_VOTE_BITS_MAX_SIZE = 77;
export const MAX_SINGLE_BYTE_PUSH = 75;
/** Largest push in a stake null-data output (stake.MaxDataCarrierSize). */
export const STAKE_MAX_DATA_CARRIER_SIZE = 256;
/** Exact length of a TSpend signature script: DATA_64 sig DATA_33 pubkey OP_TSPEND. */
export const TSPEND_SCRIPT_LEN = 100;

const OP_RETURN = 0x6a;
const OP_PUSHDATA1 = 0x4c;
const OP_PUSHDATA2 = 0x4d;
const OP_PUSHDATA4 = 0x4e;
const OP_0 = 0x00;
const OP_1 = 0x51;
const OP_16 = 0x60;
const OP_TADD = 0xc1;
const OP_TSPEND = 0xc2;
const OP_DATA_12 = 0x0c;
const OP_DATA_32 = 0x20;
const OP_DATA_33 = 0x21;
const OP_DATA_64 = 0x40;

/** A treasury vote carried by a version-3 vote ('T','V' output). */
export interface TreasuryVote {
  /** TSpend tx hash, internal order. */
  tspendHash: Uint8Array;
  /** 1 = yes, 2 = no. */
  vote: 1 | 2;
}

function fail(reason: string, kind: string, msg: string): never {
  throw new RuleError(reason, `${kind}: ${msg}`);
}

/**
 * stake.IsNullDataScript: OP_RETURN alone or followed by exactly one push
 * (small int or up to OP_PUSHDATA4) of at most 256 bytes. Unlike the
 * standardness check, dcrd does not require the push to be minimal here.
 */
export function isStakeNullDataScript(version: number, script: Uint8Array): boolean {
  if (version !== 0 || script.length < 1 || script[0] !== OP_RETURN) return false;
  if (script.length === 1) return true;
  const op = script[1] as number;
  if (op === OP_0 || (op >= OP_1 && op <= OP_16)) return script.length === 2;
  if (op > OP_PUSHDATA4) return false;
  let len: number;
  let start: number;
  if (op < OP_PUSHDATA1) {
    len = op;
    start = 2;
  } else {
    const w = op === OP_PUSHDATA1 ? 1 : op === OP_PUSHDATA2 ? 2 : 4;
    if (script.length < 2 + w) return false;
    len = 0;
    for (let k = w - 1; k >= 0; k--) len = len * 256 + (script[2 + k] as number);
    start = 2 + w;
  }
  return start + len === script.length && len <= STAKE_MAX_DATA_CARRIER_SIZE;
}

function isTagged(version: number, script: Uint8Array, tag: StakeTag): boolean {
  if (version !== 0) return false;
  const c = classifyScript(script);
  return c.stakeTag === tag && (c.kind === 'p2pkh' || c.kind === 'p2sh');
}

function isZeroHash(h: Uint8Array): boolean {
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) return false;
  return true;
}

function hasNullOutpoint(tx: Tx): boolean {
  const p = tx.inputs[0]?.prevOut;
  return p !== undefined && p.index === NULL_PREV_INDEX && p.tree === TX_TREE_REGULAR && isZeroHash(p.hash);
}

/** IsStakeBase: two inputs, the first a null outpoint (tree 0) with null fraud proof. */
export function isStakeBase(tx: Tx): boolean {
  if (tx.inputs.length !== 2 || !hasNullOutpoint(tx)) return false;
  const i0 = tx.inputs[0];
  return i0 !== undefined && i0.blockHeight === NULL_BLOCK_HEIGHT && i0.blockIndex === NULL_BLOCK_INDEX;
}

/** CheckSStx: the ticket shape of §4. Throws RuleError `NOT_A_TICKET`. */
export function checkSStx(tx: Tx): void {
  const R = 'NOT_A_TICKET';
  if (tx.inputs.length === 0) fail(R, 'ErrSStxNoInputs', 'ticket has no inputs');
  if (tx.inputs.length > MAX_INPUTS_PER_SSTX) fail(R, 'ErrSStxTooManyInputs', `${tx.inputs.length} inputs > ${MAX_INPUTS_PER_SSTX}`);
  if (tx.outputs.length > MAX_OUTPUTS_PER_SSTX) fail(R, 'ErrSStxTooManyOutputs', `${tx.outputs.length} outputs > ${MAX_OUTPUTS_PER_SSTX}`);
  if (tx.outputs.length === 0) fail(R, 'ErrSStxNoOutputs', 'ticket has no outputs');
  tx.outputs.forEach((o, i) => {
    if (o.version !== 0) fail(R, 'ErrSStxInvalidOutputs', `output ${i} script version ${o.version} is not 0`);
  });
  const out0 = tx.outputs[0];
  if (!out0 || !isTagged(out0.version, out0.pkScript, 'sstx')) {
    fail(R, 'ErrSStxInvalidOutputs', 'output 0 is not an OP_SSTX-tagged P2PKH or P2SH script');
  }
  if (tx.inputs.length * 2 + 1 !== tx.outputs.length) {
    fail(R, 'ErrSStxInOutProportions', `${tx.outputs.length} outputs for ${tx.inputs.length} inputs (need 2*inputs+1)`);
  }
  for (let i = 1; i < tx.outputs.length; i++) {
    const o = tx.outputs[i];
    if (!o) continue;
    if (i % 2 === 0) {
      if (!isTagged(o.version, o.pkScript, 'sstxchange')) {
        fail(R, 'ErrSStxInvalidOutputs', `output ${i} is not an OP_SSTXCHANGE-tagged change script`);
      }
      continue;
    }
    const s = o.pkScript;
    if (!isStakeNullDataScript(o.version, s)) fail(R, 'ErrSStxInvalidOutputs', `output ${i} is not a null-data commitment`);
    if (s.length < SSTX_COMMITMENT_MIN_SIZE || s.length > SSTX_COMMITMENT_MAX_SIZE) {
      fail(R, 'ErrSStxInvalidOutputs', `commitment output ${i} is ${s.length} bytes (need 32..77)`);
    }
    const push = s[1] as number;
    if (push < 0x1e || push > MAX_SINGLE_BYTE_PUSH) {
      fail(R, 'ErrSStxInvalidOutputs', `commitment output ${i} has an invalid push 0x${push.toString(16)}`);
    }
  }
}

/**
 * GetSSGenTreasuryVotes: parses `OP_RETURN <push> 'T' 'V' {hash32 vote}*`.
 * Throws RuleError `NOT_A_VOTE`.
 */
export function parseTreasuryVotes(script: Uint8Array): TreasuryVote[] {
  const R = 'NOT_A_VOTE';
  if (script.length < 4 || (script[1] as number) > OP_PUSHDATA1) {
    fail(R, 'ErrSSGenInvalidDiscriminatorLength', 'last output has no valid type discriminator');
  }
  const start = script[1] === OP_PUSHDATA1 ? 3 : 2;
  if (start + 2 > script.length) fail(R, 'ErrSSGenInvalidNullScript', 'last output is not a valid null script');
  if (script[start] !== 0x54 || script[start + 1] !== 0x56) {
    fail(R, 'ErrSSGenUnknownDiscriminator', `unknown discriminator 0x${(script[start] ?? 0).toString(16)} 0x${(script[start + 1] ?? 0).toString(16)}`);
  }
  const body = script.length - (start + 2);
  if (body < 33 || body % 33 !== 0) fail(R, 'ErrSSGenInvalidTVLength', `'T','V' payload of ${body} bytes is not N*33`);
  const votes: TreasuryVote[] = [];
  const seen = new Set<string>();
  for (let i = start + 2; i + 33 <= script.length; i += 33) {
    const hash = script.slice(i, i + 32);
    const v = script[i + 32] as number;
    if (v !== 1 && v !== 2) fail(R, 'ErrSSGenInvalidTreasuryVote', `treasury vote byte 0x${v.toString(16)} is not 1 (yes) or 2 (no)`);
    const k = Buffer.from(hash).toString('hex');
    if (seen.has(k)) fail(R, 'ErrSSGenDuplicateTreasuryVote', `duplicate treasury vote for ${k}`);
    seen.add(k);
    votes.push({ tspendHash: hash, vote: v });
  }
  return votes;
}

/**
 * CheckSSGenVotes: the vote shape of §5.1 and its treasury votes. Throws
 * RuleError `NOT_A_VOTE`. With the treasury agenda active a null-data last
 * output must be a 'T','V' vote list and the tx version must then be 3.
 */
export function checkSSGen(tx: Tx, isTreasuryEnabled = true): TreasuryVote[] {
  const R = 'NOT_A_VOTE';
  if (tx.inputs.length !== NUM_INPUTS_PER_SSGEN) fail(R, 'ErrSSGenWrongNumInputs', `${tx.inputs.length} inputs (need 2)`);
  if (tx.outputs.length > MAX_OUTPUTS_PER_SSGEN) fail(R, 'ErrSSGenTooManyOutputs', `${tx.outputs.length} outputs > ${MAX_OUTPUTS_PER_SSGEN}`);
  if (tx.outputs.length < 2) fail(R, 'ErrSSGenNoOutputs', `${tx.outputs.length} outputs (need at least 2)`);
  if (!isStakeBase(tx)) fail(R, 'ErrSSGenNoStakebase', 'input 0 is not a stakebase (null outpoint, tree 0, null fraud proof)');
  const in1 = tx.inputs[1];
  if (in1 && in1.prevOut.index !== 0) fail(R, 'ErrSSGenWrongIndex', `input 1 spends output ${in1.prevOut.index} (need 0)`);
  if (in1 && in1.prevOut.tree !== TX_TREE_STAKE) fail(R, 'ErrSSGenWrongTxTree', 'input 1 does not spend from the stake tree');
  tx.outputs.forEach((o, i) => {
    if (o.version !== 0) fail(R, 'ErrSSGenBadGenOuts', `output ${i} script version ${o.version} is not 0`);
  });
  const ref = (tx.outputs[0] as { version: number; pkScript: Uint8Array }).pkScript;
  if (!isStakeNullDataScript(0, ref)) fail(R, 'ErrSSGenNoReference', 'output 0 is not a null-data block reference');
  if (ref.length !== SSGEN_BLOCK_REFERENCE_SIZE) fail(R, 'ErrSSGenBadReference', `output 0 is ${ref.length} bytes (need 38)`);
  if (ref[0] !== OP_RETURN || ref[1] !== 0x24) fail(R, 'ErrSSGenBadReference', 'output 0 does not start with 6a24');
  const bits = (tx.outputs[1] as { version: number; pkScript: Uint8Array }).pkScript;
  if (!isStakeNullDataScript(0, bits)) fail(R, 'ErrSSGenNoVotePush', 'output 1 is not a null-data vote-bits push');
  if (bits.length < SSGEN_VOTE_BITS_MIN_SIZE || bits.length > SSGEN_VOTE_BITS_MAX_SIZE) {
    fail(R, 'ErrSSGenBadVotePush', `output 1 is ${bits.length} bytes (need 4..77)`);
  }
  const pushLen = bits[1] as number;
  if (bits[0] !== OP_RETURN || pushLen < 2 || pushLen > MAX_SINGLE_BYTE_PUSH) {
    fail(R, 'ErrSSGenBadVotePush', 'output 1 has an invalid prefix');
  }
  let payoutEnd = tx.outputs.length;
  let votes: TreasuryVote[] = [];
  const last = tx.outputs[tx.outputs.length - 1] as { version: number; pkScript: Uint8Array };
  if (isTreasuryEnabled && isStakeNullDataScript(last.version, last.pkScript)) {
    payoutEnd--;
    votes = parseTreasuryVotes(last.pkScript);
    if (!(votes.length > 0 && tx.version === TX_VERSION_TREASURY)) {
      fail(R, 'ErrSSGenInvalidTxVersion', `a vote with treasury votes must have tx version 3, has ${tx.version}`);
    }
  }
  for (let i = 2; i < payoutEnd; i++) {
    const o = tx.outputs[i] as { version: number; pkScript: Uint8Array };
    if (!isTagged(o.version, o.pkScript, 'ssgen')) fail(R, 'ErrSSGenBadGenOuts', `output ${i} is not an OP_SSGEN-tagged P2PKH or P2SH script`);
  }
  return votes;
}

/** CheckSSRtx: one stake-tree input, 1..64 OP_SSRTX-tagged outputs. Throws RuleError `NOT_A_REVOCATION`. */
export function checkSSRtx(tx: Tx): void {
  const R = 'NOT_A_REVOCATION';
  if (tx.inputs.length !== NUM_INPUTS_PER_SSRTX) fail(R, 'ErrSSRtxWrongNumInputs', `${tx.inputs.length} inputs (need 1)`);
  if (tx.outputs.length > MAX_OUTPUTS_PER_SSRTX) fail(R, 'ErrSSRtxTooManyOutputs', `${tx.outputs.length} outputs > ${MAX_OUTPUTS_PER_SSRTX}`);
  if (tx.outputs.length === 0) fail(R, 'ErrSSRtxNoOutputs', 'revocation has no outputs');
  tx.outputs.forEach((o, i) => {
    if (o.version !== 0) fail(R, 'ErrSSRtxBadOuts', `output ${i} script version ${o.version} is not 0`);
  });
  if ((tx.inputs[0] as { prevOut: { tree: number } }).prevOut.tree !== TX_TREE_STAKE) {
    fail(R, 'ErrSSRtxWrongTxTree', 'input 0 does not spend from the stake tree');
  }
  tx.outputs.forEach((o, i) => {
    if (!isTagged(o.version, o.pkScript, 'ssrtx')) fail(R, 'ErrSSRtxBadOuts', `output ${i} is not an OP_SSRTX-tagged script`);
  });
}

/** CheckTAdd: version 3, inputs, out[0] = OP_TADD, optional OP_SSTXCHANGE out[1]. Throws `NOT_A_TREASURY_ADD`. */
export function checkTAdd(tx: Tx): void {
  const R = 'NOT_A_TREASURY_ADD';
  if (tx.version !== TX_VERSION_TREASURY) fail(R, 'ErrTAddInvalidTxVersion', `tx version ${tx.version} is not 3`);
  if (tx.inputs.length < 1) fail(R, 'ErrTAddInvalidCount', 'no inputs');
  if (tx.outputs.length !== 1 && tx.outputs.length !== 2) fail(R, 'ErrTAddInvalidCount', `${tx.outputs.length} outputs (need 1 or 2)`);
  tx.outputs.forEach((o, i) => {
    if (o.version !== 0) fail(R, 'ErrTAddInvalidVersion', `output ${i} script version ${o.version} is not 0`);
    if (o.pkScript.length === 0) fail(R, 'ErrTAddInvalidScriptLength', `output ${i} script is empty`);
  });
  const s0 = (tx.outputs[0] as { pkScript: Uint8Array }).pkScript;
  if (s0.length !== 1 || s0[0] !== OP_TADD) fail(R, 'ErrTAddInvalidOpcode', 'output 0 is not OP_TADD');
  const o1 = tx.outputs[1];
  if (o1 && !isTagged(o1.version, o1.pkScript, 'sstxchange')) fail(R, 'ErrTAddInvalidChange', 'output 1 is not a stake change script');
}

/** CheckTSpend (structure only, no signature or Pi key check). Throws `NOT_A_TREASURY_SPEND`. */
export function checkTSpend(tx: Tx): void {
  const R = 'NOT_A_TREASURY_SPEND';
  if (tx.version !== TX_VERSION_TREASURY) fail(R, 'ErrTSpendInvalidTxVersion', `tx version ${tx.version} is not 3`);
  if (tx.inputs.length !== 1) fail(R, 'ErrTSpendInvalidLength', `${tx.inputs.length} inputs (need 1)`);
  if (tx.outputs.length < 2) fail(R, 'ErrTSpendInvalidLength', `${tx.outputs.length} outputs (need at least 2)`);
  tx.outputs.forEach((o, i) => {
    if (o.version !== 0) fail(R, 'ErrTSpendInvalidVersion', `output ${i} script version ${o.version} is not 0`);
    if (o.pkScript.length === 0) fail(R, 'ErrTSpendInvalidScriptLength', `output ${i} script is empty`);
  });
  const sig = (tx.inputs[0] as { sigScript: Uint8Array }).sigScript;
  if (sig.length !== TSPEND_SCRIPT_LEN || sig[0] !== OP_DATA_64 || sig[65] !== OP_DATA_33 || sig[99] !== OP_TSPEND) {
    fail(R, 'ErrTSpendInvalidScript', 'input 0 script is not <sig64> <pubkey33> OP_TSPEND');
  }
  const pk0 = sig[66];
  if (pk0 !== 0x02 && pk0 !== 0x03) fail(R, 'ErrTSpendInvalidPubkey', 'input 0 public key is not strictly compressed');
  const s0 = (tx.outputs[0] as { pkScript: Uint8Array }).pkScript;
  if (s0.length !== 34 || s0[0] !== OP_RETURN || s0[1] !== OP_DATA_32) {
    fail(R, 'ErrTSpendInvalidTransaction', 'output 0 is not OP_RETURN with a 32-byte push');
  }
  for (let i = 1; i < tx.outputs.length; i++) {
    const o = tx.outputs[i] as { version: number; pkScript: Uint8Array };
    if (!isTagged(o.version, o.pkScript, 'tgen')) fail(R, 'ErrTSpendInvalidTGen', `output ${i} is not an OP_TGEN-tagged P2PKH or P2SH script`);
  }
}

/** checkTreasuryBase: version 3, null input without script, OP_TADD then OP_RETURN OP_DATA_12. Throws `NOT_A_TREASURYBASE`. */
export function checkTreasuryBase(tx: Tx): void {
  const R = 'NOT_A_TREASURYBASE';
  if (tx.version !== TX_VERSION_TREASURY) fail(R, 'ErrTreasuryBaseInvalidTxVersion', `tx version ${tx.version} is not 3`);
  if (tx.inputs.length !== 1 || tx.outputs.length !== 2) {
    fail(R, 'ErrTreasuryBaseInvalidCount', `${tx.inputs.length} inputs / ${tx.outputs.length} outputs (need 1/2)`);
  }
  if ((tx.inputs[0] as { sigScript: Uint8Array }).sigScript.length !== 0) fail(R, 'ErrTreasuryBaseInvalidLength', 'input 0 has a script');
  tx.outputs.forEach((o, i) => {
    if (o.version !== 0) fail(R, 'ErrTreasuryBaseInvalidVersion', `output ${i} script version ${o.version} is not 0`);
  });
  const s0 = (tx.outputs[0] as { pkScript: Uint8Array }).pkScript;
  if (s0.length !== 1 || s0[0] !== OP_TADD) fail(R, 'ErrTreasuryBaseInvalidOpcode0', 'output 0 is not OP_TADD');
  const s1 = (tx.outputs[1] as { pkScript: Uint8Array }).pkScript;
  if (s1.length !== 14 || s1[0] !== OP_RETURN || s1[1] !== OP_DATA_12) {
    fail(R, 'ErrTreasuryBaseInvalidOpcode1', 'output 1 is not OP_RETURN OP_DATA_12');
  }
  if (!hasNullOutpoint(tx)) fail(R, 'ErrTreasuryBaseInvalid', 'input 0 is not a null outpoint');
}

function passes(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch (e) {
    if (e instanceof RuleError) return false;
    throw e;
  }
}

export function isTicket(tx: Tx): boolean {
  return passes(() => checkSStx(tx));
}

export function isVote(tx: Tx, isTreasuryEnabled = true): boolean {
  return passes(() => checkSSGen(tx, isTreasuryEnabled));
}

export function isRevocation(tx: Tx): boolean {
  return passes(() => checkSSRtx(tx));
}

/** IsCoinBaseTx: one input spending the null outpoint (treasury base and TSpend excluded by txType's order). */
export function isCoinbase(tx: Tx): boolean {
  if (tx.inputs.length !== 1) return false;
  const p = (tx.inputs[0] as { prevOut: { hash: Uint8Array; index: number } }).prevOut;
  return p.index === NULL_PREV_INDEX && isZeroHash(p.hash);
}

/**
 * DetermineTxType, plus `coinbase` for the regular tree's first tx: ticket,
 * vote, revocation, then (treasury enabled) treasury add, spend, base,
 * then coinbase, else regular.
 */
export function txType(tx: Tx, opts: { isTreasuryEnabled?: boolean } = {}): TxType {
  const treasury = opts.isTreasuryEnabled ?? true;
  if (isTicket(tx)) return 'ticket';
  if (isVote(tx, treasury)) return 'vote';
  if (isRevocation(tx)) return 'revocation';
  if (treasury) {
    if (passes(() => checkTAdd(tx))) return 'treasury-add';
    if (passes(() => checkTSpend(tx))) return 'treasury-spend';
    if (passes(() => checkTreasuryBase(tx))) return 'treasurybase';
  }
  if (isCoinbase(tx)) return 'coinbase';
  return 'regular';
}
