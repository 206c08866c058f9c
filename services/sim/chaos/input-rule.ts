/**
 * The referee of the input races (input-races.ts): which vote inputs a mined vote must carry,
 * under the rule the cluster implements, judged from what the devnet mined and etcd's history.
 *
 * THE RULE (services/voter cluster-vote-factory.ts): a vote's inputs are the ones its signer
 * captured when the draw reached it ("pinned at the draw"): the ticket record (per-ticket
 * choices and treasury policies) and `config/vote-defaults` as its watch held them, and the
 * tspends the proxies had streamed to it that are inside their voting window at the drawn
 * height. The vote record names the etcd revisions it was built from (`choicesRevision`,
 * `defaultsRevision`). So a change that lands within milliseconds of a draw may or may not be
 * in that draw's votes (one signer per vote: never both), and it is in every vote of a draw
 * released a block later. What the referee asserts, per mined vote:
 *  - its vote bits are the ones etcd's history gives for the revisions its record names
 *    (vote-bits-check.ts), so no signer mixed inputs;
 *  - a choice change written while the chain was at height H is honoured by every vote on a
 *    block at height >= H + 2 (its record names that revision or a later one);
 *  - a tspend is carried by no vote first accepted before the tspend was sent, and by every
 *    vote on a block at height >= H + 2 (H: the height when it was sent) inside its window.
 */
import { decodeTxHex, hashToHex, parseVote, txType } from '../../decred/index.ts';
import type { Cluster } from '../../cluster/index.ts';
import { rpc, type RpcTarget } from './vote-bits-check.ts';

/** A change of a vote input the harness made, and when (the chain's height then). */
export interface InputChange {
  /** A ticket's own choices, the cluster default choices, or a new tspend. */
  kind: 'ticket-choices' | 'default-choices' | 'tspend';
  /** Ticket hash (ticket-choices) or tspend hash (tspend), display hex; '' for the defaults. */
  target: string;
  /** The height of the draw held (or just released) when the change was made. */
  height: number;
  /** etcd mod revision of the write (choices); 0 for a tspend. */
  revision: number;
  /** Unix ms the change was sent (the admin call or sendrawtransaction started). */
  sentAt: number;
  /** Unix ms the cluster had it: the harness's etcd watch delivered the write; the dcrd accepted the tspend. */
  doneAt: number;
  /** tspend: its expiry (its window is [expiry − TVI×mul − 2, expiry − 2]). */
  expiry?: number;
}

/** A vote mined on the main chain, as the devnet's blocks hold it. */
export interface MinedVote {
  /** Height and hash of the block voted on. */
  height: number;
  blockHash: string;
  ticketHash: string;
  voteTxid: string;
  voteBits: number;
  treasuryVotes: Array<{ tspendHash: string; vote: 'yes' | 'no' }>;
}

/** The votes mined on blocks at heights [from, to] (main chain of `node`), read from the blocks that carry them. */
export async function minedVotes(node: RpcTarget, from: number, to: number): Promise<MinedVote[]> {
  const out: MinedVote[] = [];
  for (let h = from + 1; h <= to + 1; h++) {
    let stx: Array<{ hex: string; txid: string }>;
    try {
      const hash = (await rpc(node, 'getblockhash', [h])) as string;
      stx = ((await rpc(node, 'getblock', [hash, true, true])) as { stx: Array<{ hex: string; txid: string }> }).stx;
    } catch {
      break; // not mined yet
    }
    for (const t of stx) {
      const tx = decodeTxHex(t.hex);
      if (txType(tx) !== 'vote') continue;
      const v = parseVote(tx);
      out.push({
        height: v.blockHeight, blockHash: hashToHex(v.blockHash), ticketHash: hashToHex(v.ticketHash), voteTxid: t.txid, voteBits: v.voteBits,
        treasuryVotes: v.treasuryVotes.map((x) => ({ tspendHash: hashToHex(x.tspendHash), vote: x.vote === 1 ? 'yes' : 'no' })),
      });
    }
  }
  return out;
}

/** A vote record's revisions (the inputs its signer built from). */
interface RecordRevisions {
  choicesRevision: number;
  defaultsRevision?: number;
}

/** Vote records by `${blockHash}:${ticketHash}`. */
async function recordRevisions(cluster: Cluster): Promise<Map<string, RecordRevisions>> {
  const raw = await cluster.client.getAll().prefix(cluster.keyspace.votesPrefix()).strings();
  const recs = new Map<string, RecordRevisions>();
  for (const v of Object.values(raw)) {
    const r = JSON.parse(v) as RecordRevisions & { blockHash: string; ticketHash: string };
    recs.set(`${r.blockHash}:${r.ticketHash}`, r);
  }
  return recs;
}

