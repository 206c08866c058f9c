/**
 * Every etcd key of votecluster, in one place (docs/architecture.md, "etcd keyspace"). Keys live under
 * `/votecluster/<network>/`. Each function documents who writes the key and how
 * long it lives; nothing else in the project builds etcd keys.
 *
 * Heights are zero-padded to 10 digits so that lexical key order equals
 * numeric order: retention cleanup deletes one contiguous range.
 */
import { ClusterArgumentError } from './errors.ts';

/** Networks a keyspace may be opened for (decred/params names). */
export const NETWORKS = ['mainnet', 'testnet3', 'simnet', 'regnet'] as const;
export type Network = (typeof NETWORKS)[number];

const HASH_RE = /^[0-9a-f]{64}$/;
const NODE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const CONFIG_NAME_RE = /^[a-z0-9][a-z0-9-]{0,63}$/;
const HEIGHT_DIGITS = 10;
const MAX_HEIGHT = 9_999_999_999;

/** Throws unless `hex` is a 64-char lowercase hex hash (display order). */
export function assertHashHex(hex: string, what: string): void {
  if (typeof hex !== 'string' || !HASH_RE.test(hex)) {
    throw new ClusterArgumentError(`${what}: expected 64 lowercase hex characters, got ${JSON.stringify(String(hex).slice(0, 80))}`);
  }
}

/** Throws unless `nodeId` is 1-64 chars of [A-Za-z0-9._-] starting with a letter or digit. */
export function assertNodeId(nodeId: string): void {
  if (typeof nodeId !== 'string' || !NODE_ID_RE.test(nodeId)) {
    throw new ClusterArgumentError(`nodeId: expected 1-64 characters [A-Za-z0-9._-], got ${JSON.stringify(nodeId)}`);
  }
}

/**
 * A height as etcd stores it in keys and in the chain-tip values: 10 digits, zero-padded, so
 * lexical order (etcd's key order and its `Value` compares) equals numeric order.
 */
export function padHeight(height: number): string {
  if (!Number.isSafeInteger(height) || height < 0 || height > MAX_HEIGHT) {
    throw new ClusterArgumentError(`height: expected an integer in [0, ${MAX_HEIGHT}], got ${height}`);
  }
  return String(height).padStart(HEIGHT_DIGITS, '0');
}

/** The height of a chain-tip value ({@link padHeight} form), or undefined when `raw` is not one. */
export function parseHeightValue(raw: Buffer | string): number | undefined {
  const s = typeof raw === 'string' ? raw : raw.toString('latin1');
  return /^\d{10}$/.test(s) ? Number(s) : undefined;
}

/** Name of the chain-tip marker key inside each range that feeds vote inputs (`tickets/`, `tspends/`). */
export const CHAIN_TIP_MARKER = 'chain-tip';

/** The parts of a `votes/<height>/<blockHash>/<ticketHash>` key. */
export interface VoteKeyParts {
  height: number;
  blockHash: string;
  ticketHash: string;
}

/** Builds and parses the keys of one network's keyspace. */
export class Keyspace {
  /** `/votecluster/<network>/` */
  readonly prefix: string;

  constructor(readonly network: Network) {
    if (!(NETWORKS as readonly string[]).includes(network)) {
      throw new ClusterArgumentError(`network: expected one of ${NETWORKS.join(', ')}, got ${JSON.stringify(network)}`);
    }
    this.prefix = `/votecluster/${network}/`;
  }

  // --- nodes/ -------------------------------------------------------------
  /** Prefix of all live node records. */
  nodesPrefix(): string {
    return `${this.prefix}nodes/`;
  }
  /**
   * `nodes/<nodeId>`: {region, proxies, version, startedAt}.
   * Owner: the node itself (membership.ts). Lifetime: attached to the node's session lease.
   */
  node(nodeId: string): string {
    assertNodeId(nodeId);
    return `${this.nodesPrefix()}${nodeId}`;
  }

  // --- tickets/ -----------------------------------------------------------
  /** Prefix of all ticket records. */
  ticketsPrefix(): string {
    return `${this.prefix}tickets/`;
  }
  /**
   * `tickets/<ticketHash>`: ticket tx, encrypted voting key, choices, policies, status, revision.
   * Owner: admin/CLI intake (ticket-store.ts). Lifetime: until voted/expired + retention; removed by an operator.
   */
  ticket(ticketHash: string): string {
    assertHashHex(ticketHash, 'ticketHash');
    return `${this.ticketsPrefix()}${ticketHash}`;
  }

  /**
   * `tickets/chain-tip`: the cluster tip's marker in the tickets range (same value as
   * {@link chainTip}, written in the same txn). Not a ticket: the ticket cache records it as its
   * marker height. Owner: voters (chain-tip.ts `advance`). Permanent.
   */
  ticketsTipMarker(): string {
    return `${this.ticketsPrefix()}${CHAIN_TIP_MARKER}`;
  }

  // --- tspends/ -----------------------------------------------------------
  /** Prefix of the recorded tspends. */
  tspendsPrefix(): string {
    return `${this.prefix}tspends/`;
  }
  /**
   * `tspends/<tspendHash>`: a treasury spend a node proxy streamed, `{txHex, expiry, piKeyHex, from}`,
   * votes carry it from height `from` on. Owner: voters (tspend-store.ts, guarded create-if-absent).
   * Lifetime: until removed by an operator (a few per year; expired ones are ignored).
   */
  tspend(tspendHash: string): string {
    assertHashHex(tspendHash, 'tspendHash');
    return `${this.tspendsPrefix()}${tspendHash}`;
  }
  /** `tspends/chain-tip`: the cluster tip's marker in the tspends range (see {@link ticketsTipMarker}). */
  tspendsTipMarker(): string {
    return `${this.tspendsPrefix()}${CHAIN_TIP_MARKER}`;
  }

