/**
 * Composition of one node proxy: dcrd session → chain sync → chain feed →
 * gRPC server, plus the vote sender. Owns every background loop and stops
 * them all in stop() (streams drained first, everything down within 5 s).
 */
import type { Server } from '@grpc/grpc-js';
import type { HealthImplementation } from 'grpc-health-check';
import { netParams, type SubsidySplit } from '../decred/index.ts';
import { readinessOf, type Readiness } from '../telemetry/index.ts';
import { ChainFeed } from './chain-feed.ts';
import { ChainSync } from './chain-sync.ts';
import { parseNodeProxyConfig, resolveDcrdCredentials, type NodeProxyConfig } from './config.ts';
import { DcrdSession, type DcrdSessionState } from './dcrd-session.ts';
import { resolveDeps, type NodeProxyDeps } from './deps.ts';
import { ShuttingDownError } from './errors.ts';
import { buildGrpcServer, serverCredentials } from './grpc-server.ts';
import { NODEPROXY_SERVICE } from './proto.ts';
import { BlockReader } from './tx-lookup.ts';
import { VoteSender } from './send-vote.ts';
import { STOP_BUDGET_MS } from '../base/index.ts';
import type { TlsReloader } from '../security/index.ts';

/** Default vote subsidy split per network when the config does not name one. */
export const DEFAULT_SUBSIDY_SPLIT: Readonly<Record<string, SubsidySplit>> = {
  mainnet: 'dcp0012',
  testnet3: 'dcp0012',
  simnet: 'dcp0012',
  regnet: 'dcp0012',
};

/** dcrd session state → the one-hot label of `votecluster_nodeproxy_dcrd_session_state`. */
const SESSION_STATE_LABEL: Record<DcrdSessionState, 'disconnected' | 'connecting' | 'syncing' | 'synced'> = {
  idle: 'disconnected',
  connecting: 'connecting',
  syncing: 'syncing',
  ready: 'synced',
  disconnected: 'disconnected',
  failed: 'disconnected',
  stopped: 'disconnected',
};

/** A snapshot of the proxy's state (also served by GetStatus). */
export interface NodeProxyStatus {
  dcrd_state: DcrdSessionState;
  serving: boolean;
  network: string;
  best_block: { hash: string; height: number } | null;
  epoch: string;
  last_seq: string;
  oldest_seq: string;
  watchers: number;
  pending_votes: number;
  reconnects: number;
  dcrd_version: string;
  last_error_code: string;
  last_error: string;
  votes_resent: string;
  duplicate_draws: string;
  streams_cut: string;
  vote_version: number;
  dcrd_version_result: Array<{ component: string; version_string: string; major: number; minor: number; patch: number; prerelease: string; build_metadata: string }>;
}

/** A running (or startable) node proxy. */
export interface NodeProxy {
  /** Connects to dcrd (rejects on a wrong network/version/credentials) and binds the gRPC port. */
  start(): Promise<{ address: string }>;
  /** Drains streams, stops the server, the session and every loop; resolves within 5 s. */
  stop(): Promise<void>;
  status(): NodeProxyStatus;
  /**
   * Readiness (`/readyz`): the gRPC API is bound and the dcrd session is synced
   * (connected, notifications on, chain caught up), i.e. draws stream and votes can be sent.
   */
  readiness(): Readiness;
  /** Liveness (`/healthz`): false once the proxy is stopping or stopped. */
  isAlive(): boolean;
}

