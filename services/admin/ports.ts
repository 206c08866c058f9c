/**
 * What the admin service needs from its neighbours, as small interfaces:
 * {@link TicketStore} is implemented over services/cluster (cluster-store.ts),
 * {@link ChainLookup} over a node proxy client (chain.ts). The operations
 * (intake, choices, stake info, status) are written against these, so each
 * reads as one step and the adapters are the only code that knows the
 * neighbours' shapes.
 */
import type { SecretKey } from '../telemetry/index.ts';
import type { AgendaSet } from './agendas.ts';
import type { AdminError } from './errors.ts';
import type { TreasuryPolicy } from './policies.ts';

/** A ticket as the cluster stores it (never with the key in clear). */
export interface StoredTicket {
  /** Display hex. */
  ticketHash: string;
  /** The serialized ticket. */
  rawTicket: Uint8Array;
  votingAddress: string;
  /** Ticket price in atoms (voting output value). */
  price: bigint;
  blockHash?: string;
  blockHeight?: number;
  importedAtMs: number;
  /** Per-ticket agenda choices: agenda id -> choice id. */
  choices: Record<string, string>;
  /** Per-ticket tspend policies: tspend hash -> policy. */
  tspendPolicies: Record<string, TreasuryPolicy>;
  /** Per-ticket treasury key policies: Pi key hex -> policy. */
  treasuryPolicies: Record<string, TreasuryPolicy>;
}

/** What an import writes. */
export interface TicketImport {
  ticketHash: string;
  rawTicket: Uint8Array;
  votingAddress: string;
  price: bigint;
  blockHash?: string;
  blockHeight?: number;
  /** The voting private key; the store encrypts it with the cluster key. */
  privKey: SecretKey;
}

/** Cluster-wide defaults. */
export interface VotingDefaults {
  choices: Record<string, string>;
  tspendPolicies: Record<string, TreasuryPolicy>;
  treasuryPolicies: Record<string, TreasuryPolicy>;
}

/** One stored vote record. */
export interface VoteRecordView {
  ticketHash: string;
  blockHash: string;
  height: number;
  voteTxid: string;
  signer: string;
  signedAtMs: number;
  /** When the draw reached the signer (ms since epoch), when the record says. */
  drawnAtMs?: number;
  /** Draw -> first dcrd acceptance, ms, when the record knows both (owner fast path). */
  latencyMs?: number;
  /** Draw -> signed, ms, when the record knows the draw time. */
  signedAfterMs?: number;
  /** How the vote was produced: owner fast path, owner record-first, backup takeover, post-outage repair. */
  path?: 'fast' | 'record-first' | 'takeover' | 'repair';
}

/** etcd's membership as one member reports it. */
export interface EtcdMembersView {
  members: Array<{ id: string; name: string; clientUrls: string[]; leader: boolean }>;
  /** The leader's member id, when the answering member knows one (absent: no leader). */
  leaderId?: string;
  /** Raft term of the answering member. */
  raftTerm?: string;
}

/** One cluster member. */
export interface NodeView {
  nodeId: string;
  region: string;
  proxies: string[];
  version: string;
  startedMs: number;
  /** True when the node says it takes ticket claims (a voter whose proxy streams are up). */
  acceptsClaims?: boolean;
  /** Its session lease as etcd sees it: granted TTL (s) and ms since etcd last renewed it (1 s resolution). */
  lease?: { ttlSec: number; sinceRenewalMs: number };
}

