/**
 * The checks on an `owners/<ticket>` claim that etcd's RBAC cannot make. RBAC is
 * prefix-based: any process holding the voter role (or etcd's root) may put any
 * value under `owners/`, e.g. `etcdctl put .../owners/<t> '{"nodeId":"a1",...}'`.
 * A claim counts only when
 *
 * 1. the key is attached to the lease its value names (a claim is made by a
 *    create-if-absent bound to the claimer's session lease), checked when the
 *    value is read: a put without that lease is ignored, logged and counted in
 *    `votecluster_cluster_forged_owner_records_total{reason="lease"}`; and
 * 2. that lease is the session lease of the live node the value names
 *    (`nodes/<nodeId>` present, bound to the same lease), checked on every read
 *    of the owner cache while this process watches the live nodes (a joined node);
 *    a claim naming a node that is live under another lease is also logged and
 *    counted (`reason="node"`).
 */
import { ClusterError } from './errors.ts';
import type { OwnerValue } from './ownership.ts';

/** Why an owner claim was rejected: `lease` (key not bound to the named lease), `node` (not that node's lease). */
export type ForgedOwnerReason = 'lease' | 'node';

/** An owner claim that was not made by the node it names (see the module comment). */
export class ForgedOwnerError extends ClusterError {
  readonly key: string;
  readonly reason: ForgedOwnerReason;
  constructor(key: string, reason: ForgedOwnerReason, message: string) {
    super('CLUSTER_FORGED_OWNER', `forged owner record at ${key}: ${message}`);
    this.key = key;
    this.reason = reason;
  }
}

/**
 * Check 1: throws {@link ForgedOwnerError} unless the key's lease (`keyLease`, '0' for none)
 * is the lease the value names.
 */
export function assertOwnerLeaseBound(key: string, value: OwnerValue, keyLease: string): void {
  if (keyLease !== value.leaseId) {
    throw new ForgedOwnerError(
      key,
      'lease',
      keyLease === '0'
        ? `claims node ${value.nodeId} with lease ${value.leaseId} but is attached to no lease`
        : `claims node ${value.nodeId} with lease ${value.leaseId} but is attached to lease ${keyLease}`,
    );
  }
}

/**
 * Check 2: true when `value` names a live node under the lease it names. `liveLeaseOf`
 * answers the live node's session lease (undefined when not live).
 */
export function isLiveOwnerClaim(value: OwnerValue, liveLeaseOf: (nodeId: string) => string | undefined): boolean {
  return liveLeaseOf(value.nodeId) === value.leaseId;
}
