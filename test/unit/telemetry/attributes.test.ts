import { describe, expect, it } from 'vitest';
import { InMemorySpanExporter, SimpleSpanProcessor, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { ATTR, SPAN, SPAN_NAMES, SecretKey, filterAttributes, setAttributes, ALLOWED_ATTRIBUTES } from '../../../services/telemetry/index.ts';

describe('attribute allow-list', () => {
  it('keeps allow-listed primitives and drops everything else', () => {
    const key = new SecretKey(new Uint8Array(32));
    const out = filterAttributes({
      [ATTR.HEIGHT]: 42,
      [ATTR.BLOCK_HASH]: 'ab'.repeat(32),
      [ATTR.STRATEGY]: 'lease',
      [ATTR.RANK]: 1n,
      [ATTR.OUTCOME]: { nested: 'object' },
      [ATTR.PROXY]: new Uint8Array([1, 2]),
      [ATTR.NODE_ID]: key,
      [ATTR.REGION]: 'x'.repeat(1000),
      wif: 'PsSecret',
      privKey: 'deadbeef',
      'votecluster.wif': 'PsSecret',
      password: 'pw',
    });
    expect(out).toEqual({ [ATTR.HEIGHT]: 42, [ATTR.BLOCK_HASH]: 'ab'.repeat(32), [ATTR.STRATEGY]: 'lease', [ATTR.RANK]: 1 });
  });

  it('filters on a real span', () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const span = provider.getTracer('t').startSpan(SPAN.VOTER_SIGN);
    setAttributes(span, { [ATTR.TICKET_HASH]: 'cd'.repeat(32), clusterKey: 'secret', wif: 'PsX' });
    span.end();
    const [s] = exporter.getFinishedSpans();
    expect(s!.attributes).toEqual({ [ATTR.TICKET_HASH]: 'cd'.repeat(32) });
  });

  it('names every span <service>.<step> and every attribute in the votecluster namespace', () => {
    expect(SPAN_NAMES).toEqual([
      'proxy.notify', 'voter.receive', 'voter.inputs', 'voter.hedge', 'voter.build', 'voter.sign', 'voter.broadcast',
      'proxy.send', 'dcrd.accept', 'cluster.record', 'cluster.takeover',
    ]);
    for (const a of ALLOWED_ATTRIBUTES) expect(a).toMatch(/^(votecluster|rpc)\.[a-z_]+$/);
    for (const a of ALLOWED_ATTRIBUTES) expect(a).not.toMatch(/wif|key|pass|secret/);
  });
});
