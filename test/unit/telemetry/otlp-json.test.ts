/**
 * OTLP/JSON input of the trace report: spans ended by the real OpenTelemetry
 * SDK, serialised by the SDK's own OTLP/JSON serialiser (what its OTLP/HTTP
 * JSON exporter sends, and the line format of the OpenTelemetry Collector's
 * `file` exporter), read back by `parseSpanLines` and by `votecluster trace
 * --file`, give exactly the span records the SDK ended; hostile OTLP/JSON
 * never throws and is counted, not trusted.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ATTR, SPAN, SpanRecordError, buildTraceReport, contextWithSpan, injectTraceparent, otlpToSpanRecords, parseSpanLines,
  startSpan, toSpanRecord, traceparentOf,
} from '../../../services/telemetry/index.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BLOCK = 'cd'.repeat(32);
const TICKET = '5a'.repeat(32);

/** One provider per service, as in production (one resource per process). */
function providers(): { proxy: BasicTracerProvider; voter: BasicTracerProvider; proxySpans: InMemorySpanExporter; voterSpans: InMemorySpanExporter } {
  const proxySpans = new InMemorySpanExporter();
  const voterSpans = new InMemorySpanExporter();
  return {
    proxy: new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'votecluster-proxy', 'votecluster.region': 'a' }),
      spanProcessors: [new SimpleSpanProcessor(proxySpans)],
    }),
    voter: new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'votecluster-voter', 'votecluster.region': 'a', 'votecluster.node_id': 'v1' }),
      spanProcessors: [new SimpleSpanProcessor(voterSpans)],
    }),
    proxySpans,
    voterSpans,
  };
}

/** One vote's spans, proxy and voter, parented through traceparent strings as across processes. */
function vote(p: ReturnType<typeof providers>): void {
  const proxy = p.proxy.getTracer('votecluster');
  const voter = p.voter.getTracer('votecluster');
  const notify = startSpan(SPAN.PROXY_NOTIFY, { tracer: proxy, parent: null, attributes: { [ATTR.HEIGHT]: 321, [ATTR.BLOCK_HASH]: BLOCK, [ATTR.TICKET_HASH]: TICKET } });
  const tp = traceparentOf(notify);
  notify.end();
  const recv = startSpan(SPAN.VOTER_RECEIVE, { tracer: voter, parent: tp ?? null, attributes: { [ATTR.TICKET_HASH]: TICKET } });
  const sign = startSpan(SPAN.VOTER_SIGN, { tracer: voter, parent: contextWithSpan(recv) });
  sign.end();
  const bc = startSpan(SPAN.VOTER_BROADCAST, { tracer: voter, parent: contextWithSpan(recv) });
  const send = startSpan(SPAN.PROXY_SEND, { tracer: proxy, parent: injectTraceparent(contextWithSpan(bc)) ?? null });
  const accept = startSpan(SPAN.DCRD_ACCEPT, { tracer: proxy, parent: contextWithSpan(send), attributes: { [ATTR.OUTCOME]: 'accepted' } });
  accept.end();
  send.end();
  bc.end();
  recv.end();
}

/** One OTLP/JSON line per service, as a Collector's file exporter writes a batch per line. */
function otlpLines(p: ReturnType<typeof providers>): { lines: string; ended: ReadableSpan[] } {
  const proxy = p.proxySpans.getFinishedSpans();
  const voter = p.voterSpans.getFinishedSpans();
  const line = (spans: ReadableSpan[]): string => new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans)!);
  return { lines: `${line(proxy)}\n${line(voter)}\n`, ended: [...proxy, ...voter] };
}

const key = (s: { traceId: string; spanId: string }): string => `${s.traceId}/${s.spanId}`;

