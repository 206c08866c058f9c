import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { credentials, makeGenericClientConstructor, type ClientReadableStream } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ATTR,
  SPAN,
  extractContext,
  initTelemetry,
  injectTraceparent,
  parseSpanLines,
  startSpan,
  traceClientInterceptor,
  withSpan,
  TraceparentError,
  TelemetryConfigError,
  type SpanRecord,
  type Telemetry,
} from '../../../services/telemetry/index.ts';
import { ECHO_SERVICE, type Draw, type SendResponse } from './fixtures/echo-service.ts';

const dir = mkdtempSync(join(tmpdir(), 'vc-trace-'));
const spanFile = join(dir, 'spans.jsonl');
let child: ChildProcessWithoutNullStreams;
let lines: AsyncIterableIterator<string>;
let telemetry: Telemetry;

async function nextLine(prefix: string): Promise<string> {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error(`child exited before printing "${prefix}"`);
    if (value.startsWith(prefix)) return value;
  }
}

beforeAll(async () => {
  child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'trace-peer.ts'), spanFile], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  telemetry = await initTelemetry({ serviceName: 'voter', region: 'a', nodeId: 'voter-a1', traceFile: spanFile });
});

afterAll(async () => {
  await telemetry?.shutdown();
  if (child && child.exitCode === null) child.kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('tracing across processes over real gRPC', () => {
  it('joins one trace per draw from proxy.notify to dcrd.accept, across two processes', async () => {
    const port = Number((await nextLine('port ')).split(' ')[1]);
    const Client = makeGenericClientConstructor(ECHO_SERVICE, 'Echo');
    const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), { interceptors: [traceClientInterceptor] });
    const send = (ticketHash: string): Promise<SendResponse> =>
      new Promise((resolve, reject) =>
        client['send']!({ ticketHash }, (err: Error | null, res: SendResponse) => (err ? reject(err) : resolve(res))),
      );
    const stream = client['watch']!({}) as ClientReadableStream<Draw>;
    const outcomes: string[] = [];
    const work: Promise<void>[] = [];
    stream.on('data', (d: Draw) => {
      // The voter: each draw's span continues the trace named inside the message.
      const parent = extractContext(d.traceparent, { strict: true });
      work.push(
        withSpan(SPAN.VOTER_RECEIVE, { [ATTR.TICKET_HASH]: d.ticketHash }, async () => {
          withSpan(SPAN.VOTER_SIGN, { [ATTR.TICKET_HASH]: d.ticketHash, wif: 'PsSECRETWIF' }, () => 'sig');
          await withSpan(SPAN.VOTER_BROADCAST, { [ATTR.FANOUT]: 1 }, async () => {
            outcomes.push((await send(d.ticketHash)).outcome);
          });
        }, { parent }),
      );
    });
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    await Promise.all(work);
    expect(outcomes).toEqual(['accepted', 'accepted']);
    client.close();

    await telemetry.forceFlush();
    child.stdin.write('stop\n');
    await nextLine('stopped');

    const { spans } = parseSpanLines(readFileSync(spanFile, 'utf8'));
    const traces = new Map<string, SpanRecord[]>();
    for (const s of spans) traces.set(s.traceId, [...(traces.get(s.traceId) ?? []), s]);
    expect(traces.size).toBe(2); // one trace per (block, ticket)
    for (const trace of traces.values()) {
      const by = (name: string): SpanRecord => {
        const s = trace.find((x) => x.name === name);
        expect(s, name).toBeDefined();
        return s!;
      };
      const notify = by(SPAN.PROXY_NOTIFY);
      const receive = by(SPAN.VOTER_RECEIVE);
      const sign = by(SPAN.VOTER_SIGN);
      const broadcast = by(SPAN.VOTER_BROADCAST);
      const proxySend = by(SPAN.PROXY_SEND);
      const accept = by(SPAN.DCRD_ACCEPT);
      expect(trace).toHaveLength(6);
      expect(notify.parentSpanId).toBeUndefined();
      expect(receive.parentSpanId).toBe(notify.spanId); // stream message → voter
      expect(sign.parentSpanId).toBe(receive.spanId);
      expect(broadcast.parentSpanId).toBe(receive.spanId);
      expect(proxySend.parentSpanId).toBe(broadcast.spanId); // gRPC metadata → proxy
      expect(accept.parentSpanId).toBe(proxySend.spanId);
      expect([notify.service, proxySend.service, accept.service]).toEqual(['nodeproxy', 'nodeproxy', 'nodeproxy']);
      expect([receive.service, sign.service, broadcast.service]).toEqual(['voter', 'voter', 'voter']);
      expect(notify.region).toBe('b');
      expect(receive.nodeId).toBe('voter-a1');
      expect(notify.attributes[ATTR.TICKET_HASH]).toBe(receive.attributes[ATTR.TICKET_HASH]);
      // Allow-list: the WIF passed as an attribute never reached the file.
      expect(Object.keys(sign.attributes)).toEqual([ATTR.TICKET_HASH]);
    }
    expect(readFileSync(spanFile, 'utf8')).not.toContain('PsSECRETWIF');
  });
});

describe('trace context helpers', () => {
  it('injects and extracts W3C traceparent', () => {
    const span = startSpan(SPAN.PROXY_NOTIFY, { parent: null });
    const ctx = extractContext(undefined);
    const tp = withSpan('x', {}, () => injectTraceparent(), { parent: null });
    expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const child = startSpan(SPAN.VOTER_RECEIVE, { parent: tp! });
    expect(child.spanContext().traceId).toBe(tp!.split('-')[1]);
    child.end();
    span.end();
    expect(ctx).toBeDefined();
  });

  it('treats a malformed traceparent as untrusted input', () => {
    expect(() => extractContext('00-zz-11', { strict: true })).toThrow(TraceparentError);
    // Lenient (default): ignored, the span becomes a new root.
    const s = startSpan(SPAN.VOTER_RECEIVE, { parent: extractContext('garbage') });
    expect(s.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    s.end();
  });

  it('records errors with their code and rethrows', async () => {
    const err = Object.assign(new Error('no'), { code: 'VOTER_X' });
    await expect(withSpan('y', {}, async () => { throw err; })).rejects.toBe(err);
    expect(() => withSpan('z', {}, () => { throw err; })).toThrow(err);
  });

  it('refuses a second initTelemetry in one process and bad endpoints', async () => {
    await expect(initTelemetry({ serviceName: 'voter', traceFile: join(dir, 'other.jsonl') })).rejects.toBeInstanceOf(TelemetryConfigError);
    await expect(initTelemetry({ serviceName: '' })).rejects.toMatchObject({ code: 'TELEMETRY_CONFIG' });
    const off = await initTelemetry({ serviceName: 'voter', enabled: false });
    expect(off.enabled).toBe(false);
  });
});
