/**
 * Records votes whose signer's record was lost (every vote
 * recorded; the chain is the source of truth). A backup that built and signed
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
 *
 * Repair from the chain: a signer killed during an outage may have sent votes
 * no backup ever built (it held no duty for them, or its duty had not reached
 * the record race). So every managed draw this voter saw is remembered
 * (`drawSeen`, bounded); when etcd returns, the draws seen since shortly
 * before the outage began ({@link OUTAGE_LOOKBACK_MS}) are checked by their
 * repairers: a voter at position k (0-based) of the ticket's signer order
 * (claim holder, then rendezvous rank; only k < {@link MAX_REPAIR_RANK})
 * checks after `graceMs` + k × {@link REPAIR_STEP_MS}: record present →
 * nothing; else it asks the proxies which votes on that block their dcrds
 * know (GetBlockVotes: mempool and the main-chain child), keeps those that
 * parse as a vote of THIS ticket on THIS block (height and hash) with the
 * txid they claim, and if exactly one distinct vote remains (or exactly one of
 * them is mined) writes it create-if-absent with `path: 'repair'` — the bytes
 * on chain, never bytes of its own; an existing record that differs is
 * reported, never overwritten.
 */
import { decodeTx, hashToHex, isVote, parseVote, toHex, txHash } from '../decred/index.ts';
import type { Logger } from '../telemetry/index.ts';
import type { VoteRecord } from '../cluster/index.ts';
import type { DutyRecords } from './cluster-records.ts';
import type { EtcdReach } from './etcd-reach.ts';

/** Default wait after etcd returns before repairing (lets live signers flush their queues first). */
export const DEFAULT_REPAIR_GRACE_MS = 3_000;
/** Bound on votes waiting for repair (5 per block: hours of blocks). */
export const DEFAULT_MAX_REPAIRS = 10_000;
/** Draws seen this long before an outage began are checked too (a signer's record may have been queued before this voter noticed). */
export const OUTAGE_LOOKBACK_MS = 30_000;
/** Repairers per ticket: positions 0..MAX_REPAIR_RANK-1 of its signer order (a dead claim holder still listed is skipped after one step). */
export const MAX_REPAIR_RANK = 3;
/** Extra wait per position in the signer order before repairing from the chain (no stampede: the first live repairer usually writes it). */
export const REPAIR_STEP_MS = 1_000;
/** Managed draws remembered for repair from the chain (5 per block). */
export const DEFAULT_MAX_DRAWS = 2_000;

/** A vote a dcrd knows (GetBlockVotes through one proxy). */
export interface ChainVote {
  rawTx: Uint8Array;
  txidHex: string;
  /** Block holding it (display hex); undefined while only in a mempool. */
  minedIn?: string;
}

/** What the repairer needs. */
export interface RecordRepairPort {
  records: Pick<DutyRecords, 'record'>;
  /** The stored record (linearizable read), or null. Throws when etcd is unreachable. */
  lookup(height: number, blockHashHex: string, ticketHex: string): Promise<VoteRecord | null>;
  /** Whether any dcrd (through the proxies) knows the transaction `txidHex`. */
  knownToDcrd(txidHex: string): Promise<boolean>;
  reach: EtcdReach;
  /**
   * Repair from the chain (optional): the votes on (block, height) the dcrds behind the proxies
   * know (mempool or mined in the main-chain child), as the proxies return them (unverified).
   * Throws when no proxy answered.
   */
  chainVotes?(blockHashHex: string, height: number): Promise<ChainVote[]>;
  /** This voter's position in `ticketHex`'s signer order (claim holder first, then rendezvous rank). */
  repairRank?(ticketHex: string): number;
  /** Node id written as the repair record's `signer` (the voter that wrote it; the bytes are the chain's). */
  selfId?: string;
}

/** One managed draw remembered for repair from the chain. */
interface SeenDraw {
  blockHashHex: string;
  height: number;
  ticketHex: string;
  seenAtMs: number;
}

/** A draw to check against the chain, due at `dueAtMs`. */
interface ChainCandidate extends SeenDraw {
  dueAtMs: number;
  attempts: number;
  /** Whether the repairer's position (× step) was added to `dueAtMs`. */
  ranked?: boolean;
}

/** Checks of one draw against the chain before giving up when no proxy answers. */
const MAX_CHAIN_ATTEMPTS = 5;

