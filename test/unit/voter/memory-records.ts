/**
 * Create-if-absent vote records in memory (etcd's `votes/` keys), for duty tests: `record`
 * stores the first record of a ticket and answers every later one with it. Each test says how
 * `waitFor` behaves.
 */
import type { VoteRecord } from '../../../services/cluster/index.ts';
import type { DutyRecords } from '../../../services/voter/cluster-records.ts';

export abstract class MemoryRecords implements DutyRecords {
  readonly stored = new Map<string, VoteRecord>();
  /** Every record submitted, in order. */
  readonly txns: VoteRecord[] = [];

  async record(rec: VoteRecord): Promise<{ created: boolean; stored: VoteRecord }> {
    this.txns.push(rec);
    const existing = this.stored.get(rec.ticketHash);
    if (existing) return { created: false, stored: existing };
    this.stored.set(rec.ticketHash, rec);
    return { created: true, stored: rec };
  }

  abstract waitFor(height: number, blockHashHex: string, ticketHex: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<VoteRecord | null>;
}
