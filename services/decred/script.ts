/**
 * Version-0 script helpers: opcodes, canonical pushes, a push parser, the
 * standard templates and their classification
 * (decred/dcrd: txscript/opcode.go, txscript/scriptbuilder.go AddData,
 * txscript/stdscript/script_v0.go, blockchain/stake/scripttype.go).
 *
 * Invariant: `parseScript` never reads past the end of a script; a push whose
 * length runs past the end is a {@link ScriptError}, never a RangeError.
 */
import { ScriptError, InvalidArgumentError } from './errors.ts';

export const OP_0 = 0x00;
export const OP_FALSE = 0x00;
export const OP_DATA_1 = 0x01;
export const OP_DATA_20 = 0x14;
export const OP_DATA_32 = 0x20;
export const OP_DATA_33 = 0x21;
export const OP_DATA_65 = 0x41;
export const OP_DATA_75 = 0x4b;
export const OP_PUSHDATA1 = 0x4c;
export const OP_PUSHDATA2 = 0x4d;
export const OP_PUSHDATA4 = 0x4e;
export const OP_1NEGATE = 0x4f;
export const OP_1 = 0x51;
export const OP_TRUE = 0x51;
export const OP_2 = 0x52;
export const OP_3 = 0x53;
export const OP_4 = 0x54;
export const OP_5 = 0x55;
export const OP_6 = 0x56;
export const OP_7 = 0x57;
export const OP_8 = 0x58;
export const OP_9 = 0x59;
export const OP_10 = 0x5a;
export const OP_11 = 0x5b;
export const OP_12 = 0x5c;
export const OP_13 = 0x5d;
export const OP_14 = 0x5e;
export const OP_15 = 0x5f;
export const OP_16 = 0x60;
export const OP_RETURN = 0x6a;
export const OP_DUP = 0x76;
export const OP_EQUAL = 0x87;
export const OP_EQUALVERIFY = 0x88;
export const OP_HASH160 = 0xa9;
export const OP_CHECKSIG = 0xac;
export const OP_CHECKSIGVERIFY = 0xad;
export const OP_CHECKMULTISIG = 0xae;
export const OP_CHECKMULTISIGVERIFY = 0xaf;
/** Stake opcodes (DCP0001 / staketx): ticket, vote, revocation, ticket change. */
export const OP_SSTX = 0xba;
export const OP_SSGEN = 0xbb;
export const OP_SSRTX = 0xbc;
export const OP_SSTXCHANGE = 0xbd;
export const OP_CHECKSIGALT = 0xbe;
export const OP_CHECKSIGALTVERIFY = 0xbf;
/** Treasury opcodes (DCP0006): add, spend, and the tspend payout tag. */
export const OP_TADD = 0xc1;
export const OP_TSPEND = 0xc2;
export const OP_TGEN = 0xc3;

/** Largest data push accepted in a null-data script (txscript MaxDataCarrierSize). */
export const MAX_DATA_CARRIER_SIZE = 256;

/** One parsed opcode; `data` is present for push opcodes (OP_DATA_n, OP_PUSHDATAn). */
export interface ScriptOp {
  opcode: number;
  data?: Uint8Array;
}

export type StakeTag = 'sstx' | 'ssgen' | 'ssrtx' | 'sstxchange' | 'tgen';

export interface ScriptClass {
  kind: 'p2pkh' | 'p2sh' | 'multisig' | 'nulldata' | 'nonstandard';
  /** The stake opcode prefix of a tagged P2PKH/P2SH script, else null. */
  stakeTag: StakeTag | null;
  /** The 20-byte hash of P2PKH / P2SH (tagged or not). */
  hash160?: Uint8Array;
}

const TAG_OPCODE: Record<StakeTag, number> = {
  sstx: OP_SSTX,
  ssgen: OP_SSGEN,
  ssrtx: OP_SSRTX,
  sstxchange: OP_SSTXCHANGE,
  tgen: OP_TGEN,
};

