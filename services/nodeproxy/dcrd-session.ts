/**
 * The websocket JSON-RPC session with one dcrd (decred/dcrd: internal/rpcserver/rpcwebsocket.go).
 *
 * Invariant: the session is `ready` only after, on *this* connection, dcrd's
 * API version and network were checked, notifyblocks / notifywinningtickets /
 * notifytspend were registered and the `onConnected` hook (the chain catch-up)
 * finished. Every notification is validated with zod and handed to the
 * listeners in arrival order. When the socket drops, every pending call fails
 * with DcrdUnavailableError and the loop reconnects with capped exponential
 * backoff and full jitter; a version or network mismatch is refused with a
 * typed error (never silently used).
 */
import type { Logger } from 'pino';
import { probeNewestVoteVersion, VOTE_VERSION_FLOOR, type NetworkName } from '../decred/index.ts';
import WebSocket from 'ws';
import { z } from 'zod';
import {
  DcrdAuthError,
  DcrdProtocolError,
  DcrdRpcError,
  DcrdUnavailableError,
  DcrdVersionError,
  DcrdWrongNetworkError,
  NodeProxyError,
} from './errors.ts';
import { JitteredBackoff } from '../base/index.ts';

/** dcrd JSON-RPC API semver this proxy is written against (rpcserver.go jsonrpcSemver*). */
export const REQUIRED_API_MAJOR = 8;
export const REQUIRED_API_MINOR = 3;

/** Lifecycle of the session. */
export type DcrdSessionState = 'idle' | 'connecting' | 'syncing' | 'ready' | 'disconnected' | 'failed' | 'stopped';

/** A validated dcrd notification. `receivedAtMs` is when the proxy read it off the socket. */
export type DcrdNotification =
  | { kind: 'blockconnected'; headerHex: string; receivedAtMs: number }
  | { kind: 'blockdisconnected'; headerHex: string; receivedAtMs: number }
  | { kind: 'winningtickets'; blockHashHex: string; height: number; tickets: string[]; receivedAtMs: number }
  | { kind: 'tspend'; txHex: string; receivedAtMs: number };

export interface DcrdSessionOptions {
  url: string;
  user: string;
  /** Secret: used only for the Authorization header, never logged. */
  pass: string;
  caCertPem?: string | undefined;
  network: { name: NetworkName; net: number };
  callTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  logger: Logger;
  now: () => number;
  /** Runs on every new connection after the checks and registrations, before `ready`. */
  onConnected?: (info: { reconnect: boolean }) => Promise<void>;
}

const Hex = z.string().regex(/^[0-9a-fA-F]*$/);
const Hash = z.string().regex(/^[0-9a-fA-F]{64}$/);
const HeaderHex = z.string().regex(/^[0-9a-fA-F]{360}$/);
const NOTIFICATION_SCHEMAS = {
  blockconnected: z.tuple([HeaderHex], z.unknown()),
  blockdisconnected: z.tuple([HeaderHex], z.unknown()),
  winningtickets: z.tuple([Hash, z.number().int().nonnegative(), z.record(z.string().regex(/^\d+$/), Hash)]),
  tspend: z.tuple([Hex]),
} as const;

const ResponseSchema = z.object({
  id: z.union([z.number(), z.string(), z.null()]).optional(),
  method: z.string().optional(),
  params: z.array(z.unknown()).optional(),
  result: z.unknown().optional(),
  error: z.object({ code: z.number(), message: z.string() }).nullable().optional(),
});

const VersionSchema = z.record(
  z.string(),
  z.object({
    versionstring: z.string().optional(),
    major: z.number(),
    minor: z.number(),
    patch: z.number(),
    prerelease: z.string().optional(),
    buildmetadata: z.string().optional(),
  }).loose(),
);

/** One entry of dcrd's `version` result (rpc/jsonrpc/types VersionResult). */
export interface DcrdSemver {
  versionstring: string;
  major: number;
  minor: number;
  patch: number;
  prerelease: string;
  buildmetadata: string;
}

/** dcrd's JSON-RPC "invalid parameter" code (dcrjson/jsonrpcerr.go ErrRPCInvalidParameter). */
const RPC_INVALID_PARAMETER = -8;

