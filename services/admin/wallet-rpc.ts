/**
 * A dcrwallet-compatible JSON-RPC endpoint, so an unmodified vspd can use the
 * cluster as its voting wallets (decred/vspd
 * rpc/dcrwallet.go, rpc/version.go).
 *
 * Transport: the shared JSON-RPC server (services/jsonrpc) with dcrwallet's replies:
 * HTTP(S) POST on `/` and a websocket on `/ws` (vspd dials
 * `wss://host:port/ws` with basic auth on the upgrade request). Requests are
 * `{"jsonrpc":"1.0","id":n,"method":...,"params":[...]}` with positional
 * params; responses are `{"result":...,"error":null|{code,message},"id":n}`.
 *
 * `importprivkey` only parks the decoded key in memory (keyed by its
 * hash160, for {@link PENDING_KEY_TTL_MS}); the following `addtransaction`
 * with the ticket finds the key controlling the ticket's voting output and
 * runs the normal intake (all checks, create-if-absent), exactly as
 * `ticket import` does. A WIF is never logged or echoed.
 */
import { JsonRpcServer, type JsonRpcDialect } from '../jsonrpc/index.ts';
import { hash160, privKeyToPubKey, toHex, type NetParams } from '../decred/index.ts';
import type { Logger, SecretKey } from '../telemetry/index.ts';
import { getVoteChoices, setTreasuryPolicy, setTSpendPolicy, setVoteChoices, currentAgendas } from './choices.ts';
import { AdminError, AdminKeyMismatchError, AdminNotATicketError, AdminUnknownAgendaError, AdminUnknownChoiceError } from './errors.ts';
import { checkTicketBytes, decodeVotingWif, importTicketWithKey } from './intake.ts';
import { parseTicketHash } from './policies.ts';
import type { ChainLookup, TicketStore } from './ports.ts';
import { classifyTickets, getStakeInfo, stakeInfoToWalletJson, type StakeInfoDeps } from './stakeinfo.ts';
import { pairedWallet, parseSemver, type VersionKey } from './wallet-versions.ts';

/** How long a key from `importprivkey` waits for its `addtransaction`. */
export const PENDING_KEY_TTL_MS = 10 * 60_000;
/** Bound on parked keys (vspd adds one ticket at a time). */
export const MAX_PENDING_KEYS = 10_000;
/** Largest request body accepted. */
export const MAX_BODY_BYTES = 1 << 20;


/** dcrd/dcrwallet JSON-RPC error codes (decred/dcrd: dcrjson/jsonrpcerr.go). */
export const RPC_ERR = {
  misc: -1,
  wallet: -4,
  invalidAddressOrKey: -5,
  invalidParameter: -8,
  deserialization: -22,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
  parse: -32700,
  invalidRequest: -32600,
} as const;

/** A JSON-RPC error with a dcrd-style numeric code and our `ADMIN_*` code in the message. */
export class WalletRpcError extends Error {
  constructor(readonly rpcCode: number, message: string) {
    super(message);
    this.name = 'WalletRpcError';
  }
}

const CODE_TO_RPC: Readonly<Record<string, number>> = {
  ADMIN_BAD_REQUEST: RPC_ERR.invalidParameter,
  ADMIN_WRONG_NETWORK: RPC_ERR.invalidAddressOrKey,
  ADMIN_BAD_KEY: RPC_ERR.invalidAddressOrKey,
  ADMIN_KEY_MISMATCH: RPC_ERR.invalidAddressOrKey,
  ADMIN_NOT_A_TICKET: RPC_ERR.deserialization,
  ADMIN_TICKET_HASH_MISMATCH: RPC_ERR.invalidParameter,
  ADMIN_TICKET_BYTES_MISMATCH: RPC_ERR.invalidParameter,
  ADMIN_TICKET_CONFLICT: RPC_ERR.invalidParameter,
  ADMIN_TICKET_NOT_FOUND: RPC_ERR.invalidAddressOrKey,
  ADMIN_TICKET_NOT_LIVE: RPC_ERR.invalidParameter,
  ADMIN_UNKNOWN_TICKET: RPC_ERR.invalidParameter,
};