/** The cluster operations the admin service uses. */
export interface TicketStore {
  /** Create-if-absent; `created: false` when the ticket was already managed (nothing changed). */
  importTicket(t: TicketImport): Promise<{ created: boolean }>;
  /**
   * Optional batched {@link importTicket}: one result per input, in order; a refused ticket gets
   * its AdminError and does not affect the others. Rejects (AdminStoreError) only when the store
   * is unreachable.
   */
  importTickets?(ts: readonly TicketImport[]): Promise<Array<{ created: boolean } | { error: AdminError }>>;
  /** Removes the record; false when it did not exist. */
  removeTicket(ticketHash: string): Promise<boolean>;
  getTicket(ticketHash: string): Promise<StoredTicket | undefined>;
  listTickets(): Promise<StoredTicket[]>;
  /**
   * Merges agenda choices into a ticket's per-ticket choices as stored (one guarded write:
   * concurrent merges all land); resolves with the ticket's choices as written.
   */
  setTicketChoices(ticketHash: string, patch: Readonly<Record<string, string>>): Promise<Record<string, string>>;
  /** Sets (undefined: clears) a ticket's policy for one tspend. */
  setTicketTSpendPolicy(ticketHash: string, tspendHash: string, policy: TreasuryPolicy | undefined): Promise<void>;
  /** Sets (undefined: clears) a ticket's policy for one treasury key. */
  setTicketTreasuryPolicy(ticketHash: string, piKey: string, policy: TreasuryPolicy | undefined): Promise<void>;
  getDefaults(): Promise<VotingDefaults>;
  /**
   * Changes the defaults: `fn` gets them as stored now and returns the new ones, applied as one
   * guarded write (concurrent changes all land; `fn` may run more than once). Resolves with
   * the defaults as written.
   */
  updateDefaults(fn: (current: VotingDefaults) => VotingDefaults): Promise<VotingDefaults>;
  listVotes(): Promise<VoteRecordView[]>;
  /** Calls `onVote` for each new vote record until the returned stop() resolves. */
  watchVotes(onVote: (v: VoteRecordView) => void): Promise<{ stop(): Promise<void> }>;
  listNodes(): Promise<NodeView[]>;
  /** ticket hash -> owner node id. */
  listOwners(): Promise<Map<string, string>>;
  /** etcd's members and which one leads, as the member answering this call sees it (one or two etcd calls). */
  etcdMembers?(): Promise<EtcdMembersView>;
  /** Hashes of ticket records in the cluster that cannot be voted with (another cluster key, corrupt). */
  unvotableTickets?(): ReadonlySet<string>;
  /**
   * Where an unvotable ticket was mined, as its record says when the record's plain fields
   * are readable (one etcd read); undefined when they are not.
   */
  unvotableTicketBlock?(ticketHash: string): Promise<{ blockHash?: string; blockHeight?: number } | undefined>;
  /**
   * The agendas voters last stored for a vote version (`config/agendas-v<N>`); without a
   * version, the set of the highest stored version. Undefined when none is stored.
   */
  getStoredAgendas?(voteVersion?: number): Promise<AgendaSet | undefined>;
  /**
   * The latest vote version committed for the cluster's votes (`config/vote-version`): the one
   * a change written now is voted with. Undefined when none is committed (or it is unreadable).
   */
  committedVoteVersion?(): Promise<number | undefined>;
}

/** Where a mined transaction sits. */
export interface TxLocation {
  raw: Uint8Array;
  /** Absent for mempool transactions or when the proxy does not say. */
  blockHash?: string;
  blockHeight?: number;
}

/** The best block and the stake fields of its header. */
export interface ChainTip {
  hash: string;
  height: number;
  /** Live ticket pool size (header PoolSize), when known. */
  poolSize?: number;
  /** Ticket price in atoms (header SBits), when known. */
  ticketPrice?: bigint;
}

/** Chain lookups through a node proxy. */
export interface ChainLookup {
  /**
   * The transaction, or undefined when the chain does not know it. `blockHash`: the block that
   * holds it, when the caller knows it (the lookup then works behind a dcrd without --txindex).
   */
  getRawTransaction(txid: string, o?: { blockHash?: string }): Promise<TxLocation | undefined>;
  /** live[i] answers hashes[i]. */
  existsLiveTickets(hashes: readonly string[]): Promise<boolean[]>;
  /**
   * The votes on block `blockHash` at `height` that dcrd knows, each with the main-chain block
   * that mined it (`minedIn`, the voted block's child) or none while only in a mempool. Works
   * behind a dcrd without --txindex.
   */
  getBlockVotes?(blockHash: string, height: number): Promise<Array<{ txid: string; raw: Uint8Array; minedIn?: string }>>;
  /** The best block; with `header: true` also its stake fields (costs one more lookup). */
  getBestBlock(opts?: { header?: boolean }): Promise<ChainTip>;
  /** Agendas of a vote version (0 = the vote version a wallet writes behind the proxy's dcrd). */
  getVoteInfo(voteVersion: number): Promise<AgendaSet>;
  /** The proxy's dcrd: its `version` result entries and the vote version a wallet writes behind it. */
  getDcrdInfo?(): Promise<DcrdInfo>;
}

/** One entry of a `version` result (decred/dcrd rpc/jsonrpc/types VersionResult). */
export interface SemverResult {
  versionstring: string;
  major: number;
  minor: number;
  patch: number;
  prerelease: string;
  buildmetadata: string;
}

/** What the proxy knows about its dcrd. */
export interface DcrdInfo {
  /** dcrd's `version` result as it sent it (`dcrd`, `dcrdjsonrpcapi`); empty before the proxy reached dcrd. */
  versions: Record<string, SemverResult>;
  /** The vote version a wallet writes behind that dcrd; 0 while unknown. */
  voteVersion: number;
}
