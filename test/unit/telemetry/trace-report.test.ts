import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTR,
  SPAN,
  buildTraceReport,
  initTelemetry,
  parseSpanLines,
  percentiles,
  readSpanFile,
  withSpan,
  SpanRecordError,
  type SpanRecord,
} from '../../../services/telemetry/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vc-trace-report-'));
const file = join(dir, 'spans.jsonl');

/** Real CPU work of about `ms` milliseconds (a span with a known dominant cost). */
function burn(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

const BLOCK = 'bb'.repeat(32);
const TICKETS = ['01', '02', '03'].map((b) => b.repeat(32));

beforeAll(async () => {
  // The tree below is built from the implicit active context across awaits: the async context manager.
  const t = await initTelemetry({ serviceName: 'voter', traceFile: file, region: 'a', nodeId: 'a1', asyncContext: true });
  for (const [i, ticket] of TICKETS.entries()) {
    const ids = { [ATTR.HEIGHT]: 200, [ATTR.BLOCK_HASH]: BLOCK, [ATTR.TICKET_HASH]: ticket };
    await withSpan(SPAN.PROXY_NOTIFY, ids, async () => {
      await withSpan(SPAN.VOTER_RECEIVE, { [ATTR.TICKET_HASH]: ticket }, async () => {
        withSpan(SPAN.VOTER_BUILD, {}, () => burn(0.2));
        withSpan(SPAN.VOTER_SIGN, {}, () => burn(i === 1 ? 150 : 0.5)); // vote 2: signing dominates by far (robust to scheduler stalls on a busy box)
        await withSpan(SPAN.VOTER_BROADCAST, {}, async () => {
          // Fan-out to two proxies; the vote for ticket 3 is rejected everywhere.
          await Promise.all(['p1', 'p2'].map((proxy, k) =>
            withSpan(SPAN.PROXY_SEND, { [ATTR.PROXY]: proxy }, async () => {
              await withSpan(SPAN.DCRD_ACCEPT, { [ATTR.OUTCOME]: i === 2 ? 'rejected' : k === 0 ? 'accepted' : 'duplicate' }, async () => {
                burn(k === 0 ? 0.3 : 0.6);
              });
            }),
          ));
        });
      });
      await withSpan(SPAN.CLUSTER_RECORD, { [ATTR.OUTCOME]: 'recorded' }, () => burn(0.3));
    }, { parent: null });
  }
  // A trace that is not a vote (no ticket hash).
  withSpan('proxy.catchup', { [ATTR.HEIGHT]: 199 }, () => burn(0.1), { parent: null });
  await t.shutdown();
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('buildTraceReport on real spans', () => {
  it('groups one trace per vote with parents, totals and the dominant span', () => {
    const { spans } = readSpanFile(file);
    const report = buildTraceReport(spans);
    expect(report.votes.map((v) => v.ticketHash)).toEqual(TICKETS);
    expect(report.otherTraces).toBe(1);
    for (const v of report.votes) {
      expect(v.height).toBe(200);
      expect(v.blockHash).toBe(BLOCK);
      expect(v.spans[0]!.name).toBe(SPAN.PROXY_NOTIFY);
      expect(v.spans[0]!.parent).toBeNull();
      const parentOf = (name: string): Array<string | null> => v.spans.filter((s) => s.name === name).map((s) => s.parent);
      expect(parentOf(SPAN.VOTER_RECEIVE)).toEqual([SPAN.PROXY_NOTIFY]);
      expect(parentOf(SPAN.VOTER_SIGN)).toEqual([SPAN.VOTER_RECEIVE]);
      expect(parentOf(SPAN.PROXY_SEND)).toEqual([SPAN.VOTER_BROADCAST, SPAN.VOTER_BROADCAST]);
      expect(parentOf(SPAN.DCRD_ACCEPT)).toEqual([SPAN.PROXY_SEND, SPAN.PROXY_SEND]);
      expect(v.spans).toHaveLength(10);
      // Self time never exceeds duration, and a parent's self time excludes its children.
      for (const s of v.spans) expect(s.selfMs).toBeLessThanOrEqual(s.durationMs + 1e-9);
    }
    // totalMs: from the draw to the end of the first successful dcrd.accept, from the raw records.
    const raw = spans.filter((s) => s.traceId === report.votes[0]!.traceId);
    const t0 = Math.min(...raw.map((s) => s.startMs));
    const firstOk = Math.min(...raw.filter((s) => s.name === SPAN.DCRD_ACCEPT).map((s) => s.startMs + s.durationMs));
    expect(report.votes[0]!.totalMs).toBeCloseTo(firstOk - t0, 6);
    expect(report.votes.map((v) => v.accepted)).toEqual([true, true, false]);
    expect(report.votes[1]!.dominant).toBe(SPAN.VOTER_SIGN);
    expect(report.votes[1]!.spans.find((x) => x.spanId === report.votes[1]!.dominantSpanId)?.name).toBe(SPAN.VOTER_SIGN);
    // Aggregate: percentiles over accepted votes only, per span name in path order.
    expect(report.total.count).toBe(2);
    expect(report.bySpan.map((s) => s.name)).toEqual([
      SPAN.PROXY_NOTIFY, SPAN.VOTER_RECEIVE, SPAN.VOTER_BUILD, SPAN.VOTER_SIGN, SPAN.VOTER_BROADCAST,
      SPAN.PROXY_SEND, SPAN.DCRD_ACCEPT, SPAN.CLUSTER_RECORD,
    ]);
    const sign = report.bySpan.find((s) => s.name === SPAN.VOTER_SIGN)!;
    expect(sign.duration.count).toBe(3);
    expect(sign.duration.max).toBeGreaterThanOrEqual(150);
  });

  it('splits a per-block trace into one vote per (block, ticket) and falls back to proxy.send', () => {
    let n = 0;
    const rec = (name: string, parent: SpanRecord | undefined, startMs: number, durationMs: number, attributes: Record<string, unknown> = {}, traceId = 'c'.repeat(32)): SpanRecord => {
      const r: SpanRecord = { traceId, spanId: (++n).toString(16).padStart(16, '0'), name, service: 'x', startMs, durationMs, attributes, status: { code: 'unset' } };
      if (parent) r.parentSpanId = parent.spanId;
      return r;
    };
    // One proxy.notify per block (no ticket), two tickets below it; no dcrd.accept spans.
    const notify = rec(SPAN.PROXY_NOTIFY, undefined, 1000, 1, { [ATTR.BLOCK_HASH]: BLOCK, [ATTR.HEIGHT]: 7 });
    const r1 = rec(SPAN.VOTER_RECEIVE, notify, 1002, 20, { [ATTR.TICKET_HASH]: TICKETS[0] });
    const b1 = rec(SPAN.VOTER_BROADCAST, r1, 1005, 15);
    const s1 = rec(SPAN.PROXY_SEND, b1, 1006, 4, { [ATTR.OUTCOME]: 'accepted' });
    const r2 = rec(SPAN.VOTER_RECEIVE, notify, 1003, 30, { [ATTR.TICKET_HASH]: TICKETS[1] });
    const s2 = rec(SPAN.PROXY_SEND, r2, 1010, 9, { [ATTR.OUTCOME]: 'rejected' });
    // The same draw through a second proxy: another trace, same (block, ticket).
    const notifyB = rec(SPAN.PROXY_NOTIFY, undefined, 999, 1, { [ATTR.BLOCK_HASH]: BLOCK }, 'd'.repeat(32));
    const rB = rec(SPAN.VOTER_RECEIVE, notifyB, 1001, 1, { [ATTR.TICKET_HASH]: TICKETS[0] }, 'd'.repeat(32));
    const report = buildTraceReport([notify, r1, b1, s1, r2, s2, notifyB, rB]);
    expect(report.votes.map((v) => v.ticketHash)).toEqual([TICKETS[0], TICKETS[1]]);
    const [v1, v2] = report.votes;
    expect(v1!.spans.map((s) => s.name).sort()).toEqual([SPAN.PROXY_NOTIFY, SPAN.PROXY_NOTIFY, SPAN.PROXY_SEND, SPAN.VOTER_BROADCAST, SPAN.VOTER_RECEIVE, SPAN.VOTER_RECEIVE]);
    expect(v1!.traceId).toBe('d'.repeat(32)); // the earliest arrival
    expect(v1!.accepted).toBe(true);
    expect(v1!.totalMs).toBeCloseTo(1010 - 999, 9);
    expect(v1!.height).toBe(7);
    expect(v2!.accepted).toBe(false);
    expect(v2!.spans.filter((s) => s.name === SPAN.PROXY_NOTIFY)).toHaveLength(1);
  });

  it('computes nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(v)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([])).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('rejects malformed lines naming the line, or skips them when lenient', () => {
    const good: SpanRecord = {
      traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), name: 'x', service: 's', startMs: 1, durationMs: 1,
      attributes: {}, status: { code: 'unset' },
    };
    const text = `${JSON.stringify(good)}\n{"traceId":"nope"}\n{torn`;
    expect(() => parseSpanLines(text)).toThrow(SpanRecordError);
    expect(() => parseSpanLines(text)).toThrow(/line 2/);
    expect(parseSpanLines(text, { lenient: true })).toMatchObject({ skipped: 2 });
  });
});

describe('votecluster trace', () => {
  /** Runs the real CLI entry point in-process, capturing stdout/stderr. */
  const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    const { main } = await import('../../../services/cli/main.ts');
    const out: string[] = [];
    const err: string[] = [];
    const w1 = process.stdout.write.bind(process.stdout);
    const w2 = process.stderr.write.bind(process.stderr);
    process.stdout.write = ((c: string | Uint8Array) => out.push(String(c)) > 0) as typeof process.stdout.write;
    process.stderr.write = ((c: string | Uint8Array) => err.push(String(c)) > 0) as typeof process.stderr.write;
    const savedExit = process.exitCode;
    try {
      const code = await main(['trace', ...args]);
      return { code, stdout: out.join(''), stderr: err.join('') };
    } finally {
      process.stdout.write = w1;
      process.stderr.write = w2;
      process.exitCode = savedExit;
    }
  };

  it('--json prints one object per vote with the documented fields', async () => {
    const { stdout, code } = await cli('--file', file, '--json');
    expect(code).toBe(0);
    const votes = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(votes).toHaveLength(3);
    for (const v of votes) {
      expect(Object.keys(v)).toEqual(expect.arrayContaining(['traceId', 'height', 'blockHash', 'ticketHash', 'spans', 'totalMs']));
      const spans = v['spans'] as Array<Record<string, unknown>>;
      for (const s of spans) expect(Object.keys(s)).toEqual(expect.arrayContaining(['name', 'service', 'startMs', 'durationMs', 'parent']));
      expect(spans[0]).toMatchObject({ name: 'proxy.notify', service: 'voter', parent: null });
    }
    expect(votes[1]).toMatchObject({ ticketHash: TICKETS[1], height: 200, dominant: 'voter.sign' });
  });

  it('prints waterfalls and the aggregate table', async () => {
    // A torn last line (a writer killed mid-write) is skipped with a warning.
    appendFileSync(file, '{"traceId":"torn');
    const { stdout, stderr } = await cli('--file', file);
    expect(stderr).toContain('skipped 1 malformed line');
    expect(stdout).toContain(`ticket ${TICKETS[1]!.slice(0, 12)}`);
    expect(stdout).toMatch(/voter\.sign .*◀ most time/);
    expect(stdout).toContain('NOT accepted');
    expect(stdout).toMatch(/3 vote trace\(s\), 1 other trace\(s\); draw → accepted \(2 accepted\): p50/);
    expect(stdout).toMatch(/^dcrd\.accept\s+6\s/m);
  });

  it('needs --file and a well-formed --limit (exit 2)', async () => {
    for (const args of [[], ['--json'], ['--file', file, '--limit', 'x'], ['--file', file, '--limit', '-1']]) {
      const res = await cli(...args);
      expect(res.stderr, args.join(' ')).toMatch(/^votecluster trace: /);
      expect(res.code, args.join(' ')).toBe(2);
    }
  });

  it('fails with a coded error for a missing file', async () => {
    const res = await cli('--file', join(dir, 'missing.jsonl'));
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('[TELEMETRY_SPAN_FILE]');
  });
});