/**
 * dcrwallet's refusal of an agenda or choice it does not define, verbatim
 * (decred/dcrwallet wallet/wallet.go SetAgendaChoices: errors.E(op, errors.Invalid,
 * `no agenda with ID %q` / `agenda %q has no choice ID %q`), which its JSON-RPC
 * server answers with ErrRPCWallet -4 (internal/rpc/jsonrpc/errors.go convertError).
 * vspd deletes a stored choice when the message contains `no agenda with ID`
 * (internal/vspd/update.go, walletconsistency.go), so that text is only used when the
 * chain itself just said the agenda does not exist.
 */
function agendaRefusal(err: unknown): WalletRpcError | undefined {
  if (err instanceof AdminUnknownAgendaError && err.fromChain && err.agendaId !== '') {
    return new WalletRpcError(RPC_ERR.wallet, `wallet.SetAgendaChoices: invalid operation: no agenda with ID ${JSON.stringify(err.agendaId)}`);
  }
  if (err instanceof AdminUnknownAgendaError) return new WalletRpcError(RPC_ERR.misc, `[${err.code}] ${err.message}`);
  if (err instanceof AdminUnknownChoiceError && err.agendaId !== '') {
    return new WalletRpcError(
      RPC_ERR.wallet,
      `wallet.SetAgendaChoices: invalid operation: agenda ${JSON.stringify(err.agendaId)} has no choice ID ${JSON.stringify(err.choiceId)}`,
    );
  }
  return undefined;
}

function toRpcError(err: unknown): WalletRpcError {
  if (err instanceof WalletRpcError) return err;
  const refusal = agendaRefusal(err);
  if (refusal) return refusal;
  if (err instanceof AdminError) return new WalletRpcError(CODE_TO_RPC[err.code] ?? RPC_ERR.wallet, `[${err.code}] ${err.message}`);
  const code = (err as { code?: unknown })?.code;
  return new WalletRpcError(RPC_ERR.wallet, `${typeof code === 'string' ? `[${code}] ` : ''}${(err as Error)?.message ?? String(err)}`);
}

/** What the wallet endpoint needs. */
export interface WalletRpcDeps {
  store: TicketStore;
  chain?: ChainLookup;
  params: NetParams;
  log: Logger;
  requireChainChecks?: boolean;
  /** Our own version string for the `votecluster` entry of `version`. */
  version?: string;
  /** Operator overrides of `version` entries (`MAJOR.MINOR.PATCH`), e.g. `{ dcrwalletjsonrpcapi: '9.2.0' }`. */
  versionOverride?: Partial<Record<VersionKey, string>>;
  now?: () => number;
  /** The chain judge's verdicts: stake info counts a vote the chain mined even before its record is written. */
  chainVerdicts?: StakeInfoDeps['chainVerdicts'];
}

/** Dispatches wallet JSON-RPC methods; transport-free. */
export interface WalletRpcHandler {
  call(method: string, params: unknown[]): Promise<unknown>;
  /** Wipes parked keys. */
  close(): void;
}

function str(params: unknown[], i: number, what: string, optional = false): string | undefined {
  const v = params[i];
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw new WalletRpcError(RPC_ERR.invalidParams, `parameter ${i + 1} (${what}) is required`);
  }
  if (typeof v !== 'string') throw new WalletRpcError(RPC_ERR.invalidParams, `parameter ${i + 1} (${what}) must be a string`);
  return v;
}

function semver(v: readonly [number, number, number]) {
  return { versionstring: v.join('.'), major: v[0], minor: v[1], patch: v[2], prerelease: '', buildmetadata: '' };
}

/**
 * dcrwallet's `votebitsextended`: the wallet's extended vote bits, which are the vote version as a
 * little-endian uint32 (decred/dcrwallet wallet/wallet.go `VoteBits`, `ExtendedBits` set with
 * `binary.LittleEndian.PutUint32`; internal/rpc/jsonrpc/methods.go `walletInfo` hex-encodes them and
 * reads `voteversion` back from the same four bytes). The votes the cluster writes carry the same bytes.
 */
export function extendedVoteBitsHex(voteVersion: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(voteVersion >>> 0);
  return b.toString('hex');
}

const ATOMS_PER_DCR = 1e8;

