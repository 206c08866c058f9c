/**
 * Early release of standby copies (vote-delivery.ts `standbyCheckMs`): a backup holding the STORED
 * record's bytes while the signer is live sends them only to proxies whose dcrd does not hold the
 * vote, a hedge-scale wait after taking the copy, long before the signer's lease could expire.
 * Without faults every dcrd holds the vote and nothing is sent (~1 broadcast per vote per dcrd).
 */
import { describe, expect, it, vi } from 'vitest';
import type { SendStatus, VoteSink } from '../../../services/voter/fanout.ts';
import { VoteDelivery, type VoteToDeliver } from '../../../services/voter/vote-delivery.ts';

class Sink implements VoteSink {
  calls = 0;
  constructor(readonly address: string, private status: SendStatus = 'ACCEPTED') {}
  sendVote(): Promise<{ status: SendStatus }> {
    this.calls++;
    return Promise.resolve({ status: this.status });
  }
}

const vote: VoteToDeliver = {
  ticketHex: 'aa'.repeat(32), blockHashHex: 'bb'.repeat(32), height: 10, rawTx: new Uint8Array([7]), txidHex: 'cc'.repeat(32),
  signer: 'c1', drawnAtMs: Date.now(),
};
const opts = { sendDeadlineMs: 100, resendIntervalMs: 60_000, maxVoteAgeBlocks: 2, retryBaseMs: 0, retryMaxMs: 0, standbyCheckMs: 40 };

/** Waits for real async progress (a liveness bound, generous for a loaded machine, not a timing check). */
async function waitFor(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('VoteDelivery early release of standby copies', () => {
  it('sends the stored bytes only to the dcrds missing the vote, once, while the signer is still live', async () => {
    vi.useFakeTimers();
    try {
      await earlyRelease();
    } finally {
      vi.useRealTimers();
    }
  });

  async function earlyRelease(): Promise<void> {
    // The signer (c1) is cut off with its proxy: dcrd a and b never got its vote; c's did.
    const sinks = [new Sink('a'), new Sink('b'), new Sink('c')];
    const known = new Map([['a', false], ['b', false], ['c', true]]);
    const asked: string[] = [];
    const released: string[][] = [];
    const d = new VoteDelivery(sinks, opts, {
      isNodeLive: () => true,
      knownTo: async (address) => {
        asked.push(address);
        return known.get(address) as boolean;
      },
      onReleasedEarly: (_v, proxies) => released.push([...proxies].sort()),
    });
    d.deliver(vote, 'standby');
    await d.tick();
    await vi.advanceTimersByTimeAsync(opts.standbyCheckMs - 1);
    expect(asked).toEqual([]); // not before standbyCheckMs
    expect(sinks.map((s) => s.calls)).toEqual([0, 0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    await vi.waitFor(() => expect(d.stats().releasedEarly === 1 && sinks[0]!.calls + sinks[1]!.calls === 2).toBe(true));
    expect(sinks.map((s) => s.calls)).toEqual([1, 1, 0]);
    expect(released).toEqual([['a', 'b']]);
    // Settled everywhere: later passes neither ask nor send again.
    await d.tick();
    await d.tick();
    expect(sinks.map((s) => s.calls)).toEqual([1, 1, 0]);
    expect(asked.sort()).toEqual(['a', 'b', 'c']);
    expect(d.modeOf(vote.ticketHex, vote.blockHashHex)).toBe('standby');
    await d.stop();
  }

  it('no fault: every dcrd holds the vote, nothing is sent; a proxy that cannot answer is asked again next pass', async () => {
    const sinks = [new Sink('a'), new Sink('b')];
    let bAnswers = false;
    const d = new VoteDelivery(sinks, opts, {
      isNodeLive: () => true,
      knownTo: async (address) => {
        if (address === 'b' && !bAnswers) throw new Error('deadline exceeded');
        return true;
      },
    });
    d.deliver(vote, 'standby');
    await waitFor(() => d.stats().standbyChecks === 2);
    await new Promise((r) => setTimeout(r, 10));
    bAnswers = true;
    await d.tick(); // b is still unsettled: asked again
    expect(d.stats().standbyChecks).toBe(3);
    await d.tick(); // all settled
    expect(d.stats()).toMatchObject({ sends: 0, releasedEarly: 0, standbyChecks: 3 });
    expect(sinks.map((s) => s.calls)).toEqual([0, 0]);
    await d.stop();
  });

  it('the first check runs when its timer fires, even if the wall clock shows less than standbyCheckMs elapsed', async () => {
    // Node starts a timer from the event loop's cached time, so a busy loop makes it fire with less
    // than its delay elapsed by Date.now(); here the wall clock is stepped back to show exactly that.
    vi.useFakeTimers();
    try {
      const sinks = [new Sink('a')];
      const d = new VoteDelivery(sinks, opts, { isNodeLive: () => true, knownTo: async () => false });
      d.deliver(vote, 'standby');
      vi.setSystemTime(Date.now() - 5);
      await vi.advanceTimersByTimeAsync(opts.standbyCheckMs);
      await vi.waitFor(() => expect(d.stats().standbyChecks).toBe(1));
      await vi.waitFor(() => expect(sinks[0]!.calls).toBe(1));
      expect(d.stats().releasedEarly).toBe(1);
      await d.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('off without standbyCheckMs: a standby copy waits for its signer to leave', async () => {
    const sinks = [new Sink('a')];
    let live = true;
    const d = new VoteDelivery(sinks, { ...opts, standbyCheckMs: 0 }, { isNodeLive: () => live, knownTo: async () => false });
    d.deliver(vote, 'standby');
    await new Promise((r) => setTimeout(r, 60));
    await d.tick();
    expect(sinks[0]!.calls).toBe(0);
    live = false;
    await d.tick();
    expect(sinks[0]!.calls).toBe(1);
    expect(d.stats().promoted).toBe(1);
    await d.stop();
  });
});
