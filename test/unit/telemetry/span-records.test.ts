/**
 * Span records of a vote path: with tracing on, spans made by `startSpan`,
 * `withSpan` and every `serviceTracer` reach the span file with their service
 * per component, parent links, sub-ms times, allow-listed attributes and status.
 * Unsampled parents stay unrecorded; a non-default OTEL_TRACES_SAMPLER is honoured.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  ATTR, SPAN, contextWithSpan, initTelemetry, injectTraceparent, parseSpanLines, recordError, serviceTracer, startSpan, withSpan,
  type Telemetry,
} from '../../../services/telemetry/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vc-span-records-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let tel: Telemetry | undefined;
afterEach(async () => {
  await tel?.shutdown();
  tel = undefined;
  delete process.env['OTEL_TRACES_SAMPLER'];
});

const TICKET = 'cd'.repeat(32);

describe('span records', () => {
  it('records a vote path: services, parents, times, attributes, status', async () => {
    const file = join(dir, 'vote.jsonl');
    tel = await initTelemetry({ serviceName: 'votecluster-demo', traceFile: file });
    const proxy = serviceTracer('votecluster-proxy');
    const voter = serviceTracer('votecluster-voter', { region: 'a', nodeId: 'a1' });
    const drawnAt = Date.now() - 5;
    const notify = startSpan(SPAN.PROXY_NOTIFY, { tracer: proxy, parent: null, startTime: drawnAt, attributes: { [ATTR.TICKET_HASH]: TICKET, secret: 'x' } });
    expect(notify.isRecording()).toBe(true);
    const tp = injectTraceparent(contextWithSpan(notify));
    const recv = startSpan(SPAN.VOTER_RECEIVE, { tracer: voter, parent: tp ?? null, attributes: { [ATTR.HEIGHT]: 7 } });
    const build = startSpan(SPAN.VOTER_BUILD, { tracer: voter, parent: contextWithSpan(recv) });
    build.setAttribute(ATTR.ETCD_REVISION, 42);
    recordError(build, Object.assign(new Error('boom'), { code: 'VOTER_BUILD' }));
    build.end();
    build.end(); // second end ignored
    build.setAttribute(ATTR.OUTCOME, 'late'); // after end: ignored
    const other = await withSpan(SPAN.VOTER_SIGN, undefined, async () => 1, { parent: contextWithSpan(recv) }); // the process tracer
    expect(other).toBe(1);
    recv.setStatus({ code: SpanStatusCode.OK });
    recv.setStatus({ code: SpanStatusCode.ERROR, message: 'no' }); // OK is final
    recv.end();
    notify.end();
    expect(notify.isRecording()).toBe(false);
    await tel.shutdown();

    const spans = parseSpanLines(readFileSync(file, 'utf8')).spans;
    const by = new Map(spans.map((s) => [s.name, s]));
    expect(spans).toHaveLength(4);
    const n = by.get(SPAN.PROXY_NOTIFY)!;
    expect(n).toMatchObject({ service: 'votecluster-proxy', attributes: { [ATTR.TICKET_HASH]: TICKET } });
    expect(n.attributes['secret']).toBeUndefined();
    expect(n.parentSpanId).toBeUndefined();
    expect(Math.abs(n.startMs - drawnAt)).toBeLessThan(0.001);
    expect(n.durationMs).toBeGreaterThanOrEqual(5);
    const r = by.get(SPAN.VOTER_RECEIVE)!;
    expect(r).toMatchObject({ service: 'votecluster-voter', region: 'a', nodeId: 'a1', parentSpanId: n.spanId, traceId: n.traceId, status: { code: 'ok' } });
    expect(r.startMs % 1).not.toBe(0); // sub-millisecond start (a coincidence of 1e-12 aside)
    const b = by.get(SPAN.VOTER_BUILD)!;
    expect(b).toMatchObject({
      parentSpanId: r.spanId, attributes: { [ATTR.ETCD_REVISION]: 42, 'votecluster.error_code': 'VOTER_BUILD' },
      status: { code: 'error', message: 'Error VOTER_BUILD' },
    });
    expect(b.attributes[ATTR.OUTCOME]).toBeUndefined();
    expect(b.startMs).toBeGreaterThanOrEqual(r.startMs);
    expect(by.get(SPAN.VOTER_SIGN)).toMatchObject({ service: 'votecluster-demo', parentSpanId: r.spanId });
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(4);
    for (const s of spans) expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
  });

  it('does not record under an unsampled parent, and propagates its trace', async () => {
    const file = join(dir, 'unsampled.jsonl');
    tel = await initTelemetry({ serviceName: 'voter', traceFile: file });
    const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const s = startSpan(SPAN.VOTER_RECEIVE, { tracer: serviceTracer('votecluster-voter'), parent });
    expect(s.isRecording()).toBe(false);
    expect(s.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    s.end();
    await tel.shutdown();
    expect(readFileSync(file, 'utf8')).toBe('');
  });

  it('a service tracer stamps its node id, and a non-default OTEL_TRACES_SAMPLER is honoured', async () => {
    const file = join(dir, 'sdk.jsonl');
    tel = await initTelemetry({ serviceName: 'voter', traceFile: file });
    const s = startSpan(SPAN.VOTER_BUILD, { tracer: serviceTracer('votecluster-voter', { nodeId: 'n' }), parent: null });
    expect(s.isRecording()).toBe(true);
    s.end();
    await tel.shutdown();
    expect(parseSpanLines(readFileSync(file, 'utf8')).spans).toMatchObject([{ name: SPAN.VOTER_BUILD, service: 'votecluster-voter', nodeId: 'n' }]);

    process.env['OTEL_TRACES_SAMPLER'] = 'always_off';
    tel = await initTelemetry({ serviceName: 'voter', traceFile: join(dir, 'off.jsonl') });
    const off = startSpan(SPAN.VOTER_BUILD, { tracer: serviceTracer('votecluster-voter'), parent: null });
    expect(off.isRecording()).toBe(false);
    expect(trace.isSpanContextValid(off.spanContext())).toBe(true);
    off.end();
  });
});
