/**
 * HashIndex and HashKeyedStore (services/cluster): the compact ticket-hash index shared by the
 * ticket, owner and rank caches. Checked against a plain Map model under random
 * acquire/release sequences (ids stable while held, reused after, lookups exact across
 * table and id growth and backward-shift deletions), and the store's entry semantics.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HashIndex } from '../../../services/cluster/hash-index.ts';
import { HashKeyedStore } from '../../../services/cluster/hash-keyed-store.ts';

/** 64-hex hashes that share long prefixes (like the bench's and tests' labels). */
function label(i: number): string {
  return Buffer.from(`t:${i}`.padEnd(32, '.')).toString('hex');
}

describe('HashIndex', () => {
  it('matches a Map model under random acquire/release (growth, probing, deletion)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3_000 })), { minLength: 1, maxLength: 4_000 }), (ops) => {
        const idx = new HashIndex();
        const model = new Map<string, { id: number; refs: number }>();
        for (const [acq, i] of ops) {
          const h = label(i);
          const m = model.get(h);
          if (acq || !m) {
            const id = idx.acquire(h);
            if (m) expect(id).toBe(m.id);
            // A new hash never gets an id another held hash has.
            else for (const v of model.values()) expect(v.id).not.toBe(id);
            model.set(h, { id, refs: (m?.refs ?? 0) + 1 });
          } else {
            idx.release(m.id);
            if (m.refs === 1) model.delete(h);
            else m.refs--;
          }
        }
        expect(idx.size).toBe(model.size);
        for (const [h, { id }] of model) {
          expect(idx.find(h)).toBe(id);
          expect(idx.hexAt(id)).toBe(h);
          expect(idx.isLive(id)).toBe(true);
        }
        for (let i = 0; i <= 3_000; i += 7) if (!model.has(label(i))) expect(idx.find(label(i))).toBe(-1);
      }),
      { numRuns: 40 },
    );
  });

  it('finds nothing for strings that are not 64 lowercase hex characters', () => {
    const idx = new HashIndex();
    const h = 'ab'.repeat(32);
    idx.acquire(h);
    expect(idx.find(h)).toBe(0);
    expect(idx.find(h.toUpperCase())).toBe(-1);
    expect(idx.find(h.slice(2))).toBe(-1);
    expect(idx.find(`${h}00`)).toBe(-1);
    expect(idx.find('zz'.repeat(32))).toBe(-1);
  });

  it('holds 100k hashes in a few MB of typed arrays', () => {
    const idx = new HashIndex();
    for (let i = 0; i < 100_000; i++) idx.acquire(label(i));
    expect(idx.size).toBe(100_000);
    expect(idx.find(label(99_999))).toBeGreaterThanOrEqual(0);
    expect(idx.bytes).toBeLessThan(6_000_000);
  });
});

describe('HashKeyedStore', () => {
  const prefix = '/votecluster/simnet/owners/';
  const entry = <V>(h: string, v: V, rev: number, lease = '0') => ({ key: prefix + h, value: v, modRevision: rev, createRevision: rev - 1, lease });

  it('stores, replaces, deletes and lists entries like a Map; odd keys are kept aside', () => {
    const idx = new HashIndex();
    const st = new HashKeyedStore<string>(prefix, idx);
    st.set(entry(label(1), 'a', 10, '77'));
    st.set(entry(label(2), 'b', 11));
    st.set({ key: `${prefix}not-a-hash`, value: 'x', modRevision: 12, createRevision: 12, lease: '0' });
    expect(st.size).toBe(3);
    expect(st.get(prefix + label(1))).toEqual(entry(label(1), 'a', 10, '77'));
    expect(st.getValue(`${prefix}not-a-hash`)).toBe('x');
    st.set(entry(label(1), 'c', 13));
    expect(st.size).toBe(3);
    expect(st.get(prefix + label(1))?.value).toBe('c');
    expect(st.get(prefix + label(1))?.lease).toBe('0');
    expect([...st.values()].map((e) => e.key).sort()).toEqual([prefix + label(1), prefix + label(2), `${prefix}not-a-hash`].sort());
    expect(st.delete(prefix + label(2))).toBe(true);
    expect(st.delete(prefix + label(2))).toBe(false);
    expect(st.get(prefix + label(2))).toBeUndefined();
    expect(idx.size).toBe(1);
    // Another holder of the same index keeps its own presence per id.
    const other = new HashKeyedStore<string>('/votecluster/simnet/tickets/', idx);
    expect(other.idOf(label(1))).toBe(-1);
    other.set({ key: `/votecluster/simnet/tickets/${label(1)}`, value: 't', modRevision: 1, createRevision: 1, lease: '0' });
    expect(other.idOf(label(1))).toBe(st.idOf(label(1)));
    st.dispose();
    expect(st.size).toBe(0);
    expect(other.getValue(`/votecluster/simnet/tickets/${label(1)}`)).toBe('t');
    expect(idx.size).toBe(1);
  });

  it('keeps columns right while the shared index grows, with thousands of distinct leases', () => {
    const idx = new HashIndex();
    const st = new HashKeyedStore<number>(prefix, idx);
    for (let i = 0; i < 10_000; i++) st.set(entry(label(i), i, i + 2, String(1_000 + i)));
    for (let i = 0; i < 10_000; i += 997) {
      const e = st.get(prefix + label(i));
      expect(e?.value).toBe(i);
      expect(e?.modRevision).toBe(i + 2);
      expect(e?.lease).toBe(String(1_000 + i));
    }
    let n = 0;
    st.forEachId((id, v) => {
      expect(idx.hexAt(id)).toBe(label(v));
      n++;
    });
    expect(n).toBe(10_000);
  });
});