/** Builds a node proxy from a config (validated here) and optional deps. */
export function createNodeProxy(cfgInput: unknown, deps: NodeProxyDeps = {}): NodeProxy {
  const cfg: NodeProxyConfig = parseNodeProxyConfig(cfgInput);
  const d = resolveDeps(deps);
  const log = d.logger.child({ component: 'nodeproxy', network: cfg.network });
  const params = netParams(cfg.network);
  const split: SubsidySplit = cfg.subsidySplit ?? DEFAULT_SUBSIDY_SPLIT[cfg.network] ?? 'dcp0012';

  let chain: ChainSync | undefined;
  let sender: VoteSender | undefined;
  let server: Server | undefined;
  let health: HealthImplementation | undefined;
  let session: DcrdSession | undefined;
  let feed: ChainFeed | undefined;
  let started = false;
  let serverTls: TlsReloader | undefined;
  let stopping: Promise<void> | undefined;

  const status = (): NodeProxyStatus => {
    const best = chain?.best();
    return {
      dcrd_state: session?.state ?? 'idle',
      serving: session?.state === 'ready',
      network: cfg.network,
      best_block: best ?? null,
      epoch: feed?.epoch ?? '',
      last_seq: String(feed?.lastSeq ?? 0),
      oldest_seq: String(feed?.oldestSeq ?? 0),
      watchers: feed?.watcherCount ?? 0,
      pending_votes: sender?.pendingCount ?? 0,
      reconnects: session?.reconnects ?? 0,
      dcrd_version: session?.dcrdVersion ?? '',
      last_error_code: session?.lastError?.code ?? '',
      last_error: session?.lastError?.message ?? '',
      votes_resent: String(sender?.resent ?? 0),
      duplicate_draws: String(chain?.duplicateDraws ?? 0),
      streams_cut: String(feed?.streamsCut ?? 0),
      vote_version: session?.voteVersion ?? 0,
      dcrd_version_result: Object.entries(session?.versionResult ?? {}).map(([component, v]) => ({
        component, version_string: v.versionstring, major: v.major, minor: v.minor, patch: v.patch, prerelease: v.prerelease, build_metadata: v.buildmetadata,
      })),
    };
  };

  return {
    async start() {
      if (started) throw new Error('NodeProxy.start called twice');
      started = true;
      const creds = resolveDcrdCredentials(cfg);
      const { credentials: grpcCreds, tls } = serverCredentials(cfg, log);
      serverTls = tls;
      let syncRef: ChainSync | undefined;
      let senderRef: VoteSender | undefined;
      session = new DcrdSession({
        url: cfg.dcrd.url,
        user: cfg.dcrd.user,
        pass: creds.pass,
        caCertPem: creds.caCertPem,
        network: params,
        callTimeoutMs: cfg.dcrd.callTimeoutMs,
        reconnectMinMs: cfg.dcrd.reconnectMinMs,
        reconnectMaxMs: cfg.dcrd.reconnectMaxMs,
        logger: d.logger,
        now: d.now,
        onConnected: async () => {
          await syncRef?.catchUp();
        },
      });
      feed = new ChainFeed({
        ringSize: cfg.ringSize,
        maxLagEvents: cfg.maxStreamLagEvents,
        network: cfg.network,
        metrics: d.metrics,
        logger: d.logger,
        now: d.now,
        bestBlock: () => syncRef?.best(),
        dcrd: () => ({ voteVersion: session?.voteVersion ?? 0, version: session?.dcrdVersion ?? '' }),
      });
      chain = syncRef = new ChainSync({
        session,
        feed,
        params,
        subsidySplit: split,
        maxCatchUpBlocks: cfg.dcrd.maxCatchUpBlocks,
        logger: d.logger,
        tracer: d.tracer,
        metrics: d.metrics,
        now: d.now,
      });
      const blocks = new BlockReader(session);
      sender = senderRef = new VoteSender({
        session,
        chain,
        blocks,
        maxVoteAgeBlocks: cfg.maxVoteAgeBlocks,
        resendIntervalMs: cfg.resend.intervalMs,
        resendMaxAgeBlocks: cfg.resend.maxAgeBlocks,
        metrics: d.metrics,
        logger: d.logger,
        tracer: d.tracer,
        now: d.now,
      });
      const built = buildGrpcServer({ cfg, params, session, chain, feed, sender, blocks, logger: d.logger, status: () => ({ ...status() }) });
      server = built.server;
      health = built.health;
      const h = health;
      session.onStateChange((s) => {
        const serving = s === 'ready';
        for (const st of ['disconnected', 'connecting', 'syncing', 'synced'] as const) d.metrics.dcrdSessionState.set({ state: st }, st === SESSION_STATE_LABEL[s] ? 1 : 0);
        h.setStatus('', serving ? 'SERVING' : 'NOT_SERVING');
        h.setStatus(NODEPROXY_SERVICE, serving ? 'SERVING' : 'NOT_SERVING');
        if (serving) {
          if (session && session.reconnects > 0) d.metrics.dcrdReconnects.inc();
          void senderRef?.scheduleResend('reconnect');
        }
      });
      await session.start();
      sender.start();
      const srv = server;
      const port = await new Promise<number>((resolve, reject) =>
        srv.bindAsync(cfg.listen, grpcCreds, (err, p) => (err ? reject(err) : resolve(p))),
      );
      const host = cfg.listen.slice(0, cfg.listen.lastIndexOf(':'));
      const address = `${host}:${port}`;
      log.info({ address, dcrd: cfg.dcrd.url, epoch: feed.epoch, subsidySplit: split }, 'node proxy listening');
      return { address };
    },

    stop() {
      stopping ??= (async () => {
        const t0 = Date.now();
        health?.setStatus('', 'NOT_SERVING');
        health?.setStatus(NODEPROXY_SERVICE, 'NOT_SERVING');
        await feed?.closeAll(cfg.drainMs, new ShuttingDownError());
        await sender?.stop();
        if (server) {
          const srv = server;
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              srv.forceShutdown();
              resolve();
            }, STOP_BUDGET_MS.grpcServerClose);
            srv.tryShutdown(() => {
              clearTimeout(t);
              resolve();
            });
          });
        }
        serverTls?.close();
        await session?.stop();
        await chain?.idle();
        log.info({ ms: Date.now() - t0 }, 'node proxy stopped');
      })();
      return stopping;
    },

    status,
    readiness(): Readiness {
      const st = session?.state ?? 'idle';
      const last = session?.lastError;
      return readinessOf({
        grpc: { ok: server !== undefined && stopping === undefined, detail: stopping ? 'stopping' : server ? 'listening' : 'not bound' },
        dcrd: { ok: st === 'ready', detail: st === 'ready' ? 'synced' : `${st}${last ? ` (last error ${last.code})` : ''}` },
      });
    },
    isAlive(): boolean {
      return stopping === undefined;
    },
  };
}
