/**
 * Delivery until mined (docs/architecture.md, invariant 6). dcrd relays a vote once and
 * dcrwallet publishes once; we keep sending each vote through every proxy until
 * that proxy's dcrd holds it (ACCEPTED or DUPLICATE), or the vote is superseded
 * (its block was disconnected) or too old (the tip moved more than
 * `maxVoteAgeBlocks` past it). CONFLICT and REJECTED are final for that proxy.
 *
 * A vote goes to every proxy unless it names its proxies (`VoteToDeliver.proxies`: a region
 * signer serves its own region's dcrd, region-plan.ts); everything below applies to those.
 *
 * A vote is tracked per (ticket, block hash) with exactly one set of bytes.
 * `deliver` never replaces bytes; only `replaceBytes` does, and the duty calls
 * it only to switch to the STORED record's bytes, so the tracker never
 * broadcasts a vote that differs from a stored record.
 *
 * `standby` votes are votes another voter signed and recorded: they are not
 * sent while their signer is live (its own tracker delivers them); when the
 * signer drops out of membership the standby copy is promoted and delivered
 * here, so an owner dying after its first send loses nothing.
 *
 * Early release (`standbyCheckMs`): a live signer whose record was saved may
 * still fail to reach any dcrd (a partition cut its proxies but not, for an
 * election timeout, its etcd member), and its lease takes seconds to expire.
 * So `standbyCheckMs` after a standby copy is taken (hedge-scale), and on
 * every re-send pass after that until each proxy is settled, each proxy whose
 * dcrd is not known to hold the vote is asked (`knownTo`: GetRawTransaction
 * of the txid): known → that proxy is settled without a send; not known →
 * the copy is sent to that proxy now. The copy holds the STORED record's
 * bytes (the duty only takes standby copies of records), so this can never
 * make a second distinct vote; without faults every dcrd already holds the
 * vote and nothing is sent.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { dutyKey } from './chain-event.ts';
import { sendOne, type DeliveryState, type SendOutcome, type VoteSink } from './fanout.ts';
import { JitteredBackoff } from '../base/index.ts';

/** A vote ready to send. */
export interface VoteToDeliver {
  ticketHex: string;
  blockHashHex: string;
  height: number;
  rawTx: Uint8Array;
  txidHex: string;
  /** Node that signed (and, on the lease strategy, recorded) these bytes. */
  signer: string;
  /** When the draw was first seen (ms since epoch): the latency origin. */
  drawnAtMs: number;
  traceparent?: string;
  /**
   * The proxy addresses this vote goes to (a region signer's own region, region-plan.ts);
   * absent = every proxy. Re-sends, standby promotion and early release stay within them.
   */
  proxies?: readonly string[];
}

/** `active`: send now and until delivered; `standby`: hold, send only if the signer dies. */
export type DeliveryMode = 'active' | 'standby';

/** Options of {@link VoteDelivery}. */
export interface VoteDeliveryOptions {
  sendDeadlineMs: number;
  resendIntervalMs: number;
  maxVoteAgeBlocks: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Early release of standby copies: check the proxies this long after a copy is taken (0/absent: off). */
  standbyCheckMs?: number;
}

/** Callbacks for logs, metrics and liveness; all optional except `isNodeLive`. */
export interface VoteDeliveryHooks {
  /** Whether a node is in the live membership (standby promotion). */
  isNodeLive(nodeId: string): boolean;
  onOutcome?(vote: VoteToDeliver, outcome: SendOutcome, attempt: number): void;
  /** First ACCEPTED/DUPLICATE from any proxy for this vote (`outcome.status` says which). */
  onFirstDelivered?(vote: VoteToDeliver, latencyMs: number, outcome: SendOutcome): void;
  onPromoted?(vote: VoteToDeliver): void;
  onDropped?(vote: VoteToDeliver, reason: 'superseded' | 'too-old'): void;
  /**
   * Whether the dcrd behind proxy `address` holds transaction `txidHex` (mempool or chain):
   * true / false; throws when the proxy cannot say. Needed for early release (`standbyCheckMs`).
   */
  knownTo?(address: string, txidHex: string): Promise<boolean>;
  /** A standby copy was sent to a proxy whose dcrd did not hold it while its signer was live (first time per vote). */
  onReleasedEarly?(vote: VoteToDeliver, proxies: readonly string[]): void;
}

interface ProxyState {
  state: DeliveryState | 'pending';
  attempts: number;
  nextAtMs: number;
  inFlight: boolean;
  /** Delays between retries to this proxy (made at the first retry). */
  backoff?: JitteredBackoff;
}

