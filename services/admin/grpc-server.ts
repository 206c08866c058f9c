/**
 * The gRPC `Admin` service (proto/votecluster/v1/admin.proto). Thin: each
 * handler validates its request with zod, calls one operation module and maps
 * the result. Errors leave as a gRPC status plus the `vc-error-code` metadata
 * entry (docs/contributing.md, "Errors"), through one table.
 */
import {
  Metadata,
  Server,
  credentials,
  type Client,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  type UntypedServiceImplementation,
  type MethodDefinition,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import { z } from 'zod';
import type { NetParams } from '../decred/index.ts';
import { loadVoteclusterProto } from '../nodeproxy/index.ts';
import { grpcCallerIdentity, grpcChannelCredentials, grpcServerCredentials, requireProtectedUnlessLoopback, TlsReloader, type TlsFiles } from '../security/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { auditMutation, authorize, type AdminCaller, type AdminMethodKind } from './access.ts';
import { setTreasuryPolicy, setTSpendPolicy, setVoteChoices } from './choices.ts';
import { AdminBadRequestError, AdminConfigError, AdminError } from './errors.ts';
import { importTicket } from './intake.ts';
import type { ChainLookup, TicketStore, VoteRecordView } from './ports.ts';
import { getStakeInfo, type StakeInfoDeps } from './stakeinfo.ts';
import { collectStatus } from './status.ts';
import { instrumentGrpcImpl, type AdminMetrics } from './metrics.ts';
import { listManagedTickets, removeManagedTicket, type TicketListing } from './tickets.ts';
import { STOP_BUDGET_MS } from '../base/index.ts';

/** Metadata key carrying the ADMIN_* error code. */
export const ERROR_CODE_METADATA_KEY = 'vc-error-code';
/** The Admin proto file, relative to the proto root. */
export const ADMIN_PROTO_FILES = ['votecluster/v1/admin.proto'] as const;
/** Fully qualified name of the Admin service. */
export const ADMIN_SERVICE = 'votecluster.v1.Admin';

/** The one table from error code to gRPC status; unlisted codes map to INTERNAL. */
export const STATUS_BY_CODE: Readonly<Record<string, GrpcStatus>> = {
  ADMIN_BAD_REQUEST: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_WRONG_NETWORK: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_BAD_KEY: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_KEY_MISMATCH: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_NOT_A_TICKET: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_TICKET_HASH_MISMATCH: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_TICKET_BYTES_MISMATCH: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_TICKET_CONFLICT: GrpcStatus.ALREADY_EXISTS,
  ADMIN_TICKET_NOT_FOUND: GrpcStatus.NOT_FOUND,
  ADMIN_TICKET_NOT_LIVE: GrpcStatus.FAILED_PRECONDITION,
  ADMIN_UNKNOWN_TICKET: GrpcStatus.NOT_FOUND,
  ADMIN_UNKNOWN_AGENDA: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_UNKNOWN_CHOICE: GrpcStatus.INVALID_ARGUMENT,
  ADMIN_NO_CHAIN: GrpcStatus.FAILED_PRECONDITION,
  ADMIN_CHAIN_UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  ADMIN_TXINDEX_REQUIRED: GrpcStatus.FAILED_PRECONDITION,
  ADMIN_STORE: GrpcStatus.UNAVAILABLE,
  ADMIN_CONFIG: GrpcStatus.FAILED_PRECONDITION,
  ADMIN_UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  ADMIN_PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
};

/** Converts any error to a ServiceError carrying its code in metadata. */
export function toServiceError(err: unknown): ServiceError {
  const code = err instanceof AdminError ? err.code : typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'ADMIN_INTERNAL';
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_METADATA_KEY, code);
  return Object.assign(new Error((err as Error)?.message ?? String(err)), {
    code: STATUS_BY_CODE[code] ?? GrpcStatus.INTERNAL,
    details: (err as Error)?.message ?? String(err),
    metadata,
  });
}

/** What the gRPC server needs. */
export interface AdminGrpcDeps {
  store: TicketStore;
  chain?: ChainLookup;
  params: NetParams;
  log: Logger;
  requireChainChecks?: boolean;
  recentVotes: number;
  /** Request metrics (telemetry `admin` families); absent = not counted. */
  metrics?: AdminMetrics;
  /** True when the listener runs mutual TLS: callers are identified and checked per method. */
  tls?: boolean;
  /** The chain judge's verdicts: stake info counts a vote the chain mined even before its record is written. */
  chainVerdicts?: StakeInfoDeps['chainVerdicts'];
}

