/**
 * `votecluster start` end to end, as `npm start` runs it (a real child
 * process: devnet, etcd, proxies, six voters in three loopback regions):
 * `--blocks 20 --report json` ends stdout with the one-line JSON report,
 * missed 0 and conflicting 0; SIGTERM mid-run stops cleanly (report printed,
 * no child process left behind); `--chaos kill-owner-before-draw --blocks 4` reports the 4 blocks
 * it drove and adds the takeovers its kills caused (faults, faultsExercised, takeoverMs at the
 * miner, takeoverNearestMs); `--chaos tspend-at-draw` the input-race
 * fields (faults, faultsExercised, raceMs, the referee's counts).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait-for.ts';

const MAIN = new URL('../../bin/votecluster.ts', import.meta.url).pathname;

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Every direct child ever seen (etcd, voters), keyed `pid:starttime` so a reused pid is not mistaken for ours. */
  childPids: Set<string>;
}

function startCli(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const childPids = new Set<string>();
  const poll = setInterval(() => {
    try {
      for (const p of execFileSync('ps', ['-o', 'pid=', '--ppid', String(child.pid)], { encoding: 'utf8' }).split('\n')) {
        const id = p.trim() ? processId(Number(p)) : undefined;
        if (id) childPids.add(id);
      }
    } catch {
      // ps exits 1 when there is no child (yet / any more)
    }
  }, 200);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    clearInterval(poll);
    resolve(code);
  }));
  return { child, stdout: () => out, stderr: () => err, exited, childPids };
}

/** `pid:starttime` from /proc (field 22 of stat), or undefined when the process is gone or a zombie. */
function processId(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces; fields after the closing paren are space separated.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return `${pid}:${rest[19]}`;
  } catch {
    return undefined;
  }
}

/** True while the very process we saw (same pid AND start time) still runs; pids are reused under load. */
const isAlive = (id: string): boolean => processId(Number(id.split(':')[0])) === id;

function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trimEnd().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as Record<string, unknown>;
}