const OPCODE_TAG = new Map<number, StakeTag>(Object.entries(TAG_OPCODE).map(([k, v]) => [v, k as StakeTag]));

/** The stake tag for a tag opcode, or undefined. */
export function stakeTagOf(opcode: number): StakeTag | undefined {
  return OPCODE_TAG.get(opcode);
}

/** The opcode of a stake tag. */
export function stakeTagOpcode(tag: StakeTag): number {
  return TAG_OPCODE[tag];
}

/**
 * The canonical (smallest) push of `data`, as ScriptBuilder.AddData writes it:
 * empty or [0] -> OP_0, [1..16] -> OP_1..OP_16, [0x81] -> OP_1NEGATE,
 * then OP_DATA_n, OP_PUSHDATA1/2/4.
 */
export function pushData(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n === 0 || (n === 1 && data[0] === 0)) return Uint8Array.of(OP_0);
  if (n === 1) {
    const b = data[0] as number;
    if (b <= 16) return Uint8Array.of(OP_1 - 1 + b);
    if (b === 0x81) return Uint8Array.of(OP_1NEGATE);
  }
  let head: Uint8Array;
  if (n <= OP_DATA_75) head = Uint8Array.of(n);
  else if (n <= 0xff) head = Uint8Array.of(OP_PUSHDATA1, n);
  else if (n <= 0xffff) head = Uint8Array.of(OP_PUSHDATA2, n & 0xff, n >>> 8);
  else head = Uint8Array.of(OP_PUSHDATA4, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
  const out = new Uint8Array(head.length + n);
  out.set(head);
  out.set(data, head.length);
  return out;
}

/** A small integer 0..16 as its opcode (OP_0, OP_1..OP_16). */
export function smallIntOpcode(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 16) throw new InvalidArgumentError(`small int ${n} outside 0..16`);
  return n === 0 ? OP_0 : OP_1 - 1 + n;
}

/** The value 0..16 of OP_0 / OP_1..OP_16, or undefined for other opcodes. */
export function smallIntValue(opcode: number): number | undefined {
  if (opcode === OP_0) return 0;
  if (opcode >= OP_1 && opcode <= OP_16) return opcode - OP_1 + 1;
  return undefined;
}

/**
 * Splits a script into opcodes and pushes. Throws {@link ScriptError} if a
 * push runs past the end of the script.
 */
export function parseScript(script: Uint8Array): ScriptOp[] {
  const ops: ScriptOp[] = [];
  let i = 0;
  while (i < script.length) {
    const op = script[i] as number;
    i++;
    let len = -1;
    if (op >= OP_DATA_1 && op <= OP_DATA_75) {
      len = op;
    } else if (op === OP_PUSHDATA1 || op === OP_PUSHDATA2 || op === OP_PUSHDATA4) {
      const w = op === OP_PUSHDATA1 ? 1 : op === OP_PUSHDATA2 ? 2 : 4;
      if (i + w > script.length) {
        throw new ScriptError(`script: opcode 0x${op.toString(16)} at ${i - 1} needs a ${w}-byte length, script ends`);
      }
      len = 0;
      for (let k = w - 1; k >= 0; k--) len = len * 256 + (script[i + k] as number);
      i += w;
    }
    if (len >= 0) {
      if (i + len > script.length) {
        throw new ScriptError(`script: push of ${len} bytes at ${i} runs past the end (${script.length - i} left)`);
      }
      ops.push({ opcode: op, data: script.slice(i, i + len) });
      i += len;
    } else {
      ops.push({ opcode: op });
    }
  }
  return ops;
}

/** True if the op only pushes data (OP_0, OP_DATA_n, OP_PUSHDATAn, OP_1NEGATE, OP_1..OP_16). */
export function isPushOp(op: ScriptOp): boolean {
  return op.opcode <= OP_16 && op.opcode !== 0x50; // 0x50 is OP_RESERVED
}

