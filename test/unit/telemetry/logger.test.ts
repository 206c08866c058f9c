import { inspect } from 'node:util';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, SecretKey, REDACTED } from '../../../services/telemetry/index.ts';

/** A pino destination collecting parsed lines. */
function sink(): { stream: Writable; lines: Array<Record<string, unknown>>; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return {
    stream,
    get lines() {
      return chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => chunks.join(''),
  };
}

// A real simnet WIF shape (not a funded key): must never appear in output.
const WIF = 'PsURoUb7FMeJQdTYea8pkbUQFBZAsxtfDcfTLGja5sCLZvLZWRtjK';

describe('createLogger', () => {
  it('redacts secret fields at any of the first three levels and SecretKey values anywhere', () => {
    const out = sink();
    const log = createLogger({ service: 'voter', region: 'a', nodeId: 'a1', destination: out.stream });
    const key = new SecretKey(new Uint8Array(32).fill(7));
    log.child({ component: 'sign' }).info(
      {
        wif: WIF,
        ticket: { hash: 'ab', privKey: 'deadbeef', deeper: { wif: WIF } },
        cfg: { clusterKey: 'k', rpc: { password: 'pw' } },
        authorization: 'Basic dXNlcjpwYXNz',
        key,
        list: [key],
      },
      'signed vote',
    );
    const text = out.text();
    expect(text).not.toContain(WIF);
    expect(text).not.toContain('deadbeef');
    expect(text).not.toContain('dXNlcjpwYXNz');
    expect(text).not.toContain('"pw"');
    expect(text).not.toContain('7,7,7');
    const line = out.lines[0]!;
    expect(line['wif']).toBe(REDACTED);
    expect(line['key']).toBe(REDACTED);
    expect(line['list']).toEqual([REDACTED]);
    expect(line['authorization']).toBe(REDACTED);
    expect((line['ticket'] as Record<string, unknown>)['privKey']).toBe(REDACTED);
    expect((line['cfg'] as Record<string, Record<string, unknown>>)['rpc']!['password']).toBe(REDACTED);
    expect(line).toMatchObject({ service: 'voter', region: 'a', nodeId: 'a1', component: 'sign', msg: 'signed vote' });
  });

  it('serializes errors with their code', () => {
    const out = sink();
    const log = createLogger({ service: 'nodeproxy', destination: out.stream });
    const err = Object.assign(new Error('dcrd went away'), { code: 'NODEPROXY_DCRD_DOWN' });
    log.warn({ err }, 'dcrd session lost');
    expect(out.lines[0]!['err']).toMatchObject({ message: 'dcrd went away', code: 'NODEPROXY_DCRD_DOWN', type: 'Error' });
  });

  it('respects the level', () => {
    const out = sink();
    const log = createLogger({ service: 'voter', level: 'warn', destination: out.stream });
    log.info('hidden');
    log.warn('shown');
    expect(out.lines.map((l) => l['msg'])).toEqual(['shown']);
  });
});

describe('SecretKey', () => {
  it('prints as [redacted] in every form and exposes bytes only explicitly', () => {
    const bytes = Uint8Array.from([1, 2, 3, 250]);
    const k = new SecretKey(bytes);
    bytes.fill(0); // the SecretKey holds its own copy
    expect(JSON.stringify({ k })).toBe('{"k":"[redacted]"}');
    expect(String(k)).toBe(REDACTED);
    expect(`${k}`).toBe(REDACTED);
    expect(inspect(k)).not.toContain('250');
    expect(inspect({ nested: k })).toContain(REDACTED);
    expect(Array.from(k.expose())).toEqual([1, 2, 3, 250]);
    expect(k.length).toBe(4);
  });

  it('wipe() zeroes the bytes and later expose() throws', () => {
    const k = new SecretKey(Uint8Array.from([9, 9]));
    const view = k.expose();
    k.wipe();
    expect(Array.from(view)).toEqual([0, 0]);
    expect(k.isWiped).toBe(true);
    expect(() => k.expose()).toThrow(TypeError);
  });
});