/** Counters of {@link RecordRepair}. */
export interface RepairStats {
  pending: number;
  repaired: number;
  alreadyRecorded: number;
  unknownToDcrd: number;
  /** Draws waiting for a check against the chain. */
  chainPending: number;
  /** Records written from the chain's bytes. */
  chainRepaired: number;
  /** Checked draws whose vote no dcrd knew (missed, or never sent). */
  notOnChain: number;
  /** Votes a proxy returned that did not verify (wrong ticket/block/height/txid, not a vote). */
  rejectedChainVotes: number;
}

export class RecordRepair {
  readonly #port: RecordRepairPort;
  readonly #log: Logger;
  readonly #graceMs: number;
  readonly #maxPending: number;
  readonly #pending = new Map<string, VoteRecord>();
  readonly #abort = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly #stats = { repaired: 0, alreadyRecorded: 0, unknownToDcrd: 0, chainRepaired: 0, notOnChain: 0, rejectedChainVotes: 0 };
  readonly #stepMs: number;
  readonly #maxDraws: number;
  /** Managed draws seen, oldest first (key block:ticket). */
  readonly #draws = new Map<string, SeenDraw>();
  /** Draws to check against the chain (key block:ticket). */
  readonly #chain = new Map<string, ChainCandidate>();
  #unsubscribe: (() => void) | undefined;
  #pendingSinceMs = 0;

  constructor(
    port: RecordRepairPort, log: Logger,
    opts: { graceMs?: number; maxPending?: number; stepMs?: number; maxDraws?: number } = {},
  ) {
    this.#port = port;
    this.#log = log;
    this.#graceMs = opts.graceMs ?? DEFAULT_REPAIR_GRACE_MS;
    this.#maxPending = opts.maxPending ?? DEFAULT_MAX_REPAIRS;
    this.#stepMs = opts.stepMs ?? REPAIR_STEP_MS;
    this.#maxDraws = opts.maxDraws ?? DEFAULT_MAX_DRAWS;
  }