const ImportReq = z.object({
  ticket_hash: z.string(),
  wif: z.string().min(1, 'wif is required'),
  raw_ticket: z.instanceof(Buffer).optional(),
  block_hash: z.string().optional(),
});
const RemoveReq = z.object({ ticket_hash: z.string().min(1, 'ticket_hash is required') });
const ChoicesReq = z.object({
  ticket_hash: z.string(),
  choices: z.array(z.object({ agenda_id: z.string().min(1), choice_id: z.string().min(1) })).min(1, 'at least one choice is required'),
});
const TreasuryReq = z.object({ key: z.string(), policy: z.string(), ticket_hash: z.string() });
const TSpendReq = z.object({ tspend_hash: z.string(), policy: z.string(), ticket_hash: z.string() });
const WatchReq = z.object({ replay: z.boolean() });

function parse<T>(schema: z.ZodType<T>, v: unknown): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new AdminBadRequestError(r.error.issues.map((i) => `${i.path.join('.') || '(request)'}: ${i.message}`).join('; '));
  return r.data;
}

function ticketInfo(t: TicketListing) {
  return {
    ticket_hash: t.ticketHash,
    voting_address: t.votingAddress,
    price: t.price.toString(),
    block_hash: t.blockHash ?? '',
    block_height: t.blockHeight ?? 0,
    status: t.status,
    choices: Object.entries(t.choices).map(([agenda_id, choice_id]) => ({ agenda_id, choice_id })),
    owner: t.owner ?? '',
    imported_at_ms: String(t.importedAtMs),
  };
}

function voteRecord(v: VoteRecordView) {
  return {
    ticket_hash: v.ticketHash,
    block_hash: v.blockHash,
    height: v.height,
    vote_txid: v.voteTxid,
    signer: v.signer,
    signed_at_ms: String(v.signedAtMs),
    latency_ms: v.latencyMs ?? -1,
  };
}

/**
 * A request whose bytes are not a valid protobuf message of the method's type. grpc-js
 * answers a deserialisation failure with INTERNAL; the Admin API's deserialisers return
 * this instead, so the method answers INVALID_ARGUMENT (a client's mistake, not ours).
 */
class UndecodableRequest {
  constructor(readonly reason: string) {}
}

/** The service definition with deserialisers that never throw (see {@link UndecodableRequest}). */
function withTolerantDeserializers(definition: ServiceDefinition): ServiceDefinition {
  const out: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const [name, m] of Object.entries(definition as Record<string, MethodDefinition<unknown, unknown>>)) {
    out[name] = {
      ...m,
      requestDeserialize: (bytes: Buffer) => {
        try {
          return m.requestDeserialize(bytes);
        } catch (err) {
          return new UndecodableRequest((err as Error).message);
        }
      },
    };
  }
  return out as ServiceDefinition;
}

/** @throws {AdminBadRequestError} when the request's bytes did not decode. */
function decodable(req: unknown): void {
  if (req instanceof UndecodableRequest) throw new AdminBadRequestError(`request is not a valid protobuf message: ${req.reason}`);
}

/** What an audit line names of a request: its scalar fields, never a key (`wif`) or raw bytes. */
function auditTarget(req: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof req !== 'object' || req === null || req instanceof UndecodableRequest) return out;
  for (const [k, v] of Object.entries(req as Record<string, unknown>)) {
    if (k === 'wif' || /key$/i.test(k) && k !== 'key') continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null && !Buffer.isBuffer(x))) out[k] = v;
  }
  return out;
}

/** The caller of a call: its certificate identity with TLS on, `undefined` on a plaintext listener. */
function callerOf(call: { getAuthContext(): { transportSecurityType?: string; sslPeerCertificate?: unknown } | null }, tls: boolean): AdminCaller {
  if (!tls) return undefined;
  return grpcCallerIdentity(call as Parameters<typeof grpcCallerIdentity>[0]);
}

function unaryCall<Req, Res>(deps: Pick<AdminGrpcDeps, 'log' | 'tls'>, name: string, fn: (req: Req) => Promise<Res>) {
  const log = deps.log;
  return (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
    let kind: AdminMethodKind | undefined;
    let caller: AdminCaller;
    Promise.resolve(call.request).then((req) => {
      caller = callerOf(call, deps.tls === true);
      kind = authorize(name, caller);
      decodable(req);
      return fn(req);
    }).then(
      (res) => {
        if (kind === 'mutate') auditMutation(log, name, caller, auditTarget(call.request), 'ok');
        cb(null, res);
      },
      (err: unknown) => {
        if (!(err instanceof AdminError)) log.error({ err, rpc: name }, 'admin rpc failed');
        const code = err instanceof AdminError ? err.code : 'ADMIN_INTERNAL';
        // Refused callers and failed mutations are audited as well (who tried what).
        if (kind === 'mutate' || code === 'ADMIN_PERMISSION_DENIED' || code === 'ADMIN_UNAUTHENTICATED') auditMutation(log, name, caller, auditTarget(call.request), code);
        cb(toServiceError(err));
      },
    );
  };
}