  // --- owners/ ------------------------------------------------------------
  /** Prefix of all owner claims. */
  ownersPrefix(): string {
    return `${this.prefix}owners/`;
  }
  /**
   * `owners/<ticketHash>`: {nodeId, leaseId, claimedAt} of the signer.
   * Owner: the claiming node (ownership.ts, create-if-absent). Lifetime: attached to that node's session lease.
   */
  owner(ticketHash: string): string {
    assertHashHex(ticketHash, 'ticketHash');
    return `${this.ownersPrefix()}${ticketHash}`;
  }

  // --- votes/ -------------------------------------------------------------
  /** Prefix of all vote records. */
  votesPrefix(): string {
    return `${this.prefix}votes/`;
  }
  /** Prefix of the vote records of one height. */
  votesAtHeightPrefix(height: number): string {
    return `${this.votesPrefix()}${padHeight(height)}/`;
  }
  /**
   * `votes/<height>/<blockHash>/<ticketHash>`: the one stored vote (tx bytes, txid, signer, choices revision, times).
   * Owner: whichever voter wins the create-if-absent race (vote-record.ts). Lifetime: retention window in heights.
   */
  vote(height: number, blockHash: string, ticketHash: string): string {
    assertHashHex(blockHash, 'blockHash');
    assertHashHex(ticketHash, 'ticketHash');
    return `${this.votesAtHeightPrefix(height)}${blockHash}/${ticketHash}`;
  }
  /** First key NOT below `height`: votes of heights `< height` are the range [votesPrefix, this). */
  votesBelowHeightEnd(height: number): string {
    return this.votesAtHeightPrefix(height);
  }

  // --- config/ ------------------------------------------------------------
  /** Prefix of cluster-wide settings. */
  configPrefix(): string {
    return `${this.prefix}config/`;
  }
  /**
   * `config/<name>`: cluster-wide settings (`vote-defaults`, `hedge`, `schema-version`).
   * Owner: operators via admin/CLI (schema-version: schema.ts). Lifetime: permanent.
   */
  config(name: string): string {
    if (!CONFIG_NAME_RE.test(name)) throw new ClusterArgumentError(`config name: bad ${JSON.stringify(name)}`);
    return `${this.configPrefix()}${name}`;
  }
  /** `config/schema-version`: the keyspace schema version (schema.ts). Permanent. */
  schemaVersion(): string {
    return this.config('schema-version');
  }

  /**
   * `config/cluster-key`: the cluster key's fingerprint and key id, and a rotation in progress
   * (key-guard.ts). Owner: the first writer (admin, `ticket import`), then `key rotate`. Permanent.
   */
  clusterKey(): string {
    return this.config('cluster-key');
  }

  /**
   * `config/chain-tip`: the cluster tip T, the highest block height any voter has heard, as
   * {@link padHeight}. The one canonical copy; `tickets/chain-tip` and `tspends/chain-tip` get the
   * same value in the same txn. Writes that shape a vote are guarded by its value (chain-tip.ts).
   * Owner: voters (monotonic). Permanent.
   */
  chainTip(): string {
    return this.config(CHAIN_TIP_MARKER);
  }

  /**
   * `config/vote-version`: the vote version votes carry from a height on, with the earlier ones
   * (vote-version.ts). Written only by a write guarded by the cluster tip. Owner: voters (only
   * ever raised). Permanent.
   */
  voteVersion(): string {
    return this.config('vote-version');
  }

  // --- parsers --------------------------------------------------------------
  /** The tspend hash of a `tspends/` key, or undefined if `key` is not one (e.g. the marker). */
  tspendHashOf(key: string): string | undefined {
    if (!key.startsWith(this.tspendsPrefix())) return undefined;
    const h = key.slice(this.tspendsPrefix().length);
    return HASH_RE.test(h) ? h : undefined;
  }
  /** The ticket hash of a `tickets/` or `owners/` key, or undefined if `key` is not one. */
  ticketHashOf(key: string): string | undefined {
    for (const p of [this.ticketsPrefix(), this.ownersPrefix()]) {
      if (key.startsWith(p)) {
        const h = key.slice(p.length);
        return HASH_RE.test(h) ? h : undefined;
      }
    }
    return undefined;
  }
  /** The node id of a `nodes/` key, or undefined. */
  nodeIdOf(key: string): string | undefined {
    if (!key.startsWith(this.nodesPrefix())) return undefined;
    const id = key.slice(this.nodesPrefix().length);
    return NODE_ID_RE.test(id) ? id : undefined;
  }
  /** The parts of a `votes/` key, or undefined. */
  parseVoteKey(key: string): VoteKeyParts | undefined {
    if (!key.startsWith(this.votesPrefix())) return undefined;
    const parts = key.slice(this.votesPrefix().length).split('/');
    if (parts.length !== 3) return undefined;
    const [h, blockHash, ticketHash] = parts as [string, string, string];
    if (!/^\d{10}$/.test(h) || !HASH_RE.test(blockHash) || !HASH_RE.test(ticketHash)) return undefined;
    return { height: Number(h), blockHash, ticketHash };
  }
}

/** etcd `range_end` for a prefix: the prefix with its last byte incremented. */
export function prefixRangeEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  for (let i = b.length - 1; i >= 0; i--) {
    if ((b[i] as number) < 0xff) {
      b[i] = (b[i] as number) + 1;
      return b.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