/** Creates the method dispatcher. */
export function createWalletRpcHandler(deps: WalletRpcDeps): WalletRpcHandler {
  const now = deps.now ?? Date.now;
  let warnedUnknownRelease = false;
  const pending = new Map<string, { key: SecretKey; expires: number }>();

  const prune = (): void => {
    const t = now();
    for (const [k, v] of pending) {
      if (v.expires <= t) {
        v.key.wipe();
        pending.delete(k);
      }
    }
  };

  const methods: Record<string, (p: unknown[]) => Promise<unknown>> = {
    // As dcrwallet answers (internal/rpc/jsonrpc/methods.go (*Server).version): its dcrd's own
    // `version` entries, then its binary and JSON-RPC API versions; see wallet-versions.ts.
    async version() {
      const override = deps.versionOverride ?? {};
      const out: Record<string, unknown> = {};
      const complete = (['dcrd', 'dcrdjsonrpcapi', 'dcrwallet', 'dcrwalletjsonrpcapi'] as const).every((k) => override[k] !== undefined);
      if (!complete) {
        if (!deps.chain?.getDcrdInfo) throw new WalletRpcError(RPC_ERR.misc, 'no node proxy configured: the dcrd version is unknown (configure a proxy, or every entry of walletRpc.versionOverride)');
        const info = await deps.chain.getDcrdInfo();
        const dcrd = info.versions['dcrd'];
        if (!dcrd || !info.versions['dcrdjsonrpcapi']) {
          throw new WalletRpcError(RPC_ERR.misc, 'the node proxy has not reached its dcrd yet: its version is unknown');
        }
        Object.assign(out, info.versions);
        const paired = pairedWallet(dcrd);
        if (!paired.known && !warnedUnknownRelease) {
          warnedUnknownRelease = true;
          deps.log.warn({ dcrd: dcrd.versionstring, dcrwalletjsonrpcapi: paired.dcrwalletjsonrpcapi.versionstring }, 'dcrd release newer than every known dcrwallet line: answering with the newest known wallet API (set walletRpc.versionOverride if vspd refuses it)');
        }
        out['dcrwallet'] = paired.dcrwallet;
        out['dcrwalletjsonrpcapi'] = paired.dcrwalletjsonrpcapi;
      }
      for (const [k, v] of Object.entries(override)) if (v !== undefined) out[k] = parseSemver(v);
      const ours = (deps.version ?? '0.1.0').split('.').map((x) => Number.parseInt(x, 10) || 0);
      out['votecluster'] = semver([ours[0] ?? 0, ours[1] ?? 0, ours[2] ?? 0]);
      return out;
    },
    async getcurrentnet() {
      return deps.params.net;
    },
    async walletinfo() {
      // dcrwallet answers walletinfo from its cached settings and never fails it for agendas
      // (methods.go walletInfo); vspd counts a failing walletinfo as a failed wallet.
      let c: { voteBits: number; voteVersion: number };
      try {
        c = await getVoteChoices(deps);
      } catch (err) {
        deps.log.warn({ err }, 'walletinfo: the agendas are unknown; reporting vote bits 0x0001');
        c = { voteBits: 0x0001, voteVersion: (await deps.chain?.getDcrdInfo?.().then((i) => i.voteVersion, () => 0)) ?? 0 };
      }
      let connected = false;
      if (deps.chain) {
        try {
          await deps.chain.getBestBlock();
          connected = true;
        } catch (err) {
          // Reported as daemonconnected=false, which is exactly what the field is for.
          deps.log.warn({ err }, 'walletinfo: chain lookup failed');
        }
      }
      return {
        daemonconnected: connected,
        spv: false,
        unlocked: true,
        cointype: deps.params.slip44CoinType,
        txfee: 0.0001,
        votebits: c.voteBits,
        votebitsextended: extendedVoteBitsHex(c.voteVersion),
        voteversion: c.voteVersion,
        voting: true,
        vsp: '',
        manualtickets: true,
        birthhash: '',
        birthheight: 0,
      };
    },
    async importprivkey(p) {
      const wif = str(p, 0, 'privkey') as string;
      prune();
      if (pending.size >= MAX_PENDING_KEYS) throw new WalletRpcError(RPC_ERR.wallet, 'too many keys waiting for their addtransaction');
      const key = decodeVotingWif(wif, deps.params);
      const h = toHex(hash160(privKeyToPubKey(key.expose())));
      pending.get(h)?.key.wipe();
      pending.set(h, { key, expires: now() + PENDING_KEY_TTL_MS });
      deps.log.debug({ keyHash160: h }, 'voting key parked for addtransaction');
      return null;
    },
    async addtransaction(p) {
      const blockHash = str(p, 0, 'blockhash') as string;
      const txHex = str(p, 1, 'transaction') as string;
      if (txHex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(txHex)) throw new AdminNotATicketError('the transaction is not hex');
      const raw = Uint8Array.from(Buffer.from(txHex, 'hex'));
      const ticket = checkTicketBytes(raw, deps.params);
      prune();
      const parked = pending.get(toHex(ticket.votingHash160));
      if (!parked) {
        const existing = await deps.store.getTicket(ticket.ticketHash);
        if (existing) return null; // already managed: addtransaction is idempotent
        throw new AdminKeyMismatchError(
          `no imported key controls ticket ${ticket.ticketHash} (voting address ${ticket.votingAddress}); call importprivkey with its voting key first`,
        );
      }
      await importTicketWithKey(deps, parked.key, {
        ticketHash: ticket.ticketHash,
        rawTicket: raw,
        ...(blockHash !== '' ? { blockHash: parseTicketHash(blockHash, 'block hash') } : {}),
      });
      return null;
    },
    async setvotechoice(p) {
      const agenda = str(p, 0, 'agendaid') as string;
      const choice = str(p, 1, 'choiceid') as string;
      const ticket = str(p, 2, 'tickethash', true);
      await setVoteChoices(deps, [{ agendaId: agenda, choiceId: choice }], ticket);
      return null;
    },
    async getvotechoices(p) {
      const ticket = str(p, 0, 'tickethash', true);
      const set = await currentAgendas(deps);
      const c = await getVoteChoices(deps, ticket);
      return {
        version: c.voteVersion,
        choices: set.agendas.map((a) => {
          const chosen = c.choices.find((x) => x.agendaId === a.id);
          const choice = a.choices.find((x) => x.id === (chosen?.choiceId ?? 'abstain')) ?? a.choices.find((x) => x.isAbstain);
          return {
            agendaid: a.id,
            agendadescription: a.description ?? '',
            choiceid: choice?.id ?? 'abstain',
            choicedescription: choice?.description ?? '',
          };
        }),
        votebits: c.voteBits,
      };
    },
    async settspendpolicy(p) {
      await setTSpendPolicy(deps, str(p, 0, 'hash') as string, str(p, 1, 'policy') as string, str(p, 2, 'tickethash', true));
      return null;
    },
    async settreasurypolicy(p) {
      await setTreasuryPolicy(deps, str(p, 0, 'key') as string, str(p, 1, 'policy') as string, str(p, 2, 'tickethash', true));
      return null;
    },
    async ticketinfo(p) {
      const start = p[0] === undefined || p[0] === null ? 0 : Number(p[0]);
      if (!Number.isSafeInteger(start)) throw new WalletRpcError(RPC_ERR.invalidParams, 'parameter 1 (startheight) must be an integer');
      const { tickets } = await classifyTickets(deps);
      const defaults = await deps.store.getDefaults();
      return tickets
        .filter((t) => (t.blockHeight ?? Number.MAX_SAFE_INTEGER) >= start)
        .map((t) => {
          const choices = { ...defaults.choices, ...t.ticket.choices };
          return {
            hash: t.ticket.ticketHash,
            cost: Number(t.ticket.price) / ATOMS_PER_DCR,
            votingaddress: t.ticket.votingAddress,
            status: t.status,
            ...(t.blockHash ? { blockhash: t.blockHash } : {}),
            blockheight: t.blockHeight ?? -1,
            ...(t.voteTxid ? { vote: t.voteTxid } : {}),
            choices: Object.entries(choices).map(([agendaid, choiceid]) => ({ agendaid, choiceid })),
          };
        });
    },
    async getstakeinfo() {
      return stakeInfoToWalletJson(await getStakeInfo(deps));
    },
    async getbestblock() {
      if (!deps.chain) throw new WalletRpcError(RPC_ERR.misc, 'no node proxy configured');
      const tip = await deps.chain.getBestBlock();
      return { hash: tip.hash, height: tip.height };
    },
    async getblockcount() {
      if (!deps.chain) throw new WalletRpcError(RPC_ERR.misc, 'no node proxy configured');
      return (await deps.chain.getBestBlock()).height;
    },
    async rescanwallet() {
      // Nothing to rescan: the cluster learns about tickets only through intake.
      return null;
    },
  };

  return {
    async call(method, params) {
      const fn = Object.hasOwn(methods, method) ? methods[method] : undefined;
      if (!fn) throw new WalletRpcError(RPC_ERR.methodNotFound, `method not found: ${method}`);
      try {
        return await fn(params);
      } catch (err) {
        throw toRpcError(err);
      }
    },
    close() {
      for (const v of pending.values()) v.key.wipe();
      pending.clear();
    },
  };
}

