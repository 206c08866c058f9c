/**
 * The admin service process: wires the operations to their three front ends
 * (gRPC Admin, the dcrwallet-compatible JSON-RPC for vspd, the status page)
 * and owns their lifecycles. `stop()` awaits every server it started.
 */
import { netParams } from '../decred/index.ts';
import { requireProtectedUnlessLoopback } from '../security/index.ts';
import type { Logger, Metrics, SecretKey } from '../telemetry/index.ts';
import type { NodeProxyClient } from '../nodeproxy/index.ts';
import { createChainJudge, storeLookups, type ChainJudge } from './chain-judge.ts';
import { instrumentWalletHandler } from './metrics.ts';
import type { AdminConfig } from './config.ts';
import { AdminConfigError } from './errors.ts';
import { startAdminGrpcServer, type AdminGrpcServer } from './grpc-server.ts';
import type { ChainLookup, TicketStore } from './ports.ts';
import { startStatusServer, type StatusProxy, type StatusServer } from './status.ts';
import { createWalletRpcHandler, startWalletRpcServer, type WalletRpcHandler, type WalletRpcServer } from './wallet-rpc.ts';

/** What {@link createAdmin} is given by the composition root. */
export interface AdminDeps {
  /** The cluster store (see `clusterTicketStore`). */
  store: TicketStore;
  /** Chain lookups through a node proxy (see `createProxyChainLookup`); optional. */
  chain?: ChainLookup;
  log: Logger;
  /** Secrets read by the CLI from the config's `…File` paths. */
  secrets?: {
    walletRpcPassword?: SecretKey;
    /** PEM contents for the wallet endpoint's TLS. */
    walletRpcTls?: { cert: string | Buffer; key: string | Buffer };
  };
  /** Reported as the `votecluster` entry of the wallet `version` call. */
  version?: string;
  /** Process metrics; the admin counts its gRPC and wallet JSON-RPC requests (`admin` families) and the chain's verdicts (`chain`). */
  metrics?: Metrics;
  /** Proxies the chain judge watches (the chain's verdict on every managed draw); none: no judge. */
  judgeProxies?: readonly NodeProxyClient[];
  /** Proxies whose dcrd sessions the status page shows (address, region when known, and the client to ask). */
  statusProxies?: readonly StatusProxy[];
}

/** Where a started admin service listens. */
export interface AdminEndpoints {
  /** gRPC `host:port`, when enabled. */
  grpc?: string;
  /** Status page URL, when enabled. */
  status?: string;
  /** Wallet JSON-RPC URLs, when enabled. */
  walletRpc?: { url: string; wsUrl: string };
}

/** A created admin service. */
export interface Admin {
  start(): Promise<AdminEndpoints>;
  stop(): Promise<void>;
  /** The chain judge, while started with `judgeProxies`. */
  readonly judge: ChainJudge | undefined;
}

function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i), port: Number(listen.slice(i + 1)) };
}

