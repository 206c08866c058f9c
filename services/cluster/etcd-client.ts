/**
 * The etcd connection of one cluster handle: builds the etcd3 client with
 * bounded per-call deadlines, a short circuit-breaker and gRPC keepalive (so a
 * dead connection is noticed in seconds, not minutes), and times every request
 * for the `etcd txn latency` metric. etcd3's errors are translated into
 * {@link EtcdUnavailableError} here and only here.
 */
import { type IBackoff, BrokenCircuitError, ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry } from 'cockatiel';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { Etcd3, EtcdAuthenticationFailedError, EtcdLeaseInvalidError, EtcdPermissionDeniedError, isRecoverableError } from 'etcd3';
import { grpcChannelCredentials, silenceIpServernameWarning, type TlsReloader } from '../security/index.ts';
import type { ResolvedEtcdAccess } from './etcd-access.ts';
import { ClusterError, EtcdAuthError, EtcdPermissionError, EtcdUnavailableError, LeaseLostError } from './errors.ts';

/** Default per-request deadline (unary calls; streams have none). */
export const DEFAULT_CALL_TIMEOUT_MS = 2_000;
/** Default connect deadline. */
export const DEFAULT_DIAL_TIMEOUT_MS = 3_000;

/** Hooks the cluster reports through (telemetry builds Prometheus metrics from them). */
export interface ClusterMetricsHooks {
  /** One etcd request finished: `op` names the operation (`claim`, `record`, ...). */
  observeEtcdRequest?(op: string, durationMs: number, errorCode: string | undefined): void;
  /** Vote record write outcome: `created`, `existing` or `conflict`. */
  observeVoteRecord?(result: 'created' | 'existing' | 'conflict'): void;
  /** A corrupt value was found and skipped. */
  observeCorruptValue?(key: string): void;
  /** A voter repaired the cluster tip (chain-tip.ts): what it found wrong. */
  observeChainTipRepair?(reason: 'corrupt' | 'missing' | 'unequal' | 'lowered'): void;
  /** An owner claim failed a check etcd's RBAC cannot make (owner-check.ts): ignored. */
  observeForgedOwner?(key: string, reason: 'lease' | 'node'): void;
}

/** Options of {@link createEtcdClient}. */
export interface EtcdClientOptions {
  endpoints: readonly string[];
  /** etcd user and TLS material ({@link loadEtcdAccess}); absent: plaintext without authentication. */
  access?: ResolvedEtcdAccess;
  /**
   * Client TLS that follows its files (CA bundle, client certificate, key): every new connection
   * to etcd, reconnections included, uses the reloader's current material. Takes the place of
   * `access.tls`.
   */
  tls?: TlsReloader;
  dialTimeoutMs?: number;
  callTimeoutMs?: number;
}

/** Creates an etcd3 client tuned for fast failure detection and fast recovery. */
export function createEtcdClient(opts: EtcdClientOptions): Etcd3 {
  const callTimeoutMs = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const { auth } = opts.access ?? {};
  const reloader = opts.tls;
  const tls = reloader ? reloader.current : opts.access?.tls;
  if (tls) silenceIpServernameWarning();
  const client = new Etcd3({
    hosts: [...opts.endpoints],
    ...(auth ? { auth: { username: auth.username, password: auth.password } } : {}),
    ...(tls ? { credentials: { rootCertificate: tls.ca, ...(tls.cert && tls.key ? { certChain: tls.cert, privateKey: tls.key } : {}) } } : {}),
    dialTimeout: opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
    // etcd rejects client pings more often than --grpc-keepalive-min-time (5 s).
    grpcOptions: {
      'grpc.keepalive_time_ms': 5_000,
      'grpc.keepalive_timeout_ms': 2_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    },
    // Unary calls get a deadline so a request to a dead or partitioned member fails
    // (and is retried on another host) instead of hanging; streams (watch, keepalive) must not.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    faultHandling: {
      // etcd3's default breaker stays open 5 s; a restarted etcd should be used again quickly.
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 300, breaker: new ConsecutiveBreaker(3) }),
      global: retry(handleWhen(isRecoverableError), {
        maxAttempts: 2,
        backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 400 }),
      }),
      // etcd3 1.1.2 types this as IBackoff but calls `.next()` on it first (watch.js), i.e. it wants
      // the factory, which is what etcd3 itself passes by default.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1_000 }) as unknown as IBackoff<unknown>,
    },
  });
  if (reloader) useChannelCredentials(client, grpcChannelCredentials(reloader));
  return client;
}