/** Builds the service implementation (exported for tests of the mapping). */
export function adminServiceImpl(deps: AdminGrpcDeps): UntypedServiceImplementation {
  const log = deps.log;
  const unary = <Req, Res>(_log: Logger, name: string, fn: (req: Req) => Promise<Res>) => unaryCall<Req, Res>(deps, name, fn);
  return {
    ImportTicket: unary(log, 'ImportTicket', async (req: unknown) => {
      const r = parse(ImportReq, req);
      const res = await importTicket(deps, {
        ticketHash: r.ticket_hash,
        wif: r.wif,
        ...(r.raw_ticket && r.raw_ticket.length > 0 ? { rawTicket: new Uint8Array(r.raw_ticket) } : {}),
        ...(r.block_hash ? { blockHash: r.block_hash } : {}),
      });
      const list = await listManagedTickets(deps);
      const t = list.find((x) => x.ticketHash === res.ticketHash);
      return { created: res.created, ticket: t ? ticketInfo(t) : null };
    }),
    RemoveTicket: unary(log, 'RemoveTicket', async (req: unknown) => {
      const r = parse(RemoveReq, req);
      return { removed: await removeManagedTicket(deps, r.ticket_hash) };
    }),
    SetVoteChoices: unary(log, 'SetVoteChoices', async (req: unknown) => {
      const r = parse(ChoicesReq, req);
      const res = await setVoteChoices(
        deps,
        r.choices.map((c) => ({ agendaId: c.agenda_id, choiceId: c.choice_id })),
        r.ticket_hash || undefined,
      );
      return { vote_bits: res.voteBits, vote_version: res.voteVersion };
    }),
    SetTreasuryPolicy: unary(log, 'SetTreasuryPolicy', async (req: unknown) => {
      const r = parse(TreasuryReq, req);
      await setTreasuryPolicy(deps, r.key, r.policy, r.ticket_hash || undefined);
      return {};
    }),
    SetTSpendPolicy: unary(log, 'SetTSpendPolicy', async (req: unknown) => {
      const r = parse(TSpendReq, req);
      await setTSpendPolicy(deps, r.tspend_hash, r.policy, r.ticket_hash || undefined);
      return {};
    }),
    ListTickets: unary(log, 'ListTickets', async () => ({ tickets: (await listManagedTickets(deps)).map(ticketInfo) })),
    GetStakeInfo: unary(log, 'GetStakeInfo', async () => {
      const s = await getStakeInfo(deps);
      return {
        block_height: s.blockHeight,
        pool_size: s.poolSize,
        difficulty: s.difficulty.toString(),
        all_mempool_tix: s.allMempoolTix,
        own_mempool_tix: s.ownMempoolTix,
        immature: s.immature,
        unspent: s.unspent,
        voted: s.voted,
        revoked: s.revoked,
        unspent_expired: s.unspentExpired,
        live: s.live,
        proportion_live: s.proportionLive,
        missed: s.missed,
        proportion_missed: s.proportionMissed,
        expired: s.expired,
        total_subsidy: s.totalSubsidy.toString(),
      };
    }),
    GetStatus: unary(log, 'GetStatus', async () => {
      const s = await collectStatus(deps, deps.recentVotes);
      return {
        network: s.network,
        regions: s.regions,
        nodes: s.nodes.map((n) => ({
          node_id: n.nodeId,
          region: n.region,
          proxies: n.proxies,
          version: n.version,
          started_ms: String(n.startedMs),
          owned_tickets: n.ownedTickets,
        })),
        tickets: s.tickets,
        owned: s.owned,
        recent_votes: s.recentVotes.map(voteRecord),
        best_block: s.bestBlock ?? null,
      };
    }),
    WatchVotes: (call: ServerWritableStream<unknown, unknown>) => {
      let stopWatch: (() => Promise<void>) | undefined;
      let ended = false;
      const end = (err?: unknown): void => {
        if (ended) return;
        ended = true;
        const stopping = stopWatch ? stopWatch() : Promise.resolve();
        stopping.then(
          () => undefined,
          (e: unknown) => log.warn({ err: e }, 'watch votes: stopping the etcd watch failed'),
        );
        if (err !== undefined) call.destroy(toServiceError(err));
        else call.end();
      };
      call.on('cancelled', () => end());
      (async () => {
        authorize('WatchVotes', callerOf(call, deps.tls === true));
        decodable(call.request);
        const r = parse(WatchReq, call.request);
        const seen = new Set<string>();
        const keyOf = (v: VoteRecordView): string => `${v.height}/${v.blockHash}/${v.ticketHash}`;
        const w = await deps.store.watchVotes((v) => {
          if (ended || seen.has(keyOf(v))) return;
          seen.add(keyOf(v));
          call.write({ vote: voteRecord(v) });
        });
        stopWatch = () => w.stop();
        if (ended) {
          await w.stop();
          return;
        }
        if (r.replay) {
          const stored = (await deps.store.listVotes()).sort((a, b) => a.height - b.height || a.signedAtMs - b.signedAtMs);
          for (const v of stored) {
            if (ended || seen.has(keyOf(v))) continue;
            seen.add(keyOf(v));
            call.write({ vote: voteRecord(v) });
          }
        }
      })().then(
        () => undefined,
        (err: unknown) => end(err),
      );
    },
  };
}

