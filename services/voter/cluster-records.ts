/**
 * The vote-record operations a duty uses ({@link DutyRecords}: create-if-absent, wait for a
 * record) and their implementation on top of `cluster.votes` (services/cluster
 * vote-record.ts): the record is the cluster's {@link VoteRecord} as it is;
 * this adds the write time and makes a failed final read an error.
 */
import type { Cluster, VoteRecord } from '../cluster/index.ts';

/** The vote-record operations of the cluster, as the duty uses them. */
export interface DutyRecords {
  /** Create-if-absent; `stored` is ours when `created`, else the existing record. Throws when etcd is unreachable. */
  record(rec: VoteRecord): Promise<{ created: boolean; stored: VoteRecord }>;
  /**
   * Waits up to `timeoutMs` for a record to appear (watch-fed); null on timeout. With `finalRead`
   * (default true) it reads etcd once more at the deadline and throws when that read fails.
   */
  waitFor(
    height: number, blockHashHex: string, ticketHex: string,
    opts: { timeoutMs: number; signal?: AbortSignal; finalRead?: boolean },
  ): Promise<VoteRecord | null>;
}

/** The duty's record operations on top of `cluster.votes`. */
export function clusterRecords(cluster: Cluster): DutyRecords {
  return {
    async record(rec) {
      const r = await cluster.votes.recordVote({ ...rec, createdAt: new Date().toISOString() });
      return { created: r.created, stored: r.stored };
    },
    waitFor(height, blockHashHex, ticketHex, opts) {
      // A failed final read is an error here, never "no record": no takeover without seeing etcd.
      // `finalRead: false` (etcd known healthy) leaves that check to the create-if-absent txn.
      return cluster.votes.waitForVote(height, blockHashHex, ticketHex, { ...opts, rejectIfUnreadable: true });
    },
  };
}

/** Reads the stored record from etcd (linearizable), or null; throws when etcd is unreachable. */
export function lookupRecord(cluster: Cluster): (height: number, blockHashHex: string, ticketHex: string) => Promise<VoteRecord | null> {
  return (height, blockHashHex, ticketHex) => cluster.votes.getVote(height, blockHashHex, ticketHex);
}
