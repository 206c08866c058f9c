/**
 * A voter's last WatchChain stream ending is announced to the other streams (voter-streams.ts,
 * chain-feed.ts `announce`): only when the voter went away (not when the proxy cut or closed the
 * stream), only for its last stream, never held for replay; a voter declared gone that opens a
 * stream again is announced back.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ChainFeed, type StreamSink } from '../../../services/nodeproxy/chain-feed.ts';
import { resolveDeps } from '../../../services/nodeproxy/deps.ts';
import { VoterStreams } from '../../../services/nodeproxy/voter-streams.ts';
import { streamVoterId } from '../../../services/nodeproxy/grpc-server.ts';

const logger = pino({ level: 'silent' });

function sink() {
  const got: Array<Record<string, unknown>> = [];
  const s: StreamSink = { write: (m) => (got.push(m as unknown as Record<string, unknown>), true), onceDrain: () => undefined, end: () => undefined };
  return { s, got, presence: () => got.filter((m) => m['event'] === 'voter_gone' || m['event'] === 'voter_back').map((m) => [m['event'], (m[m['event'] as string] as { node_id: string }).node_id, m['seq']]) };
}

function setup() {
  const feed = new ChainFeed({
    ringSize: 16, maxLagEvents: 100, network: 'simnet', metrics: resolveDeps({ logger }).metrics, logger, now: () => 5, bestBlock: () => undefined,
  });
  return { feed, voters: new VoterStreams(feed, logger, () => 42) };
}

describe('VoterStreams', () => {
  it("announces a voter gone to the other streams when its last stream ends on the voter's side, and back when it returns", () => {
    const { feed, voters } = setup();
    const other = sink();
    feed.subscribe({ clientId: 'b1' }, other.s);
    const a = [sink(), sink()].map((k) => ({ k, sub: feed.subscribe({ clientId: 'a1' }, k.s) }));
    const ends = a.map(({ sub }) => voters.opened('a1', sub.id));
    ends[0]!('voter-left');
    expect(other.presence()).toEqual([]); // a1 still has a stream here
    ends[1]!('voter-left');
    ends[1]!('voter-left'); // a second call is a no-op
    expect(other.presence()).toEqual([['voter_gone', 'a1', '0']]);
    expect(feed.lastSeq).toBe(0); // not a chain event: no seq, nothing held
    const again = sink();
    const sub = feed.subscribe({ clientId: 'a1' }, again.s);
    voters.opened('a1', sub.id);
    expect(other.presence()).toEqual([['voter_gone', 'a1', '0'], ['voter_back', 'a1', '0']]);
    expect(again.presence()).toEqual([]); // not told about itself
    const late = sink();
    feed.subscribe({ clientId: 'c1', fromHeight: 0 }, late.s);
    expect(late.presence()).toEqual([]); // never replayed
  });

  it('says nothing when the proxy ended the stream (lag cut, proxy stopping)', () => {
    const { feed, voters } = setup();
    const other = sink();
    feed.subscribe({ clientId: 'b1' }, other.s);
    const sub = feed.subscribe({ clientId: 'a1' }, sink().s);
    voters.opened('a1', sub.id)('proxy-ended');
    expect(voters.openStreams('a1')).toBe(0);
    const again = feed.subscribe({ clientId: 'a1' }, sink().s);
    voters.opened('a1', again.id);
    expect(other.presence()).toEqual([]); // never declared gone, so no "back" either
  });
});

describe('streamVoterId', () => {
  const call = (ou?: string) => ({
    getAuthContext: () => (ou === 'none' ? null : { sslPeerCertificate: { subject: { CN: 'x', ...(ou ? { OU: ou } : {}) }, raw: Buffer.from([1, 2, 3]) } as never }),
  });
  it('is the client_id a voter sends; a caller whose certificate names another role is no voter', () => {
    expect(streamVoterId('a1', call('voter'))).toBe('a1');
    expect(streamVoterId('a1', call())).toBe('a1'); // a certificate without a role
    expect(streamVoterId('a1', call('none'))).toBe('a1'); // plaintext loopback
    expect(streamVoterId('layout-admin', call('admin'))).toBeUndefined();
    expect(streamVoterId('', call('voter'))).toBeUndefined();
    expect(streamVoterId(undefined, call('voter'))).toBeUndefined();
  });
});
