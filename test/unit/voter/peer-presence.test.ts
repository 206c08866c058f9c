/**
 * Which voters the proxies declared gone (peer-presence.ts): gone while any proxy's last word is
 * `gone`; `back`, a restarted stream to that proxy, or age forget it; `whenAllGone` resolves once
 * every listed voter is gone and not before.
 */
import { describe, expect, it } from 'vitest';
import { GONE_FORGET_MS, PeerPresence } from '../../../services/voter/peer-presence.ts';

function clock() {
  const c = { t: 1_000, now: () => c.t };
  return c;
}

describe('PeerPresence', () => {
  it('a voter is gone while some proxy last said gone, from any proxy', () => {
    const p = new PeerPresence(clock().now);
    expect(p.isGone('a1')).toBe(false);
    p.note({ kind: 'gone', nodeId: 'a1', proxy: 'p1' });
    p.note({ kind: 'gone', nodeId: 'a1', proxy: 'p2' });
    expect(p.isGone('a1')).toBe(true);
    p.note({ kind: 'back', nodeId: 'a1', proxy: 'p1' });
    expect(p.isGone('a1')).toBe(true); // p2 still says gone
    p.note({ kind: 'back', nodeId: 'a1', proxy: 'p2' });
    expect(p.isGone('a1')).toBe(false);
    expect(p.goneIds()).toEqual([]);
  });

  it("forgets a proxy's word when our stream to it restarts, and any word after GONE_FORGET_MS", () => {
    const c = clock();
    const p = new PeerPresence(c.now);
    p.note({ kind: 'gone', nodeId: 'a1', proxy: 'p1' });
    p.note({ kind: 'gone', nodeId: 'b1', proxy: 'p2' });
    p.proxyRestarted('p1');
    expect(p.isGone('a1')).toBe(false);
    expect(p.isGone('b1')).toBe(true);
    c.t += GONE_FORGET_MS;
    expect(p.isGone('b1')).toBe(true);
    c.t += 1;
    expect(p.isGone('b1')).toBe(false);
  });

  it('whenAllGone resolves once every listed voter is gone, false on abort or for an empty list', async () => {
    const p = new PeerPresence(clock().now);
    const ac = new AbortController();
    let settled: boolean | undefined;
    const w = p.whenAllGone(['a1', 'b1'], ac.signal).then((v) => (settled = v));
    p.note({ kind: 'gone', nodeId: 'a1', proxy: 'p1' });
    await Promise.resolve();
    expect(settled).toBeUndefined(); // b1 may be alive
    p.note({ kind: 'gone', nodeId: 'b1', proxy: 'p3' });
    await w;
    expect(settled).toBe(true);
    expect(await p.whenAllGone(['a1'], new AbortController().signal)).toBe(true); // already gone
    expect(await p.whenAllGone([], new AbortController().signal)).toBe(false);
    const ac2 = new AbortController();
    const w2 = p.whenAllGone(['c1'], ac2.signal);
    ac2.abort();
    expect(await w2).toBe(false);
  });
});
