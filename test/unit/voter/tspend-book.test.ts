import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import {
  SIMNET, blake256, calcTSpendWindow, checkVote, decodeTx, encodeTx, hashToHex, parseVote, toHex, treasuryVoteScript, txHash, voteSubsidy,
} from '../../../services/decred/index.ts';
import { AgendaTable } from '../../../services/voter/agenda-table.ts';
import type { WinningTicketsEvent } from '../../../services/voter/chain-event.ts';
import { ClusterVoteFactory, type TicketSource } from '../../../services/voter/cluster-vote-factory.ts';
import { createTestTSpend } from '../../../services/sim/devnet/index.ts';
import { MAX_KNOWN_TSPENDS, MAX_TREASURY_VOTES, TSpendBook, resolveTreasuryVote, treasuryVotesFor, type TreasuryPolicyTables } from '../../../services/voter/tspend-book.ts';
import { simnetTicket } from '../../harness/cluster-fixtures.ts';

const H = (n: number): string => hashToHex(blake256(Uint8Array.of(n)));
const PI_A = `02${'a'.repeat(64)}`;
const PI_B = `03${'b'.repeat(64)}`;
const EMPTY: TreasuryPolicyTables = { ticketTSpend: {}, defaultTSpend: {}, ticketPiKey: {}, defaultPiKey: {} };
const piBytes = (hex: string): Uint8Array => Uint8Array.from(Buffer.from(hex, 'hex'));
// Simnet TVI 48 x 3: expiry 338 has the window [192, 336].
const EXPIRY = 338;

describe('treasury policy lookup order (decred/dcrwallet wallet/wallet.go TSpendPolicy, TreasuryKeyPolicy)', () => {
  const h = H(1);
  it('ticket tspend > default tspend > ticket Pi key > default Pi key', () => {
    // Adjacent levels always disagree, so any swap of two levels changes an answer.
    const all: TreasuryPolicyTables = { ticketTSpend: { [h]: 'no' }, defaultTSpend: { [h]: 'yes' }, ticketPiKey: { [PI_A]: 'no' }, defaultPiKey: { [PI_A]: 'yes' } };
    expect(resolveTreasuryVote(all, h, PI_A)).toBe('no');
    expect(resolveTreasuryVote({ ...all, ticketTSpend: {} }, h, PI_A)).toBe('yes');
    expect(resolveTreasuryVote({ ...all, ticketTSpend: {}, defaultTSpend: {} }, h, PI_A)).toBe('no');
    expect(resolveTreasuryVote({ ...EMPTY, ticketPiKey: { [PI_A]: 'no' }, defaultPiKey: { [PI_A]: 'yes' } }, h, PI_A)).toBe('no');
    expect(resolveTreasuryVote({ ...EMPTY, defaultPiKey: { [PI_A]: 'yes' } }, h, PI_A)).toBe('yes');
    expect(resolveTreasuryVote({ ...EMPTY, defaultPiKey: { [PI_B]: 'yes' } }, h, PI_A)).toBeUndefined();
  });
  it('a stored abstain is no answer: the lookup goes on; nothing at all leaves the tspend out', () => {
    expect(resolveTreasuryVote({ ...EMPTY, ticketTSpend: { [h]: 'abstain' }, defaultPiKey: { [PI_A]: 'no' } }, h, PI_A)).toBe('no');
    expect(resolveTreasuryVote({ ...EMPTY, ticketTSpend: { [h]: 'abstain' } }, h, PI_A)).toBeUndefined();
    expect(resolveTreasuryVote(EMPTY, h.toUpperCase(), PI_A.toUpperCase())).toBeUndefined();
    expect(resolveTreasuryVote({ ...EMPTY, defaultTSpend: { [h]: 'yes' } }, h.toUpperCase(), PI_A)).toBe('yes');
  });
});

