/**
 * The referee of the input races (input-races.ts): what each mined vote must carry under the
 * rule the cluster implements, judged from the votes the devnet mined and etcd's history alone
 * (never from what the voters say about themselves).
 *
 * THE RULE (services/cluster chain-tip.ts, vote-inputs.ts, tspend-store.ts): a change of a vote
 * input written while the cluster tip is T (`config/chain-tip`, the highest height any voter has
 * heard; every such write is guarded by it) applies to votes on blocks at heights >= T + 2; a
 * vote on the block at height H carries the choices and treasury policies of the ticket and of
 * the cluster defaults whose latest change applying at H was written last, and the tspends the
 * cluster recorded (`tspends/<hash>`, at tip T: from T + 2) that are inside their voting window
 * at H, each with the first yes/no of ticket tspend policy, default tspend policy, ticket Pi-key
 * policy, default Pi-key policy (decred/dcrwallet wallet/wallet.go TSpendPolicy,
 * TreasuryKeyPolicy), in hash order, at most seven.
 *
 * The referee replays that from etcd: for every write the harness made it reads the tip at the
 * write's revision (the value the write's guard compared), so the height a change applies from
 * is computed, not taken from the record; the record's own `inputsFrom` / `from` must agree.
 */
import { hashToHex, insideTSpendWindow, decodeTxHex, parseVote, txType, type NetParams } from '../../decred/index.ts';
import type { Cluster } from '../../cluster/index.ts';
import { bitsFor, rpc, type CheckedAgenda, type RpcTarget } from './vote-bits-check.ts';

/** A change of a vote input the harness made, and when. */
export interface InputChange {
  /** A ticket's own choices or policies, the cluster defaults, or a new tspend. */
  kind: 'ticket-choices' | 'default-choices' | 'default-policy' | 'tspend';
  /** Ticket hash (ticket-choices) or tspend hash (tspend), display hex; '' for the defaults. */
  target: string;
  /** The etcd key written (choices, policies); '' for a tspend (the voters record it). */
  key: string;
  /** The height of the draw held (or just released) when the change was made. */
  height: number;
  /** etcd mod revision of the write; 0 for a tspend. */
  revision: number;
  /** Unix ms the change was sent (the admin call or sendrawtransaction started). */
  sentAt: number;
  /** Unix ms the cluster had it: the harness's etcd watch delivered the write; the dcrd accepted the tspend. */
  doneAt: number;
}

/** A vote mined on the main chain, as the devnet's blocks hold it. */
export interface MinedVote {
  /** Height and hash of the block voted on. */
  height: number;
  blockHash: string;
  ticketHash: string;
  voteBits: number;
  treasuryVotes: Array<{ tspendHash: string; vote: 'yes' | 'no' }>;
}

/** The votes mined on blocks at heights [from, to] (main chain of `node`), read from the blocks that carry them. */
export async function minedVotes(node: RpcTarget, from: number, to: number): Promise<MinedVote[]> {
  const out: MinedVote[] = [];
  for (let h = from + 1; h <= to + 1; h++) {
    let stx: Array<{ hex: string }>;
    try {
      const hash = (await rpc(node, 'getblockhash', [h])) as string;
      stx = ((await rpc(node, 'getblock', [hash, true, true])) as { stx: Array<{ hex: string }> }).stx;
    } catch {
      break; // not mined yet
    }
    for (const t of stx) {
      const tx = decodeTxHex(t.hex);
      if (txType(tx) !== 'vote') continue;
      const v = parseVote(tx);
      out.push({
        height: v.blockHeight, blockHash: hashToHex(v.blockHash), ticketHash: hashToHex(v.ticketHash), voteBits: v.voteBits,
        treasuryVotes: v.treasuryVotes.map((x) => ({ tspendHash: hashToHex(x.tspendHash), vote: x.vote === 1 ? 'yes' : 'no' })),
      });
    }
  }
  return out;
}

type Words = Readonly<Record<string, string>>;
/** The vote inputs of one record (a ticket's, or the defaults). */
interface State {
  voteChoices: Words;
  tspendPolicy: Words;
  treasuryPolicy: Words;
}
const EMPTY: State = { voteChoices: {}, tspendPolicy: {}, treasuryPolicy: {} };

