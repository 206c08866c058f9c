/**
 * `votecluster tx decode|verify` end to end: spawns the real CLI on real
 * mainnet transactions from test/vectors/sighash.json and on tampered copies.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeTx, toJson } from '../../services/cli/commands/tx.ts';
import { decodeTxHex, fromHex, verifyInputScript } from '../../services/decred/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const sighash = JSON.parse(readFileSync(new URL('../vectors/sighash.json', import.meta.url), 'utf8')) as {
  vectors: { tx_hex: string; comment: string; script_hex: string; input_index: number; derived_txid: string; derived_tx_hash_full: string }[];
};
const byComment = (c: string) => sighash.vectors.find((v) => v.comment === c) as (typeof sighash.vectors)[number];
const VOTE = byComment('block 4096 vote, SigHashAll');
const TICKET = byComment('block 257 ticket purchase, SigHashAll');
const REVOCATION = byComment('block 4107 revocation, SigHashAll');
const COINBASE = byComment('block 2 coinbase, SigHashAll');

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'bin/votecluster.ts', ...args], { cwd: ROOT, timeout: 150_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Flips one byte of the DER signature's R inside input 1's sigScript (keeps the encoding valid). */
function tamperVoteSignature(hex: string): string {
  const at = hex.indexOf('483045022100fe0d70') + 2 * 8;
  const b = parseInt(hex.slice(at, at + 2), 16) ^ 0x01;
  return hex.slice(0, at) + b.toString(16).padStart(2, '0') + hex.slice(at + 2);
}

// Generous timeouts: on a loaded 2-core CI box each spawn (tsx + every command module) can take many seconds.
describe('votecluster tx (spawned CLI)', { timeout: 300_000 }, () => {
  // Each spawn loads every command module (~1-3 s), so all cases share one parallel batch.
  it('decode --json / text, verify valid / tampered / ticket input / malformed, bad hex, --help', async () => {
    const [decVote, text, ok, badSig, ticketOk, malformed, badHex, help] = await Promise.all([
      cli('tx', 'decode', '--hex', VOTE.tx_hex, '--json'),
      cli('tx', 'decode', '--hex', TICKET.tx_hex),
      cli('tx', 'verify', '--hex', VOTE.tx_hex, '--prev-script', `1:${VOTE.script_hex}`, '--json'),
      cli('tx', 'verify', '--hex', tamperVoteSignature(VOTE.tx_hex), '--prev-script', `1:${VOTE.script_hex}`, '--json'),
      cli('tx', 'verify', '--hex', TICKET.tx_hex, '--prev-script', `0:${TICKET.script_hex}`),
      cli('tx', 'verify', '--hex', TICKET.tx_hex, '--prev-script', 'zero:abcd'),
      cli('tx', 'decode', '--hex', 'abc'),
      cli('tx', 'verify', '--help'),
    ]);

    expect(decVote.code, decVote.stderr).toBe(0);
    const v = JSON.parse(decVote.stdout) as Record<string, unknown> & { vote: Record<string, unknown>; inputs: Record<string, unknown>[]; outputs: Record<string, unknown>[] };
    expect(v.txid).toBe(VOTE.derived_txid);
    expect(v.fullHash).toBe(VOTE.derived_tx_hash_full);
    expect(v.type).toBe('vote');
    expect(v.version).toBe(1);
    expect(v.inputs[0]).toMatchObject({ prevTxid: '00'.repeat(32), prevIndex: 4294967295, tree: 0, valueIn: 187174959, blockIndex: 4294967295, sigScript: '0000' });
    expect(v.inputs[1]).toMatchObject({ prevIndex: 0, tree: 1, valueIn: 200000000, sequence: 4294967295 });
    expect(v.outputs[2]).toMatchObject({ value: 387174959, scriptVersion: 0 });
    expect(v.vote).toMatchObject({ blockHeight: 4095, voteBits: 1, voteVersion: 0, stakebase: 187174959, treasuryVotes: [] });
    expect(v.vote.ticketHash).toBe(v.inputs[1]?.prevTxid);
    expect(String(v.vote.blockHash)).toMatch(/^000000000000[0-9a-f]{52}$/);

    expect(text.code).toBe(0);
    expect(text.stdout).toContain('type      ticket');
    expect(text.stdout).toContain(TICKET.derived_txid);

    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ valid: true, inputs: [{ index: 1, valid: true }] });

    expect(badSig.code).not.toBe(0);
    const bs = JSON.parse(badSig.stdout) as { valid: boolean; inputs: { valid: boolean; error: string }[] };
    expect(bs.valid).toBe(false);
    expect(bs.inputs[0]?.error).toMatch(/^SIG_INVALID/);

    expect(ticketOk.code).toBe(0);
    expect(ticketOk.stdout).toContain('all inputs valid');

    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toContain('INDEX:HEX');

    expect(badHex.code).toBe(1);
    expect(badHex.stderr).toContain('DECRED_HEX');

    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--prev-script');
  });
});

describe('tx command documents (in process)', () => {
  it('types the mainnet ticket, revocation and coinbase, and prints atoms as exact JSON numbers', () => {
    expect(describeTx(decodeTxHex(TICKET.tx_hex))).toMatchObject({ type: 'ticket', txid: TICKET.derived_txid, ticket: { price: 200000000n } });
    expect(describeTx(decodeTxHex(REVOCATION.tx_hex)).type).toBe('revocation');
    expect(describeTx(decodeTxHex(COINBASE.tx_hex)).type).toBe('coinbase');
    expect(toJson({ a: 2n ** 62n, b: 'x' })).toBe('{"a":4611686018427387904,"b":"x"}');
  });

  it('a changed payout or a wrong previous script fails verification', () => {
    const changed = decodeTxHex(VOTE.tx_hex.replace('2fd21317', '2ed21317'));
    expect(verifyInputScript(changed, 1, fromHex(VOTE.script_hex)).valid).toBe(false);
    const wrong = verifyInputScript(decodeTxHex(TICKET.tx_hex), 0, fromHex(VOTE.script_hex));
    expect(wrong.error).toMatch(/^PUBKEY_HASH_MISMATCH/);
  });
});
