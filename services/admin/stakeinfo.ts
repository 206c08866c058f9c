/**
 * Stake info for the tickets the cluster manages: the fields
 * `dcrctl --wallet getstakeinfo` shows (decred/dcrwallet: rpc/jsonrpc/types
 * GetStakeInfoResult), computed from the etcd ticket and vote records plus
 * chain lookups through a node proxy.
 *
 * Classification of one managed ticket (decred/dcrwallet: wallet/wallet.go StakeInfo):
 * - unmined:  the chain has it only in a mempool (ownmempooltix);
 * - immature: mined at T and tip < T + TicketMaturity;
 * - live:     dcrd says it is in the live pool (existslivetickets);
 * - voted:    not live, and the chain knows one of its recorded votes (mined), or the admin's
 *             chain judge saw its vote mined (before any record names it);
 * - expired:  not live, not voted and tip >= T + TicketMaturity + TicketExpiry;
 * - missed:   otherwise (drawn and not voted in time, or left the pool unvoted).
 * Revocations are not tracked (no address index on the proxy): `revoked` is 0
 * and expired tickets count as `unspentexpired`.
 */
import { decodeTx, type NetParams } from '../decred/index.ts';
import { AdminTxIndexRequiredError } from './errors.ts';
import type { ChainJudge, ChainVerdict } from './chain-judge.ts';
import type { ChainLookup, StoredTicket, TicketStore, VoteRecordView } from './ports.ts';

/** Status of one managed ticket. */
export type TicketStatus = 'unmined' | 'immature' | 'live' | 'voted' | 'missed' | 'expired' | 'unknown';

/** One classified ticket. */
export interface ClassifiedTicket {
  ticket: StoredTicket;
  status: TicketStatus;
  /** Mining height of the ticket when known. */
  blockHeight?: number;
  blockHash?: string;
  /** The mined vote, for voted tickets. */
  voteTxid?: string;
  /** Vote subsidy (stakebase value) of the mined vote, atoms. */
  voteSubsidy?: bigint;
}

/** What `getstakeinfo` reports; amounts in atoms. */
export interface StakeInfo {
  blockHeight: number;
  poolSize: number;
  /** Current ticket price in atoms. */
  difficulty: bigint;
  allMempoolTix: number;
  ownMempoolTix: number;
  immature: number;
  unspent: number;
  voted: number;
  revoked: number;
  unspentExpired: number;
  live: number;
  proportionLive: number;
  missed: number;
  proportionMissed: number;
  expired: number;
  totalSubsidy: bigint;
  /** False when no proxy was available: chain-derived counts are then unknown (0). */
  chainChecked: boolean;
}

/** What stake info needs. */
export interface StakeInfoDeps {
  store: TicketStore;
  chain?: ChainLookup;
  params: NetParams;
  /**
   * The chain judge's verdicts (the admin's, when it runs one): a ticket whose vote the chain
   * mined counts as voted even while no vote record names that vote yet (a voter writes its
   * record after sending, and queues it while etcd is unreachable) or when the mined vote is not
   * the recorded one.
   */
  chainVerdicts?: Pick<ChainJudge, 'verdictOf'>;
}