export function createAdmin(cfg: AdminConfig, deps: AdminDeps): Admin {
  const params = netParams(cfg.network);
  const log = deps.log;
  const base = {
    store: deps.store,
    ...(deps.chain ? { chain: deps.chain } : {}),
    params,
    requireChainChecks: cfg.requireChainChecks,
    // The judge starts with the service; stake info asks whichever judge runs at the time.
    chainVerdicts: { verdictOf: (ticketHash: string) => judge?.verdictOf(ticketHash) },
  };
  let grpc: AdminGrpcServer | undefined;
  let status: StatusServer | undefined;
  let wallet: WalletRpcServer | undefined;
  let handler: WalletRpcHandler | undefined;
  let judge: ChainJudge | undefined;
  let started = false;
  const metrics = deps.metrics?.get('admin');

  const stopAll = async (): Promise<void> => {
    const stops: Promise<void>[] = [];
    if (wallet) stops.push(wallet.stop());
    if (status) stops.push(status.stop());
    if (grpc) stops.push(grpc.stop());
    if (judge) stops.push(judge.stop());
    await Promise.all(stops);
    handler?.close();
    wallet = status = grpc = handler = judge = undefined;
  };

  /** @throws {AdminConfigError} a surface would listen beyond loopback without TLS and credentials. */
  const guardListener = (surface: string, listen: string, protection: { tls: boolean; credentials: boolean }): void => {
    try {
      requireProtectedUnlessLoopback(surface, listen, protection);
    } catch (err) {
      throw new AdminConfigError((err as Error).message, { cause: err });
    }
  };

  return {
    async start() {
      if (started) throw new AdminConfigError('admin service already started');
      started = true;
      const out: AdminEndpoints = {};
      try {
        if (deps.judgeProxies && deps.judgeProxies.length > 0) {
          const chainMetrics = deps.metrics?.get('chain');
          judge = createChainJudge({
            proxies: deps.judgeProxies,
            lookups: storeLookups(deps.store, params),
            network: cfg.network,
            log,
            ...(chainMetrics ? { metrics: { voted: chainMetrics.votedTickets, missed: chainMetrics.missedTickets, unjudged: chainMetrics.unjudgedBlocks } } : {}),
          });
          judge.start();
        }
        if (cfg.grpc.enabled) {
          grpc = await startAdminGrpcServer(
            { ...base, log: log.child({ component: 'grpc' }), recentVotes: cfg.status.recentVotes, ...(metrics ? { metrics } : {}) },
            { ...splitListen(cfg.grpc.listen), ...(cfg.tls ? { tls: cfg.tls } : {}) },
          );
          out.grpc = grpc.address;
        }
        if (cfg.status.enabled) {
          guardListener('the status page', cfg.status.listen, { tls: false, credentials: false });
          status = await startStatusServer({
            ...base, log: log.child({ component: 'status' }), ...(judge ? { judge } : {}), ...(deps.statusProxies ? { proxies: deps.statusProxies } : {}),
          }, {
            ...splitListen(cfg.status.listen),
            recentVotes: cfg.status.recentVotes,
          });
          out.status = status.url;
        }
        if (cfg.walletRpc.enabled) {
          const password = deps.secrets?.walletRpcPassword;
          if (!password) throw new AdminConfigError('walletRpc is enabled but no password was given (walletRpc.passwordFile)');
          if ((cfg.walletRpc.tlsCertFile !== undefined) !== (deps.secrets?.walletRpcTls !== undefined)) {
            throw new AdminConfigError('walletRpc TLS files are configured but their contents were not provided');
          }
          guardListener('the wallet JSON-RPC endpoint', cfg.walletRpc.listen, { tls: deps.secrets?.walletRpcTls !== undefined, credentials: true });
          const wlog = log.child({ component: 'wallet-rpc' });
          if (!deps.secrets?.walletRpcTls) wlog.warn({ listen: cfg.walletRpc.listen }, 'wallet JSON-RPC without TLS: passwords cross loopback in plaintext (vspd dials wss://; configure the wallet TLS certificate and key)');
          handler = createWalletRpcHandler({
            ...base, log: wlog,
            ...(deps.version ? { version: deps.version } : {}),
            ...(cfg.walletRpc.versionOverride ? { versionOverride: cfg.walletRpc.versionOverride } : {}),
          });
          wallet = await startWalletRpcServer(metrics ? instrumentWalletHandler(handler, metrics) : handler, {
            ...splitListen(cfg.walletRpc.listen),
            username: cfg.walletRpc.username,
            password,
            ...(deps.secrets?.walletRpcTls ? { tls: deps.secrets.walletRpcTls } : {}),
            log: wlog,
          });
          out.walletRpc = { url: wallet.url, wsUrl: wallet.wsUrl };
        }
      } catch (err) {
        await stopAll();
        throw err;
      }
      log.info({ ...out }, 'admin service started');
      return out;
    },
    async stop() {
      await stopAll();
      log.info('admin service stopped');
    },
    get judge() {
      return judge;
    },
  };
}