/** etcd3 1.1.2's connection pool, as far as {@link useChannelCredentials} touches it. */
interface EtcdPoolInternals {
  hosts?: Array<{ channelCredentials?: unknown; cachedServices?: Record<string, unknown> }>;
  authenticator?: { credentials?: unknown };
}

/**
 * Makes every connection of `client` use `credentials`. etcd3 1.1.2 takes TLS only as PEM
 * bytes, turns them into grpc-js credentials once (`ConnectionPool.buildAuthentication`) and
 * hands that one object to each host (`Host.channelCredentials`, used when a host opens its
 * service clients, also after a reset) and to the log-in (`Authenticator.credentials`). Both
 * are replaced here, before anything has connected; credentials from a certificate provider
 * then give each new connection the provider's current certificate. Any other shape of those
 * internals (another etcd3 version) is refused: a client silently stuck on the certificate it
 * started with is what this exists to prevent.
 * @throws {ClusterError} `CLUSTER_ETCD_CLIENT_INTERNALS` when the internals are not as expected.
 */
export function useChannelCredentials(client: Etcd3, credentials: ChannelCredentials): void {
  const pool = (client as unknown as { pool?: EtcdPoolInternals }).pool;
  const hosts = pool?.hosts;
  const authenticator = pool?.authenticator;
  const fits =
    Array.isArray(hosts) && hosts.length > 0 &&
    hosts.every((h) => h.channelCredentials !== undefined && h.cachedServices !== undefined && Object.keys(h.cachedServices).length === 0) &&
    authenticator !== undefined && authenticator.credentials !== undefined;
  if (!fits || !pool || !hosts || !authenticator) {
    throw new ClusterError(
      'CLUSTER_ETCD_CLIENT_INTERNALS',
      'etcd client: cannot install certificates that follow their files (the etcd3 connection pool is not the one this build knows, or it already connected)',
      { retryable: false },
    );
  }
  for (const h of hosts) h.channelCredentials = credentials;
  authenticator.credentials = credentials;
}

/** Options of {@link probeEtcdTls}. */
export interface ProbeEtcdTlsOptions {
  endpoints: readonly string[];
  /** The process's etcd user (the probe logs in as it). */
  auth?: ResolvedEtcdAccess['auth'];
  /** The TLS material to try: CA bundle, client certificate and key. */
  tls: { ca: Buffer; cert: Buffer; key: Buffer };
  /** A key the user may read (one read, its value ignored). */
  key: string;
  dialTimeoutMs?: number;
  callTimeoutMs?: number;
}

/**
 * Whether etcd accepts a client certificate: one read of `opts.key` as the process's etcd user,
 * over connections of a client of its own (closed after). Resolves `undefined` when etcd
 * answered, the translated error (handshake refused, unreachable, ...) when it did not. Used
 * after the etcd client certificate changed on disk, to say at once whether etcd trusts it,
 * long before an etcd restart would make every connection depend on it.
 */
export async function probeEtcdTls(opts: ProbeEtcdTlsOptions): Promise<ClusterError | undefined> {
  const client = createEtcdClient({
    endpoints: opts.endpoints,
    access: { ...(opts.auth ? { auth: opts.auth } : {}), tls: opts.tls },
    ...(opts.dialTimeoutMs !== undefined ? { dialTimeoutMs: opts.dialTimeoutMs } : {}),
    ...(opts.callTimeoutMs !== undefined ? { callTimeoutMs: opts.callTimeoutMs } : {}),
  });
  try {
    await client.get(opts.key).buffer();
    return undefined;
  } catch (err) {
    return translateEtcdError('tls_probe', err);
  } finally {
    client.close();
  }
}

