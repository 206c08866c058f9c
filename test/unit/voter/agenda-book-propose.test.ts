/**
 * The voter's rule for proposing the cluster's vote version (agenda-book.ts): only when every
 * proxy it is connected to reports the same version, that version is above the committed one,
 * and its agendas are stored; at most once per interval; the gauge reports the committed
 * version and the mismatch flag covers proxies that disagree with it. The store is an
 * in-memory agenda store; the committed version follows what the proposals wrote, raised only,
 * as services/cluster proposeVoteVersion writes it (test/integration/cluster-vote-version.test.ts
 * checks that write against etcd).
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { AgendaBook, type AgendaStore, type StoredSet } from '../../../services/voter/agenda-book.ts';

const log = pino({ level: 'silent' });
const set = (voteVersion: number): StoredSet => ({ voteVersion, agendas: [{ id: `a${voteVersion}`, description: '', mask: 6, choices: [{ id: 'yes', description: '', bits: 4, isAbstain: false, isNo: false }] }] });

/** `refuse`: every write is refused (another voter's raced ahead, say). */
function world(o: { stored: number[]; intervalMs?: number; refuse?: boolean }) {
  const sets = new Map<number, StoredSet>(o.stored.map((v) => [v, set(v)]));
  const store: AgendaStore = { agendaSet: (v) => sets.get(v), putAgendaSet: async (s) => (sets.set(s.voteVersion, s), true) };
  const w = { committed: undefined as number | undefined, proposals: [] as number[], gauge: [] as Array<[number, boolean]> };
  const book = new AgendaBook({
    proxies: [], store, log, deadlineMs: 100,
    committed: () => w.committed,
    propose: async (v) => {
      w.proposals.push(v);
      if (o.refuse === true || (w.committed !== undefined && v <= w.committed)) return false;
      w.committed = v;
      return true;
    },
    proposeIntervalMs: o.intervalMs ?? 0,
    onVersion: (v, m) => w.gauge.push([v, m]),
  });
  return { book, w, sets };
}

describe('AgendaBook vote-version proposals', () => {
  it('proposes when every connected proxy agrees and the agendas are stored; not while they disagree', async () => {
    const { book, w } = world({ stored: [11, 12] });
    await book.noteProxy('p1', 11, true);
    await book.noteProxy('p2', 12, true);
    // p1 alone proposed 11; once p2 reports 12 the proxies disagree: no proposal of either.
    expect(w.proposals).toEqual([11]);
    expect(book.mismatch).toBe(true);
    expect(book.effectiveVersion).toBe(11);
    await book.noteProxy('p1', 11, false);
    expect(w.proposals).toEqual([11]);
    // p1 goes away: the connected proxies agree on 12, above the committed 11.
    book.proxyDown('p1');
    await new Promise((r) => setImmediate(r));
    expect(w.proposals).toEqual([11, 12]);
    expect(w.committed).toBe(12);
    // A proxy at a lower version never proposes it (only raises): 11 < 12.
    await book.noteProxy('p1', 11, true);
    book.proxyDown('p2');
    await new Promise((r) => setImmediate(r));
    await book.noteProxy('p1', 11, false);
    expect(w.proposals).toEqual([11, 12]);
    expect(book.mismatch).toBe(true);
    expect(w.gauge.at(-1)).toEqual([12, true]);
  });

  it('no proposal before the agendas of the version are stored', async () => {
    const { book, w, sets } = world({ stored: [] });
    await book.noteProxy('p1', 13, true);
    expect(w.proposals).toEqual([]);
    sets.set(13, set(13));
    await book.noteProxy('p1', 13, false);
    expect(w.proposals).toEqual([13]);
  });

  it('at most one proposal per interval', async () => {
    const { book, w } = world({ stored: [11], intervalMs: 60_000, refuse: true });
    // The write is refused: the next draws do not ask again at once.
    await book.noteProxy('p1', 11, true);
    await book.noteProxy('p1', 11, false);
    await book.noteProxy('p1', 11, false);
    expect(w.proposals).toEqual([11]);
  });

  it('the agendas of a committed version come from the stored copy; an unknown version has none', () => {
    const { book } = world({ stored: [12] });
    expect(book.forVersion(12)?.voteVersion).toBe(12);
    expect(book.forVersion(14)).toBeUndefined();
  });
});