describe('votecluster start', () => {
  it('--blocks 20 --report json: one JSON line last, missed 0, conflicting 0, nothing left running', async () => {
    const run = startCli(['--blocks', '20', '--report', 'json']);
    const code = await run.exited;
    expect(code, run.stderr().slice(-2000)).toBe(0);
    const r = lastJson(run.stdout());
    expect(Object.keys(r)).toEqual(['blocks', 'drawn', 'voted', 'missed', 'open', 'conflicting', 'duplicatesSent', 'takeovers', 'latencyMs']);
    // --blocks N means N blocks; every draw is accounted for: the last block's are still open.
    expect(r['blocks']).toBe(20);
    expect(r['drawn']).toBe(100);
    expect((r['voted'] as number) + (r['missed'] as number) + (r['open'] as number)).toBe(r['drawn']);
    expect(r['open']).toBe(5);
    expect(r['voted']).toBe(95);
    expect(r['missed']).toBe(0);
    expect(r['conflicting']).toBe(0);
    expect(Object.keys(r['latencyMs'] as object)).toEqual(['p50', 'p90', 'p99', 'max']);
    // The operator is told where the status page, metrics, etcd and the cluster key are.
    expect(run.stderr()).toMatch(/status page\s+http:\/\/127\.0\.0\.1:\d+\//);
    expect(run.stderr()).toMatch(/metrics\s+http:\/\/127\.0\.0\.1:\d+\/metrics/);
    expect(run.stderr()).toMatch(/cluster key\s+\/\S+cluster\.key/);
    expect(run.stderr()).toMatch(/tickets imported \d+\/\d+/);
    // In json mode stdout holds only the report line.
    expect(run.stdout().trimEnd().split('\n')).toHaveLength(1);
    expect(run.childPids.size).toBeGreaterThan(0);
    for (const pid of run.childPids) expect(isAlive(pid)).toBe(false);
  }, 240_000);

  it('SIGTERM mid-run: stops cleanly, prints the summary, leaves no child process', async () => {
    const run = startCli(['--report', 'json', '--voter-mode', 'process']);
    await waitFor(() => /block\s+\d+\s+drawn/.test(run.stderr()), { timeoutMs: 120_000, message: 'a first block line' });
    expect(run.childPids.size).toBeGreaterThanOrEqual(7); // etcd + six voter processes
    run.child.kill('SIGTERM');
    const code = await run.exited;
    expect(code).not.toBeNull();
    const r = lastJson(run.stdout());
    expect(r['missed']).toBe(0);
    expect(r['conflicting']).toBe(0);
    expect(run.stderr()).toContain('summary (lease)');
    for (const pid of run.childPids) expect(isAlive(pid)).toBe(false);
  }, 240_000);

  it('--chaos kill-owner-before-draw --blocks 4 --report json: 4 blocks, the signers of winners killed (voter processes), every kill taken over, takeoverMs', async () => {
    const run = startCli(['--chaos', 'kill-owner-before-draw', '--blocks', '4', '--report', 'json']);
    const code = await run.exited;
    expect(code, run.stderr().slice(-3000)).toBe(0);
    const r = lastJson(run.stdout());
    expect(Object.keys(r)).toEqual(['blocks', 'drawn', 'voted', 'missed', 'open', 'conflicting', 'duplicatesSent', 'takeovers', 'latencyMs', 'faults', 'faultsExercised', 'takeoverMs', 'takeoverNearestMs']);
    // The 4 blocks driven, every draw judged (the block mined after them only judges the last).
    expect(r['blocks']).toBe(4);
    expect(r['open']).toBe(0);
    expect(r['voted']).toBe(r['drawn']);
    expect(r['missed']).toBe(0);
    expect(r['conflicting']).toBe(0);
    // The scenario's voters are child processes (SIGKILL), whatever the demo's default mode.
    expect(r['faults'] as number).toBeGreaterThanOrEqual(1);
    expect(r['faultsExercised']).toBe(r['faults']);
    expect(r['takeovers'] as number).toBeGreaterThanOrEqual(r['faults'] as number);
    expect(Object.keys(r['takeoverMs'] as object)).toEqual(['p50', 'p90', 'p99', 'max']);
    expect(Object.keys(r['takeoverNearestMs'] as object)).toEqual(['p50', 'p90', 'p99', 'max']);
    expect((r['takeoverMs'] as { max: number }).max).toBeGreaterThan(0);
    expect(run.stderr()).toContain('nothing lost: yes');
    for (const pid of run.childPids) expect(isAlive(pid)).toBe(false);
  }, 240_000);

  it('--chaos tspend-at-draw --report json: the input-race fields, every mined vote judged by the rule', async () => {
    const run = startCli(['--chaos', 'tspend-at-draw', '--blocks', '3', '--report', 'json']);
    const code = await run.exited;
    expect(code, run.stderr().slice(-3000)).toBe(0);
    const r = lastJson(run.stdout());
    expect(Object.keys(r)).toEqual([
      'blocks', 'drawn', 'voted', 'missed', 'open', 'conflicting', 'duplicatesSent', 'takeovers', 'latencyMs',
      'faults', 'faultsExercised', 'raceMs', 'votesChecked', 'racedVotes', 'fromNext', 'fromAfterNext', 'mismatches',
    ]);
    expect(r['missed']).toBe(0);
    expect(r['conflicting']).toBe(0);
    expect(r['mismatches']).toBe(0);
    // One new tspend at each of the 3 held draws; every mined vote (3 blocks + the settling one) judged.
    expect(r['faults']).toBe(3);
    expect(r['votesChecked'] as number).toBeGreaterThanOrEqual(15);
    expect((r['fromNext'] as number) + (r['fromAfterNext'] as number)).toBe(3);
    expect(Object.keys(r['raceMs'] as object)).toEqual(['min', 'p50', 'p90', 'p99', 'max']);
    expect(run.stderr()).toContain('nothing lost: yes');
  }, 240_000);

  it('refuses bad flags with exit 2', async () => {
    const run = startCli(['--chaos', 'no-such-fault']);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('unknown scenario');
    const inProcess = startCli(['--chaos', 'sigstop-owner', '--voter-mode', 'in-process']);
    expect(await inProcess.exited).toBe(2);
    expect(inProcess.stderr()).toContain('needs --voter-mode process');
  }, 60_000);
});
