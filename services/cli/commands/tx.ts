/**
 * `votecluster tx decode --hex HEX [--json]` and
 * `votecluster tx verify --hex HEX --prev-script INDEX:HEX ... [--json]`
 * (docs/architecture.md, "Machine-readable contracts": field names, display-order
 * hashes, atoms as JSON numbers, scripts as hex; keep them stable).
 *
 * Exit codes: 0 success (verify: every named input valid); 1 invalid
 * signature(s) or bad input (bad hex, undecodable tx, bad --prev-script).
 */
import type { Command } from 'commander';
import {
  InvalidArgumentError,
  classifyScript,
  decodeTxHex,
  fromHex,
  hashToHex,
  parseTicket,
  parseVote,
  toHex,
  txHash,
  txHashFull,
  txType,
  verifyInputScript,
  type Tx,
} from '../../decred/index.ts';

const BIGINT_TAG = '\u0000bigint:';

/** JSON with bigints written as exact integer literals (amounts are atoms as JSON numbers). */
export function toJson(value: unknown): string {
  const s = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${BIGINT_TAG}${v.toString()}` : v));
  return s.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

/** The `tx decode` document (docs/architecture.md, "Machine-readable contracts"). */
export function describeTx(tx: Tx): Record<string, unknown> {
  const type = txType(tx);
  const doc: Record<string, unknown> = {
    txid: hashToHex(txHash(tx)),
    fullHash: hashToHex(txHashFull(tx)),
    version: tx.version,
    type,
    locktime: tx.lockTime,
    expiry: tx.expiry,
    inputs: tx.inputs.map((i) => ({
      prevTxid: hashToHex(i.prevOut.hash),
      prevIndex: i.prevOut.index,
      tree: i.prevOut.tree,
      sequence: i.sequence,
      valueIn: i.valueIn,
      blockHeight: i.blockHeight,
      blockIndex: i.blockIndex,
      sigScript: toHex(i.sigScript),
    })),
    outputs: tx.outputs.map((o) => ({ value: o.value, scriptVersion: o.version, pkScript: toHex(o.pkScript) })),
  };
  if (type === 'vote') {
    const v = parseVote(tx);
    doc.vote = {
      ticketHash: hashToHex(v.ticketHash),
      blockHash: hashToHex(v.blockHash),
      blockHeight: v.blockHeight,
      voteBits: v.voteBits,
      voteVersion: v.voteVersion,
      stakebase: v.stakebase,
      treasuryVotes: v.treasuryVotes.map((t) => ({ tspendHash: hashToHex(t.tspendHash), vote: t.vote === 1 ? 'yes' : 'no' })),
      payouts: v.payouts.map((p) => ({ value: p.value, pkScript: toHex(p.script) })),
    };
  }
  if (type === 'ticket') {
    const t = parseTicket(tx);
    doc.ticket = {
      price: t.price,
      votingScript: toHex(t.votingScript),
      votingHash160: toHex(t.votingHash160),
      votingIsP2SH: t.votingIsP2SH,
      commitments: t.commitments.map((c) => ({
        hash160: toHex(c.hash160),
        isP2SH: c.isP2SH,
        amount: c.amount,
        voteFeeLimit: c.voteFeeLimit,
        revocationFeeLimit: c.revocationFeeLimit,
      })),
    };
  }
  return doc;
}

function dcr(atoms: bigint): string {
  const neg = atoms < 0n;
  const a = neg ? -atoms : atoms;
  return `${neg ? '-' : ''}${a / 100_000_000n}.${(a % 100_000_000n).toString().padStart(8, '0')} DCR`;
}

function scriptKind(script: Uint8Array): string {
  const c = classifyScript(script);
  return c.stakeTag ? `${c.stakeTag}-${c.kind}` : c.kind;
}

function formatTx(tx: Tx): string {
  const d = describeTx(tx);
  const lines = [
    `txid      ${String(d.txid)}`,
    `full hash ${String(d.fullHash)}`,
    `type      ${String(d.type)}   version ${tx.version}   locktime ${tx.lockTime}   expiry ${tx.expiry}`,
    `inputs (${tx.inputs.length}):`,
    ...tx.inputs.map(
      (i, k) =>
        `  ${k}  ${hashToHex(i.prevOut.hash)}:${i.prevOut.index} tree ${i.prevOut.tree}  valueIn ${dcr(i.valueIn)}  sigScript ${i.sigScript.length} bytes`,
    ),
    `outputs (${tx.outputs.length}):`,
    ...tx.outputs.map((o, k) => `  ${k}  ${dcr(o.value)}  ${scriptKind(o.pkScript)}  ${toHex(o.pkScript)}`),
  ];
  const v = d.vote as Record<string, unknown> | undefined;
  if (v) {
    lines.push(
      `vote:     ticket ${String(v.ticketHash)}`,
      `          on block ${String(v.blockHash)} at height ${String(v.blockHeight)}`,
      `          voteBits 0x${Number(v.voteBits).toString(16).padStart(4, '0')}  voteVersion ${String(v.voteVersion)}  stakebase ${dcr(v.stakebase as bigint)}`,
    );
    const tv = v.treasuryVotes as { tspendHash: string; vote: string }[];
    for (const t of tv) lines.push(`          treasury ${t.vote} on tspend ${t.tspendHash}`);
  }
  const t = d.ticket as { price: bigint; commitments: { amount: bigint; hash160: string }[] } | undefined;
  if (t) {
    lines.push(`ticket:   price ${dcr(t.price)}`);
    for (const c of t.commitments) lines.push(`          commitment ${dcr(c.amount)} to hash160 ${c.hash160}`);
  }
  return lines.join('\n');
}

function parsePrevScript(spec: string): { index: number; script: Uint8Array } {
  const m = /^(\d+):([0-9a-fA-F]*)$/.exec(spec);
  if (!m) throw new InvalidArgumentError(`--prev-script "${spec}": expected INDEX:HEX (e.g. 1:ba76a914...88ac)`);
  const index = Number(m[1]);
  if (!Number.isSafeInteger(index)) throw new InvalidArgumentError(`--prev-script "${spec}": bad input index`);
  return { index, script: fromHex(m[2] as string, `--prev-script ${index}`) };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  const tx = program.command('tx').description('decode and verify Decred transactions');

  tx.command('decode')
    .description('decode a transaction (type, hashes, inputs, outputs, and vote/ticket details)')
    .requiredOption('--hex <hex>', 'the serialized transaction (RPC hex)')
    .option('--json', 'print the machine-readable JSON document')
    .action((flags: { hex: string; json?: boolean }) => {
      const decoded = decodeTxHex(flags.hex.trim());
      process.stdout.write((flags.json ? toJson(describeTx(decoded)) : formatTx(decoded)) + '\n');
    });

  tx.command('verify')
    .description('verify input signature scripts against the previous output scripts (P2PKH, P2SH m-of-n, plain or stake-tagged)')
    .requiredOption('--hex <hex>', 'the serialized transaction (RPC hex)')
    .requiredOption('--prev-script <index:hex>', 'input index and the pkScript it spends (repeatable)', collect)
    .option('--json', 'print {valid, inputs[{index, valid, error?}]}')
    .action((flags: { hex: string; prevScript: string[]; json?: boolean }) => {
      const decoded = decodeTxHex(flags.hex.trim());
      const specs = flags.prevScript.map(parsePrevScript);
      const seen = new Set<number>();
      for (const s of specs) {
        if (seen.has(s.index)) throw new InvalidArgumentError(`--prev-script: input ${s.index} given twice`);
        seen.add(s.index);
      }
      const inputs = specs.map((s) => {
        const r = verifyInputScript(decoded, s.index, s.script);
        return r.valid ? { index: s.index, valid: true } : { index: s.index, valid: false, error: r.error ?? 'invalid' };
      });
      const valid = inputs.every((i) => i.valid);
      if (flags.json) process.stdout.write(toJson({ valid, inputs }) + '\n');
      else {
        for (const i of inputs) process.stdout.write(`input ${i.index}: ${i.valid ? 'valid' : `INVALID (${i.error})`}\n`);
        process.stdout.write(valid ? 'all inputs valid\n' : 'verification FAILED\n');
      }
      if (!valid) process.exitCode = 1;
    });
}