/** Options of {@link startWalletRpcServer}. */
export interface WalletRpcServerOptions {
  host: string;
  port: number;
  username: string;
  /** Basic-auth password (secret). */
  password: SecretKey;
  tls?: { cert: string | Buffer; key: string | Buffer };
  log: Logger;
}

/** A running endpoint. */
export interface WalletRpcServer {
  /** `http(s)://host:port/` */
  url: string;
  /** `ws(s)://host:port/ws` */
  wsUrl: string;
  port: number;
  stop(): Promise<void>;
}

/** dcrwallet's replies: `{jsonrpc:"1.0", result, error, id}`, one call per body, every call answered. */
const DCRWALLET_DIALECT: JsonRpcDialect = {
  envelope: { jsonrpc: '1.0' },
  errors: {
    parse: { code: RPC_ERR.parse, message: 'parse error' },
    notAnObject: { code: RPC_ERR.invalidRequest, message: 'request must be an object' },
    noMethod: { code: RPC_ERR.invalidRequest, message: 'method must be a string' },
    paramsNotArray: { code: RPC_ERR.invalidParams, message: 'params must be an array' },
  },
  batch: false,
  silentNotifications: false,
};

/**
 * A refused request gets what dcrwallet sends (internal/rpc/jsonrpc/server.go jsonAuthFail):
 * 401 with a Basic challenge and a short text body, on HTTP POST and on the websocket upgrade.
 */