/**
 * How the raced draws went: the mined votes on the block a change was made at (the tickets it
 * touched: its ticket, or every winner for the defaults), built with the change (their record
 * names its revision or a later one) or without it. Either is right under the rule; both
 * showing up is the race exercised both ways.
 */
export async function racedChoiceDraws(cluster: Cluster, votes: readonly MinedVote[], changes: ReadonlyArray<InputChange & { blockHash: string }>): Promise<{ racedWith: number; racedWithout: number }> {
  const recs = await recordRevisions(cluster);
  let racedWith = 0;
  let racedWithout = 0;
  for (const c of changes) {
    if (c.kind === 'tspend') continue;
    for (const v of votes) {
      if (v.blockHash !== c.blockHash || (c.kind === 'ticket-choices' && v.ticketHash !== c.target)) continue;
      const r = recs.get(`${v.blockHash}:${v.ticketHash}`);
      if (!r) continue;
      if ((c.kind === 'default-choices' ? (r.defaultsRevision ?? 0) : r.choicesRevision) >= c.revision) racedWith++;
      else racedWithout++;
    }
  }
  return { racedWith, racedWithout };
}

/**
 * Choice changes not honoured: a vote on a block at height >= change height + 2 whose record
 * names a revision older than the change (of the ticket's record, or of the defaults).
 */
export async function unhonouredChoiceChanges(cluster: Cluster, votes: readonly MinedVote[], changes: readonly InputChange[]): Promise<string[]> {
  const recs = await recordRevisions(cluster);
  const out: string[] = [];
  for (const c of changes) {
    if (c.kind === 'tspend') continue;
    for (const v of votes) {
      if (v.height < c.height + 2 || (c.kind === 'ticket-choices' && v.ticketHash !== c.target)) continue;
      const r = recs.get(`${v.blockHash}:${v.ticketHash}`);
      const where = `height ${v.height} ticket ${v.ticketHash.slice(0, 12)}`;
      if (!r) {
        out.push(`${where}: mined vote without a record`);
        continue;
      }
      const rev = c.kind === 'default-choices' ? (r.defaultsRevision ?? 0) : r.choicesRevision;
      if (rev < c.revision) out.push(`${where}: built from ${c.kind === 'default-choices' ? 'defaults' : 'ticket'} revision ${rev}, older than the change at revision ${c.revision} made at height ${c.height}`);
    }
  }
  return out;
}

/** What the tspend check found. */
export interface TSpendCheck {
  mismatches: string[];
  /** Votes on the raced draws (height of a tspend's send) that carried it, and that did not. */
  racedWith: number;
  racedWithout: number;
}

/**
 * Checks the treasury votes of mined votes against the tspends sent (every one with a "yes"
 * answer: the cluster default Pi-key policy). `firstVoteAt`: when a dcrd first accepted the
 * vote of (block, ticket) (the devnet's report).
 */
export function checkTSpendVotes(
  votes: readonly MinedVote[],
  sent: readonly InputChange[],
  firstVoteAt: (blockHash: string, ticketHash: string) => number | undefined,
  window: (expiry: number) => { start: number; end: number },
): TSpendCheck {
  const byHash = new Map(sent.filter((c) => c.kind === 'tspend').map((c) => [c.target, c]));
  const out: TSpendCheck = { mismatches: [], racedWith: 0, racedWithout: 0 };
  for (const v of votes) {
    const where = `height ${v.height} ticket ${v.ticketHash.slice(0, 12)}`;
    const carried = new Map(v.treasuryVotes.map((t) => [t.tspendHash, t.vote]));
    for (const [h, vote] of carried) {
      const c = byHash.get(h);
      if (!c) out.mismatches.push(`${where}: votes on tspend ${h.slice(0, 12)}, which the run never sent`);
      else if (vote !== 'yes') out.mismatches.push(`${where}: votes ${vote} on tspend ${h.slice(0, 12)}; the policy says yes`);
    }
    for (const c of byHash.values()) {
      const w = window(c.expiry ?? 0);
      const inside = v.height >= w.start && v.height <= w.end;
      const has = carried.has(c.target);
      const at = firstVoteAt(v.blockHash, v.ticketHash);
      if (has && !inside) out.mismatches.push(`${where}: carries tspend ${c.target.slice(0, 12)} outside its window [${w.start}, ${w.end}]`);
      if (has && at !== undefined && at < c.sentAt) out.mismatches.push(`${where}: carries tspend ${c.target.slice(0, 12)} in a vote accepted ${c.sentAt - at} ms before the tspend was sent`);
      if (!has && inside && v.height >= c.height + 2) out.mismatches.push(`${where}: lacks tspend ${c.target.slice(0, 12)} sent at height ${c.height}`);
      if (inside && v.height === c.height) {
        if (has) out.racedWith++;
        else out.racedWithout++;
      }
    }
  }
  return out;
}
