/**
 * The NodeProxy gRPC service: handlers, the code→status table, health and
 * reflection. Errors leave as a gRPC status plus the `vc-error-code` metadata
 * entry (docs/contributing.md, "Errors"); a SendVote outcome is a
 * value in the response, never an error.
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import { z } from 'zod';
import { DEFAULT_WALLET_VOTE_VERSION, fromHex, VOTE_VERSION_FLOOR, type NetParams } from '../decred/index.ts';
import { grpcCallerIdentity, grpcServerCredentials, requireProtectedUnlessLoopback, ROLE, TlsReloader } from '../security/index.ts';
import { blockVotes } from './block-votes.ts';
import type { ChainFeed, FeedEvent, PresenceMessage, StreamStartMessage } from './chain-feed.ts';
import type { ChainSync } from './chain-sync.ts';
import type { NodeProxyConfig } from './config.ts';
import type { DcrdSession } from './dcrd-session.ts';
import { DcrdRpcError, InvalidRequestError, NodeProxyConfigError, NodeProxyError, NotFoundError } from './errors.ts';
import { loadVoteclusterProto, NODEPROXY_PROTO_FILES, NODEPROXY_SERVICE } from './proto.ts';
import type { VoteSender } from './send-vote.ts';
import { lookupTransaction, type BlockReader } from './tx-lookup.ts';
import { VoterStreams, type StreamEnd } from './voter-streams.ts';

/** Metadata key carrying the NODEPROXY_* error code. */
export const ERROR_CODE_METADATA_KEY = 'vc-error-code';
/** Metadata key of the W3C trace parent. */
export const TRACEPARENT_METADATA_KEY = 'traceparent';

/** The one table from error code to gRPC status. Unlisted codes map to INTERNAL. */
export const STATUS_BY_CODE: Readonly<Record<string, GrpcStatus>> = {
  NODEPROXY_INVALID_REQUEST: GrpcStatus.INVALID_ARGUMENT,
  NODEPROXY_NOT_FOUND: GrpcStatus.NOT_FOUND,
  NODEPROXY_TXINDEX_REQUIRED: GrpcStatus.FAILED_PRECONDITION,
  NODEPROXY_DCRD_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  NODEPROXY_SHUTTING_DOWN: GrpcStatus.UNAVAILABLE,
  NODEPROXY_STREAM_LAGGING: GrpcStatus.RESOURCE_EXHAUSTED,
  NODEPROXY_DCRD_RPC: GrpcStatus.FAILED_PRECONDITION,
  NODEPROXY_DCRD_PROTOCOL: GrpcStatus.INTERNAL,
  NODEPROXY_DCRD_WRONG_NETWORK: GrpcStatus.FAILED_PRECONDITION,
  NODEPROXY_DCRD_VERSION: GrpcStatus.FAILED_PRECONDITION,
  NODEPROXY_DCRD_AUTH: GrpcStatus.FAILED_PRECONDITION,
  NODEPROXY_CONFIG: GrpcStatus.FAILED_PRECONDITION,
};


/** Converts any error to a ServiceError with the code in metadata. */
export function toServiceError(err: unknown): ServiceError {
  const e = err instanceof NodeProxyError ? err : new NodeProxyError('NODEPROXY_INTERNAL', (err as Error)?.message ?? String(err));
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, e.code);
  return Object.assign(new Error(e.message), {
    code: STATUS_BY_CODE[e.code] ?? GrpcStatus.INTERNAL,
    details: e.message,
    metadata,
  }) as ServiceError;
}

const HashHex = z.string().regex(/^[0-9a-fA-F]{64}$/);

function requireHash(v: unknown, what: string): string {
  const r = HashHex.safeParse(v);
  if (!r.success) throw new InvalidRequestError(`${what} must be 64 hex characters`);
  return r.data.toLowerCase();
}

/**
 * The voter a WatchChain stream belongs to: the node id it sends as `client_id`, unless its
 * client certificate names another role (an admin, an operator's tool); undefined otherwise.
 */
export function streamVoterId(clientIdSent: unknown, call: Parameters<typeof grpcCallerIdentity>[0]): string | undefined {
  if (typeof clientIdSent !== 'string' || clientIdSent.length === 0 || clientIdSent.length > 64) return undefined;
  let role: string | undefined;
  try {
    role = grpcCallerIdentity(call)?.role;
  } catch {
    // Handled: a peer certificate that cannot be read names no role; the id it sent stands (plaintext loopback has none either).
    role = undefined;
  }
  return role === undefined || role === ROLE.voter ? clientIdSent : undefined;
}

/** The parts of the proxy the handlers use. */
export interface NodeProxyServiceParts {
  cfg: NodeProxyConfig;
  params: NetParams;
  session: DcrdSession;
  chain: ChainSync;
  feed: ChainFeed;
  sender: VoteSender;
  /** Cached block reads (transactions of a named block when dcrd has no transaction index). */
  blocks: BlockReader;
  logger: Logger;
  status: () => Record<string, unknown>;
}