function semverEntries(versions: z.infer<typeof VersionSchema>): Record<string, DcrdSemver> {
  const out: Record<string, DcrdSemver> = {};
  for (const [k, v] of Object.entries(versions)) {
    out[k] = {
      versionstring: v.versionstring ?? `${v.major}.${v.minor}.${v.patch}`,
      major: v.major, minor: v.minor, patch: v.patch,
      prerelease: v.prerelease ?? '', buildmetadata: v.buildmetadata ?? '',
    };
  }
  return out;
}

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Is this failure a configuration problem that retrying cannot fix? */
function isFatal(err: unknown): boolean {
  return err instanceof DcrdWrongNetworkError || err instanceof DcrdVersionError || err instanceof DcrdAuthError;
}

/**
 * One dcrd websocket session with its own reconnect loop. `start()` resolves
 * after the first attempt (ready, or a transient failure that the loop keeps
 * retrying) and rejects on a fatal mismatch; `stop()` awaits the loop.
 */
export class DcrdSession {
  private readonly opts: DcrdSessionOptions;
  private readonly log: Logger;
  private ws: WebSocket | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(n: DcrdNotification) => void>();
  private readonly stateListeners = new Set<(s: DcrdSessionState) => void>();
  private stateValue: DcrdSessionState = 'idle';
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wakeBackoff: (() => void) | undefined;
  private connectedOnce = false;
  /** Counts connections that reached `ready`, minus the first. */
  reconnects = 0;
  /** The dcrd version string reported on the last connection. */
  dcrdVersion = '';
  /**
   * dcrd's `version` result on the last connection, as dcrd sent it: the `dcrd` and
   * `dcrdjsonrpcapi` entries (versionstring, major, minor, patch, prerelease, buildmetadata).
   */
  versionResult: Readonly<Record<string, DcrdSemver>> = {};
  /**
   * The vote version a wallet writes behind this dcrd (services/decred vote-version.ts: the
   * newest version its `getvoteinfo` recognises), found on every connection; 0 before the first.
   */
  voteVersion = 0;
  /**
   * Whether dcrd keeps a transaction index (`getinfo` txindex, decred/dcrd handleGetInfo: true when
   * started with --txindex), as of the last connection; undefined until known.
   */
  txIndex: boolean | undefined;
  lastError: NodeProxyError | undefined;

  constructor(opts: DcrdSessionOptions) {
    this.opts = opts;
    this.log = opts.logger.child({ component: 'dcrd-session' });
  }

  get state(): DcrdSessionState {
    return this.stateValue;
  }