describe('TSpendBook window and order', () => {
  it('votes only inside [start, end] of the window, both ends included; keeps hash order; at most 7', () => {
    const book = new TSpendBook();
    const { start, end } = calcTSpendWindow(EXPIRY, SIMNET.treasuryVoteInterval, SIMNET.treasuryVoteIntervalMultiplier);
    expect([start, end]).toEqual([192, 336]);
    for (let i = 1; i <= 9; i++) expect(book.add({ hashHex: H(i), expiry: EXPIRY, piKey: piBytes(PI_A) })).toBe(true);
    expect(book.add({ hashHex: H(1), expiry: EXPIRY, piKey: piBytes(PI_A) })).toBe(false);
    expect(book.votable(start - 1, SIMNET)).toEqual([]);
    expect(book.votable(end + 1, SIMNET)).toEqual([]);
    const inside = book.votable(start, SIMNET);
    expect(inside).toHaveLength(9);
    expect(book.votable(end, SIMNET)).toHaveLength(9);
    expect(inside.map((t) => t.hashHex)).toEqual([...inside.map((t) => t.hashHex)].sort());
    const votes = treasuryVotesFor(inside, { ...EMPTY, defaultPiKey: { [PI_A]: 'yes' } });
    expect(votes).toHaveLength(MAX_TREASURY_VOTES);
    expect(votes[0]).toEqual({ tspendHashHex: inside[0]!.hashHex, vote: 'yes' });
    // Forgotten once well past its expiry.
    book.votable(EXPIRY + 100, SIMNET);
    expect(book.size).toBe(0);
  });
});

describe('TSpendBook.addRaw: only tspends dcrd would accept', () => {
  it('admits a signed simnet tspend once; refuses an unknown Pi key, a broken signature, no window; bounded', () => {
    const book = new TSpendBook(SIMNET);
    const good = createTestTSpend(SIMNET, { nextHeight: 150, tag: 1 });
    expect(book.addRaw(encodeTx(good))).toEqual({ hashHex: hashToHex(txHash(good)), added: true });
    expect(book.addRaw(encodeTx(good)).added).toBe(false);
    expect(book.all()[0]).toMatchObject({ expiry: good.expiry, piKeyHex: toHex(SIMNET.piKeys[0]!) });
    const foreign = createTestTSpend(SIMNET, { nextHeight: 150, tag: 2, privKey: blake256(Uint8Array.of(5)) });
    expect(() => book.addRaw(encodeTx(foreign))).toThrow(expect.objectContaining({ reason: 'UNKNOWN_PI_KEY' }));
    const tampered = createTestTSpend(SIMNET, { nextHeight: 150, tag: 3 });
    tampered.outputs[1]!.value += 1n;
    expect(() => book.addRaw(encodeTx(tampered))).toThrow(expect.objectContaining({ reason: 'BAD_TSPEND_SIGNATURE' }));
    expect(() => book.addRaw(encodeTx(createTestTSpend(SIMNET, { nextHeight: 150, tag: 4, expiry: 339 })))).toThrow(expect.objectContaining({ reason: 'BAD_TSPEND_EXPIRY' }));
    expect(() => new TSpendBook().addRaw(encodeTx(good))).toThrow(/no network parameters/);
    expect(book.size).toBe(1);
    const full = new TSpendBook(SIMNET);
    for (let i = 0; i < MAX_KNOWN_TSPENDS; i++) full.add({ hashHex: i.toString(16).padStart(64, '0'), expiry: EXPIRY, piKey: piBytes(PI_A) });
    expect(full.addRaw(encodeTx(good)).added).toBe(false);
    expect(full.size).toBe(MAX_KNOWN_TSPENDS);
  });
});