  stats(): RepairStats {
    return { pending: this.#pending.size, chainPending: this.#chain.size, ...this.#stats };
  }

  /** A draw of managed tickets arrived (remembered, bounded, for repair from the chain after an outage). */
  drawSeen(blockHashHex: string, height: number, ticketsHex: readonly string[], seenAtMs = Date.now()): void {
    if (this.#abort.signal.aborted || !this.#port.chainVotes) return;
    for (const ticketHex of ticketsHex) {
      const key = `${blockHashHex}:${ticketHex}`;
      if (this.#draws.has(key)) continue;
      this.#draws.set(key, { blockHashHex, height, ticketHex, seenAtMs });
      if (this.#draws.size > this.#maxDraws) this.#draws.delete(this.#draws.keys().next().value as string);
    }
  }

  /**
   * etcd is back after an outage that began at `downSinceMs`: every remembered draw seen since
   * `downSinceMs - OUTAGE_LOOKBACK_MS` becomes a candidate for repair from the chain.
   */
  outageEnded(downSinceMs: number, backAtMs = Date.now()): void {
    if (this.#abort.signal.aborted || !this.#port.chainVotes) return;
    let added = 0;
    for (const [key, d] of this.#draws) {
      if (d.seenAtMs < downSinceMs - OUTAGE_LOOKBACK_MS || d.seenAtMs > backAtMs || this.#chain.has(key)) continue;
      this.#chain.set(key, { ...d, dueAtMs: backAtMs + this.#graceMs, attempts: 0 });
      added++;
    }
    if (added > 0) {
      this.#log.info({ draws: added, downMs: backAtMs - downSinceMs }, 'etcd back: draws of the outage to check against the chain');
      this.#wake?.();
    }
  }

  /** A signed vote whose record could not be written before its duty ended. */
  add(rec: VoteRecord): void {
    if (this.#abort.signal.aborted) return;
    const key = `${rec.blockHash}:${rec.ticketHash}`;
    if (!this.#pending.has(key) && this.#pending.size >= this.#maxPending) {
      const oldest = this.#pending.keys().next().value as string;
      this.#pending.delete(oldest);
      this.#log.error({ key: oldest }, 'record repair queue full; oldest dropped');
    }
    if (this.#pending.size === 0) this.#pendingSinceMs = Date.now();
    this.#pending.set(key, rec);
    this.#wake?.();
  }

  start(): void {
    this.#unsubscribe ??= this.#port.reach.onReachable(() => {
      const down = this.#port.reach.downSinceMs;
      if (down !== undefined) this.outageEnded(down, this.#port.reach.backAtMs ?? Date.now());
    });
    this.#loop ??= this.#run(this.#abort.signal);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#unsubscribe?.();
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
        const stored = await port.lookup(rec.height, rec.blockHash, rec.ticketHash);
        port.reach.noteSuccess();
        if (stored) {
          this.#log.debug({ ticket: rec.ticketHash, height: rec.height, storedTxid: stored.voteTxid }, 'record repair: already recorded');
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
        known = await port.knownToDcrd(rec.voteTxid);
      } catch (err) {
        this.#log.warn({ err, ticket: rec.ticketHash }, 'record repair: no proxy answered; retrying later');
        continue;
      }
      if (!known) {
        this.#stats.unknownToDcrd++;
        this.#pending.delete(key);
        this.#log.warn({ ticket: rec.ticketHash, height: rec.height, voteTxid: rec.voteTxid }, 'no record and no dcrd knows this vote; nothing to repair');
        continue;
      }
      try {
        const r = await port.records.record({ ...rec, path: 'repair' });
        port.reach.noteSuccess();
        this.#pending.delete(key);
        if (r.created) {
          this.#stats.repaired++;
          this.#log.warn({ ticket: rec.ticketHash, height: rec.height, voteTxid: rec.voteTxid }, 'vote known to dcrd had no record (its signer lost it); recorded');
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

  /**
   * One pass over the draws due for a check against the chain (exposed for the loop and tests).
   * Returns false if etcd failed meanwhile.
   */
  async chainRepairOnce(now = Date.now()): Promise<boolean> {
    const port = this.#port;
    if (!port.chainVotes) return true;
    const byBlock = new Map<string, Promise<ChainVote[]>>();
    for (const [key, c] of [...this.#chain]) {
      if (this.#abort.signal.aborted) return true;
      if (c.dueAtMs > now) continue;
      if (!c.ranked) {
        // Position in the signer order, judged now (claims may have moved since the draw).
        const rank = port.repairRank?.(c.ticketHex) ?? 0;
        if (rank >= MAX_REPAIR_RANK) {
          this.#chain.delete(key);
          continue;
        }
        c.ranked = true;
        c.dueAtMs += rank * this.#stepMs;
        if (c.dueAtMs > now) continue;
      }
      try {
        const stored = await port.lookup(c.height, c.blockHashHex, c.ticketHex);
        port.reach.noteSuccess();
        if (stored) {
          this.#chain.delete(key);
          this.#stats.alreadyRecorded++;
          continue;
        }
      } catch (err) {
        port.reach.noteFailure();
        this.#log.debug({ err }, 'chain repair: etcd unreachable');
        return false;
      }
      let votes: ChainVote[];
      try {
        let p = byBlock.get(c.blockHashHex);
        if (!p) {
          p = port.chainVotes(c.blockHashHex, c.height);
          byBlock.set(c.blockHashHex, p);
        }
        votes = await p;
      } catch (err) {
        c.attempts++;
        if (c.attempts >= MAX_CHAIN_ATTEMPTS) {
          this.#chain.delete(key);
          this.#log.warn({ err, ticket: c.ticketHex, height: c.height }, 'chain repair: no proxy answered; giving up on this draw');
        } else {
          c.dueAtMs = now + this.#stepMs;
        }
        continue;
      }
      const chosen = this.#pickChainVote(votes, c);
      if (!chosen) {
        this.#chain.delete(key);
        continue;
      }
      const info = chosen.info;
      const at = new Date().toISOString();
      const rec: VoteRecord = {
        height: c.height, blockHash: c.blockHashHex, ticketHash: c.ticketHex, voteTxHex: toHex(chosen.vote.rawTx), voteTxid: chosen.vote.txidHex,
        signer: port.selfId ?? 'repair', voteBits: info.voteBits, voteVersion: info.voteVersion,
        treasuryVotes: info.treasuryVotes.map((t) => ({ tspendHash: hashToHex(t.tspendHash), vote: t.vote === 1 ? 'yes' : 'no' })),
        // The inputs' revisions are unknown for bytes read from the chain: 0 = not known.
        choicesRevision: 0, createdAt: at, signedAt: at, drawnAt: new Date(c.seenAtMs).toISOString(), path: 'repair',
      };
      try {
        const r = await port.records.record(rec);
        port.reach.noteSuccess();
        this.#chain.delete(key);
        if (r.created) {
          this.#stats.chainRepaired++;
          this.#log.warn(
            { ticket: c.ticketHex, height: c.height, blockHashHex: c.blockHashHex, voteTxid: rec.voteTxid, minedIn: chosen.vote.minedIn },
            'vote on chain had no record after the outage (its signer lost it); recorded the chain\'s bytes',
          );
        } else if (r.stored.voteTxid !== rec.voteTxid) {
          this.#log.error(
            { ticket: c.ticketHex, height: c.height, voteTxid: rec.voteTxid, storedTxid: r.stored.voteTxid },
            'a record appeared that differs from the vote on chain; left as is',
          );
        } else {
          this.#stats.alreadyRecorded++;
        }
      } catch (err) {
        port.reach.noteFailure();
        this.#log.debug({ err }, 'chain repair: etcd unreachable');
        return false;
      }
    }
    return true;
  }

  /**
   * The vote to record for `c` among what the proxies returned: only votes that parse as a vote of
   * this ticket on this block (hash and height) with the txid claimed; one distinct vote, else the
   * one mined (the chain's choice); undefined when none or ambiguous (logged).
   */
  #pickChainVote(votes: readonly ChainVote[], c: SeenDraw): { vote: ChainVote; info: ReturnType<typeof parseVote> } | undefined {
    const ok = new Map<string, { vote: ChainVote; info: ReturnType<typeof parseVote> }>();
    for (const v of votes) {
      const info = verifyChainVote(v, c);
      if (info === 'other-ticket') continue;
      if (info === undefined) {
        this.#stats.rejectedChainVotes++;
        this.#log.error({ ticket: c.ticketHex, height: c.height, voteTxid: v.txidHex }, 'a proxy returned bytes that are not a vote of this ticket on this block; ignored');
        continue;
      }
      const prev = ok.get(v.txidHex);
      if (!prev || (!prev.vote.minedIn && v.minedIn)) ok.set(v.txidHex, { vote: v, info });
    }
    const all = [...ok.values()];
    if (all.length === 0) {
      this.#stats.notOnChain++;
      this.#log.info({ ticket: c.ticketHex, height: c.height }, 'no record and no dcrd knows a vote for this draw; nothing to repair');
      return undefined;
    }
    if (all.length === 1) return all[0];
    const mined = all.filter((x) => x.vote.minedIn !== undefined);
    if (mined.length === 1) return mined[0];
    this.#log.error({ ticket: c.ticketHex, height: c.height, txids: all.map((x) => x.vote.txidHex) }, 'dcrds know different votes for this draw; not recording any');
    return undefined;
  }

  async #run(signal: AbortSignal): Promise<void> {
    let pendingPassAt = 0;
    while (!signal.aborted) {
      if (this.#pending.size === 0 && this.#chain.size === 0) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      if (!(await this.#port.reach.whenReachable(signal))) return;
      const now = Date.now();
      // Held votes: a grace after etcd's return (and between passes) lets live signers' queued records land first.
      const pendingDue = this.#pending.size > 0 ? Math.max(this.#port.reach.backAtMs ?? 0, pendingPassAt, this.#pendingSinceMs) + this.#graceMs : Infinity;
      let chainDue = Infinity;
      for (const c of this.#chain.values()) chainDue = Math.min(chainDue, c.dueAtMs);
      const next = Math.min(pendingDue, chainDue);
      if (next > now) {
        if (!(await this.#sleep(next - now, signal))) return;
        continue;
      }
      let ok = true;
      if (pendingDue <= now) {
        ok = await this.repairOnce();
        pendingPassAt = Date.now();
      }
      if (ok && chainDue <= now) ok = await this.chainRepairOnce();
      if (!ok && !(await this.#sleep(200, signal))) return;
    }
  }

  /**
   * Sleeps `ms` or until woken (a new vote or draw); false when stopped. Whichever ends the
   * sleep clears the timer and removes the abort listener: a race against a still-running
   * `delay(ms, { signal })` left one listener on the repairer's signal per wake until its
   * timer fired (a burst of records after an outage: MaxListenersExceededWarning).
   */
  async #sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return false;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
    return !signal.aborted;
  }
}

/** A vote a proxy returned, checked against the draw: its info, 'other-ticket', or undefined when it does not verify. */
function verifyChainVote(v: ChainVote, c: SeenDraw): ReturnType<typeof parseVote> | 'other-ticket' | undefined {
  try {
    const tx = decodeTx(v.rawTx);
    if (!isVote(tx)) return undefined;
    const info = parseVote(tx);
    if (hashToHex(info.ticketHash) !== c.ticketHex) return 'other-ticket';
    if (hashToHex(info.blockHash) !== c.blockHashHex || info.blockHeight !== c.height) return undefined;
    if (hashToHex(txHash(tx)) !== v.txidHex) return undefined;
    return info;
  } catch {
    return undefined;
  }
}