/** Runs one etcd request, timing it and translating transport errors. */
export async function timed<T>(
  hooks: ClusterMetricsHooks | undefined,
  op: string,
  fn: () => Promise<T>,
): Promise<T> {
  const t0 = performance.now();
  try {
    const out = await fn();
    hooks?.observeEtcdRequest?.(op, performance.now() - t0, undefined);
    return out;
  } catch (err) {
    const e = translateEtcdError(op, err);
    hooks?.observeEtcdRequest?.(op, performance.now() - t0, e.code);
    throw e;
  }
}

/** Maps an etcd3 error to a {@link ClusterError} (already-typed errors pass through). */
export function translateEtcdError(op: string, err: unknown): ClusterError {
  if (err instanceof ClusterError) return err;
  const msg = (err as Error)?.message ?? String(err);
  // A write bound to a lease that etcd already expired (e.g. a claim racing the lease's loss).
  if (err instanceof EtcdLeaseInvalidError) return new LeaseLostError(`etcd ${op}: ${msg}`, { cause: err });
  // Credentials: refused, missing while etcd requires them, or given to an etcd without authentication.
  if (err instanceof EtcdAuthenticationFailedError) {
    return new EtcdAuthError(`etcd ${op}: etcd refused the user name or password (${msg})`, { cause: err });
  }
  if (/user name is empty/.test(msg)) {
    return new EtcdAuthError(`etcd ${op}: etcd requires authentication and no etcd user is configured (${msg})`, { cause: err });
  }
  // With --client-cert-auth, a request without a token is made as the user the client certificate's
  // CN names; the cluster's certificates name no etcd user, so this is a process without an etcd user
  // (or a user that was deleted).
  if (/user name not found/.test(msg)) {
    return new EtcdAuthError(
      `etcd ${op}: etcd requires authentication and no etcd user is configured, or the configured user does not exist (etcd took the client certificate's name as the user) (${msg})`,
      { cause: err },
    );
  }
  if (/authentication is not enabled/.test(msg)) {
    return new EtcdAuthError(`etcd ${op}: an etcd user is configured but etcd authentication is off: run \`votecluster etcd init\` (${msg})`, { cause: err });
  }
  if (err instanceof EtcdPermissionDeniedError) {
    return new EtcdPermissionError(`etcd ${op}: this process's etcd user may not do that (${msg})`, { cause: err });
  }
  // An open circuit breaker (a member that just failed 3 calls) is a transport state, retryable:
  // cockatiel's BrokenCircuitError keeps name 'Error', so it is matched by class.
  if (err instanceof Error && (isRecoverableError(err) || err instanceof BrokenCircuitError || err.name === 'GRPCDeadlineExceededError')) {
    return new EtcdUnavailableError(`etcd ${op}: ${msg}`, { cause: err });
  }
  return new ClusterError('CLUSTER_ETCD_REQUEST', `etcd ${op}: ${msg}`, { cause: err, retryable: false });
}

/**
 * After an etcd member restarts, its auth tokens are gone (`--auth-token simple` keeps them in
 * memory). etcd3 logs in again when a unary call fails with "invalid auth token", but its one
 * shared watch stream keeps the token it was opened with: every watch created on it is then
 * cancelled with "permission denied", forever. This drops the cached token and reopens the
 * watch stream (etcd3 1.1.2 internals: `pool.authenticator`, `watchManager`; checked by the
 * etcd restart tests), so the next watch is created with a fresh log-in.
 */
export function reopenWatchStreamWithFreshToken(client: Etcd3): void {
  const internals = client as unknown as {
    pool?: { authenticator?: { invalidateMetadata?(): void } };
    watchManager?: { state?: number; handleError?(err: Error): void };
  };
  internals.pool?.authenticator?.invalidateMetadata?.();
  const wm = internals.watchManager;
  // state 2 = Connected: the stream is open with the stale token (Idle/Connecting reopen anyway).
  if (wm?.state === 2) wm.handleError?.(new Error('reopening the watch stream with a fresh etcd log-in'));
}

/** True when a watch was cancelled for its credentials (a stale token after a member restart, or a role without read). */
export function isWatchAuthCancel(err: unknown): boolean {
  return err instanceof EtcdPermissionDeniedError || /invalid auth token|permission denied/i.test((err as Error)?.message ?? '');
}