/** A recorded tspend and the height it is carried from (computed from the tip at its recording). */
interface RecordedTSpend {
  hashHex: string;
  expiry: number;
  piKeyHex: string;
  from: number;
}

/** What the referee found. */
export interface RuleVerdict {
  /** Mined votes compared with what the rule says. */
  checked: number;
  mismatches: string[];
  /** Per change made at a held draw: the height it applies from, minus the draw's height. */
  fromOffsets: Map<InputChange, number>;
  /** Mined votes on each change's own draw that it touches (its ticket; every winner for the defaults or a tspend). */
  racedVotes: Map<InputChange, number>;
}

/** Reads etcd's history: the cluster tip and a record's inputs at a revision. */
class History {
  private readonly tips = new Map<number, number | undefined>();
  constructor(private readonly cluster: Cluster) {}

  /** The cluster tip at `revision` (what a guarded write of that revision compared against). */
  async tipAt(revision: number): Promise<number | undefined> {
    if (!this.tips.has(revision)) {
      const raw = await this.cluster.client.get(this.cluster.keyspace.chainTip()).revision(revision).string();
      this.tips.set(revision, raw !== null && /^\d{10}$/.test(raw) ? Number(raw) : undefined);
    }
    return this.tips.get(revision);
  }

  async json(key: string, revision?: number): Promise<Record<string, unknown> | undefined> {
    if (revision !== undefined && revision <= 0) return undefined;
    const q = this.cluster.client.get(key);
    const raw = await (revision === undefined ? q : q.revision(revision)).string();
    return raw === null ? undefined : (JSON.parse(raw) as Record<string, unknown>);
  }
}

function stateOf(v: Record<string, unknown> | undefined): State {
  if (!v) return EMPTY;
  return {
    voteChoices: (v['voteChoices'] as Words | undefined) ?? {},
    tspendPolicy: (v['tspendPolicy'] as Words | undefined) ?? {},
    treasuryPolicy: (v['treasuryPolicy'] as Words | undefined) ?? {},
  };
}

/** One key's timeline: its state before the harness's first write, then each write with the height it applies from. */
interface Timeline {
  initial: State;
  writes: Array<{ revision: number; from: number; state: State }>;
}

function stateAt(t: Timeline | undefined, height: number): State | undefined {
  if (!t) return undefined;
  let s = t.initial;
  for (const w of t.writes) if (w.from <= height) s = w.state;
  return s;
}

/** dcrwallet's treasury vote of one tspend: the first yes/no of ticket tspend, default tspend, ticket Pi key, default Pi key. */
function treasuryAnswer(ticket: State, dflt: State, t: RecordedTSpend): 'yes' | 'no' | undefined {
  for (const v of [ticket.tspendPolicy[t.hashHex], dflt.tspendPolicy[t.hashHex], ticket.treasuryPolicy[t.piKeyHex], dflt.treasuryPolicy[t.piKeyHex]]) {
    if (v === 'yes' || v === 'no') return v;
  }
  return undefined;
}

/** Most treasury votes one vote carries (a stake null-data push holds seven). */
const MAX_TREASURY_VOTES = 7;

/**
 * Judges `votes` against the rule (see the module comment), given the writes the harness made
 * (`changes`; tspends are read from `tspends/`), the chain's agendas and the network.
 */
