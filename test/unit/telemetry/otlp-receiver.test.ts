/**
 * OTLP receive: the real OTLP/gRPC exporter of the SDK (what a service
 * started with an OTLP endpoint uses, via initTelemetry) exports real spans
 * over loopback to the receiver behind `votecluster trace --otlp-listen`, and
 * the trace report shows the vote: same ids, names, services, parents and
 * times as the spans the SDK ended (an in-memory copy of the same spans is the
 * reference).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ATTR, SPAN, buildTraceReport, contextWithSpan, injectTraceparent, startOtlpReceiver, startSpan, toSpanRecord, traceparentOf,
  OtlpReceiverError, type OtlpReceiver,
} from '../../../services/telemetry/index.ts';
import { waitFor } from '../../harness/wait-for.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BLOCK = 'cd'.repeat(32);
const TICKET = '5a'.repeat(32);

/** A provider per service (as in production: one resource per process) exporting over OTLP to `url`, plus an in-memory copy. */
function providers(url: string): { proxy: BasicTracerProvider; voter: BasicTracerProvider; copy: InMemorySpanExporter } {
  const copy = new InMemorySpanExporter();
  const make = (attrs: Record<string, string>): BasicTracerProvider => new BasicTracerProvider({
    resource: resourceFromAttributes(attrs),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 50 }), new SimpleSpanProcessor(copy)],
  });
  return {
    proxy: make({ 'service.name': 'votecluster-proxy', 'votecluster.region': 'a' }),
    voter: make({ 'service.name': 'votecluster-voter', 'votecluster.region': 'a', 'votecluster.node_id': 'v1' }),
    copy,
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

const key = (s: { traceId: string; spanId: string }): string => `${s.traceId}/${s.spanId}`;

describe('OTLP receiver', () => {
  const open: Array<{ stop(): Promise<void> } | { shutdown(): Promise<void> }> = [];
  afterAll(async () => {
    for (const o of open.reverse()) await ('stop' in o ? o.stop() : o.shutdown());
  });

  it('receives real OTLP/gRPC exports over loopback and reports the vote', async () => {
    const receiver: OtlpReceiver = await startOtlpReceiver({ port: 0 });
    open.push(receiver);
    expect(receiver.address).toMatch(/^127\.0\.0\.1:\d+$/);
    const p = providers(`http://${receiver.address}`);
    open.push(p.proxy, p.voter);
    vote(p);
    await Promise.all([p.proxy.forceFlush(), p.voter.forceFlush()]);
    const sent: ReadableSpan[] = p.copy.getFinishedSpans();
    expect(sent).toHaveLength(6);
    await waitFor(() => receiver.spans.length === 6, { timeoutMs: 10_000, message: 'six spans received' });
    // Exactly what the SDK ended, record for record (times to the µs).
    const byKey = new Map(receiver.spans.map((s) => [key(s), s]));
    for (const s of sent.map(toSpanRecord)) {
      const got = byKey.get(key(s));
      expect(got, s.name).toBeDefined();
      expect({ ...got!, startMs: 0, durationMs: 0 }).toEqual({ ...s, startMs: 0, durationMs: 0 });
      expect(Math.abs(got!.startMs - s.startMs)).toBeLessThan(0.002);
      expect(Math.abs(got!.durationMs - s.durationMs)).toBeLessThan(0.002);
    }
    const report = buildTraceReport(receiver.spans);
    expect(report.votes).toHaveLength(1);
    const v = report.votes[0]!;
    expect(v).toMatchObject({ height: 321, blockHash: BLOCK, ticketHash: TICKET, accepted: true });
    const parentOf = Object.fromEntries(v.spans.map((s) => [s.name, s.parent]));
    expect(parentOf).toEqual({
      [SPAN.PROXY_NOTIFY]: null, [SPAN.VOTER_RECEIVE]: SPAN.PROXY_NOTIFY, [SPAN.VOTER_SIGN]: SPAN.VOTER_RECEIVE,
      [SPAN.VOTER_BROADCAST]: SPAN.VOTER_RECEIVE, [SPAN.PROXY_SEND]: SPAN.VOTER_BROADCAST, [SPAN.DCRD_ACCEPT]: SPAN.PROXY_SEND,
    });
    expect(v.spans.find((s) => s.name === SPAN.VOTER_SIGN)?.service).toBe('votecluster-voter');
    expect(receiver.stats()).toMatchObject({ accepted: 6, rejected: 0, dropped: 0 });
  });

  it('refuses an address it cannot bind with a coded error', async () => {
    const a = await startOtlpReceiver({ port: 0 });
    open.push(a);
    const port = Number(a.address.split(':')[1]);
    await expect(startOtlpReceiver({ port })).rejects.toBeInstanceOf(OtlpReceiverError);
    await expect(startOtlpReceiver({ host: '203.0.113.1', port: 0 })).rejects.toMatchObject({ code: 'TELEMETRY_OTLP_RECEIVER' });
  });

  it('`votecluster trace --otlp-listen` collects until SIGINT and prints the report', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/votecluster.ts', 'trace', '--otlp-listen', '127.0.0.1:0', '--json'], {
      cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    try {
      const address = await waitFor(() => {
        if (child.exitCode !== null) throw new Error(`trace exited: ${stderr}`);
        return /receiving OTLP on (\S+)/.exec(stderr)?.[1];
      }, { timeoutMs: 30_000, message: 'receiver address on stderr' });
      const p = providers(`http://${address}`);
      vote(p);
      await Promise.all([p.proxy.forceFlush(), p.voter.forceFlush()]);
      await Promise.all([p.proxy.shutdown(), p.voter.shutdown()]);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/export request\(s\), 6 span\(s\)\n/);
      const votes = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(votes).toHaveLength(1);
      expect(votes[0]).toMatchObject({ height: 321, blockHash: BLOCK, ticketHash: TICKET, accepted: true });
      expect((votes[0]!['spans'] as unknown[]).length).toBe(6);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 60_000);
});