describe('OTLP/JSON spans in the trace report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'votecluster-otlp-json-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the SDK\'s OTLP/JSON as exactly the spans it ended, and reports the vote', () => {
    const p = providers();
    vote(p);
    const { lines, ended } = otlpLines(p);
    expect(ended).toHaveLength(6);
    const { spans, skipped } = parseSpanLines(lines);
    expect(skipped).toBe(0);
    expect(spans).toHaveLength(6);
    const byKey = new Map(spans.map((s) => [key(s), s]));
    for (const s of ended.map(toSpanRecord)) {
      const got = byKey.get(key(s));
      expect(got, s.name).toBeDefined();
      expect({ ...got!, startMs: 0, durationMs: 0 }).toEqual({ ...s, startMs: 0, durationMs: 0 });
      expect(Math.abs(got!.startMs - s.startMs)).toBeLessThan(0.002);
      expect(Math.abs(got!.durationMs - s.durationMs)).toBeLessThan(0.002);
    }
    const report = buildTraceReport(spans);
    expect(report.votes).toHaveLength(1);
    expect(report.votes[0]).toMatchObject({ height: 321, blockHash: BLOCK, ticketHash: TICKET, accepted: true });
    const parentOf = Object.fromEntries(report.votes[0]!.spans.map((s) => [s.name, s.parent]));
    expect(parentOf).toEqual({
      [SPAN.PROXY_NOTIFY]: null, [SPAN.VOTER_RECEIVE]: SPAN.PROXY_NOTIFY, [SPAN.VOTER_SIGN]: SPAN.VOTER_RECEIVE,
      [SPAN.VOTER_BROADCAST]: SPAN.VOTER_RECEIVE, [SPAN.PROXY_SEND]: SPAN.VOTER_BROADCAST, [SPAN.DCRD_ACCEPT]: SPAN.PROXY_SEND,
    });
  });

  it('a span that is not a valid record fails the line when strict, and is counted when lenient', () => {
    const bad = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'AAAA', spanId: 'zz', name: '', startTimeUnixNano: '2', endTimeUnixNano: '1' }] }] }],
    });
    expect(() => parseSpanLines(bad)).toThrow(SpanRecordError);
    expect(parseSpanLines(bad, { lenient: true })).toEqual({ spans: [], skipped: 1 });
  });

  it('never throws on hostile OTLP/JSON; whatever it accepts is a valid span record', () => {
    const anyJson = fc.jsonValue({ maxDepth: 6 });
    const span = fc.record({
      traceId: fc.oneof(fc.stringMatching(/^[0-9a-f]{32}$/), anyJson),
      spanId: fc.oneof(fc.stringMatching(/^[0-9a-f]{16}$/), anyJson),
      parentSpanId: fc.oneof(fc.stringMatching(/^[0-9a-f]{16}$/), anyJson),
      name: fc.oneof(fc.string(), anyJson),
      startTimeUnixNano: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), anyJson),
      endTimeUnixNano: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }).map(String), anyJson),
      attributes: fc.oneof(fc.array(fc.record({ key: fc.oneof(fc.string(), anyJson), value: anyJson })), anyJson),
      status: anyJson,
    }, { requiredKeys: [] });
    const request = fc.record({
      resourceSpans: fc.array(fc.oneof(
        anyJson,
        fc.record({ resource: anyJson, scopeSpans: fc.oneof(anyJson, fc.array(fc.oneof(anyJson, fc.record({ spans: fc.oneof(anyJson, fc.array(fc.oneof(span, anyJson))) })))) }),
      )),
    });
    fc.assert(fc.property(request, (req) => {
      const { spans, rejected } = otlpToSpanRecords(req as Parameters<typeof otlpToSpanRecords>[0]);
      expect(rejected).toBeGreaterThanOrEqual(0);
      for (const s of spans) {
        expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(s.durationMs).toBeGreaterThanOrEqual(0);
      }
      // The same request as a file line takes the same path and never crashes the reader.
      expect(() => parseSpanLines(JSON.stringify(req), { lenient: true })).not.toThrow();
    }), { numRuns: Number(process.env['FUZZ_RUNS'] ?? 300) });
  });

  it('`votecluster trace --file` reports a vote from a Collector file-exporter file', async () => {
    const p = providers();
    vote(p);
    const file = join(dir, 'collector.json');
    writeFileSync(file, otlpLines(p).lines);
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/votecluster.ts', 'trace', '--file', file, '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code, stderr).toBe(0);
    const votes = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(votes).toHaveLength(1);
    expect(votes[0]).toMatchObject({ height: 321, blockHash: BLOCK, ticketHash: TICKET, accepted: true });
    expect((votes[0]!['spans'] as unknown[]).length).toBe(6);
  }, 60_000);
});
