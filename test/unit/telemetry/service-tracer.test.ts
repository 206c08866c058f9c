/**
 * serviceTracer: components sharing one process (the in-process demo runs
 * proxies and voters together) each stamp their own service name, region and
 * node id on their spans, while parent links cross components as usual.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { contextWithSpan, initTelemetry, parseSpanLines, serviceTracer, startSpan, SPAN } from '../../../services/telemetry/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vc-svc-tracer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('serviceTracer', () => {
  it('is a no-op before initTelemetry and stamps per-component services after it', async () => {
    const proxyTracer = serviceTracer('votecluster-proxy');
    const voterTracer = serviceTracer('votecluster-voter', { region: 'a', nodeId: 'a1' });
    expect(startSpan(SPAN.PROXY_NOTIFY, { tracer: proxyTracer, parent: null }).isRecording()).toBe(false);

    const file = join(dir, 'spans.jsonl');
    const t = await initTelemetry({ serviceName: 'votecluster-demo', traceFile: file });
    const notify = startSpan(SPAN.PROXY_NOTIFY, { tracer: proxyTracer, parent: null });
    const recv = startSpan(SPAN.VOTER_RECEIVE, { tracer: voterTracer, parent: contextWithSpan(notify) });
    const other = startSpan(SPAN.VOTER_BUILD, { parent: contextWithSpan(recv) }); // the process tracer
    other.end();
    recv.end();
    notify.end();
    await t.shutdown();

    const spans = parseSpanLines(readFileSync(file, 'utf8')).spans;
    const by = new Map(spans.map((s) => [s.name, s]));
    expect(by.get(SPAN.PROXY_NOTIFY)).toMatchObject({ service: 'votecluster-proxy' });
    expect(by.get(SPAN.PROXY_NOTIFY)?.nodeId).toBeUndefined();
    expect(by.get(SPAN.VOTER_RECEIVE)).toMatchObject({ service: 'votecluster-voter', region: 'a', nodeId: 'a1', parentSpanId: by.get(SPAN.PROXY_NOTIFY)?.spanId });
    expect(by.get(SPAN.VOTER_BUILD)).toMatchObject({ service: 'votecluster-demo', parentSpanId: by.get(SPAN.VOTER_RECEIVE)?.spanId });
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    // After shutdown: no-op again.
    expect(startSpan(SPAN.PROXY_SEND, { tracer: proxyTracer }).isRecording()).toBe(false);
  });
});