/** A running Admin gRPC server. */
export interface AdminGrpcServer {
  /** `host:port` */
  address: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts the Admin gRPC server on `host:port` (0: free port). With `tls`, mutual TLS with the
 * cluster CA (files followed on change) and per-method roles from the caller's certificate;
 * without, plaintext, which only a loopback address may use.
 * @throws {AdminConfigError} unusable TLS files, or plaintext on a non-loopback address.
 */
export async function startAdminGrpcServer(deps: AdminGrpcDeps, opts: { host: string; port: number; tls?: TlsFiles }): Promise<AdminGrpcServer> {
  const { definition } = loadVoteclusterProto(ADMIN_PROTO_FILES).service(ADMIN_SERVICE);
  let tls: TlsReloader | undefined;
  try {
    if (opts.tls) tls = new TlsReloader(opts.tls, { log: deps.log });
    else requireProtectedUnlessLoopback('the Admin gRPC listener', `${opts.host}:${opts.port}`, { tls: false, credentials: false });
  } catch (err) {
    throw new AdminConfigError(`${(err as Error).message}${opts.tls ? '' : ' (set --tls-ca, --tls-cert, --tls-key)'}`, { cause: err });
  }
  if (!tls) deps.log.warn({ host: opts.host }, 'admin gRPC without TLS: plaintext, no caller identity, every local process may call every method (configure --tls-ca/--tls-cert/--tls-key)');
  const server = new Server();
  const impl = adminServiceImpl({ ...deps, tls: tls !== undefined });
  server.addService(withTolerantDeserializers(definition), deps.metrics ? instrumentGrpcImpl(impl, deps.metrics) : impl);
  const creds = tls ? grpcServerCredentials(tls) : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host}:${opts.port}`, creds, (err, p) => (err ? reject(err) : resolve(p)));
  }).catch((err: unknown) => {
    tls?.close();
    throw err;
  });
  deps.log.info({ port, tls: tls !== undefined }, 'admin grpc listening');
  return {
    address: `${opts.host}:${port}`,
    port,
    async stop() {
      await new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Open WatchVotes streams would hold tryShutdown forever: force them closed.
        setTimeout(() => server.forceShutdown(), STOP_BUDGET_MS.grpcServerClose).unref();
      });
      tls?.close();
    },
  };
}

/**
 * Creates an Admin gRPC client (for CLI and tests). With `tls` (a {@link TlsReloader} or the
 * three files), mutual TLS: the client presents its certificate (its role decides what it may
 * call) and checks the server's; without, plaintext. Close the client with `close()`; a
 * reloader made here from files stops with it.
 */
export function createAdminClient(address: string, opts: { tls?: TlsFiles | TlsReloader; serverName?: string } = {}): Client & Record<string, unknown> {
  const { Client: Ctor } = loadVoteclusterProto(ADMIN_PROTO_FILES).service(ADMIN_SERVICE);
  if (!opts.tls) return new Ctor(address, credentials.createInsecure()) as Client & Record<string, unknown>;
  const own = !(opts.tls instanceof TlsReloader);
  const tls = opts.tls instanceof TlsReloader ? opts.tls : new TlsReloader(opts.tls);
  const client = new Ctor(address, grpcChannelCredentials(tls, opts.serverName === undefined ? {} : { serverName: opts.serverName })) as Client & Record<string, unknown>;
  if (own) {
    const close = client.close.bind(client);
    client.close = () => {
      tls.close();
      close();
    };
  }
  return client;
}