/** The bytes a push op leaves on the stack (small ints as their minimal encoding), or undefined. */
export function pushedData(op: ScriptOp): Uint8Array | undefined {
  if (op.data) return op.data;
  if (op.opcode === OP_0) return new Uint8Array();
  if (op.opcode === OP_1NEGATE) return Uint8Array.of(0x81);
  const v = smallIntValue(op.opcode);
  return v === undefined ? undefined : Uint8Array.of(v);
}

/** True if the op is the smallest encoding of the data it pushes (txscript canonicalPush). */
export function isCanonicalPush(op: ScriptOp): boolean {
  if (!op.data) return isPushOp(op);
  const enc = pushData(op.data);
  return enc[0] === op.opcode && enc.length - op.data.length === headerLength(op.opcode);
}

function headerLength(opcode: number): number {
  if (opcode === OP_PUSHDATA1) return 2;
  if (opcode === OP_PUSHDATA2) return 3;
  if (opcode === OP_PUSHDATA4) return 5;
  return 1;
}

function need20(h: Uint8Array, what: string): void {
  if (h.length !== 20) throw new InvalidArgumentError(`${what}: expected a 20-byte hash, got ${h.length}`);
}

/** `OP_DUP OP_HASH160 <h160> OP_EQUALVERIFY OP_CHECKSIG`. */
export function p2pkhScript(h160: Uint8Array): Uint8Array {
  need20(h160, 'p2pkh');
  const s = new Uint8Array(25);
  s.set([OP_DUP, OP_HASH160, OP_DATA_20]);
  s.set(h160, 3);
  s[23] = OP_EQUALVERIFY;
  s[24] = OP_CHECKSIG;
  return s;
}

/** `OP_HASH160 <h160> OP_EQUAL`. */
export function p2shScript(h160: Uint8Array): Uint8Array {
  need20(h160, 'p2sh');
  const s = new Uint8Array(23);
  s.set([OP_HASH160, OP_DATA_20]);
  s.set(h160, 2);
  s[22] = OP_EQUAL;
  return s;
}

/** `<tag opcode> <P2PKH or P2SH script>`; throws if `script` is not one of those templates. */
export function stakeTaggedScript(tag: StakeTag, script: Uint8Array): Uint8Array {
  const op = TAG_OPCODE[tag];
  if (op === undefined) throw new InvalidArgumentError(`unknown stake tag "${String(tag)}"`);
  const c = classifyScript(script);
  if (c.stakeTag !== null || (c.kind !== 'p2pkh' && c.kind !== 'p2sh')) {
    throw new InvalidArgumentError('stake-tagged script: the inner script must be a plain P2PKH or P2SH template');
  }
  const out = new Uint8Array(script.length + 1);
  out[0] = op;
  out.set(script, 1);
  return out;
}

/** `OP_RETURN <canonical push of data>` (at most 256 bytes of data). */
export function nullDataScript(data: Uint8Array): Uint8Array {
  if (data.length > MAX_DATA_CARRIER_SIZE) {
    throw new InvalidArgumentError(`null data: ${data.length} bytes exceeds ${MAX_DATA_CARRIER_SIZE}`);
  }
  const p = pushData(data);
  const out = new Uint8Array(p.length + 1);
  out[0] = OP_RETURN;
  out.set(p, 1);
  return out;
}

function isValidPubKeyFormat(k: Uint8Array): boolean {
  return (k.length === 33 && (k[0] === 0x02 || k[0] === 0x03)) || (k.length === 65 && k[0] === 0x04);
}

/** `OP_m <pubkey>... OP_n OP_CHECKMULTISIG` (Decred has no dummy OP_0 in the spend). */
export function multisigScript(m: number, pubKeys: Uint8Array[]): Uint8Array {
  const n = pubKeys.length;
  if (n < 1 || n > 16 || !Number.isInteger(m) || m < 1 || m > n) {
    throw new InvalidArgumentError(`multisig: need 1 <= m <= n <= 16, got m=${m} n=${n}`);
  }
  const parts: number[] = [smallIntOpcode(m)];
  for (const [i, k] of pubKeys.entries()) {
    if (!isValidPubKeyFormat(k)) throw new InvalidArgumentError(`multisig: pubkey ${i} is not 33-byte compressed or 65-byte uncompressed`);
    parts.push(...pushData(k));
  }
  parts.push(smallIntOpcode(n), OP_CHECKMULTISIG);
  return Uint8Array.from(parts);
}