function unary<Req, Res>(
  log: Logger,
  name: string,
  fn: (req: Req, call: ServerUnaryCall<Req, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>) => void {
  return (call, cb) => {
    fn(call.request, call).then(
      (res) => cb(null, res),
      (err: unknown) => {
        const se = toServiceError(err);
        log.debug({ rpc: name, code: se.metadata.get(ERROR_CODE_METADATA_KEY)[0] }, 'rpc failed');
        cb(se);
      },
    );
  };
}

/** Builds the service implementation object for grpc-js. */
export function nodeProxyImplementation(p: NodeProxyServiceParts): UntypedServiceImplementation {
  const log = p.logger.child({ component: 'grpc' });
  const VoteInfoSchema = z
    .object({
      currentheight: z.number(),
      startheight: z.number(),
      endheight: z.number(),
      hash: z.string(),
      voteversion: z.number(),
      quorum: z.number(),
      totalvotes: z.number(),
      agendas: z
        .array(
          z
            .object({
              id: z.string(),
              description: z.string(),
              mask: z.number(),
              starttime: z.number(),
              expiretime: z.number(),
              status: z.string(),
              quorumprogress: z.number(),
              choices: z.array(
                z.object({ id: z.string(), description: z.string(), bits: z.number(), isabstain: z.boolean(), isno: z.boolean(), count: z.number(), progress: z.number() }).loose(),
              ),
            })
            .loose(),
        )
        .nullable()
        .default([]),
    })
    .loose();

  const voters = new VoterStreams(p.feed, log);
  return {
    WatchChain(call: ServerWritableStream<Record<string, unknown>, FeedEvent | StreamStartMessage | PresenceMessage>) {
      const req = call.request;
      const voterId = streamVoterId(req['client_id'], call as unknown as Parameters<typeof grpcCallerIdentity>[0]);
      let ended: ((how: StreamEnd) => void) | undefined;
      const clientId = typeof req['client_id'] === 'string' && req['client_id'] ? (req['client_id'] as string).slice(0, 64) : call.getPeer();
      const resume = req['resume'];
      const sub = p.feed.subscribe(
        {
          clientId,
          fromSeq: resume === 'from_seq' ? Number(req['from_seq']) : undefined,
          fromHeight: resume === 'from_height' ? Number(req['from_height']) : undefined,
          epoch: typeof req['epoch'] === 'string' ? (req['epoch'] as string) : undefined,
        },
        {
          write: (msg) => call.write(msg),
          onceDrain: (cb) => call.once('drain', cb),
          end: (err) => {
            // The proxy ends the stream (a lag cut, the proxy stopping): says nothing about the voter.
            ended?.('proxy-ended');
            if (err) call.emit('error', toServiceError(err));
            else call.end();
          },
        },
      );
      if (voterId !== undefined) ended = voters.opened(voterId, sub.id);
      call.on('cancelled', () => {
        // The voter went away (its process or connection ended, or it closed the stream).
        const end = ended;
        ended = undefined;
        sub.close();
        end?.('voter-left');
      });
      log.debug({ client: clientId, resume: sub.start.stream_start.resume_status }, 'stream opened');
    },

    SendVote: unary(log, 'SendVote', async (req: { raw_tx: Buffer; trace?: { traceparent?: string } | null }, call) => {
      if (!req.raw_tx || req.raw_tx.length === 0) throw new InvalidRequestError('raw_tx is empty');
      const md = call.metadata.get(TRACEPARENT_METADATA_KEY)[0];
      const traceparent = typeof md === 'string' ? md : req.trace?.traceparent || undefined;
      return p.sender.send(new Uint8Array(req.raw_tx), traceparent);
    }),

    GetRawTransaction: unary(log, 'GetRawTransaction', async (req: { txid: string; with_block?: boolean; block_hash?: string }) => {
      const txid = requireHash(req.txid, 'txid');
      const inBlock = req.block_hash ? requireHash(req.block_hash, 'block_hash') : undefined;
      const f = await lookupTransaction(p.session, p.blocks, txid, { withBlock: req.with_block === true, ...(inBlock ? { inBlock } : {}) });
      return {
        raw_tx: Buffer.from(f.raw),
        ...(req.with_block || inBlock ? { block_hash: f.blockHash ?? '', block_height: f.blockHeight ?? 0 } : {}),
      };
    }),

    GetBlockVotes: unary(log, 'GetBlockVotes', async (req: { block_hash: string; height: number }) => {
      const blockHash = requireHash(req.block_hash, 'block_hash');
      const height = Number(req.height);
      if (!Number.isInteger(height) || height < 0) throw new InvalidRequestError('height must be a non-negative integer');
      return blockVotes(p.session, blockHash, height);
    }),

    ExistsLiveTickets: unary(log, 'ExistsLiveTickets', async (req: { ticket_hashes: string[] }) => {
      const hashes = req.ticket_hashes.map((h, i) => requireHash(h, `ticket_hashes[${i}]`));
      if (hashes.length === 0) return { live: [] };
      const bitsetHex = await p.session.callAs('existslivetickets', [hashes], z.string().regex(/^[0-9a-fA-F]*$/));
      // Bit i lives in byte i>>3 at mask 1<<(i&7), LSB first (jrick/bitset, as dcrd's existslivetickets answers it).
      const bits = fromHex(bitsetHex);
      return { live: hashes.map((_, i) => (((bits[i >> 3] ?? 0) >> (i & 7)) & 1) === 1) };
    }),

    GetBestBlock: unary(log, 'GetBestBlock', async () => {
      const best = await p.session.callAs('getbestblock', [], z.object({ hash: z.string(), height: z.number().int() }));
      return { hash: best.hash, height: best.height };
    }),

    GetVoteInfo: unary(log, 'GetVoteInfo', async (req: { vote_version: number }) => {
      const version = req.vote_version || p.session.voteVersion || p.params.voteVersion;
      if (VOTE_VERSION_FLOOR[p.params.name] === undefined && version === DEFAULT_WALLET_VOTE_VERSION) {
        // dcrwallet's vote version on regnet defines no agendas (wallet.go CurrentAgendas:
        // Deployments[1] is nil), and dcrd does not recognise it: nothing to ask.
        const best = p.chain.best();
        return { current_height: best?.height ?? 0, start_height: 0, end_height: 0, hash: best?.hash ?? '', vote_version: version, quorum: 0, total_votes: 0, agendas: [] };
      }
      const vi = await p.session.callAs('getvoteinfo', [version], VoteInfoSchema);
      return {
        current_height: vi.currentheight,
        start_height: vi.startheight,
        end_height: vi.endheight,
        hash: vi.hash,
        vote_version: vi.voteversion,
        quorum: vi.quorum,
        total_votes: vi.totalvotes,
        agendas: (vi.agendas ?? []).map((a) => ({
          id: a.id,
          description: a.description,
          mask: a.mask,
          start_time: String(a.starttime),
          expire_time: String(a.expiretime),
          status: a.status,
          quorum_progress: a.quorumprogress,
          choices: a.choices.map((c) => ({
            id: c.id,
            description: c.description,
            bits: c.bits,
            is_abstain: c.isabstain,
            is_no: c.isno,
            count: c.count,
            progress: c.progress,
          })),
        })),
      };
    }),

    GetStatus: unary(log, 'GetStatus', async () => p.status()),
  };
}

/**
 * Server credentials from the config: mutual TLS with the cluster CA (the files are followed:
 * `tls.close()` stops that), or, without `tls`, plaintext, which only a loopback listener may
 * use. Throws {@link NodeProxyConfigError} for unusable TLS files or a plaintext non-loopback listener.
 */
export function serverCredentials(cfg: NodeProxyConfig, log?: Logger): { credentials: ServerCredentials; tls: TlsReloader | undefined } {
  if (!cfg.tls) {
    try {
      requireProtectedUnlessLoopback('the node proxy gRPC listener', cfg.listen, { tls: false, credentials: false });
    } catch (err) {
      throw new NodeProxyConfigError(`${(err as Error).message} (set tls: --tls-ca, --tls-cert, --tls-key)`, { cause: err });
    }
    log?.warn({ listen: cfg.listen }, 'node proxy gRPC without TLS: plaintext, any local process can connect (loopback only; configure --tls-ca/--tls-cert/--tls-key)');
    return { credentials: ServerCredentials.createInsecure(), tls: undefined };
  }
  let tls: TlsReloader;
  try {
    tls = new TlsReloader(cfg.tls, log ? { log } : {});
  } catch (err) {
    throw new NodeProxyConfigError((err as Error).message, { cause: err });
  }
  return { credentials: grpcServerCredentials(tls), tls };
}

/**
 * Fan-out encodes each event once: grpc-js serializes per write, so with N
 * streams the same WatchChain message would be protobuf-encoded N times. The
 * feed hands every stream the same event object, so the bytes are cached per
 * object (a WeakMap: they go away with the event).
 */
function withSharedEventEncoding(def: ServiceDefinition): ServiceDefinition {
  const watch = def['WatchChain'];
  if (!watch) return def;
  const encode = watch.responseSerialize;
  const cache = new WeakMap<object, Buffer>();
  const responseSerialize = (msg: object): Buffer => {
    let bytes = cache.get(msg);
    if (!bytes) {
      bytes = encode(msg);
      cache.set(msg, bytes);
    }
    return bytes;
  };
  return { ...def, WatchChain: { ...watch, responseSerialize } } as ServiceDefinition;
}

/** A grpc-js Server with NodeProxy, grpc.health.v1 and reflection registered. */
export function buildGrpcServer(p: NodeProxyServiceParts): { server: Server; health: HealthImplementation } {
  const proto = loadVoteclusterProto(NODEPROXY_PROTO_FILES);
  const server = new Server({ 'grpc.keepalive_permit_without_calls': 1 });
  server.addService(withSharedEventEncoding(proto.service(NODEPROXY_SERVICE).definition), nodeProxyImplementation(p));
  const health = new HealthImplementation({ '': 'NOT_SERVING', [NODEPROXY_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);
  new ReflectionService(proto.packageDefinition).addToServer(server);
  return { server, health };
}
