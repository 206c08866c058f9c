/**
 * Typed client of the NodeProxy gRPC service (the module that owns a service
 * ships its client). Rebuilds typed errors from `vc-error-code`, converts wire
 * objects to friendly types (bigint amounts, Uint8Array bytes, numeric seq),
 * and resumes WatchChain streams by seq after any disconnect.
 */
import {
  credentials as grpcCredentials,
  Metadata,
  status as GrpcStatus,
  type ChannelCredentials,
  type Client,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { nodeProxyErrorFromCode, ProxyTransportError, type NodeProxyError } from './errors.ts';
import { ERROR_CODE_METADATA_KEY, TRACEPARENT_METADATA_KEY } from './grpc-server.ts';
import { loadVoteclusterProto, NODEPROXY_PROTO_FILES, NODEPROXY_SERVICE } from './proto.ts';
import type { SendVoteResult } from './send-vote.ts';
import type { NodeProxyStatus } from './node-proxy.ts';
import { JitteredBackoff } from '../base/index.ts';

/** A block event as the client sees it. */
export interface ClientBlock {
  hash: string;
  height: number;
  header: Uint8Array;
  prevHash: string;
}

/** A draw as the client sees it: everything needed to build the votes. */
export interface ClientDraw {
  blockHash: string;
  height: number;
  header: Uint8Array;
  tickets: string[];
  voteSubsidy: bigint;
  subsidySplit: 'original' | 'dcp0010' | 'dcp0012';
  voteVersion: number;
  stakeVersion: number;
  network: string;
  /** W3C traceparent of the proxy's `proxy.notify` span of the first ticket (prefer `ticketTraceparents`). */
  traceparent: string;
  /**
   * Per ticket, parallel to `tickets`: the traceparent of that ticket's
   * `proxy.notify` root span (one trace per block and ticket); '' when the
   * proxy sent none (an older proxy).
   */
  ticketTraceparents: string[];
}

/** One WatchChain event. */
export type ChainEvent =
  | { kind: 'block_connected'; seq: number; epoch: string; receivedAtMs: number; block: ClientBlock }
  | { kind: 'block_disconnected'; seq: number; epoch: string; receivedAtMs: number; block: ClientBlock }
  | { kind: 'winning_tickets'; seq: number; epoch: string; receivedAtMs: number; draw: ClientDraw }
  | { kind: 'tspend'; seq: number; epoch: string; receivedAtMs: number; tspend: ClientTSpend };

/** A treasury spend dcrd holds: its raw tx, hash (display hex) and expiry. */
export interface ClientTSpend {
  raw: Uint8Array;
  hash: string;
  expiry: number;
}

/**
 * A fact about another voter's streams to the proxy (proto VoterPresence): `gone` when its last
 * stream ended because it went away (crashed, disconnected or stopped), `back` when it opened one
 * again. Not part of the chain's seq order.
 */
export interface VoterPresence {
  kind: 'gone' | 'back';
  nodeId: string;
  /** When the proxy saw it (unix ms, the proxy's clock). */
  atMs: number;
}

/** The stream_start message of each (re)opened stream. */
export interface StreamStartInfo {
  epoch: string;
  resumeStatus: 'live' | 'resumed' | 'gap' | 'epoch_changed';
  firstSeq: number;
  missedFromSeq: number;
  missedToSeq: number;
  oldestSeq: number;
  lastSeq: number;
  network: string;
  bestBlock: { hash: string; height: number } | undefined;
  /** The vote version a wallet writes behind the proxy's dcrd; 0 while the proxy never reached dcrd. */
  voteVersion: number;
  /** dcrd's version string ('' while unknown). */
  dcrdVersion: string;
}

/** Options of {@link NodeProxyClient.watchChain}. */
export interface WatchChainOptions {
  /** First seq wanted (needs `epoch` to be meaningful across proxy restarts). */
  fromSeq?: number;
  /** Replay held events from this height. */
  fromHeight?: number;
  epoch?: string;
  /** Called with each stream_start (after every reconnect too). */
  onStreamStart?: (info: StreamStartInfo) => void;
  /** Called with each voter presence fact the proxy announces (see {@link VoterPresence}). */
  onVoterPresence?: (p: VoterPresence) => void;
  /** Called with each stream error before the client resumes. */
  onError?: (err: NodeProxyError) => void;
  /** Resume automatically after errors (default true). */
  autoResume?: boolean;
  resumeMinMs?: number;
  resumeMaxMs?: number;
}

/** A running WatchChain subscription. */
export interface WatchHandle {
  /** Last seq delivered (0: none). */
  readonly lastSeq: number;
  /** Epoch of the proxy the last stream came from. */
  readonly epoch: string | undefined;
  /** Number of times the stream was (re)opened. */
  readonly opens: number;
  /** Stops the stream and any pending resume. */
  close(): void;
}

/** Options of {@link createNodeProxyClient}. */
export interface NodeProxyClientOptions {
  /** Explicit channel credentials (default: insecure unless `tls` is given). */
  credentials?: ChannelCredentials;
  /** TLS: CA to trust and, for mTLS, the client cert/key (PEM). */
  tls?: { caPem: string | Buffer; certPem?: string | Buffer; keyPem?: string | Buffer };
  /** Name sent as client_id on WatchChain. */
  clientId?: string;
  /**
   * Reconnect backoff of the channel (ms): first retry after `initialMs`, growing to `maxMs`
   * (grpc-js: ×1.6, ±20 % jitter). Default {@link DEFAULT_RECONNECT_BACKOFF}: a restarted proxy
   * is streaming again within about `maxMs` of listening (grpc-js's own default grows to 120 s).
   */
  reconnectBackoff?: { initialMs: number; maxMs: number };
}

/**
 * The channel's reconnect backoff: one connection attempt at most every ~0.5 s while a proxy is
 * down (a refused connection costs nothing), so the stream is back within ~0.6 s of the proxy
 * listening again.
 */
export const DEFAULT_RECONNECT_BACKOFF = { initialMs: 100, maxMs: 500 } as const;

/** One vote GetBlockVotes found (display hex hashes). */
export interface BlockVote {
  raw: Uint8Array;
  txid: string;
  ticket: string;
  /** The block holding it; undefined while it is only in a mempool. */
  minedIn?: string;
}

/** The main-chain child of a block and what it redeems (GetBlockVotes). */
export interface BlockRedeemers {
  childHash?: string;
  votes: BlockVote[];
  /** Tickets the child revokes (display hex). */
  revoked: string[];
}

/** Typed NodeProxy client. */
export interface NodeProxyClient {
  watchChain(opts: WatchChainOptions, onEvent: (ev: ChainEvent) => void): WatchHandle;
  sendVote(rawTx: Uint8Array, opts?: { deadlineMs?: number; traceparent?: string }): Promise<SendVoteResult>;
  /**
   * The transaction's bytes. `blockHash`: the block to look in when dcrd has no transaction index
   * (see {@link getTransactionBlock}). Unknown → NotFoundError; mined, no index, no block named →
   * TxIndexRequiredError.
   */
  getRawTransaction(txid: string, opts?: { deadlineMs?: number; blockHash?: string }): Promise<Uint8Array>;
  /**
   * The transaction and the block holding it (`blockHash` undefined while it is
   * only in the mempool). Unknown transaction → NotFoundError. `blockHash` in the options names
   * the block to look in when dcrd runs without --txindex (a vote: the child of its block);
   * without it a mined transaction then fails with TxIndexRequiredError.
   */
  getTransactionBlock(txid: string, opts?: { deadlineMs?: number; blockHash?: string }): Promise<{ raw: Uint8Array; blockHash?: string; blockHeight?: number }>;
  existsLiveTickets(ticketHashes: readonly string[], opts?: { deadlineMs?: number }): Promise<boolean[]>;
  /**
   * The votes on block `blockHash` (display hex) at `height` that dcrd knows: in its mempool
   * (`minedIn` undefined) or mined in its main-chain child (GetBlockVotes).
   */
  getBlockVotes(blockHash: string, height: number, opts?: { deadlineMs?: number }): Promise<BlockVote[]>;
  /**
   * What the main-chain child of block `blockHash` at `height` redeems: its hash (undefined when
   * dcrd has no such child), the votes on the block (as {@link getBlockVotes}) and the tickets the
   * child revokes. With automatic ticket revocations every winner of the block is either voted or
   * revoked in that child: a caller learns the draw of a block it never heard.
   */
  getBlockRedeemers(blockHash: string, height: number, opts?: { deadlineMs?: number }): Promise<BlockRedeemers>;
  getBestBlock(opts?: { deadlineMs?: number }): Promise<{ hash: string; height: number }>;
  getVoteInfo(voteVersion?: number, opts?: { deadlineMs?: number }): Promise<Record<string, unknown>>;
  getStatus(opts?: { deadlineMs?: number }): Promise<NodeProxyStatus>;
  /** Closes the channel (and every watch). */
  close(): void;
}

/** Default deadline of unary calls. */
export const DEFAULT_CALL_DEADLINE_MS = 5_000;

/** Rebuilds the typed error of a failed call. */
export function errorFromServiceError(err: ServiceError): NodeProxyError {
  const code = err.metadata?.get(ERROR_CODE_METADATA_KEY)[0];
  if (typeof code === 'string') return nodeProxyErrorFromCode(code, err.details || err.message);
  return new ProxyTransportError(err.code ?? GrpcStatus.UNKNOWN, `${GrpcStatus[err.code] ?? err.code}: ${err.details || err.message}`, { cause: err });
}

type Wire = Record<string, unknown>;
const SPLIT: Record<string, ClientDraw['subsidySplit']> = {
  SUBSIDY_SPLIT_ORIGINAL: 'original',
  SUBSIDY_SPLIT_DCP0010: 'dcp0010',
  SUBSIDY_SPLIT_DCP0012: 'dcp0012',
};
const RESUME: Record<string, StreamStartInfo['resumeStatus']> = {
  RESUME_STATUS_LIVE: 'live',
  RESUME_STATUS_RESUMED: 'resumed',
  RESUME_STATUS_GAP: 'gap',
  RESUME_STATUS_EPOCH_CHANGED: 'epoch_changed',
};

function toBlock(b: Wire): ClientBlock {
  return { hash: b['hash'] as string, height: b['height'] as number, header: new Uint8Array(b['header'] as Buffer), prevHash: b['prev_hash'] as string };
}

function toPresence(m: Wire): VoterPresence | undefined {
  const kind = m['event'] === 'voter_gone' ? 'gone' : m['event'] === 'voter_back' ? 'back' : undefined;
  if (!kind) return undefined;
  const v = m[m['event'] as string] as Wire | null | undefined;
  const nodeId = v?.['node_id'];
  if (typeof nodeId !== 'string' || nodeId.length === 0) return undefined;
  return { kind, nodeId, atMs: Number(v?.['at_ms'] ?? 0) };
}

function toEvent(m: Wire): ChainEvent | StreamStartInfo | undefined {
  const seq = Number(m['seq']);
  const epoch = m['epoch'] as string;
  const receivedAtMs = Number(m['proxy_receive_time_ms']);
  switch (m['event']) {
    case 'stream_start': {
      const s = m['stream_start'] as Wire;
      const best = s['best_block'] as Wire | null;
      return {
        epoch,
        resumeStatus: RESUME[s['resume_status'] as string] ?? 'live',
        firstSeq: Number(s['first_seq']),
        missedFromSeq: Number(s['missed_from_seq']),
        missedToSeq: Number(s['missed_to_seq']),
        oldestSeq: Number(s['oldest_seq']),
        lastSeq: Number(s['last_seq']),
        network: s['network'] as string,
        bestBlock: best ? { hash: best['hash'] as string, height: best['height'] as number } : undefined,
        voteVersion: Number(s['vote_version'] ?? 0),
        dcrdVersion: (s['dcrd_version'] as string | undefined) ?? '',
      };
    }
    case 'block_connected':
      return { kind: 'block_connected', seq, epoch, receivedAtMs, block: toBlock(m['block_connected'] as Wire) };
    case 'block_disconnected':
      return { kind: 'block_disconnected', seq, epoch, receivedAtMs, block: toBlock(m['block_disconnected'] as Wire) };
    case 'winning_tickets': {
      const w = m['winning_tickets'] as Wire;
      return {
        kind: 'winning_tickets',
        seq,
        epoch,
        receivedAtMs,
        draw: {
          blockHash: w['block_hash'] as string,
          height: w['height'] as number,
          header: new Uint8Array(w['header'] as Buffer),
          tickets: [...(w['tickets'] as string[])],
          voteSubsidy: BigInt(w['vote_subsidy'] as string),
          subsidySplit: SPLIT[w['subsidy_split'] as string] ?? 'dcp0012',
          voteVersion: w['vote_version'] as number,
          stakeVersion: w['stake_version'] as number,
          network: w['network'] as string,
          traceparent: ((w['trace'] as Wire | null)?.['traceparent'] as string | undefined) ?? '',
          ticketTraceparents: (w['tickets'] as string[]).map(
            (_, i) => ((w['ticket_traces'] as Wire[] | undefined)?.[i]?.['traceparent'] as string | undefined) ?? '',
          ),
        },
      };
    }
    case 'tspend': {
      const t = m['tspend'] as Wire;
      return { kind: 'tspend', seq, epoch, receivedAtMs, tspend: { raw: new Uint8Array(t['raw_tx'] as Buffer), hash: t['hash'] as string, expiry: t['expiry'] as number } };
    }
    default:
      // An event kind newer than this client (the proto's oneof grows additively): skipped.
      return undefined;
  }
}

/**
 * Creates a client for the NodeProxy at `address` (`host:port`).
 * @example
 * const c = createNodeProxyClient('127.0.0.1:7100');
 * const h = c.watchChain({}, (ev) => { if (ev.kind === 'winning_tickets') vote(ev.draw); });
 * const r = await c.sendVote(raw, { deadlineMs: 1000 }); // r.status: ACCEPTED | DUPLICATE | ...
 */
export function createNodeProxyClient(address: string, opts: NodeProxyClientOptions = {}): NodeProxyClient {
  const { Client: Ctor } = loadVoteclusterProto(NODEPROXY_PROTO_FILES).service(NODEPROXY_SERVICE);
  const creds =
    opts.credentials ??
    (opts.tls
      ? grpcCredentials.createSsl(
          Buffer.from(opts.tls.caPem),
          opts.tls.keyPem ? Buffer.from(opts.tls.keyPem) : null,
          opts.tls.certPem ? Buffer.from(opts.tls.certPem) : null,
        )
      : grpcCredentials.createInsecure());
  const backoff = opts.reconnectBackoff ?? DEFAULT_RECONNECT_BACKOFF;
  const client = new Ctor(address, creds, {
    'grpc.initial_reconnect_backoff_ms': backoff.initialMs,
    'grpc.max_reconnect_backoff_ms': backoff.maxMs,
  }) as Client & Record<string, (...args: unknown[]) => unknown>;
  const watches = new Set<WatchHandle>();

  function unaryCall<T>(method: string, req: Wire, o: { deadlineMs?: number; traceparent?: string } = {}): Promise<T> {
    const md = new Metadata();
    if (o.traceparent) md.set(TRACEPARENT_METADATA_KEY, o.traceparent);
    const deadline = Date.now() + (o.deadlineMs ?? DEFAULT_CALL_DEADLINE_MS);
    return new Promise<T>((resolve, reject) => {
      (client[method] as (r: Wire, m: Metadata, c: { deadline: number }, cb: (e: ServiceError | null, r: T) => void) => void)(
        req,
        md,
        { deadline },
        (err, res) => (err ? reject(errorFromServiceError(err)) : resolve(res)),
      );
    });
  }

  const blockRedeemers = async (blockHash: string, height: number, o?: { deadlineMs?: number }): Promise<BlockRedeemers> => {
    const r = await unaryCall<{ votes: Array<{ raw_tx: Buffer; txid: string; ticket: string; mined_in: string }>; child_hash?: string; revoked_tickets?: string[] }>(
      'GetBlockVotes', { block_hash: blockHash, height }, o,
    );
    return {
      votes: r.votes.map((v) => ({ raw: new Uint8Array(v.raw_tx), txid: v.txid, ticket: v.ticket, ...(v.mined_in ? { minedIn: v.mined_in } : {}) })),
      ...(r.child_hash ? { childHash: r.child_hash } : {}),
      revoked: r.revoked_tickets ?? [],
    };
  };

  return {
    watchChain(wopts, onEvent) {
      let lastSeq = 0;
      let epoch = wopts.epoch;
      let opens = 0;
      let closed = false;
      let stream: ClientReadableStream<Wire> | undefined;
      let timer: NodeJS.Timeout | undefined;
      const backoff = new JitteredBackoff(wopts.resumeMinMs ?? 50, wopts.resumeMaxMs ?? 2_000);

      const open = (): void => {
        if (closed) return;
        opens++;
        const req: Wire = { client_id: opts.clientId ?? '' };
        if (lastSeq > 0) {
          req['from_seq'] = String(lastSeq + 1);
          req['epoch'] = epoch ?? '';
        } else if (wopts.fromSeq !== undefined) {
          req['from_seq'] = String(wopts.fromSeq);
          req['epoch'] = epoch ?? '';
        } else if (wopts.fromHeight !== undefined) {
          req['from_height'] = wopts.fromHeight;
        }
        // waitForReady: while the proxy is unreachable the call waits for the channel to connect
        // (its reconnect backoff above) instead of failing at once, so the stream opens the
        // moment the proxy listens again.
        const s = (client['WatchChain'] as (r: Wire, m: Metadata) => ClientReadableStream<Wire>)(req, new Metadata({ waitForReady: true }));
        stream = s;
        s.on('data', (m: Wire) => {
          const presence = toPresence(m);
          if (presence) {
            wopts.onVoterPresence?.(presence);
            return;
          }
          const ev = toEvent(m);
          if (ev === undefined) return;
          if ('resumeStatus' in ev) {
            backoff.reset();
            if (epoch !== undefined && epoch !== ev.epoch) lastSeq = 0; // a restarted proxy numbers from 1 again
            epoch = ev.epoch;
            wopts.onStreamStart?.(ev);
            return;
          }
          if (ev.epoch === epoch && ev.seq <= lastSeq) return; // never deliver a seq twice
          lastSeq = ev.seq;
          onEvent(ev);
        });
        const retry = (err?: ServiceError): void => {
          if (stream !== s) return;
          stream = undefined;
          if (closed) return;
          if (err && err.code === GrpcStatus.CANCELLED) return;
          if (err) wopts.onError?.(errorFromServiceError(err));
          if (wopts.autoResume === false) return;
          timer = setTimeout(open, backoff.nextMs());
        };
        s.on('error', (err: ServiceError) => retry(err));
        s.on('end', () => retry());
      };
      open();
      const handle: WatchHandle = {
        get lastSeq() {
          return lastSeq;
        },
        get epoch() {
          return epoch;
        },
        get opens() {
          return opens;
        },
        close() {
          closed = true;
          if (timer) clearTimeout(timer);
          stream?.cancel();
          stream = undefined;
          watches.delete(handle);
        },
      };
      watches.add(handle);
      return handle;
    },

    sendVote(rawTx, o = {}) {
      return unaryCall<SendVoteResult>('SendVote', { raw_tx: Buffer.from(rawTx) }, o);
    },

    async getRawTransaction(txid, o) {
      const r = await unaryCall<{ raw_tx: Buffer }>('GetRawTransaction', { txid, ...(o?.blockHash ? { block_hash: o.blockHash } : {}) }, o);
      return new Uint8Array(r.raw_tx);
    },

    async getTransactionBlock(txid, o) {
      const r = await unaryCall<{ raw_tx: Buffer; block_hash: string; block_height: number }>(
        'GetRawTransaction', { txid, with_block: true, ...(o?.blockHash ? { block_hash: o.blockHash } : {}) }, o,
      );
      return { raw: new Uint8Array(r.raw_tx), ...(r.block_hash ? { blockHash: r.block_hash, blockHeight: r.block_height } : {}) };
    },

    async getBlockVotes(blockHash, height, o) {
      return (await blockRedeemers(blockHash, height, o)).votes;
    },

    getBlockRedeemers: blockRedeemers,

    async existsLiveTickets(ticketHashes, o) {
      const r = await unaryCall<{ live: boolean[] }>('ExistsLiveTickets', { ticket_hashes: [...ticketHashes] }, o);
      return r.live;
    },

    getBestBlock(o) {
      return unaryCall<{ hash: string; height: number }>('GetBestBlock', {}, o);
    },

    getVoteInfo(voteVersion = 0, o) {
      return unaryCall<Record<string, unknown>>('GetVoteInfo', { vote_version: voteVersion }, o);
    },

    async getStatus(o) {
      const r = await unaryCall<Wire>('GetStatus', {}, o);
      return { ...(r as unknown as NodeProxyStatus), best_block: (r['best_block'] as NodeProxyStatus['best_block']) ?? null };
    },

    close() {
      for (const w of [...watches]) w.close();
      client.close();
    },
  };
}
