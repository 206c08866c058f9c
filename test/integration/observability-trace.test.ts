/**
 * Node proxies and voters run as SEPARATE processes (the
 * CLI) against a real devnet and etcd, every process appends spans to ONE
 * JSON-lines file, and every vote is one connected trace from proxy.notify to
 * dcrd.accept. Two devnet nodes with one proxy each: every draw reaches each
 * voter twice (one proxy.notify trace per proxy per ticket); the voter
 * continues the first arrival's trace.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../services/decred/index.ts';
import { startDevnet, type Devnet } from '../../services/sim/devnet/index.ts';
import { ALLOWED_ATTRIBUTES, SPAN, parseSpanLines, type SpanRecord } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startObsBase, type ObsBase } from './observability-harness.ts';

const BLOCKS = 4;
const ROOT = join(import.meta.dirname, '..', '..');

describe('one connected trace per vote across processes', () => {
  let base: ObsBase;
  let devnet: Devnet;
  let traceFile: string;
  const votedBlocks: string[] = [];

  beforeAll(async () => {
    base = await startObsBase();
    traceFile = join(base.dir, 'spans.jsonl');
    devnet = await startDevnet({ nodes: 2, tickets: 64 });
    await base.importTickets(devnet.exportTickets());
    const proxies = await Promise.all(devnet.nodes.map((n, i) =>
      base.startProxy(`proxy${i}`, { wsUrl: n.wsUrl, user: n.rpcUser, pass: n.rpcPass }, { traceFile })));
    const addrs = proxies.map((p) => p.address);
    await Promise.all([
      base.startVoter('v1', 'a', addrs, { traceFile }),
      base.startVoter('v2', 'a', [...addrs].reverse(), { traceFile }),
    ]);
    const voted = (hash: string): boolean => {
      const draws = devnet.report().tickets.filter((t) => t.blockHash === hash);
      return draws.length > 0 && draws.every((t) => t.firstVoteAt !== undefined || !base.isImported(t.ticketHash));
    };
    // The tip's draw at start-up: the devnet mines on it only with >= 3 votes, so wait for the voters
    // (just started, they replay it) to vote it; from then on one block at a time.
    const tipHash = (): string | undefined => {
      const main = devnet.report().tickets.filter((t) => !t.sideChain);
      const top = Math.max(-1, ...main.map((t) => t.height));
      return main.find((t) => t.height === top)?.blockHash;
    };
    await waitFor(() => {
      const tip = tipHash();
      return tip !== undefined && voted(tip);
    }, { timeoutMs: 20_000, message: 'votes for every draw of the start-up tip' });
    for (let i = 0; i < BLOCKS; i++) {
      const [hash] = await devnet.generate(1);
      await waitFor(() => voted(hash as string), { timeoutMs: 20_000, message: `votes for every draw of ${hash}` });
      votedBlocks.push(hash as string);
      await base.importTickets(devnet.exportTickets());
    }
    // SIGTERM flushes every process's span batch before it exits.
    await Promise.all(base.children.map((c) => c.stop()));
  }, 90_000);

  afterAll(async () => {
    await base?.stop();
    await devnet?.stop();
  });

  function spans(): SpanRecord[] {
    return parseSpanLines(readFileSync(traceFile, 'utf8')).spans;
  }

  it('every vote is one tree: proxy.notify → voter.receive → build/sign/broadcast → proxy.send → dcrd.accept', () => {
    const all = spans();
    const byTrace = new Map<string, SpanRecord[]>();
    for (const s of all) byTrace.set(s.traceId, [...(byTrace.get(s.traceId) ?? []), s]);
    // Every trace is a tree rooted at one proxy.notify, with every parent present.
    for (const [traceId, list] of byTrace) {
      const ids = new Set(list.map((s) => s.spanId));
      const roots = list.filter((s) => s.parentSpanId === undefined);
      expect(roots.map((r) => r.name), `roots of trace ${traceId}`).toEqual([SPAN.PROXY_NOTIFY]);
      for (const s of list) if (s.parentSpanId !== undefined) expect(ids.has(s.parentSpanId), `parent of ${s.name} in ${traceId}`).toBe(true);
      expect(ids.size).toBe(list.length);
    }
    const byId = new Map(all.map((s) => [s.spanId, s]));
    const parentName = (s: SpanRecord): string | undefined => (s.parentSpanId ? byId.get(s.parentSpanId)?.name : undefined);
    // Per (block, ticket): the proxies' notify roots; the vote's dcrd.accept spans all in one trace.
    const votes = devnet.report().tickets.filter((t) => votedBlocks.includes(t.blockHash) && base.isImported(t.ticketHash));
    expect(votes.length).toBe(BLOCKS * 5);
    for (const v of votes) {
      const notifies = all.filter((s) => s.name === SPAN.PROXY_NOTIFY
        && s.attributes['votecluster.ticket_hash'] === v.ticketHash && s.attributes['votecluster.block_hash'] === v.blockHash);
      expect(notifies.length, `one proxy.notify per proxy for ${v.ticketHash}`).toBe(2);
      const voteTraces = new Set(notifies.map((n) => n.traceId));
      const accepts = all.filter((s) => s.name === SPAN.DCRD_ACCEPT && voteTraces.has(s.traceId));
      expect(accepts.length, `dcrd.accept for ${v.ticketHash}`).toBeGreaterThan(0);
      // A sending voter continues the trace of the draw's first arrival at it. Usually one voter
      // sends; a second may send the same bytes (the region's next signer once its wait ran out,
      // or a backup's early release to a dcrd without the vote, services/voter/vote-delivery.ts),
      // in the trace of ITS first arrival, which is the other's when the same proxy told both
      // first. So: every voter sending in a trace received the draw in that trace, and every
      // trace with a send is a whole tree from proxy.notify to dcrd.accept.
      const traceIds = new Set(accepts.map((a) => a.traceId));
      const senders = (traceId: string): string[] => [...new Set((byTrace.get(traceId) ?? []).filter((s) => s.name === SPAN.VOTER_BROADCAST).map((s) => String(s.nodeId)))];
      for (const t of traceIds) {
        expect(senders(t).length, `voters sending ${v.ticketHash} in trace ${t}`).toBeGreaterThan(0);
        for (const sender of senders(t)) {
          expect((byTrace.get(t) ?? []).some((s) => s.name === SPAN.VOTER_RECEIVE && String(s.nodeId) === sender), `${sender} received ${v.ticketHash} in trace ${t}`).toBe(true);
        }
      }
      const namesOf = (t: string): Set<string> => new Set((byTrace.get(t) as SpanRecord[]).map((s) => s.name));
      for (const t of traceIds) {
        for (const n of [SPAN.PROXY_NOTIFY, SPAN.VOTER_RECEIVE, SPAN.VOTER_BROADCAST, SPAN.PROXY_SEND, SPAN.DCRD_ACCEPT]) {
          expect(namesOf(t).has(n), `${n} in trace ${t} of ${v.ticketHash}`).toBe(true);
        }
      }
      // The signer's trace holds the build and the signature (a backup sending the stored bytes may not).
      expect([...traceIds].some((t) => namesOf(t).has(SPAN.VOTER_BUILD) && namesOf(t).has(SPAN.VOTER_SIGN)), `build and sign of ${v.ticketHash}`).toBe(true);
      const trace = [...traceIds].flatMap((t) => byTrace.get(t) as SpanRecord[]);
      // The parent chain of each dcrd.accept: proxy.send → voter.broadcast → voter.receive → proxy.notify.
      for (const a of accepts) {
        const chain: string[] = [];
        for (let s: SpanRecord | undefined = a; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) chain.push(s.name);
        expect(chain).toEqual([SPAN.DCRD_ACCEPT, SPAN.PROXY_SEND, SPAN.VOTER_BROADCAST, SPAN.VOTER_RECEIVE, SPAN.PROXY_NOTIFY]);
      }
      expect(accepts.some((a) => ['accepted', 'duplicate'].includes(String(a.attributes['votecluster.outcome'])))).toBe(true);
      for (const s of trace.filter((x) => x.name === SPAN.VOTER_BUILD || x.name === SPAN.VOTER_SIGN)) expect(parentName(s)).toBe(SPAN.VOTER_RECEIVE);
      // The signer established its inputs first (lease strategy): a voter.inputs span under its
      // voter.receive, saying how and from which tip-marker height.
      const inputs = trace.filter((x) => x.name === SPAN.VOTER_INPUTS);
      expect(inputs.length, `voter.inputs of ${v.ticketHash}`).toBeGreaterThan(0);
      for (const s of inputs) {
        expect(parentName(s)).toBe(SPAN.VOTER_RECEIVE);
        expect(['view', 'waited', 'read', 'none']).toContain(s.attributes['votecluster.inputs']);
        expect(typeof s.attributes['votecluster.view_height']).toBe('number');
      }
      // Only the first arrival of the draw opens a voter.receive per voter: at most one per voter per vote.
      const receives = all.filter((s) => s.name === SPAN.VOTER_RECEIVE && s.attributes['votecluster.ticket_hash'] === v.ticketHash
        && s.attributes['votecluster.block_hash'] === v.blockHash);
      expect(new Set(receives.map((r) => r.nodeId)).size).toBe(receives.length);
      for (const r of receives) expect(voteTraces.has(r.traceId)).toBe(true);
    }
  });

  it('each span names its own service; attributes only from the allow-list, never a key', () => {
    const text = readFileSync(traceFile, 'utf8');
    const all = spans();
    expect(all.length).toBeGreaterThan(BLOCKS * 5 * 7);
    for (const s of all) {
      for (const k of Object.keys(s.attributes)) expect(ALLOWED_ATTRIBUTES.has(k), `attribute ${k} on ${s.name}`).toBe(true);
      const want = s.name.startsWith('proxy.') || s.name === SPAN.DCRD_ACCEPT ? 'votecluster-proxy' : 'votecluster-voter';
      expect(s.service, s.name).toBe(want);
      if (want === 'votecluster-voter') expect(['v1', 'v2']).toContain(s.nodeId);
    }
    for (const t of devnet.exportTickets()) expect(text.includes(t.wif)).toBe(false);
    expect(text.includes(toHex(base.clusterKey.expose()))).toBe(false);
  });

  it('votecluster trace --json: one object per vote with totalMs', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bin/votecluster.ts', 'trace', '--file', traceFile, '--json'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const objs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { blockHash: string; ticketHash: string; totalMs: number | null; spans: Array<{ name: string }> });
    for (const hash of votedBlocks) {
      const forBlock = objs.filter((o) => o.blockHash === hash);
      expect(forBlock.length, `votes of ${hash}`).toBe(5);
      expect(new Set(forBlock.map((o) => o.ticketHash)).size).toBe(5);
      for (const o of forBlock) {
        expect(typeof o.totalMs).toBe('number');
        expect(o.totalMs as number).toBeGreaterThan(0);
        expect(o.spans.map((s) => s.name)).toContain(SPAN.DCRD_ACCEPT);
      }
    }
  });
});