  /** Subscribes to validated notifications; returns an unsubscribe function. */
  onNotification(fn: (n: DcrdNotification) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Subscribes to state changes; returns an unsubscribe function. */
  onStateChange(fn: (s: DcrdSessionState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /**
   * Starts the reconnect loop. Resolves once the first connection is ready or
   * failed transiently (the loop keeps trying); rejects with the typed error
   * when dcrd is the wrong network, an incompatible version, or refuses the
   * credentials (the loop is stopped then).
   */
  async start(): Promise<void> {
    if (this.loop) throw new Error('DcrdSession.start called twice');
    let settle!: (err?: Error) => void;
    const first = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    this.loop = this.run(settle);
    try {
      await first;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops reconnecting, closes the socket, fails pending calls, awaits the loop. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeBackoff?.();
    this.ws?.terminate();
    await this.loop;
    this.setState('stopped');
  }

  /**
   * One JSON-RPC call. Rejects with DcrdRpcError when dcrd answers with an
   * error object, DcrdUnavailableError when there is no open socket or the
   * call times out.
   */
  call(method: string, params: unknown[] = [], opts: { timeoutMs?: number } = {}): Promise<unknown> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(new DcrdUnavailableError(`dcrd is not connected (state ${this.stateValue})`));
    }
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? this.opts.callTimeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DcrdUnavailableError(`dcrd ${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      ws.send(JSON.stringify({ jsonrpc: '1.0', id, method, params }), (err) => {
        if (!err) return;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new DcrdUnavailableError(`dcrd ${method} could not be sent: ${err.message}`, { cause: err }));
      });
    });
  }

  /** Like {@link call} but validates the result with `schema`. */
  async callAs<T>(method: string, params: unknown[], schema: z.ZodType<T>, opts: { timeoutMs?: number } = {}): Promise<T> {
    const raw = await this.call(method, params, opts);
    const r = schema.safeParse(raw);
    if (!r.success) throw new DcrdProtocolError(`dcrd ${method} returned an unexpected shape: ${r.error.issues[0]?.message ?? ''}`);
    return r.data;
  }

  private setState(s: DcrdSessionState): void {
    if (this.stateValue === s) return;
    this.stateValue = s;
    for (const fn of this.stateListeners) fn(s);
  }

  private async run(settleFirst: (err?: Error) => void): Promise<void> {
    const backoff = new JitteredBackoff(this.opts.reconnectMinMs, this.opts.reconnectMaxMs);
    let firstSettled = false;
    const settle = (err?: Error): void => {
      if (firstSettled) return;
      firstSettled = true;
      settleFirst(err);
    };
    while (!this.stopping) {
      this.setState('connecting');
      const outcome = await this.connectOnce(() => {
        backoff.reset();
        settle();
      });
      if (this.stopping) break;
      if (outcome.error) {
        this.lastError =
          outcome.error instanceof NodeProxyError ? outcome.error : new DcrdUnavailableError(outcome.error.message, { cause: outcome.error });
        if (isFatal(outcome.error)) {
          this.log.error({ err: outcome.error, code: this.lastError.code }, 'dcrd refused: configuration mismatch');
          this.setState('failed');
          if (!firstSettled) {
            settle(outcome.error);
            return;
          }
        } else {
          this.log.warn({ err: { message: outcome.error.message, code: this.lastError.code } }, 'dcrd connection lost');
          this.setState('disconnected');
        }
      } else {
        this.setState('disconnected');
      }
      // First attempt failed transiently: start() resolves, the loop keeps trying.
      settle();
      const delay = backoff.nextMs();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wakeBackoff = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeBackoff = undefined;
    }
  }

  /** One connection from dial to close. Resolves (never rejects) when the socket is gone. */
  private connectOnce(onReady: () => void): Promise<{ error?: Error }> {
    return new Promise((resolve) => {
      let error: Error | undefined;
      let done = false;
      const auth = Buffer.from(`${this.opts.user}:${this.opts.pass}`).toString('base64');
      const ws = new WebSocket(this.opts.url, {
        headers: { Authorization: `Basic ${auth}` },
        ...(this.opts.caCertPem ? { ca: this.opts.caCertPem } : {}),
        handshakeTimeout: this.opts.callTimeoutMs,
        maxPayload: 16 * 1024 * 1024,
      });
      this.ws = ws;
      const finish = (): void => {
        if (done) return;
        done = true;
        if (this.ws === ws) this.ws = undefined;
        for (const [id, p] of this.pending) {
          clearTimeout(p.timer);
          p.reject(new DcrdUnavailableError(`dcrd connection closed during ${p.method}`));
          this.pending.delete(id);
        }
        resolve(error ? { error } : {});
      };
      ws.on('unexpected-response', (_req, res) => {
        error =
          res.statusCode === 401
            ? new DcrdAuthError(`dcrd refused the credentials for user ${this.opts.user} (HTTP 401)`)
            : new DcrdUnavailableError(`dcrd websocket upgrade failed with HTTP ${res.statusCode}`);
        res.resume();
        ws.terminate();
        finish();
      });
      ws.on('error', (err) => {
        error ??= err;
      });
      ws.on('close', finish);
      ws.on('message', (data) => this.onMessage(String(data)));
      ws.on('open', () => {
        this.setState('syncing');
        this.handshake().then(
          () => {
            if (ws.readyState !== WebSocket.OPEN) return;
            if (this.connectedOnce) {
              this.reconnects++;
            }
            this.connectedOnce = true;
            this.lastError = undefined;
            this.setState('ready');
            this.log.info({ url: this.opts.url, version: this.dcrdVersion }, 'dcrd session ready');
            onReady();
          },
          (err: Error) => {
            error = err;
            ws.terminate();
          },
        );
      });
    });
  }

  /** Version and network checks, notification registration, then the onConnected hook. */
  private async handshake(): Promise<void> {
    const versions = await this.callAs('version', [], VersionSchema);
    const api = versions['dcrdjsonrpcapi'];
    const required = `${REQUIRED_API_MAJOR}.${REQUIRED_API_MINOR}.0`;
    if (!api) throw new DcrdVersionError('(missing dcrdjsonrpcapi)', required);
    const actual = api.versionstring ?? `${api.major}.${api.minor}.${api.patch}`;
    if (api.major !== REQUIRED_API_MAJOR || api.minor < REQUIRED_API_MINOR) throw new DcrdVersionError(actual, required);
    this.dcrdVersion = versions['dcrd']?.versionstring ?? actual;
    this.versionResult = semverEntries(versions);
    const net = await this.callAs('getcurrentnet', [], z.number().int().nonnegative());
    if (net !== this.opts.network.net) throw new DcrdWrongNetworkError(this.opts.network, net);
    const voteVersion = await probeNewestVoteVersion(this.opts.network.name, async (v) => {
      try {
        await this.call('getvoteinfo', [v]);
        return true;
      } catch (err) {
        // rpcserver.go handleGetVoteInfo: "%d: unrecognized vote version" with ErrRPCInvalidParameter.
        if (err instanceof DcrdRpcError && err.rpcCode === RPC_INVALID_PARAMETER) return false;
        throw err;
      }
    });
    if (voteVersion === undefined) {
      const floor = VOTE_VERSION_FLOOR[this.opts.network.name];
      throw new DcrdVersionError(this.dcrdVersion, `vote version ${floor}`, `dcrd ${this.dcrdVersion} does not recognise vote version ${floor} (getvoteinfo ${floor} answers -8): it is older than the oldest supported release (dcrd 2.0)`);
    }
    if (voteVersion !== this.voteVersion) {
      this.log.info({ dcrd: this.dcrdVersion, voteVersion, previous: this.voteVersion || undefined }, 'dcrd vote version');
    }
    this.voteVersion = voteVersion;
    const info = await this.callAs('getinfo', [], z.object({ txindex: z.boolean().optional() }).loose());
    const hadIndex = this.txIndex;
    this.txIndex = info.txindex === true;
    if (!this.txIndex && hadIndex !== false) {
      // Once per process (and again only if dcrd is restarted with the index and later without).
      this.log.warn(
        { url: this.opts.url },
        'dcrd runs without --txindex: ticket import through this proxy needs each ticket\'s block hash (the export file and vspd give it), mined votes are found through the next block; start dcrd with --txindex for lookups of any mined transaction',
      );
    }
    await this.call('notifyblocks');
    await this.call('notifywinningtickets');
    await this.call('notifytspend');
    await this.opts.onConnected?.({ reconnect: this.connectedOnce });
  }

  private onMessage(text: string): void {
    const receivedAtMs = this.opts.now();
    let msg: z.infer<typeof ResponseSchema>;
    try {
      msg = ResponseSchema.parse(JSON.parse(text));
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message } }, 'dcrd sent a message that is not JSON-RPC');
      return;
    }
    if (typeof msg.id === 'number' && this.pending.has(msg.id)) {
      const p = this.pending.get(msg.id) as Pending;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error) p.reject(new DcrdRpcError(p.method, msg.error.code, msg.error.message));
      else p.resolve(msg.result ?? null);
      return;
    }
    if (msg.method && (msg.id === null || msg.id === undefined)) this.onNotificationMessage(msg.method, msg.params ?? [], receivedAtMs);
  }

  private onNotificationMessage(method: string, params: unknown[], receivedAtMs: number): void {
    let n: DcrdNotification;
    switch (method) {
      case 'blockconnected':
      case 'blockdisconnected': {
        const r = NOTIFICATION_SCHEMAS[method].safeParse(params);
        if (!r.success) return this.badNotification(method, r.error);
        n = { kind: method, headerHex: r.data[0].toLowerCase(), receivedAtMs };
        break;
      }
      case 'winningtickets': {
        const r = NOTIFICATION_SCHEMAS.winningtickets.safeParse(params);
        if (!r.success) return this.badNotification(method, r.error);
        // The third element is an object keyed "0".."n-1" (draw order), not an array.
        const tickets = Object.entries(r.data[2])
          .sort(([a], [b]) => Number(a) - Number(b))
          .map(([, t]) => t.toLowerCase());
        n = { kind: 'winningtickets', blockHashHex: r.data[0].toLowerCase(), height: r.data[1], tickets, receivedAtMs };
        break;
      }
      case 'tspend': {
        const r = NOTIFICATION_SCHEMAS.tspend.safeParse(params);
        if (!r.success) return this.badNotification(method, r.error);
        n = { kind: 'tspend', txHex: r.data[0], receivedAtMs };
        break;
      }
      default:
        this.log.debug({ method }, 'dcrd notification ignored');
        return;
    }
    for (const fn of this.listeners) {
      try {
        fn(n);
      } catch (err) {
        // A listener bug must not kill the socket reader; it is logged loudly.
        this.log.error({ err }, 'dcrd notification listener threw');
      }
    }
  }

  private badNotification(method: string, err: z.ZodError): void {
    this.log.warn({ method, issue: err.issues[0]?.message }, 'dcrd notification failed validation');
    this.badNotificationCount++;
  }

  /** Notifications dropped because they failed validation. */
  badNotificationCount = 0;
}
