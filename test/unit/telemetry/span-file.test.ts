/**
 * The span file exporter keeps JSON work off the caller (BatchSpanProcessor
 * calls export() from a vote's span.end() when a batch fills) and cuts a large
 * batch into chunks, one per event-loop turn; the synchronous context manager
 * (tracing's default) scopes the active context to the synchronous part of
 * `context.with`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSpanExporter, SyncContextManager, parseSpanLines, SpanFileError } from '../../../services/telemetry/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vc-spanfile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function realSpans(n: number): ReadableSpan[] {
  const mem = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(mem)] });
  const t = provider.getTracer('test');
  for (let i = 0; i < n; i++) t.startSpan(`s${i}`, { attributes: { 'votecluster.height': i } }).end();
  return mem.getFinishedSpans();
}

describe('FileSpanExporter', () => {
  it('serialises nothing inside export() and writes a batch in chunks, one per event-loop turn', async () => {
    const spans = realSpans(200);
    const path = join(dir, 'chunks.jsonl');
    const ex = new FileSpanExporter(path, { chunkSpans: 64 });
    let turns = 0;
    let counting = true;
    const tick = (): void => {
      turns++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const linesAtReturn: number[] = [];
    const done = new Promise<number>((resolve) => ex.export(spans, (r) => resolve(r.code)));
    // Nothing is written (or serialised) before export() returns.
    linesAtReturn.push(readFileSync(path, 'utf8').length);
    expect(await done).toBe(0);
    counting = false;
    expect(linesAtReturn).toEqual([0]);
    // 4 chunks (64+64+64+8), each after its own setImmediate: the loop turned at least that often.
    expect(turns).toBeGreaterThanOrEqual(4);
    const { spans: recs } = parseSpanLines(readFileSync(path, 'utf8'));
    expect(recs.map((r) => r.name)).toEqual(spans.map((s) => s.name));
    await ex.shutdown();
  });

  it('keeps batches in order and fails cleanly after shutdown; refuses a bad chunk size', async () => {
    const path = join(dir, 'order.jsonl');
    const ex = new FileSpanExporter(path, { chunkSpans: 3 });
    const a = realSpans(7);
    const b = realSpans(5);
    const results = await Promise.all([a, b].map((batch) => new Promise<number>((resolve) => ex.export(batch, (r) => resolve(r.code)))));
    expect(results).toEqual([0, 0]);
    expect(parseSpanLines(readFileSync(path, 'utf8')).spans.map((r) => r.name)).toEqual([...a, ...b].map((s) => s.name));
    await ex.shutdown();
    const after = await new Promise<{ code: number; error?: Error }>((resolve) => ex.export(a, resolve));
    expect(after.code).toBe(1);
    expect(after.error).toBeInstanceOf(SpanFileError);
    expect(() => new FileSpanExporter(join(dir, 'x.jsonl'), { chunkSpans: 0 })).toThrow(SpanFileError);
  });
});

describe('SyncContextManager', () => {
  const span = realSpans(1)[0]!;
  const key = Symbol('k');
  it('makes a context active inside with() (nested calls stack) and restores it', () => {
    const m = new SyncContextManager();
    const outer = ROOT_CONTEXT.setValue(key, 'outer');
    const inner = ROOT_CONTEXT.setValue(key, 'inner');
    const seen: unknown[] = [];
    m.with(outer, () => {
      seen.push(m.active().getValue(key));
      m.with(inner, () => seen.push(m.active().getValue(key)));
      seen.push(m.active().getValue(key));
    });
    seen.push(m.active().getValue(key));
    expect(seen).toEqual(['outer', 'inner', 'outer', undefined]);
    // A throw restores the previous context too.
    expect(() => m.with(outer, () => { throw new Error('x'); })).toThrow('x');
    expect(m.active()).toBe(ROOT_CONTEXT);
  });

  it('scopes the context to the synchronous part of an async function; bind() carries it', async () => {
    const m = new SyncContextManager();
    const ctx = trace.setSpan(ROOT_CONTEXT, trace.wrapSpanContext(span.spanContext()));
    let before: string | undefined;
    let after: string | undefined;
    await m.with(ctx, async () => {
      before = trace.getSpanContext(m.active())?.spanId;
      await null;
      after = trace.getSpanContext(m.active())?.spanId;
    });
    expect(before).toBe(span.spanContext().spanId);
    expect(after).toBeUndefined();
    const bound = m.bind(ctx, () => trace.getSpanContext(m.active())?.spanId);
    expect(bound()).toBe(span.spanContext().spanId);
  });
});