/** Parses a standard multisig script; throws {@link ScriptError} if it is not one. */
export function parseMultisig(script: Uint8Array): { m: number; pubKeys: Uint8Array[] } {
  const r = tryParseMultisig(script);
  if (!r) throw new ScriptError('script is not a standard m-of-n multisig script');
  return r;
}

function tryParseMultisig(script: Uint8Array): { m: number; pubKeys: Uint8Array[] } | undefined {
  let ops: ScriptOp[];
  try {
    ops = parseScript(script);
  } catch {
    return undefined;
  }
  if (ops.length < 4) return undefined;
  const first = ops[0] as ScriptOp;
  const last = ops[ops.length - 1] as ScriptOp;
  const nOp = ops[ops.length - 2] as ScriptOp;
  if (last.opcode !== OP_CHECKMULTISIG) return undefined;
  const m = smallIntValue(first.opcode);
  const n = smallIntValue(nOp.opcode);
  if (m === undefined || n === undefined || m < 1 || n < m) return undefined;
  const keys = ops.slice(1, -2);
  if (keys.length !== n) return undefined;
  const pubKeys: Uint8Array[] = [];
  for (const k of keys) {
    if (!k.data || !isValidPubKeyFormat(k.data) || !isCanonicalPush(k)) return undefined;
    pubKeys.push(k.data);
  }
  return { m, pubKeys };
}

function isP2PKH(s: Uint8Array, o: number): boolean {
  return (
    s.length - o === 25 &&
    s[o] === OP_DUP &&
    s[o + 1] === OP_HASH160 &&
    s[o + 2] === OP_DATA_20 &&
    s[o + 23] === OP_EQUALVERIFY &&
    s[o + 24] === OP_CHECKSIG
  );
}

function isP2SH(s: Uint8Array, o: number): boolean {
  return s.length - o === 23 && s[o] === OP_HASH160 && s[o + 1] === OP_DATA_20 && s[o + 22] === OP_EQUAL;
}

function isNullData(script: Uint8Array): boolean {
  if (script[0] !== OP_RETURN) return false;
  if (script.length === 1) return true;
  let ops: ScriptOp[];
  try {
    ops = parseScript(script.subarray(1));
  } catch {
    return false;
  }
  if (ops.length !== 1) return false;
  const op = ops[0] as ScriptOp;
  const d = pushedData(op);
  return d !== undefined && d.length <= MAX_DATA_CARRIER_SIZE && isCanonicalPush(op);
}

/**
 * Classifies a version-0 pkScript. A stake-tagged script is exactly one tag
 * opcode followed by a P2PKH or P2SH template (stake/scripttype.go
 * isTaggedScript); anything else with a tag is nonstandard.
 */
export function classifyScript(script: Uint8Array): ScriptClass {
  if (isP2PKH(script, 0)) return { kind: 'p2pkh', stakeTag: null, hash160: script.slice(3, 23) };
  if (isP2SH(script, 0)) return { kind: 'p2sh', stakeTag: null, hash160: script.slice(2, 22) };
  const tag = script.length > 0 ? OPCODE_TAG.get(script[0] as number) : undefined;
  if (tag !== undefined) {
    if (isP2PKH(script, 1)) return { kind: 'p2pkh', stakeTag: tag, hash160: script.slice(4, 24) };
    if (isP2SH(script, 1)) return { kind: 'p2sh', stakeTag: tag, hash160: script.slice(3, 23) };
    return { kind: 'nonstandard', stakeTag: null };
  }
  if (isNullData(script)) return { kind: 'nulldata', stakeTag: null };
  if (tryParseMultisig(script)) return { kind: 'multisig', stakeTag: null };
  return { kind: 'nonstandard', stakeTag: null };
}