/** Classifies every managed ticket against the chain (all `unknown` without a proxy). */
export async function classifyTickets(deps: StakeInfoDeps, opts: { header?: boolean } = {}): Promise<{ tipHeight: number; tickets: ClassifiedTicket[]; tip?: Awaited<ReturnType<ChainLookup['getBestBlock']>> }> {
  const tickets = await deps.store.listTickets();
  const chain = deps.chain;
  if (!chain) {
    return { tipHeight: 0, tickets: tickets.map((ticket) => ({ ticket, status: 'unknown' as const })) };
  }
  const tip = await chain.getBestBlock({ header: opts.header === true });
  const hashes = tickets.map((t) => t.ticketHash);
  const live = hashes.length ? await chain.existsLiveTickets(hashes) : [];
  const votes = await deps.store.listVotes();
  const votesByTicket = new Map<string, VoteRecordView[]>();
  for (const v of votes) {
    const list = votesByTicket.get(v.ticketHash) ?? [];
    list.push(v);
    votesByTicket.set(v.ticketHash, list);
  }
  const out: ClassifiedTicket[] = [];
  for (const [i, ticket] of tickets.entries()) {
    const c: ClassifiedTicket = { ticket, status: 'unknown' };
    let height = ticket.blockHeight;
    let blockHash = ticket.blockHash;
    let noIndex = false;
    if (height === undefined) {
      try {
        const loc = await chain.getRawTransaction(ticket.ticketHash, blockHash !== undefined ? { blockHash } : undefined);
        height = loc?.blockHeight;
        blockHash = loc?.blockHash ?? blockHash;
      } catch (err) {
        if (!(err instanceof AdminTxIndexRequiredError)) throw err;
        noIndex = true; // dcrd without --txindex and no block known for this ticket
      }
    }
    if (height !== undefined) c.blockHeight = height;
    if (blockHash !== undefined) c.blockHash = blockHash;
    if (live[i] === true) {
      c.status = 'live';
    } else if (noIndex) {
      c.status = 'unknown';
    } else if (height === undefined) {
      c.status = 'unmined';
    } else if (tip.height < height + deps.params.ticketMaturity) {
      c.status = 'immature';
    } else {
      const mined = await minedVote(chain, withJudgedVote(votesByTicket.get(ticket.ticketHash) ?? [], deps.chainVerdicts?.verdictOf(ticket.ticketHash)));
      if (mined === 'no-txindex') {
        // dcrd without --txindex cannot find a mined vote by its txid: voted or missed is not known here.
        c.status = 'unknown';
      } else if (mined) {
        c.status = 'voted';
        c.voteTxid = mined.txid;
        c.voteSubsidy = mined.subsidy;
      } else if (tip.height >= height + deps.params.ticketMaturity + deps.params.ticketExpiry) {
        c.status = 'expired';
      } else {
        c.status = 'missed';
      }
    }
    out.push(c);
  }
  return { tipHeight: tip.height, tickets: out, tip };
}

/** A vote that may have been mined: the draw's block and height, and the vote's txid. */
type MinedVoteCandidate = Pick<VoteRecordView, 'voteTxid' | 'blockHash' | 'height'>;

/** The recorded votes of a ticket, then the vote the judge saw mined for it when no record names it. */
function withJudgedVote(records: readonly MinedVoteCandidate[], verdict: ChainVerdict | undefined): readonly MinedVoteCandidate[] {
  if (verdict?.outcome !== 'voted' || verdict.voteTxid === undefined || records.some((r) => r.voteTxid === verdict.voteTxid)) return records;
  return [...records, { blockHash: verdict.blockHash, height: verdict.height, voteTxid: verdict.voteTxid }];
}

/**
 * The first recorded vote of a ticket that the chain knows. Only called for a
 * mature ticket that is no longer live: the ticket left the pool, and the
 * chain has our vote for it, so the vote was mined (a vote still in a mempool
 * would leave the ticket live). The proxy's lookup does not say the block.
 */
async function minedVote(chain: ChainLookup, records: readonly MinedVoteCandidate[]): Promise<{ txid: string; subsidy: bigint } | 'no-txindex' | undefined> {
  for (const r of records) {
    let loc: { raw: Uint8Array } | undefined;
    try {
      loc = await chain.getRawTransaction(r.voteTxid);
    } catch (err) {
      if (!(err instanceof AdminTxIndexRequiredError)) throw err;
      // dcrd without --txindex finds a mined vote only in its block: the voted block's main-chain
      // child, which the proxy's GetBlockVotes reads (getblock) for the record's block and height.
      if (!chain.getBlockVotes) return 'no-txindex';
      loc = (await chain.getBlockVotes(r.blockHash, r.height)).find((v) => v.txid === r.voteTxid && v.minedIn !== undefined);
    }
    if (!loc) continue;
    const tx = decodeTx(loc.raw);
    // Input 0 of a vote is the stakebase; its valueIn is the vote subsidy (decred/dcrd: blockchain/stake/staketx.go).
    return { txid: r.voteTxid, subsidy: tx.inputs[0]?.valueIn ?? 0n };
  }
  return undefined;
}

/**
 * The tickets the cluster manages but no voter can use (a record sealed with another cluster
 * key, or corrupt: `TicketStore.unvotableTickets`), classified like the others: where the
 * ticket was mined (the record's plain fields when readable, else getrawtransaction), whether
 * it is live, and whether a recorded vote of it was mined. They count in stake info like any managed ticket: their misses are the cluster's.
 */
