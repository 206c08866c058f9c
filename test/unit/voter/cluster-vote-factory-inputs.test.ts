/**
 * The vote factory builds every vote from the inputs that apply at the draw's height (services/
 * cluster vote-inputs.ts), never from the latest record: a real ticket, real signatures, and a
 * vote-input source that answers as the cluster would (canonical from the view, or read fresh).
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { SIMNET, blake256, encodeTx, hashToHex, toHex, voteSubsidy } from '../../../services/decred/index.ts';
import type { CanonicalInputs, FreshInputs, VoteInputs } from '../../../services/cluster/index.ts';
import { AgendaTable } from '../../../services/voter/agenda-table.ts';
import type { WinningTicketsEvent } from '../../../services/voter/chain-event.ts';
import { ClusterVoteFactory, type TicketSource, type VoteInputSource } from '../../../services/voter/cluster-vote-factory.ts';
import { simnetTicket } from '../../harness/cluster-fixtures.ts';

const log = pino({ level: 'silent' });
const { votingKey, ticket, ticketHex: TICKET } = simnetTicket('factory inputs test voting key', 7, 6);
const HEIGHT = 300;
const ev: WinningTicketsEvent = {
  kind: 'winning-tickets', blockHashHex: hashToHex(blake256(Uint8Array.of(4, 5, 6))), height: HEIGHT, ticketsHex: [TICKET],
  voteSubsidy: voteSubsidy(HEIGHT, SIMNET, 'dcp0012'), voteVersion: 0, proxy: 'pa', receivedAtMs: 0,
};
// The latest record says 'yes'; the state that applies at HEIGHT says 'no'.
const tickets: TicketSource = {
  get: (h) => (h === TICKET ? { record: { ticketHex: toHex(encodeTx(ticket)), voteChoices: { agenda: 'yes' }, inputsFrom: HEIGHT + 1 }, modRevision: 11 } : undefined),
  getVotingKey: () => {
    const k = votingKey.slice();
    return { expose: () => k, wipe: () => k.fill(0) };
  },
};
const agendas = AgendaTable.fromVoteInfo({ vote_version: 10, agendas: [{ id: 'agenda', mask: 0x06, choices: [
  { id: 'abstain', bits: 0, is_abstain: true, is_no: false }, { id: 'no', bits: 0x02, is_abstain: false, is_no: true }, { id: 'yes', bits: 0x04, is_abstain: false, is_no: false },
] }] });

const inputs = (choice: string, ticketRevision = 11): VoteInputs => ({
  height: HEIGHT, ticket: { voteChoices: { agenda: choice }, tspendPolicy: {}, treasuryPolicy: {} },
  defaults: { voteChoices: {}, tspendPolicy: {}, treasuryPolicy: {} }, tspends: [], ticketRevision, defaultsRevision: 0, voteVersion: 10,
});

function source(o: { canonical: CanonicalInputs; fresh?: () => Promise<FreshInputs>; current?: boolean }): VoteInputSource & { freshCalls: number } {
  const s = {
    freshCalls: 0,
    canonicalInputs: () => o.canonical,
    freshInputs: async () => {
      s.freshCalls++;
      if (!o.fresh) throw new Error('etcd unreachable');
      return o.fresh();
    },
    viewInputs: () => inputs('abstain'),
    whenCurrentFor: async () => o.current === true,
  };
  return s;
}

const factory = (src: VoteInputSource, waitMs = 50): ClusterVoteFactory =>
  new ClusterVoteFactory(tickets, () => ({}), () => agendas, SIMNET, log, () => 0, undefined, src, () => waitMs);

describe('ClusterVoteFactory inputs at the draw height', () => {
  it('a canonical draw is built from the inputs at H, not from the latest record', async () => {
    const f = factory(source({ canonical: { ok: true, inputs: inputs('no') } }));
    expect(await f.canonical(TICKET, ev)).toMatchObject({ ok: true, timing: { how: 'view' } });
    const v = f.sign(f.prepare(TICKET, ev));
    expect(v.meta.voteBits).toBe(0x0003);
  });

  it('a view still behind after the wait reads etcd: fresh canonical inputs make the draw canonical and are what it is built from', async () => {
    const src = source({ canonical: { ok: false, reason: 'view-behind' }, fresh: async () => ({ inputs: inputs('no', 12), canonical: true }) });
    const f = factory(src);
    expect(await f.canonical(TICKET, ev)).toMatchObject({ ok: true, timing: { how: 'read' } });
    expect(src.freshCalls).toBe(1);
    const v = f.prepare(TICKET, ev);
    expect(v.meta).toMatchObject({ voteBits: 0x0003, revision: 12 });
  });

  it('etcd not answering in time: not canonical; the build uses the inputs pinned from the view', async () => {
    const src = source({ canonical: { ok: false, reason: 'view-behind' }, fresh: () => new Promise(() => undefined) });
    const f = factory(src, 20);
    f.pin(TICKET, ev);
    expect(await f.canonical(TICKET, ev)).toMatchObject({ ok: false, reason: 'view-behind', timing: { how: 'none' } });
    expect(f.prepare(TICKET, ev).meta.voteBits).toBe(0x0001);
  });

  it('a late import is not canonical and reads nothing in canonical(); refresh() keeps etcd\'s inputs for the record-first build', async () => {
    const src = source({ canonical: { ok: false, reason: 'late-import' }, fresh: async () => ({ inputs: inputs('yes', 13), canonical: false, reason: 'late-import' }) });
    const f = factory(src);
    expect(await f.canonical(TICKET, ev)).toMatchObject({ ok: false, reason: 'late-import', timing: { how: 'none' } });
    expect(src.freshCalls).toBe(0);
    await f.refresh(TICKET, ev);
    expect(f.prepare(TICKET, ev).meta).toMatchObject({ voteBits: 0x0005, revision: 13 });
  });

  it('while a voter of an older version is live (a rolling upgrade), no draw is canonical', async () => {
    const src = { ...source({ canonical: { ok: true, inputs: inputs('no') } }), olderVotersLive: () => true };
    expect(await factory(src).canonical(TICKET, ev)).toMatchObject({ ok: false, reason: 'older-voters-live' });
  });

  it('a view that catches up through its own watches within the wait is canonical without reading etcd (how: waited), and says how far behind it was', async () => {
    let current = false;
    const src = {
      ...source({ canonical: { ok: false, reason: 'view-behind' } }),
      canonicalInputs: (): CanonicalInputs => (current ? { ok: true, inputs: inputs('no') } : { ok: false, reason: 'view-behind' }),
      whenCurrentFor: async () => {
        current = true;
        return true;
      },
      viewHeight: () => HEIGHT - 3,
    };
    // (a read would fail: this source's etcd does not answer)
    const v = await factory(src).canonical(TICKET, ev);
    expect(v).toMatchObject({ ok: true, timing: { how: 'waited', viewHeight: HEIGHT - 3 } });
  });

  it('refresh() rejects when etcd does not answer (the duty retries)', async () => {
    const f = factory(source({ canonical: { ok: false, reason: 'view-behind' } }));
    await expect(f.refresh(TICKET, ev)).rejects.toThrow('etcd unreachable');
  });
});
