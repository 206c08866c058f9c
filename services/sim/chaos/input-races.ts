/**
 * Input races: a vote input changes within milliseconds of a draw. Each block is mined with
 * its draw held (the devnet's test hook), so the harness knows the winners before any voter;
 * the change is then made through the operator's path, the Admin gRPC API over mutual TLS
 * with an operator certificate (choices, policies), or a tspend enters a dcrd's mempool
 * (`sendrawtransaction`; the proxies stream it), timed against the draw's release:
 *  - `before-release`: the change completes, the draw is released at once;
 *  - `across-release`: the change is sent and the draw released in the same instant;
 *  - `after-release`: the draw is released, the change sent at once.
 * The devnet judges (missed, conflicting: it sees every vote sent to every dcrd) and
 * input-rule.ts judges what the mined votes carry under the cluster's rule.
 */
import { createAdminClient, type AgendaSet } from '../../admin/index.ts';
import { calcTSpendWindow, encodeTx, hashToHex, netParams, toHex, txHash } from '../../decred/index.ts';
import { ROLE } from '../../security/index.ts';
import { createTestTSpend, type HeldBlock } from '../devnet/index.ts';
import { mineHeld, driveBlocks } from '../layout/drive.ts';
import { startDemoAdmin, type DemoAdmin } from '../layout/demo-admin.ts';
import type { Layout } from '../layout/layout.ts';
import { judgeByRule, minedVotes, type InputChange } from './input-rule.ts';
import { msSummary, type MsSummary } from './signer-faults.ts';
import { rpc, type RpcTarget } from './vote-bits-check.ts';

/** How a change is timed against the release of the held draw. */
export type RaceTiming = 'before-release' | 'across-release' | 'after-release';
const TIMINGS: readonly RaceTiming[] = ['before-release', 'across-release', 'after-release'];

/** A change lands "at the draw" when it completes within this many ms of the release. */
export const RACE_WINDOW_MS = 100;

/** One change made at a held draw. */
export interface InputFault extends InputChange {
  timing: RaceTiming;
  blockHash: string;
  /** Unix ms the held draw was released. */
  releasedAt: number;
}

/** The input races of a run and the referee's verdict (the JSON report's fault counts). */
export interface InputRaceReport {
  /** Changes made at held draws. */
  faults: number;
  /** Of those, committed within {@link RACE_WINDOW_MS} of their draw's release, with a mined vote on that draw that the change touches. */
  faultsExercised: number;
  /** Change completed − draw released, ms (negative: before the release), of every fault. */
  raceMs: { min: number } & MsSummary;
  /** Mined votes the referee checked. */
  votesChecked: number;
  /** Mined votes on the raced draws (each change's own draw, the tickets it touches): by the rule none carries the change. */
  racedVotes: number;
  /** Changes that apply from the block after their draw (written before the tip reached the draw), and from the one after that. */
  fromNext: number;
  fromAfterNext: number;
  /** What the referee found wrong (empty when the run is right). */
  mismatches: string[];
  log: InputFault[];
}

