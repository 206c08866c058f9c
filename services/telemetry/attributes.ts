/**
 * The span and attribute names of votecluster's traces, and the allow-list that
 * guards them.
 *
 * Invariant: nothing but an allow-listed attribute name with a primitive value
 * ever reaches a span through {@link setAttributes} / {@link filterAttributes}.
 * A WIF, a private key or the cluster key therefore cannot get into a trace,
 * whatever object a caller passes in. To add an attribute, add it to
 * {@link ATTR} (and document it in README.md); nothing else is needed.
 */
import type { Attributes, AttributeValue, Span } from '@opentelemetry/api';

/**
 * Span names: `<service>.<step>` (docs/contributing.md, "Telemetry"). One trace per
 * (block, ticket) runs proxy.notify → voter.receive → voter.build → voter.sign →
 * voter.broadcast → proxy.send → dcrd.accept, plus cluster.record and
 * cluster.takeover where they happen (docs/architecture.md, "Observability").
 */
export const SPAN = {
  /** nodeproxy: a winning-ticket draw arrived from dcrd; root span of the vote's trace. */
  PROXY_NOTIFY: 'proxy.notify',
  /** voter: the draw arrived on a WatchChain stream (first arrival wins). */
  VOTER_RECEIVE: 'voter.receive',
  /** voter: establishing the draw's vote inputs (canonical from the view, after its watches caught up, read from etcd, or not canonical). */
  VOTER_INPUTS: 'voter.inputs',
  /** voter: a backup waits `rank × hedge` for the owner's vote record. */
  VOTER_HEDGE: 'voter.hedge',
  /** voter: building the vote transaction from the cached ticket record. */
  VOTER_BUILD: 'voter.build',
  /** voter: signing the vote (secp256k1, RFC 6979). */
  VOTER_SIGN: 'voter.sign',
  /** voter: fanning the vote out to every proxy. */
  VOTER_BROADCAST: 'voter.broadcast',
  /** nodeproxy: SendVote handling (validate, dedupe, sendrawtransaction). */
  PROXY_SEND: 'proxy.send',
  /** nodeproxy: dcrd's answer to sendrawtransaction (accepted / duplicate / rejected). */
  DCRD_ACCEPT: 'dcrd.accept',
  /** cluster: the create-if-absent vote record txn. */
  CLUSTER_RECORD: 'cluster.record',
  /** cluster: a backup won the takeover race for a ticket. */
  CLUSTER_TAKEOVER: 'cluster.takeover',
} as const;

/** A span name from {@link SPAN}. */
export type SpanName = (typeof SPAN)[keyof typeof SPAN];

/** Every span name, in the order of a vote's path. */
export const SPAN_NAMES: readonly SpanName[] = Object.values(SPAN);

/**
 * Allow-listed span attribute names. Values must be strings, numbers or
 * booleans (or arrays of them); hashes are display-order hex.
 */
export const ATTR = {
  /** Block height of the draw (number). */
  HEIGHT: 'votecluster.height',
  /** Block hash the vote is for, display hex. */
  BLOCK_HASH: 'votecluster.block_hash',
  /** Ticket hash, display hex. */
  TICKET_HASH: 'votecluster.ticket_hash',
  /** Vote transaction hash, display hex. */
  VOTE_TXID: 'votecluster.vote_txid',
  /** Region of the process that made the span. */
  REGION: 'votecluster.region',
  /** Node id of the process that made the span. */
  NODE_ID: 'votecluster.node_id',
  /** Voting strategy (`lease`, `all-vote`). */
  STRATEGY: 'votecluster.strategy',
  /** Outcome (`accepted`, `duplicate`, `conflict`, `rejected`, `recorded`, `existing`, ...). */
  OUTCOME: 'votecluster.outcome',
  /** Proxy id or address involved (never credentials). */
  PROXY: 'votecluster.proxy',
  /** Backup rank of this voter for the ticket (0 = owner). */
  RANK: 'votecluster.rank',
  /** How the vote inputs were established (`view`, `waited`, `read`, `none`). */
  INPUTS: 'votecluster.inputs',
  /** Lowest tip marker height of the voter's input caches when the draw arrived. */
  VIEW_HEIGHT: 'votecluster.view_height',
  /** Hedge delay waited, ms. */
  HEDGE_MS: 'votecluster.hedge_ms',
  /** Attempt number of a retried step (1-based). */
  ATTEMPT: 'votecluster.attempt',
  /** Error code (`SERVICE_REASON`) of a failed step. */
  ERROR_CODE: 'votecluster.error_code',
  /** dcrd JSON-RPC error code of a rejected send (e.g. -40). */
  DCRD_CODE: 'votecluster.dcrd_code',
  /** Number of proxies a vote was fanned out to. */
  FANOUT: 'votecluster.fanout',
  /** The etcd revision a vote was built from. */
  ETCD_REVISION: 'votecluster.etcd_revision',
  /** gRPC method of an RPC span. */
  RPC_METHOD: 'rpc.method',
} as const;

/** An allow-listed attribute name. */
export type AttrName = (typeof ATTR)[keyof typeof ATTR];

/** The allow-list as a set, for filtering. */
export const ALLOWED_ATTRIBUTES: ReadonlySet<string> = new Set<string>(Object.values(ATTR));

/** Longest string value kept; longer values are dropped (a vote hash is 64 chars). */
export const MAX_ATTRIBUTE_STRING_LENGTH = 256;

function isPrimitive(v: unknown): v is string | number | boolean {
  if (typeof v === 'string') return v.length <= MAX_ATTRIBUTE_STRING_LENGTH;
  return typeof v === 'number' || typeof v === 'boolean';
}

function cleanValue(v: unknown): AttributeValue | undefined {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (isPrimitive(v)) return v;
  if (Array.isArray(v) && v.length <= 64) {
    if (v.every((x) => typeof x === 'string' && x.length <= MAX_ATTRIBUTE_STRING_LENGTH)) return v as string[];
    if (v.every((x) => typeof x === 'number')) return v as number[];
    if (v.every((x) => typeof x === 'boolean')) return v as boolean[];
  }
  return undefined;
}

/**
 * Keeps only allow-listed names with primitive values (bigints become numbers or
 * decimal strings). Everything else (unknown names, objects, byte arrays,
 * `SecretKey`s, overlong strings) is dropped silently: attributes are
 * best-effort diagnostics and must never carry secrets.
 */
export function filterAttributes(attrs: Readonly<Record<string, unknown>> | undefined): Attributes {
  const out: Attributes = {};
  if (!attrs) return out;
  for (const [k, v] of Object.entries(attrs)) {
    if (!ALLOWED_ATTRIBUTES.has(k)) continue;
    const clean = cleanValue(v);
    if (clean !== undefined) out[k] = clean;
  }
  return out;
}

/** Sets the allow-listed subset of `attrs` on `span` (see {@link filterAttributes}). */
export function setAttributes(span: Span, attrs: Readonly<Record<string, unknown>>): void {
  span.setAttributes(filterAttributes(attrs));
}
