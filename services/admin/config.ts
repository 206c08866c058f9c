/**
 * Configuration of the admin service (validated once at the edge by the CLI
 * loader). Secrets arrive as `…File` paths; the CLI reads them and hands the
 * contents to {@link createAdmin} in `deps.secrets`, never in this object.
 */
import { z } from 'zod';
import { TlsFilesSchema } from '../security/index.ts';

const listen = z
  .string()
  .regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port (port 0 picks a free port)');

const semverString = z.string().regex(/^\d{1,9}\.\d{1,9}\.\d{1,9}$/, 'expected MAJOR.MINOR.PATCH');

/** The dcrwallet-compatible JSON-RPC endpoint used by vspd. */
export const WalletRpcConfigSchema = z.object({
  enabled: z.boolean().default(false),
  /** HTTP POST on `/`, websocket on `/ws` (what vspd dials). */
  listen: listen.default('127.0.0.1:0'),
  username: z.string().min(1).default('votecluster'),
  /** File holding the basic-auth password (secret). */
  passwordFile: z.string().min(1).optional(),
  /** PEM certificate and key; both or neither. vspd dials `wss://`, so production needs TLS. */
  tlsCertFile: z.string().min(1).optional(),
  tlsKeyFile: z.string().min(1).optional(),
  /**
   * Overrides of the `version` answer (`MAJOR.MINOR.PATCH` per key). By default the endpoint
   * answers as the dcrwallet paired with the connected dcrd's release (dcrd 2.0.x: dcrwallet
   * 2.0.x, wallet API 9.2.0; 2.1.x: 2.1.x, API 11.0.0); set an entry to serve a vspd that
   * expects something else. All four set: no proxy is asked.
   */
  versionOverride: z.object({
    dcrd: semverString.optional(),
    dcrdjsonrpcapi: semverString.optional(),
    dcrwallet: semverString.optional(),
    dcrwalletjsonrpcapi: semverString.optional(),
  }).strict().optional(),
}).refine((c) => (c.tlsCertFile === undefined) === (c.tlsKeyFile === undefined), {
  message: 'tlsCertFile and tlsKeyFile must be given together',
  path: ['tlsKeyFile'],
});

/** Admin service configuration. */
export const AdminConfigSchema = z.object({
  /** Network the cluster votes on. */
  network: z.enum(['mainnet', 'testnet3', 'simnet', 'regnet']).default('simnet'),
  /**
   * Mutual TLS of the Admin gRPC listener: the admin's certificate and key, and the cluster CA
   * callers' certificates must be issued by; the certificate's role (OU) decides what a caller
   * may do (`read-only` or `operator`). Files are re-read on change. Without it the Admin gRPC
   * listener is plaintext and loopback-only.
   */
  tls: TlsFilesSchema.optional(),
  /** gRPC `Admin` service. */
  grpc: z.object({
    enabled: z.boolean().default(true),
    listen: listen.default('127.0.0.1:0'),
  }).prefault({}),
  /** Status page: `GET /` (HTML) and `GET /status.json`. No authentication: loopback addresses only. */
  status: z.object({
    enabled: z.boolean().default(true),
    listen: listen.default('127.0.0.1:0'),
    /** How many recent votes the page lists. */
    recentVotes: z.number().int().min(1).max(10_000).default(50),
  }).prefault({}),
  walletRpc: WalletRpcConfigSchema.prefault({}),
  /** Refuse imports the chain cannot confirm as live (needs a proxy); with false, chain checks run only when a proxy is configured. */
  requireChainChecks: z.boolean().default(false),
  /** Timeout of one chain lookup through the proxy. */
  chainTimeoutMs: z.number().int().min(50).max(60_000).default(5_000),
});

/** Validated admin configuration. */
export type AdminConfig = z.infer<typeof AdminConfigSchema>;
/** Validated wallet JSON-RPC configuration. */
export type WalletRpcConfig = z.infer<typeof WalletRpcConfigSchema>;
