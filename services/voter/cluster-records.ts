/**
 * Adapts the cluster's vote records (services/cluster VoteRecords) to the
 * duty's {@link DutyRecords}: hex/bytes conversion and the record's wire names.
 */
import type { Cluster } from '../cluster/index.ts';
import { fromHex, toHex } from '../decred/index.ts';
import type { DutyRecords, StoredVote, VoteRecordInput } from './duty.ts';

type VoteRecord = Parameters<Cluster['votes']['recordVote']>[0];

function toStored(r: VoteRecord): StoredVote {
  return { rawTx: fromHex(r.voteTxHex), txidHex: r.voteTxid, signer: r.signer, revision: String(r.choicesRevision) };
}

/** The duty's record operations on top of `cluster.votes`. */
export function clusterRecords(cluster: Cluster): DutyRecords {
  return {
    async record(rec: VoteRecordInput) {
      const stored: VoteRecord = {
        height: rec.height,
        blockHash: rec.blockHashHex,
        ticketHash: rec.ticketHex,
        voteTxHex: toHex(rec.rawTx),
        voteTxid: rec.txidHex,
        signer: rec.signer,
        choicesRevision: Number(rec.revision),
        voteBits: rec.voteBits,
        voteVersion: rec.voteVersion,
        treasuryVotes: rec.treasuryVotes.map((t) => ({ tspendHash: t.tspendHashHex, vote: t.vote })),
        createdAt: new Date().toISOString(),
        signedAt: new Date(rec.signedAtMs).toISOString(),
        drawnAt: new Date(rec.drawnAtMs).toISOString(),
        ...(rec.acceptedAtMs !== undefined ? { acceptedAt: new Date(rec.acceptedAtMs).toISOString() } : {}),
        path: rec.path,
        ...(rec.defaultsRevision !== undefined ? { defaultsRevision: Number(rec.defaultsRevision) } : {}),
      };
      const r = await cluster.votes.recordVote(stored);
      return { created: r.created, stored: toStored(r.stored) };
    },
    async waitFor(height, blockHashHex, ticketHex, opts) {
      // A failed final read is an error here, never "no record": no takeover without seeing etcd.
      // `finalRead: false` (etcd known healthy) leaves that check to the create-if-absent txn.
      const r = await cluster.votes.waitForVote(height, blockHashHex, ticketHex, { ...opts, rejectIfUnreadable: true });
      return r ? toStored(r) : null;
    },
  };
}

/** Reads the stored record from etcd (linearizable), or null; throws when etcd is unreachable. */
export function lookupRecord(cluster: Cluster): (height: number, blockHashHex: string, ticketHex: string) => Promise<StoredVote | null> {
  return async (height, blockHashHex, ticketHex) => {
    const r = await cluster.votes.getVote(height, blockHashHex, ticketHex);
    return r ? toStored(r) : null;
  };
}