export async function judgeByRule(
  cluster: Cluster, votes: readonly MinedVote[], changes: ReadonlyArray<InputChange & { blockHash?: string }>,
  agendas: readonly CheckedAgenda[], params: NetParams,
): Promise<RuleVerdict> {
  const ks = cluster.keyspace;
  const h = new History(cluster);
  const out: RuleVerdict = { checked: 0, mismatches: [], fromOffsets: new Map(), racedVotes: new Map() };
  // Every key the harness wrote: its timeline from etcd's history.
  const lines = new Map<string, Timeline>();
  const byKey = new Map<string, Array<InputChange>>();
  for (const c of changes) if (c.key) byKey.set(c.key, [...(byKey.get(c.key) ?? []), c]);
  for (const [key, cs] of byKey) {
    const sorted = [...cs].sort((a, b) => a.revision - b.revision);
    const first = sorted[0] as InputChange;
    const line: Timeline = { initial: stateOf(await h.json(key, first.revision - 1)), writes: [] };
    for (const c of sorted) {
      const v = await h.json(key, c.revision);
      const tip = await h.tipAt(c.revision);
      const from = (tip ?? 0) + 2;
      const stored = v?.[key === ks.config('vote-defaults') ? 'from' : 'inputsFrom'];
      if (stored !== from) out.mismatches.push(`${key} at revision ${c.revision} (cluster tip ${String(tip)}): the record says its inputs apply from ${String(stored)}, the rule says ${from}`);
      line.writes.push({ revision: c.revision, from, state: stateOf(v) });
      out.fromOffsets.set(c, from - c.height);
    }
    lines.set(key, line);
  }
  // The recorded tspends, each carried from the tip at its recording + 2.
  const tspends: RecordedTSpend[] = [];
  const kvs = (await cluster.client.getAll().prefix(ks.tspendsPrefix()).exec()).kvs;
  for (const kv of kvs) {
    const hashHex = ks.tspendHashOf(kv.key.toString());
    if (!hashHex) continue;
    const rec = JSON.parse(kv.value.toString()) as { expiry: number; piKeyHex: string; from: number };
    const tip = await h.tipAt(Number(kv.create_revision));
    const from = (tip ?? 0) + 2;
    if (rec.from !== from) out.mismatches.push(`tspend ${hashHex.slice(0, 12)} recorded at cluster tip ${String(tip)}: the record says from ${rec.from}, the rule says ${from}`);
    tspends.push({ hashHex, expiry: rec.expiry, piKeyHex: rec.piKeyHex, from });
    for (const c of changes) if (c.kind === 'tspend' && c.target === hashHex) out.fromOffsets.set(c, from - c.height);
  }
  tspends.sort((a, b) => (a.hashHex < b.hashHex ? -1 : a.hashHex > b.hashHex ? 1 : 0));
  for (const c of changes) {
    if (c.kind === 'tspend' && !tspends.some((t) => t.hashHex === c.target)) out.mismatches.push(`tspend ${c.target.slice(0, 12)} sent at height ${c.height} was never recorded (no proxy streamed it to a voter, or no voter recorded it)`);
  }
  const defaultsKey = ks.config('vote-defaults');
  const currentDefaults = stateOf(await h.json(defaultsKey));
  for (const v of votes) {
    const where = `height ${v.height} ticket ${v.ticketHash.slice(0, 12)}`;
    const ticketKey = ks.ticket(v.ticketHash);
    const ticket = stateAt(lines.get(ticketKey), v.height) ?? stateOf(await h.json(ticketKey));
    const dflt = stateAt(lines.get(defaultsKey), v.height) ?? currentDefaults;
    out.checked++;
    const bits = bitsFor(agendas, dflt.voteChoices, ticket.voteChoices);
    if (v.voteBits !== bits) out.mismatches.push(`${where}: mined with vote bits 0x${v.voteBits.toString(16)}, the choices in effect at its height give 0x${bits.toString(16)}`);
    const want: Array<{ tspendHash: string; vote: 'yes' | 'no' }> = [];
    for (const t of tspends) {
      if (t.from > v.height || !insideTSpendWindow(v.height, t.expiry, params.treasuryVoteInterval, params.treasuryVoteIntervalMultiplier)) continue;
      const vote = treasuryAnswer(ticket, dflt, t);
      if (vote) want.push({ tspendHash: t.hashHex, vote });
      if (want.length === MAX_TREASURY_VOTES) break;
    }
    const got = v.treasuryVotes.map((x) => `${x.tspendHash.slice(0, 12)}:${x.vote}`).join(',');
    const exp = want.map((x) => `${x.tspendHash.slice(0, 12)}:${x.vote}`).join(',');
    if (got !== exp) out.mismatches.push(`${where}: mined with treasury votes [${got}], the tspends recorded and the policies in effect at its height give [${exp}]`);
    for (const c of changes) {
      if (c.blockHash !== v.blockHash) continue;
      if (c.kind === 'ticket-choices' && c.target !== v.ticketHash) continue;
      out.racedVotes.set(c, (out.racedVotes.get(c) ?? 0) + 1);
    }
  }
  return out;
}