describe('ClusterVoteFactory treasury votes', () => {
  const { votingKey, ticket, ticketHex } = simnetTicket('treasury test voting key', 3, 7);
  const record = {
    ticketHex: toHex(encodeTx(ticket)), voteChoices: {} as Record<string, string>,
    tspendPolicy: {} as Record<string, 'yes' | 'no' | 'abstain'>, treasuryPolicy: {} as Record<string, 'yes' | 'no' | 'abstain'>,
  };
  let modRevision = 10;
  const tickets: TicketSource = {
    get: (h) => (h === ticketHex ? { record: { ...record }, modRevision } : undefined),
    getVotingKey: () => {
      const k = votingKey.slice();
      return { expose: () => k, wipe: () => k.fill(0) };
    },
  };
  let defaults = { treasuryPolicy: {} as Record<string, 'yes' | 'no' | 'abstain'>, tspendPolicy: {} as Record<string, 'yes' | 'no' | 'abstain'> };
  const book = new TSpendBook();
  const log = pino({ level: 'silent' });
  const draw = (height: number): WinningTicketsEvent => ({
    kind: 'winning-tickets', blockHashHex: hashToHex(blake256(Uint8Array.of(height & 0xff, height >> 8))), height, ticketsHex: [ticketHex],
    voteSubsidy: voteSubsidy(height, SIMNET, 'dcp0012'), voteVersion: 0, proxy: 'p', receivedAtMs: 0,
  });
  const factory = (): ClusterVoteFactory => new ClusterVoteFactory(tickets, () => ({}), () => new AgendaTable(), SIMNET, log, () => 5, { tspends: book, defaults: () => defaults });

  it('appends the TV output (version 3) with the policy vote bytes, valid by consensus rules', () => {
    book.add({ hashHex: H(1), expiry: EXPIRY, piKey: piBytes(PI_A) });
    book.add({ hashHex: H(2), expiry: EXPIRY, piKey: piBytes(PI_B) });
    book.add({ hashHex: H(3), expiry: EXPIRY, piKey: piBytes(PI_B) });
    record.tspendPolicy = { [H(2)]: 'no' };
    defaults = { treasuryPolicy: { [PI_A]: 'yes' }, tspendPolicy: {} };
    const f = factory();
    const ev = draw(200);
    const signed = f.sign(f.prepare(ticketHex, ev));
    const sorted = [H(1), H(2)].sort();
    const want = sorted.map((h) => ({ tspendHashHex: h, vote: h === H(1) ? 'yes' : 'no' }));
    expect(signed.meta.treasuryVotes).toEqual(want);
    const tx = decodeTx(signed.rawTx);
    expect(tx.version).toBe(3);
    const last = tx.outputs.at(-1)!.pkScript;
    const bytes = (h: string): string => toHex(Uint8Array.from(Buffer.from(h, 'hex')).reverse());
    expect(toHex(last)).toBe(`6a44${'5456'}${sorted.map((h) => `${bytes(h)}${h === H(1) ? '01' : '02'}`).join('')}`);
    expect(toHex(last)).toBe(toHex(treasuryVoteScript(want.map((w) => ({ tspendHash: Uint8Array.from(Buffer.from(w.tspendHashHex, 'hex')).reverse(), vote: w.vote === 'yes' ? 1 : 2 })))));
    const info = checkVote(tx, { ticket, params: SIMNET, split: 'dcp0012' });
    expect(info.treasuryVotes.map((t) => [hashToHex(t.tspendHash), t.vote])).toEqual(want.map((w) => [w.tspendHashHex, w.vote === 'yes' ? 1 : 2]));
  });

  it('outside the window, or with no yes/no answer, the vote has no TV output (version 1)', () => {
    const f = factory();
    const outside = f.sign(f.prepare(ticketHex, draw(150)));
    expect(outside.meta.treasuryVotes).toEqual([]);
    expect(decodeTx(outside.rawTx).version).toBe(1);
    record.tspendPolicy = {};
    defaults = { treasuryPolicy: {}, tspendPolicy: {} };
    const none = f.sign(f.prepare(ticketHex, draw(201)));
    expect(parseVote(decodeTx(none.rawTx)).treasuryVotes).toEqual([]);
  });

  it('the pin fixes the tspend set and policies at the draw: a takeover builds identical bytes', () => {
    record.tspendPolicy = {};
    defaults = { treasuryPolicy: { [PI_A]: 'yes', [PI_B]: 'no' }, tspendPolicy: {} };
    const owner = factory();
    const backup = factory();
    const ev = draw(210);
    expect(owner.pin(ticketHex, ev)).toBe(true);
    expect(backup.pin(ticketHex, ev)).toBe(true);
    const ownerVote = owner.sign(owner.prepare(ticketHex, ev));
    // After the draw: a new tspend arrives, the defaults and the ticket's policies change.
    book.add({ hashHex: H(4), expiry: EXPIRY, piKey: piBytes(PI_A) });
    defaults = { treasuryPolicy: { [PI_A]: 'no' }, tspendPolicy: {} };
    record.tspendPolicy = { [H(1)]: 'no' };
    modRevision = 11;
    const takeover = backup.sign(backup.prepare(ticketHex, ev));
    expect(toHex(takeover.rawTx)).toBe(toHex(ownerVote.rawTx));
    expect(takeover.meta.treasuryVotes).toHaveLength(3);
    // An unpinned build now sees the new inputs.
    const fresh = factory();
    // H1: the ticket's 'no'; H4: the new default Pi key A 'no'; H2, H3 (Pi key B): no answer any more.
    expect(fresh.prepare(ticketHex, draw(211)).meta.treasuryVotes).toEqual(
      [H(1), H(4)].sort().map((h) => ({ tspendHashHex: h, vote: 'no' })),
    );
  });
});