async function classifyUnvotable(deps: StakeInfoDeps, tipHeight: number, listed: ReadonlySet<string>): Promise<Array<{ status: TicketStatus; voteSubsidy?: bigint }>> {
  const chain = deps.chain;
  const hashes = [...(deps.store.unvotableTickets?.() ?? [])].filter((h) => !listed.has(h)).sort();
  if (!chain || hashes.length === 0) return hashes.map(() => ({ status: 'unknown' as const }));
  const live = await chain.existsLiveTickets(hashes);
  const votes = await deps.store.listVotes();
  const out: Array<{ status: TicketStatus; voteSubsidy?: bigint }> = [];
  for (const [i, h] of hashes.entries()) {
    if (live[i] === true) {
      out.push({ status: 'live' });
      continue;
    }
    const known = await deps.store.unvotableTicketBlock?.(h);
    let height = known?.blockHeight;
    try {
      if (height === undefined) {
        const loc = await chain.getRawTransaction(h, known?.blockHash !== undefined ? { blockHash: known.blockHash } : undefined);
        height = loc?.blockHeight;
      }
    } catch (err) {
      if (!(err instanceof AdminTxIndexRequiredError)) throw err;
      out.push({ status: 'unknown' });
      continue;
    }
    if (height === undefined) out.push({ status: 'unmined' });
    else if (tipHeight < height + deps.params.ticketMaturity) out.push({ status: 'immature' });
    else {
      const mined = await minedVote(chain, withJudgedVote(votes.filter((v) => v.ticketHash === h), deps.chainVerdicts?.verdictOf(h)));
      if (mined === 'no-txindex') out.push({ status: 'unknown' });
      else if (mined) out.push({ status: 'voted', voteSubsidy: mined.subsidy });
      else if (tipHeight >= height + deps.params.ticketMaturity + deps.params.ticketExpiry) out.push({ status: 'expired' });
      else out.push({ status: 'missed' });
    }
  }
  return out;
}

/** Computes the getstakeinfo fields for the managed tickets (unvotable records included). */
export async function getStakeInfo(deps: StakeInfoDeps): Promise<StakeInfo> {
  const classified = await classifyTickets(deps, { header: true });
  const { tip } = classified;
  const unvotable = await classifyUnvotable(deps, tip?.height ?? 0, new Set(classified.tickets.map((t) => t.ticket.ticketHash)));
  const tickets: Array<{ status: TicketStatus; voteSubsidy?: bigint }> = [...classified.tickets, ...unvotable];
  const count = (s: TicketStatus): number => tickets.filter((t) => t.status === s).length;
  const live = count('live');
  const voted = count('voted');
  const missed = count('missed');
  const expired = count('expired');
  const poolSize = tip?.poolSize ?? 0;
  let totalSubsidy = 0n;
  for (const t of tickets) totalSubsidy += t.voteSubsidy ?? 0n;
  return {
    blockHeight: tip?.height ?? 0,
    poolSize,
    difficulty: tip?.ticketPrice ?? 0n,
    allMempoolTix: 0,
    ownMempoolTix: count('unmined'),
    immature: count('immature'),
    unspent: live,
    voted,
    revoked: 0,
    unspentExpired: expired,
    live,
    proportionLive: poolSize > 0 ? live / poolSize : 0,
    missed,
    proportionMissed: voted + missed > 0 ? missed / (voted + missed) : 0,
    expired,
    totalSubsidy,
    chainChecked: deps.chain !== undefined,
  };
}

const ATOMS_PER_DCR = 1e8;

/** The dcrwallet JSON shape (`getstakeinfo`): amounts in DCR as floats. */
export function stakeInfoToWalletJson(s: StakeInfo): Record<string, number> {
  return {
    blockheight: s.blockHeight,
    poolsize: s.poolSize,
    difficulty: Number(s.difficulty) / ATOMS_PER_DCR,
    allmempooltix: s.allMempoolTix,
    ownmempooltix: s.ownMempoolTix,
    immature: s.immature,
    unspent: s.unspent,
    voted: s.voted,
    revoked: s.revoked,
    unspentexpired: s.unspentExpired,
    live: s.live,
    proportionlive: s.proportionLive,
    missed: s.missed,
    proportionmissed: s.proportionMissed,
    expired: s.expired,
    totalsubsidy: Number(s.totalSubsidy) / ATOMS_PER_DCR,
  };
}