/** The operator's path: the demo admin's Admin gRPC API, called with an operator certificate. */
interface Operator {
  admin: DemoAdmin;
  call(method: string, req: Record<string, unknown>): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

async function startOperator(l: Layout): Promise<Operator> {
  const admin = await startDemoAdmin(l, l.log);
  try {
    const client = createAdminClient(admin.grpcAddress, { tls: await l.issueClientTls('chaos-operator', ROLE.operator) });
    return {
      admin,
      call: (method, req) => new Promise((resolve, reject) => {
        (client[method] as (r: unknown, cb: (err: Error | null, res: Record<string, unknown>) => void) => void).call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
      }),
      async stop() {
        client.close();
        await admin.stop();
      },
    };
  } catch (err) {
    await admin.stop();
    throw err;
  }
}

/** A write through the Admin API: when etcd delivered it to the harness's watch, its revision, when it was sent. */
interface Written {
  at: number;
  revision: number;
  sentAt: number;
}

/**
 * Prepares one Admin API call that writes `key`: an etcd watch on the key, so the change counts
 * as made when etcd delivers it (as it does to the voters' watches); returns the sender.
 */
async function prepareWrite(l: Layout, op: Operator, key: string, method: string, req: Record<string, unknown>): Promise<() => { committed: Promise<unknown>; done: Promise<Written> }> {
  const watcher = await l.admin.client.watch().key(key).create();
  const committed = new Promise<{ at: number; revision: number }>((resolve) => {
    watcher.on('put', (kv) => resolve({ at: Date.now(), revision: Number(kv.mod_revision) }));
  });
  return () => {
    const sentAt = Date.now();
    const call = op.call(method, req);
    const done = (async (): Promise<Written> => {
      try {
        await call;
        const answered = Date.now();
        // A write that changed nothing may be skipped by the store: then the call's answer is the time.
        const c = await Promise.race([committed, new Promise<undefined>((r) => setTimeout(r, COMMIT_WAIT_MS, undefined))])
          ?? { at: answered, revision: Number((await l.admin.client.get(key).exec()).kvs[0]?.mod_revision ?? 0) };
        return { ...c, sentAt };
      } finally {
        await watcher.cancel();
      }
    })();
    return { committed, done };
  };
}

/** One Admin API write, awaited. */
async function adminWrite(l: Layout, op: Operator, key: string, method: string, req: Record<string, unknown>): Promise<Written> {
  return (await prepareWrite(l, op, key, method, req))().done;
}

/** What an input-race scenario gets (a subset of the scenario context). */
export interface RaceContext {
  layout: Layout;
  blocks: number;
  note: (line: string) => void;
  signal?: AbortSignal;
}

/** A change in flight: `committed` once the cluster has it (etcd committed it, a dcrd accepted it), `done` once its call answered. */
interface Sent {
  committed: Promise<unknown>;
  done: Promise<InputChange[]>;
}

/** The change(s) of one held draw, each prepared (watches set up) while the draw is held and sent by a synchronous call. */
interface RacePlan {
  /** For the notes. */
  what: string;
  /** The change timed against the release (the round's timing). */
  atDraw: () => Promise<() => Sent>;
  /** A further change sent right after the release. */
  afterRelease?: () => Promise<() => Sent>;
}

/** How long an `across-release` round waits for its change to commit before releasing anyway. */
const COMMIT_WAIT_MS = 5_000;

/**
 * Drives the blocks of a race scenario: `plan` returns the changes of a held draw (or none);
 * the round's timing (before, across, after the release, in turn) applies to `atDraw`.
 * `across-release` releases the draw the instant the change is committed. Returns the faults, in order.
 */
async function driveRaces(ctx: RaceContext, plan: (held: HeldBlock, round: number) => RacePlan | undefined): Promise<InputFault[]> {
  const l = ctx.layout;
  const log: InputFault[] = [];
  interface Round { held: HeldBlock; what: string; timing: RaceTiming; releasedAt: number; send: () => Sent; sendAfter?: () => Sent; parts: Array<Promise<InputChange[]>> }
  let cur: Round | undefined;
  const started = (p: Promise<InputChange[]>): Promise<InputChange[]> => {
    p.catch(() => undefined); // awaited (and its error thrown) after the release
    return p;
  };
  await driveBlocks(l, {
    blocks: ctx.blocks,
    note: ctx.note,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    mine: (round) => mineHeld(l, async (held) => {
      const p = plan(held, round);
      if (!p) {
        ctx.note(`height ${held.height}: no change this round`);
        return;
      }
      const sendAfter = p.afterRelease ? await p.afterRelease() : undefined;
      const c: Round = { held, what: p.what, timing: TIMINGS[round % TIMINGS.length] as RaceTiming, releasedAt: 0, send: await p.atDraw(), parts: [], ...(sendAfter ? { sendAfter } : {}) };
      cur = c;
      if (c.timing === 'before-release') c.parts.push(Promise.resolve(await c.send().done));
      if (c.timing === 'across-release') {
        const s = c.send();
        c.parts.push(started(s.done));
        await Promise.race([s.committed, s.done.then(() => undefined, () => undefined), new Promise((r) => setTimeout(r, COMMIT_WAIT_MS))]);
      }
      // The draw is released as this returns (mineHeld), in this same instant.
      c.releasedAt = Date.now();
    }, ctx.note),
    afterBlock: async () => {
      const c = cur;
      cur = undefined;
      if (!c) return;
      if (c.timing === 'after-release') c.parts.push(started(c.send().done));
      const after = c.sendAfter ? started(c.sendAfter().done) : undefined;
      const add = (cs: InputChange[], timing: RaceTiming): void => {
        for (const x of cs) log.push({ ...x, timing, blockHash: c.held.blockHash, releasedAt: c.releasedAt });
      };
      add((await Promise.all(c.parts)).flat(), c.timing);
      if (after) add(await after, 'after-release');
      const ms = log.filter((f) => f.blockHash === c.held.blockHash).map((f) => f.doneAt - f.releasedAt);
      ctx.note(`height ${c.held.height}: ${c.what}; ${c.timing}; committed at ${ms.map((x) => `${x >= 0 ? '+' : ''}${x}`).join(', ')} ms from the release`);
    },
  });
  return log;
}

function raceSummary(log: readonly InputFault[]): InputRaceReport['raceMs'] {
  const d = log.map((f) => f.doneAt - f.releasedAt);
  return { ...msSummary(d.map((x) => Math.abs(x))), min: d.length ? Math.min(...d) : 0 };
}

/** The agenda set the chain votes on (the proxy's getvoteinfo, as the admin checks choices). */
async function chainAgendas(op: Operator): Promise<AgendaSet> {
  return op.admin.chain.getVoteInfo(0);
}

const CHOICES = ['yes', 'no', 'abstain'] as const;

/**
 * `choice-change-at-draw`: every held draw, the per-ticket choice of one of its winners changes
 * (timed against the release), in odd rounds the cluster default with it; and right after each
 * release the choice of another winner of that draw changes.
 */
export async function choiceChangeAtDraw(ctx: RaceContext): Promise<() => Promise<InputRaceReport>> {
  const l = ctx.layout;
  const op = await startOperator(l);
  try {
    const set = await chainAgendas(op);
    const defaultAgenda = (set.agendas[0] as { id: string }).id;
    const ticketAgenda = (set.agendas[set.agendas.length - 1] as { id: string }).id;
    const ks = l.admin.keyspace;
    let n = 0;
    /** Prepares one SetVoteChoices call (a ticket's, or the default with `ticket` undefined). */
    const prepare = async (held: HeldBlock, ticket: string | undefined): Promise<() => Sent> => {
      const key = ticket ? ks.ticket(ticket) : ks.config('vote-defaults');
      const choice = CHOICES[n++ % CHOICES.length] as string;
      const send = await prepareWrite(l, op, key, 'SetVoteChoices', { ticket_hash: ticket ?? '', choices: [{ agenda_id: ticket ? ticketAgenda : defaultAgenda, choice_id: choice }] });
      return () => {
        const w = send();
        const done = w.done.then((c): InputChange[] => [{ kind: ticket ? 'ticket-choices' : 'default-choices', target: ticket ?? '', key, height: held.height, revision: c.revision, sentAt: c.sentAt, doneAt: c.at }]);
        return { committed: w.committed, done };
      };
    };
    /** Sends several prepared changes at once. */
    const together = (sends: Array<() => Sent>): (() => Sent) => () => {
      const all = sends.map((x) => x());
      return { committed: Promise.all(all.map((x) => x.committed)), done: Promise.all(all.map((x) => x.done)).then((xs) => xs.flat()) };
    };
    const log = await driveRaces(ctx, (held, round) => {
      const w = held.winners.filter((t) => l.importedTickets().has(t));
      if (w.length === 0) return undefined;
      const a = w[round % w.length] as string;
      const b = w.length > 1 ? (w[(round + 1) % w.length] as string) : undefined;
      const withDefaults = round % 2 === 1;
      return {
        what: `choice of winner ${a.slice(0, 12)}${withDefaults ? ' and the default choice' : ''}${b ? `, then of winner ${b.slice(0, 12)} after the release` : ''}`,
        atDraw: async () => together([await prepare(held, a), ...(withDefaults ? [await prepare(held, undefined)] : [])]),
        ...(b ? { afterRelease: () => prepare(held, b) } : {}),
      };
    });
    return () => judge(ctx, set.agendas, log);
  } finally {
    await op.stop();
  }
}

/**
 * The referee's verdict on the run (input-rule.ts), with the changes made at held draws
 * (`log`) and any made before the first draw (`setup`).
 */
async function judge(ctx: RaceContext, agendas: AgendaSet['agendas'], log: InputFault[], setup: InputChange[] = []): Promise<InputRaceReport> {
  const l = ctx.layout;
  const votes = await minedVotes(l.devnet.nodes[0] as RpcTarget, l.readyHeight, l.devnet.height());
  const v = await judgeByRule(l.admin, votes, [...setup, ...log], agendas, netParams('simnet'));
  const raced = (f: InputFault): number => v.racedVotes.get(f) ?? 0;
  const exercised = log.filter((f) => Math.abs(f.doneAt - f.releasedAt) <= RACE_WINDOW_MS && raced(f) > 0).length;
  const offsets = log.map((f) => v.fromOffsets.get(f));
  const r: InputRaceReport = {
    faults: log.length, faultsExercised: exercised, raceMs: raceSummary(log), votesChecked: v.checked,
    racedVotes: log.reduce((n, f) => n + raced(f), 0), fromNext: offsets.filter((x) => x === 1).length, fromAfterNext: offsets.filter((x) => x === 2).length,
    mismatches: v.mismatches, log,
  };
  ctx.note(`referee: ${r.votesChecked} mined votes checked against the inputs in effect at their heights, ${r.mismatches.length} mismatches; ${r.racedVotes} votes on the raced draws; the ${log.length} changes apply from the next block (${r.fromNext}) or the one after (${r.fromAfterNext})`);
  return r;
}

/** Tspends whose voting windows may overlap: the seven treasury votes a vote can carry. */
const MAX_LIVE_TSPENDS = 7;

/**
 * `tspend-at-draw`: the cluster default Pi-key policy is "yes" (Admin SetTreasuryPolicy); every
 * held draw, a new signed simnet tspend whose window holds the drawn height enters one dcrd's
 * mempool (the nodes in turn, the miner's notifications held with the draw), timed against the
 * release, while fewer than seven tspends are inside their windows (a vote carries at most seven).
 */
export async function tspendAtDraw(ctx: RaceContext): Promise<() => Promise<InputRaceReport>> {
  const l = ctx.layout;
  const params = netParams('simnet');
  const tvi = params.treasuryVoteInterval;
  const window = (expiry: number): { start: number; end: number } => calcTSpendWindow(expiry, tvi, params.treasuryVoteIntervalMultiplier);
  const op = await startOperator(l);
  try {
    const piKey = toHex(createTestTSpend(params, { nextHeight: l.devnet.height() + 1 }).inputs[0]?.sigScript.slice(66, 99) ?? new Uint8Array());
    const set = await chainAgendas(op);
    // The policy is a guarded write too: it applies from the cluster tip + 2 (the referee replays it).
    const defaultsKey = l.admin.keyspace.config('vote-defaults');
    const policy = await adminWrite(l, op, defaultsKey, 'SetTreasuryPolicy', { key: piKey, policy: 'yes', ticket_hash: '' });
    const setup: InputChange[] = [{ kind: 'default-policy', target: '', key: defaultsKey, height: l.devnet.height(), revision: policy.revision, sentAt: policy.sentAt, doneAt: policy.at }];
    ctx.note(`default Pi-key policy yes for ${piKey.slice(0, 12)} (revision ${policy.revision})`);
    let tag = 0;
    const sent: Array<{ expiry: number }> = [];
    const log = await driveRaces(ctx, (held, round) => {
      // The earliest window that holds the drawn height and the next two (so the votes after the race carry it).
      const end = Math.ceil((held.height + 2) / tvi) * tvi;
      if (sent.filter((t) => window(t.expiry).end >= held.height).length >= MAX_LIVE_TSPENDS) return undefined;
      const expiry = end + 2;
      sent.push({ expiry });
      const node = l.devnet.nodes[round % l.devnet.nodes.length] as RpcTarget & { index: number };
      const tx = createTestTSpend(params, { nextHeight: held.height + 1, tag: ++tag, expiry });
      const hash = hashToHex(txHash(tx));
      return {
        what: `tspend ${hash.slice(0, 12)} (window ${window(expiry).start}-${window(expiry).end}) to dcrd ${node.index}`,
        atDraw: async () => () => {
          const sentAt = Date.now();
          const done = (async (): Promise<InputChange[]> => {
            const txid = await rpc(node, 'sendrawtransaction', [toHex(encodeTx(tx))]);
            if (txid !== hash) throw new Error(`tspend-at-draw: dcrd ${node.index} answered txid ${String(txid)} for ${hash}`);
            return [{ kind: 'tspend', target: hash, key: '', height: held.height, revision: 0, sentAt, doneAt: Date.now() }];
          })();
          return { committed: done, done };
        },
      };
    });
    return () => judge(ctx, set.agendas, log, setup);
  } finally {
    await op.stop();
  }
}