interface Tracked {
  vote: VoteToDeliver;
  mode: DeliveryMode;
  proxies: Map<string, ProxyState>;
  sends: number;
  firstDeliveredAtMs?: number;
  /** Standby: when the copy was taken; early-release checks start `standbyCheckMs` later. */
  standbySinceMs?: number;
  /** Standby: an early-release check is running. */
  checking?: boolean;
  /** Standby: sent early to at least one proxy. */
  releasedEarly?: boolean;
}

/** Counters of {@link VoteDelivery}. */
export interface DeliveryStats {
  /** Votes currently tracked. */
  tracked: number;
  /** Votes ever sent at least once by this voter. */
  votesSent: number;
  /** SendVote calls made, all proxies. */
  sends: number;
  /** SendVote calls per proxy address. */
  sendsByProxy: Record<string, number>;
  delivered: number;
  conflicts: number;
  rejected: number;
  promoted: number;
  replaced: number;
  /** Standby copies sent early (a live signer's vote missing from a reachable dcrd). */
  releasedEarly: number;
  /** Early-release lookups made (one per proxy asked). */
  standbyChecks: number;
}

/** The re-send loop and the per-proxy delivery state of every live vote. */
export class VoteDelivery {
  readonly #sinks: readonly VoteSink[];
  readonly #opts: VoteDeliveryOptions;
  readonly #hooks: VoteDeliveryHooks;
  readonly #votes = new Map<string, Tracked>();
  readonly #inFlight = new Set<Promise<unknown>>();
  #bestHeight = 0;
  #loop: Promise<void> | undefined;
  #abort = new AbortController();
  readonly #stats: DeliveryStats = {
    tracked: 0, votesSent: 0, sends: 0, sendsByProxy: {}, delivered: 0, conflicts: 0, rejected: 0, promoted: 0, replaced: 0,
    releasedEarly: 0, standbyChecks: 0,
  };
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(sinks: readonly VoteSink[], opts: VoteDeliveryOptions, hooks: VoteDeliveryHooks) {
    this.#sinks = sinks;
    this.#opts = opts;
    this.#hooks = hooks;
    for (const s of sinks) this.#stats.sendsByProxy[s.address] = 0;
  }

  /** Whether a vote for (ticket, block) is tracked, and with which txid. */
  txidOf(ticketHex: string, blockHashHex: string): string | undefined {
    return this.#votes.get(dutyKey(ticketHex, blockHashHex))?.vote.txidHex;
  }

  /** When a dcrd first accepted the tracked vote (ticket, block) with these bytes, if one has. */
  firstDeliveredAtMs(ticketHex: string, blockHashHex: string, txidHex: string): number | undefined {
    const t = this.#votes.get(dutyKey(ticketHex, blockHashHex));
    return t?.vote.txidHex === txidHex ? t.firstDeliveredAtMs : undefined;
  }

  /** Mode of a tracked vote, if any. */
  modeOf(ticketHex: string, blockHashHex: string): DeliveryMode | undefined {
    return this.#votes.get(dutyKey(ticketHex, blockHashHex))?.mode;
  }

  /**
   * Starts tracking `vote`. In `active` mode it is sent to every proxy at once and
   * the promise resolves with the first round's outcomes. A vote already tracked
   * with the same txid is not sent again (a standby copy is promoted); one tracked
   * with a DIFFERENT txid is left alone and `{ accepted: false }` is returned.
   */
  deliver(vote: VoteToDeliver, mode: DeliveryMode): { accepted: boolean; firstRound: Promise<SendOutcome[]> } {
    const key = dutyKey(vote.ticketHex, vote.blockHashHex);
    const existing = this.#votes.get(key);
    if (existing) {
      if (existing.vote.txidHex !== vote.txidHex) return { accepted: false, firstRound: Promise.resolve([]) };
      if (existing.mode === 'standby' && mode === 'active') {
        existing.mode = 'active';
        return { accepted: true, firstRound: this.#sendPending(existing) };
      }
      return { accepted: true, firstRound: Promise.resolve([]) };
    }
    const t: Tracked = { vote, mode, proxies: new Map(), sends: 0 };
    for (const s of this.#sinks) if (!vote.proxies || vote.proxies.includes(s.address)) t.proxies.set(s.address, { state: 'pending', attempts: 0, nextAtMs: 0, inFlight: false });
    this.#votes.set(key, t);
    this.#stats.tracked = this.#votes.size;
    if (mode === 'standby') this.#scheduleStandbyCheck(t);
    return { accepted: true, firstRound: mode === 'active' ? this.#sendPending(t) : Promise.resolve([]) };
  }

  /**
   * Switches a tracked vote to the stored record's bytes (the only way bytes change):
   * the old bytes are never sent again, the new ones go to every proxy.
   */
  replaceBytes(vote: VoteToDeliver): Promise<SendOutcome[]> {
    const key = dutyKey(vote.ticketHex, vote.blockHashHex);
    this.#votes.delete(key);
    this.#stats.replaced++;
    return this.deliver(vote, 'active').firstRound;
  }

  /** The tip moved: drop votes that are too old to be mined. */
  blockConnected(height: number): void {
    if (height > this.#bestHeight) this.#bestHeight = height;
    for (const [key, t] of this.#votes) {
      if (t.vote.height + this.#opts.maxVoteAgeBlocks < this.#bestHeight) {
        this.#votes.delete(key);
        this.#hooks.onDropped?.(t.vote, 'too-old');
      }
    }
    this.#stats.tracked = this.#votes.size;
  }

  /** A block was disconnected: votes on it are superseded and never sent again. */
  blockDisconnected(blockHashHex: string): void {
    for (const [key, t] of this.#votes) {
      if (t.vote.blockHashHex === blockHashHex) {
        this.#votes.delete(key);
        this.#hooks.onDropped?.(t.vote, 'superseded');
      }
    }
    this.#stats.tracked = this.#votes.size;
  }

  /**
   * A proxy's stream reconnected (its dcrd may have restarted with an empty
   * mempool): every live vote is due to that proxy again.
   */
  proxyReconnected(address: string): void {
    for (const t of this.#votes.values()) {
      const p = t.proxies.get(address);
      if (p && p.state === 'delivered') {
        p.state = 'pending';
        p.nextAtMs = 0;
      }
    }
  }

  /** Starts the re-send loop. */
  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run(this.#abort.signal);
  }

  /** Stops the loop and waits for it and for every send in flight. */
  async stop(): Promise<void> {
    this.#abort.abort();
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  stats(): DeliveryStats {
    return { ...this.#stats, sendsByProxy: { ...this.#stats.sendsByProxy } };
  }

  /** One pass of the re-send loop (exposed for the loop and for tests); resolves when its sends answered. */
  async tick(): Promise<void> {
    const rounds: Promise<SendOutcome[]>[] = [];
    for (const t of this.#votes.values()) {
      if (t.mode === 'standby') {
        if (this.#hooks.isNodeLive(t.vote.signer)) {
          if (this.#standbyCheckDue(t)) rounds.push(this.#checkStandby(t).then(() => []));
          continue;
        }
        t.mode = 'active';
        this.#stats.promoted++;
        this.#hooks.onPromoted?.(t.vote);
      }
      rounds.push(this.#sendPending(t));
    }
    await Promise.all(rounds);
  }

  async #run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await delay(this.#opts.resendIntervalMs, undefined, { signal });
      } catch {
        // Aborted by stop(): the only rejection of an aborted timers/promises delay.
        return;
      }
      // Not awaited: a send to a dead or slow proxy (up to its deadline) must never hold back
      // the next pass for the other proxies. Each send is tracked in #inFlight (awaited by
      // stop()), and a proxy with a send in flight is skipped until it answers.
      void this.tick();
    }
  }

  #scheduleStandbyCheck(t: Tracked): void {
    const ms = this.#opts.standbyCheckMs;
    t.standbySinceMs = Date.now();
    if (!ms || !this.#hooks.knownTo || this.#abort.signal.aborted) return;
    // The first check runs on its own timer (the re-send pass may be up to an interval away);
    // later ones ride the re-send passes.
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      // The timer is the wait: Node starts it from the event loop's cached time, so under load it
      // fires with less than `ms` elapsed by Date.now(), and re-checking the elapsed time here would
      // put the first check off to the next re-send pass.
      if (t.mode === 'standby' && this.#standbyCheckDue(t, { waited: true }) && this.#hooks.isNodeLive(t.vote.signer)) void this.#checkStandby(t);
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  #standbyCheckDue(t: Tracked, o: { waited?: boolean } = {}): boolean {
    const ms = this.#opts.standbyCheckMs;
    if (!ms || !this.#hooks.knownTo || t.checking || t.standbySinceMs === undefined) return false;
    if (!o.waited && Date.now() - t.standbySinceMs < ms) return false;
    if (this.#votes.get(dutyKey(t.vote.ticketHex, t.vote.blockHashHex)) !== t) return false;
    for (const p of t.proxies.values()) if (!p.inFlight && (p.state === 'pending' || p.state === 'retry')) return true;
    return false;
  }

  /**
   * Early release of a standby copy whose signer is live: asks every unsettled proxy whether
   * its dcrd holds the vote; sends the (stored) bytes to those that do not.
   */
  #checkStandby(t: Tracked): Promise<void> {
    const knownTo = this.#hooks.knownTo;
    if (!knownTo) return Promise.resolve();
    t.checking = true;
    const released: string[] = [];
    const sends: Promise<unknown>[] = [];
    const checks = this.#sinks.map(async (sink) => {
      const p = t.proxies.get(sink.address);
      if (!p || p.inFlight || (p.state !== 'pending' && p.state !== 'retry') || p.nextAtMs > Date.now()) return;
      this.#stats.standbyChecks++;
      let known: boolean;
      try {
        known = await knownTo(sink.address, t.vote.txidHex);
      } catch {
        return; // the proxy cannot say (down, partitioned): ask again next pass
      }
      if (this.#votes.get(dutyKey(t.vote.ticketHex, t.vote.blockHashHex)) !== t || p.inFlight) return;
      if (known) {
        // Its dcrd holds the vote (the signer's send, or relay): nothing to send there.
        if (p.state === 'pending' || p.state === 'retry') p.state = 'delivered';
        return;
      }
      if (t.mode !== 'standby') return; // promoted meanwhile: the pass sends it
      released.push(sink.address);
      sends.push(this.#sendTo(t, sink, p));
    });
    const all = Promise.all(checks).then(async () => {
      if (released.length > 0) {
        if (!t.releasedEarly) {
          t.releasedEarly = true;
          this.#stats.releasedEarly++;
          this.#hooks.onReleasedEarly?.(t.vote, released);
        }
        await Promise.all(sends);
      }
    }).finally(() => {
      t.checking = false;
    });
    this.#inFlight.add(all);
    void all.finally(() => this.#inFlight.delete(all));
    return all;
  }

  #sendPending(t: Tracked): Promise<SendOutcome[]> {
    const now = Date.now();
    const sends: Promise<SendOutcome>[] = [];
    for (const sink of this.#sinks) {
      const p = t.proxies.get(sink.address);
      if (!p || p.inFlight || (p.state !== 'pending' && p.state !== 'retry') || p.nextAtMs > now) continue;
      sends.push(this.#sendTo(t, sink, p));
    }
    const all = Promise.all(sends);
    this.#inFlight.add(all);
    void all.finally(() => this.#inFlight.delete(all));
    return all;
  }

  async #sendTo(t: Tracked, sink: VoteSink, p: ProxyState): Promise<SendOutcome> {
    p.inFlight = true;
    p.attempts++;
    if (t.sends === 0) this.#stats.votesSent++;
    t.sends++;
    this.#stats.sends++;
    this.#stats.sendsByProxy[sink.address] = (this.#stats.sendsByProxy[sink.address] ?? 0) + 1;
    const opts = { deadlineMs: this.#opts.sendDeadlineMs, ...(t.vote.traceparent ? { traceparent: t.vote.traceparent } : {}) };
    const outcome = await sendOne(sink, t.vote.rawTx, opts);
    p.inFlight = false;
    // The vote may have been replaced or dropped while the call was in flight.
    const current = this.#votes.get(dutyKey(t.vote.ticketHex, t.vote.blockHashHex));
    if (current === t) {
      p.state = outcome.state;
      if (outcome.state === 'retry') {
        p.backoff ??= new JitteredBackoff(this.#opts.retryBaseMs, this.#opts.retryMaxMs);
        p.nextAtMs = Date.now() + p.backoff.nextMs();
      }
      if (outcome.state === 'delivered') {
        this.#stats.delivered++;
        if (t.firstDeliveredAtMs === undefined) {
          t.firstDeliveredAtMs = Date.now();
          this.#hooks.onFirstDelivered?.(t.vote, t.firstDeliveredAtMs - t.vote.drawnAtMs, outcome);
        }
      }
      if (outcome.state === 'conflict') this.#stats.conflicts++;
      if (outcome.state === 'rejected') this.#stats.rejected++;
    }
    this.#hooks.onOutcome?.(t.vote, outcome, p.attempts);
    return outcome;
  }
}
