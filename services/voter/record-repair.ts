/**
 * Records votes whose signer's record was lost (DESIGN.md §3 "every vote
 * recorded"; the chain is the source of truth). A backup that built and signed
 * a vote but could not record it (etcd unreachable) until its duty ended hands
 * that record here. Once etcd is back and the signers' own queued records had
 * time to land (`graceMs`), each one is checked:
 * - a record exists → nothing to do;
 * - none exists, and a dcrd (through any proxy) knows a transaction with these
 *   exact bytes' txid (mempool or mined) → the record is written
 *   create-if-absent with `path: 'repair'`: the vote that went out is now
 *   recorded even though its signer died with the record in memory;
 * - none exists and no dcrd knows the tx → dropped with a warning (the vote
 *   that went out, if any, had other bytes; nothing is invented).
 * Votes are deterministic from recorded revisions and backups pin their inputs
 * at the draw (cluster-vote-factory.ts), so the backup's bytes are the owner's.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../telemetry/index.ts';
import type { DutyRecords, StoredVote, VoteRecordInput } from './duty.ts';
import type { EtcdReach } from './etcd-reach.ts';

/** Default wait after etcd returns before repairing (lets live signers flush their queues first). */
export const DEFAULT_REPAIR_GRACE_MS = 3_000;
/** Bound on votes waiting for repair (5 per block: hours of blocks). */
export const DEFAULT_MAX_REPAIRS = 10_000;

/** What the repairer needs. */
export interface RecordRepairPort {
  records: Pick<DutyRecords, 'record'>;
  /** The stored record (linearizable read), or null. Throws when etcd is unreachable. */
  lookup(height: number, blockHashHex: string, ticketHex: string): Promise<StoredVote | null>;
  /** Whether any dcrd (through the proxies) knows the transaction `txidHex`. */
  knownToDcrd(txidHex: string): Promise<boolean>;
  reach: EtcdReach;
}

/** Counters of {@link RecordRepair}. */
export interface RepairStats {
  pending: number;
  repaired: number;
  alreadyRecorded: number;
  unknownToDcrd: number;
}

export class RecordRepair {
  readonly #port: RecordRepairPort;
  readonly #log: Logger;
  readonly #graceMs: number;
  readonly #maxPending: number;
  readonly #pending = new Map<string, VoteRecordInput>();
  readonly #abort = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly #stats = { repaired: 0, alreadyRecorded: 0, unknownToDcrd: 0 };

  constructor(port: RecordRepairPort, log: Logger, opts: { graceMs?: number; maxPending?: number } = {}) {
    this.#port = port;
    this.#log = log;
    this.#graceMs = opts.graceMs ?? DEFAULT_REPAIR_GRACE_MS;
    this.#maxPending = opts.maxPending ?? DEFAULT_MAX_REPAIRS;
  }

  stats(): RepairStats {
    return { pending: this.#pending.size, ...this.#stats };
  }

  /** A signed vote whose record could not be written before its duty ended. */
  add(rec: VoteRecordInput): void {
    if (this.#abort.signal.aborted) return;
    const key = `${rec.blockHashHex}:${rec.ticketHex}`;
    if (!this.#pending.has(key) && this.#pending.size >= this.#maxPending) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
      this.#log.error({ key: oldest }, 'record repair queue full; oldest dropped');
    }
    this.#pending.set(key, rec);
    this.#wake?.();
  }

  start(): void {
    this.#loop ??= this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#loop;
    if (this.#pending.size > 0) this.#log.warn({ pending: this.#pending.size }, 'stopping with vote records not repaired');
  }

  /** One pass over the pending votes (exposed for the loop and tests). Returns false if etcd failed meanwhile. */
  async repairOnce(): Promise<boolean> {
    const port = this.#port;
    this.#log.info({ pending: this.#pending.size, ...this.#stats }, 'record repair pass');
    for (const [key, rec] of [...this.#pending]) {
      if (this.#abort.signal.aborted) return true;
      try {
        const stored = await port.lookup(rec.height, rec.blockHashHex, rec.ticketHex);
        port.reach.noteSuccess();
        if (stored) {
          this.#log.debug({ ticket: rec.ticketHex, height: rec.height, storedTxid: stored.txidHex }, 'record repair: already recorded');
          this.#stats.alreadyRecorded++;
          this.#pending.delete(key);
          continue;
        }
      } catch (err) {
        port.reach.noteFailure();
        this.#log.debug({ err }, 'record repair: etcd unreachable');
        return false;
      }
      let known = false;
      try {
        known = await port.knownToDcrd(rec.txidHex);
      } catch (err) {
        this.#log.warn({ err, ticket: rec.ticketHex }, 'record repair: no proxy answered; retrying later');
        continue;
      }
      if (!known) {
        this.#stats.unknownToDcrd++;
        this.#pending.delete(key);
        this.#log.warn({ ticket: rec.ticketHex, height: rec.height, voteTxid: rec.txidHex }, 'no record and no dcrd knows this vote; nothing to repair');
        continue;
      }
      try {
        const r = await port.records.record({ ...rec, path: 'repair' });
        port.reach.noteSuccess();
        this.#pending.delete(key);
        if (r.created) {
          this.#stats.repaired++;
          this.#log.warn({ ticket: rec.ticketHex, height: rec.height, voteTxid: rec.txidHex }, 'vote known to dcrd had no record (its signer lost it); recorded');
        } else {
          this.#stats.alreadyRecorded++;
        }
      } catch (err) {
        port.reach.noteFailure();
        this.#log.debug({ err }, 'record repair: etcd unreachable');
        return false;
      }
    }
    return true;
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (this.#pending.size === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      if (!(await this.#port.reach.whenReachable(signal))) return;
      try {
        // Give live signers' queued records (written as soon as etcd answers) time to land first.
        await delay(this.#graceMs, undefined, { signal });
      } catch {
        return;
      }
      const ok = await this.repairOnce();
      if (!ok || this.#pending.size > 0) {
        try {
          await delay(ok ? this.#graceMs : 200, undefined, { signal });
        } catch {
          return;
        }
      }
    }
  }
}