const WWW_AUTHENTICATE = 'Basic realm="dcrwallet RPC"';
const UNAUTHORIZED_BODY = '401 Unauthorized.\n';

/**
 * Starts the endpoint on `host:port` (port 0: a free port).
 * Unauthenticated requests get 401 and are closed; nothing else is read from them.
 */
export async function startWalletRpcServer(handler: WalletRpcHandler, opts: WalletRpcServerOptions): Promise<WalletRpcServer> {
  const log = opts.log;
  const server = new JsonRpcServer({
    host: opts.host,
    port: opts.port,
    ...(opts.tls ? { tls: opts.tls } : {}),
    credentials: () => Buffer.concat([Buffer.from(`${opts.username}:`), Buffer.from(opts.password.expose())]),
    maxBodyBytes: MAX_BODY_BYTES,
    dialect: DCRWALLET_DIALECT,
    call: (method, params) => handler.call(method, params),
    toError: (err) => {
      const e = toRpcError(err);
      return { code: e.rpcCode, message: e.message };
    },
    onCallError: (method, e) => log.warn({ method, rpcCode: e.code, err: { message: e.message } }, 'wallet rpc call refused'),
    onError: (err, where) => log.warn({ err }, where === 'websocket' ? 'wallet rpc websocket error' : 'wallet rpc response failed'),
    http: {
      routeBeforeAuth: false,
      refuseRoute: (req) =>
        req.method !== 'POST' || (req.url ?? '/') !== '/' ? { status: 405, headers: { 'content-type': 'text/plain' }, body: 'POST / only\n' } : undefined,
      unauthorized: {
        headers: { 'www-authenticate': WWW_AUTHENTICATE, 'content-type': 'text/plain; charset=utf-8', connection: 'close' },
        body: UNAUTHORIZED_BODY,
      },
    },
    websocket: { path: '/ws', challengeOnUpgrade: true, unknownPathStatus: 401 },
  });
  await server.start();
  const port = server.port;
  const scheme = opts.tls ? 'https' : 'http';
  const wsScheme = opts.tls ? 'wss' : 'ws';
  log.info({ port, tls: Boolean(opts.tls) }, 'wallet rpc listening');
  return {
    url: `${scheme}://${opts.host}:${port}/`,
    wsUrl: `${wsScheme}://${opts.host}:${port}/ws`,
    port,
    stop: () => server.stop(),
  };
}
