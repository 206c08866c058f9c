/**
 * Configuration of one node proxy, validated once at the edge with zod.
 * The CLI (services/cli) builds the object from flags, env and a file; the
 * service itself never reads `process.env`. Secrets (the dcrd password) arrive
 * either inline (tests, embedded use) or as a file path (operators).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TlsFilesSchema } from '../security/index.ts';
import { NodeProxyConfigError } from './errors.ts';
import { MAX_STREAM_DRAIN_MS } from '../base/index.ts';

/** Default size of the WatchChain ring buffer (events). */
export const DEFAULT_RING_SIZE = 4096;
/** Default bound on events queued for one stream before it is cut. */
export const DEFAULT_MAX_STREAM_LAG_EVENTS = 1024;
/** Default first reconnect delay. */
export const DEFAULT_RECONNECT_MIN_MS = 100;
/** Default reconnect delay cap. */
export const DEFAULT_RECONNECT_MAX_MS = 5_000;
/** Default timeout of one dcrd JSON-RPC call. */
export const DEFAULT_DCRD_CALL_TIMEOUT_MS = 10_000;
/** Default periodic re-send of accepted, not yet mined votes. */
export const DEFAULT_RESEND_INTERVAL_MS = 5_000;
/** Default: stop re-sending a vote once the best block is this far above the voted block. */
export const DEFAULT_RESEND_MAX_AGE_BLOCKS = 2;
/** Default: SendVote refuses votes for blocks more than this many blocks below the best block. */
export const DEFAULT_MAX_VOTE_AGE_BLOCKS = 1;
/** Default: how far back the proxy walks to reconnect a chain it missed. */
export const DEFAULT_MAX_CATCH_UP_BLOCKS = 256;
/** Default time stop() gives streams to drain before cancelling them. */
export const DEFAULT_DRAIN_MS = 2_000;

const HostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected HOST:PORT (port 0 picks a free port)');

/** The zod schema of the node proxy configuration (with defaults). */
export const NodeProxyConfigSchema = z
  .object({
    network: z.enum(['mainnet', 'testnet3', 'simnet', 'regnet']),
    dcrd: z
      .object({
        /** Websocket URL of dcrd, e.g. `wss://127.0.0.1:19556/ws`. */
        url: z.string().regex(/^wss?:\/\//, 'dcrd url must start with ws:// or wss://'),
        user: z.string().min(1),
        /** Password inline (secret: never logged). Exactly one of pass / passFile. */
        pass: z.string().optional(),
        passFile: z.string().optional(),
        /** PEM of the CA (dcrd's rpc.cert) to trust for wss://. */
        caCertPem: z.string().optional(),
        caFile: z.string().optional(),
        callTimeoutMs: z.number().int().positive().default(DEFAULT_DCRD_CALL_TIMEOUT_MS),
        reconnectMinMs: z.number().int().positive().default(DEFAULT_RECONNECT_MIN_MS),
        reconnectMaxMs: z.number().int().positive().default(DEFAULT_RECONNECT_MAX_MS),
        maxCatchUpBlocks: z.number().int().positive().default(DEFAULT_MAX_CATCH_UP_BLOCKS),
      })
      .refine((d) => (d.pass === undefined) !== (d.passFile === undefined), {
        message: 'give exactly one of dcrd.pass or dcrd.passFile',
        path: ['pass'],
      }),
    /** gRPC listen address HOST:PORT. */
    listen: HostPort.default('127.0.0.1:0'),
    /**
     * Mutual TLS: the proxy's certificate and key, and the cluster CA its clients' certificates
     * must be issued by (a client without one is refused). Files are re-read when they change.
     * Without it the proxy serves plaintext, which it allows on loopback only.
     */
    tls: TlsFilesSchema.optional(),
    ringSize: z.number().int().min(8).default(DEFAULT_RING_SIZE),
    maxStreamLagEvents: z.number().int().min(1).default(DEFAULT_MAX_STREAM_LAG_EVENTS),
    /** Vote subsidy split used in WinningTickets (decred/dcrd: blockchain/standalone/subsidy.go). */
    subsidySplit: z.enum(['original', 'dcp0010', 'dcp0012']).optional(),
    maxVoteAgeBlocks: z.number().int().min(0).default(DEFAULT_MAX_VOTE_AGE_BLOCKS),
    resend: z
      .object({
        /** Re-send pending votes this often (0: only after reconnects). */
        intervalMs: z.number().int().min(0).default(DEFAULT_RESEND_INTERVAL_MS),
        maxAgeBlocks: z.number().int().min(1).default(DEFAULT_RESEND_MAX_AGE_BLOCKS),
      })
      .default({ intervalMs: DEFAULT_RESEND_INTERVAL_MS, maxAgeBlocks: DEFAULT_RESEND_MAX_AGE_BLOCKS }),
    drainMs: z.number().int().min(0).max(MAX_STREAM_DRAIN_MS).default(DEFAULT_DRAIN_MS),
  })
  .strict();

/** Input form of the config (defaults optional). */
export type NodeProxyConfigInput = z.input<typeof NodeProxyConfigSchema>;
/** Validated config. */
export type NodeProxyConfig = z.infer<typeof NodeProxyConfigSchema>;

/** Names of config fields that hold secrets (redacted in config dumps). */
export const SECRET_CONFIG_PATHS: readonly string[] = ['dcrd.pass'];

/** Validates `input`; throws {@link NodeProxyConfigError} listing every issue with its path. */
export function parseNodeProxyConfig(input: unknown): NodeProxyConfig {
  const r = NodeProxyConfigSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new NodeProxyConfigError(`invalid node proxy config:\n  ${lines.join('\n  ')}`);
  }
  return r.data;
}

/** Secrets and PEMs resolved from inline values or files. */
export interface ResolvedDcrdCredentials {
  pass: string;
  caCertPem: string | undefined;
}

/** Reads passFile / caFile when given. Throws {@link NodeProxyConfigError} naming the file. */
export function resolveDcrdCredentials(cfg: NodeProxyConfig): ResolvedDcrdCredentials {
  const read = (path: string, what: string): string => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new NodeProxyConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const pass = cfg.dcrd.pass ?? read(cfg.dcrd.passFile as string, 'dcrd password file').trim();
  const caCertPem = cfg.dcrd.caCertPem ?? (cfg.dcrd.caFile ? read(cfg.dcrd.caFile, 'dcrd CA file') : undefined);
  return { pass, caCertPem };
}
