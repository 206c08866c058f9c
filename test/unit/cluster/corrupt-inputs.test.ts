/**
 * Reading the cluster tip and vote-input histories from bytes (no etcd): which states of the
 * three tip keys refuse a guarded write and which need a repair; which damaged histories are
 * dropped (the rest of the record kept) and which values are refused as a whole.
 */
import type { IKeyValue } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { guardTip, showValue, tipState } from '../../../services/cluster/chain-tip.ts';
import { parseVoteDefaults } from '../../../services/cluster/config-store.ts';
import { ChainTipCorruptError, CorruptValueError } from '../../../services/cluster/errors.ts';
import { Keyspace, padHeight } from '../../../services/cluster/keyspace.ts';
import { parseTicketRecord } from '../../../services/cluster/ticket-record.ts';

const ks = new Keyspace('simnet');
const kv = (value: string | undefined, rev = 7): IKeyValue | undefined =>
  value === undefined ? undefined : ({ key: Buffer.from('k'), value: Buffer.from(value), mod_revision: String(rev), create_revision: '1', version: '1', lease: '0' } as IKeyValue);
const three = (a?: string, b?: string, c?: string) => [kv(a), kv(b), kv(c)];

describe('the three tip keys', () => {
  it('consistent heights, or all absent (no tip yet): no problem; the tip guards writes', () => {
    const h = padHeight(42);
    expect(tipState(ks, three(h, h, h))).toMatchObject({ tip: 42, problem: undefined, highest: 42 });
    expect(guardTip(ks, three(h, h, h))).toBe(42);
    expect(tipState(ks, three())).toMatchObject({ tip: undefined, problem: undefined, highest: -1 });
    expect(guardTip(ks, three())).toBeUndefined();
  });

  it.each([
    ['not a height', '{"h":42}', 'corrupt'],
    ['too short (sorts below every height)', '000042', 'corrupt'],
    ['empty', '', 'corrupt'],
    ['negative', '-000000042', 'corrupt'],
    ['eleven digits', '00000000042', 'corrupt'],
  ])('a tip that is %s refuses the write, naming the key, and needs a repair from the markers', (_what, value, problem) => {
    const h = padHeight(42);
    const s = tipState(ks, three(value, h, h));
    expect(s).toMatchObject({ tip: undefined, problem, badKey: ks.chainTip(), highest: 42 });
    const err = (() => { try { guardTip(ks, three(value, h, h)); } catch (e) { return e; } })();
    expect(err).toBeInstanceOf(ChainTipCorruptError);
    expect((err as ChainTipCorruptError).key).toBe(ks.chainTip());
    expect((err as Error).message).toContain('nothing was written');
  });

  it('a tip missing while a marker exists refuses the write (it would apply from height 2)', () => {
    const h = padHeight(42);
    expect(tipState(ks, three(undefined, h, undefined))).toMatchObject({ problem: 'missing', badKey: ks.chainTip() });
    expect(() => guardTip(ks, three(undefined, h, h))).toThrow(/missing while its markers exist/);
  });

  it('a corrupt, missing or unequal marker needs a repair but does not stop a write guarded by a valid tip', () => {
    const h = padHeight(42);
    expect(tipState(ks, three(h, 'x', h))).toMatchObject({ problem: 'corrupt', badKey: ks.ticketsTipMarker(), tip: 42 });
    expect(tipState(ks, three(h, h, undefined))).toMatchObject({ problem: 'missing', badKey: ks.tspendsTipMarker() });
    expect(tipState(ks, three(h, padHeight(50), h))).toMatchObject({ problem: 'unequal', highest: 50 });
    expect(guardTip(ks, three(h, 'x', undefined))).toBe(42);
  });

  it('a value in a log line is printable and bounded', () => {
    expect(showValue(Buffer.from([0, 0x41, 0xff]))).toBe('"?A?"');
    expect(showValue(Buffer.alloc(100, 0x61))).toMatch(/…" \(100 bytes\)$/);
    expect(showValue(undefined)).toBe('(absent)');
  });
});

const state = { voteChoices: { a: 'yes' }, treasuryPolicy: {}, tspendPolicy: {} };
const record = {
  ticketHash: 'ab'.repeat(32), ticketHex: '01000000', network: 'simnet',
  votingKey: { v: 1, alg: 'A256GCM', kid: '0011223344556677', nonce: '00'.repeat(12), ct: '00'.repeat(48) },
  ...state, status: 'live', importedAt: 'x', updatedAt: 'x', revision: 3, inputsFrom: 40,
};

describe('vote-input histories', () => {
  const parse = (v: unknown) => {
    const dropped: CorruptValueError[] = [];
    const r = parseTicketRecord('tickets/t', Buffer.from(JSON.stringify(v)), (e) => dropped.push(e));
    return { r, dropped };
  };

  it('a sound history is kept and nothing is reported', () => {
    const { r, dropped } = parse({ ...record, earlierInputs: [{ from: 10, ...state }, { from: 20, ...state }] });
    expect(r.earlierInputs).toHaveLength(2);
    expect(dropped).toEqual([]);
  });

  it.each([
    ['out of order', [{ from: 20, ...state }, { from: 10, ...state }]],
    ['not an array', 'yesterday'],
    ['an entry of the wrong shape', [{ from: 'x' }]],
    ['ending at or above inputsFrom', [{ from: 40, ...state }]],
  ])('a history %s is dropped and reported; the record is kept with its latest state', (_what, earlierInputs) => {
    const { r, dropped } = parse({ ...record, earlierInputs });
    expect(r.earlierInputs).toBeUndefined();
    expect(r.voteChoices).toEqual({ a: 'yes' });
    expect(r.inputsFrom).toBe(40);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]?.key).toBe('tickets/t');
    expect(dropped[0]?.message).toContain('earlierInputs');
  });

  it('anything else wrong refuses the whole record', () => {
    expect(() => parse({ ...record, voteChoices: 7, earlierInputs: 'x' })).toThrow(CorruptValueError);
    expect(() => parse({ ...record, revision: 0 })).toThrow(/revision/);
    expect(() => parseTicketRecord('tickets/t', Buffer.from('{"tick'))).toThrow(/not valid JSON/);
  });

  it('config/vote-defaults: the same rule over earlier', () => {
    const dropped: CorruptValueError[] = [];
    const d = parseVoteDefaults('config/vote-defaults', Buffer.from(JSON.stringify({ ...state, from: 30, earlier: [{ from: 31, ...state }] })), (e) => dropped.push(e));
    expect(d).toEqual({ ...state, from: 30 });
    expect(dropped[0]?.message).toContain('earlier');
  });
});
