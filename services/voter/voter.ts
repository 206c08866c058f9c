/**
 * `createVoter`: wires the voter's steps, each in its own file:
 *   chain-watch (every proxy) → event-dedupe → duty (hedge plan → build → sign
 *   → fan-out → record) → resend (until mined/superseded), plus the claimer
 *   (owner claims ahead of draws) and the record queue (records written after
 *   the first send, queued while etcd is down).
 * Stateless: everything it needs comes from etcd (ticket records, owners,
 * vote records) and the proxies' streams; a restarted voter replays the open
 * draws from the proxies and the records make that harmless. `stop()` awaits
 * every loop it started.
 */
import { createNodeProxyClient, NotFoundError, type NodeProxyClient } from '../nodeproxy/index.ts';
import { etcdAccessOf, openCluster, type Cluster } from '../cluster/index.ts';
import { netParams } from '../decred/index.ts';
import { grpcChannelCredentials, TlsReloader } from '../security/index.ts';
import type { Tracer } from '@opentelemetry/api';
import { createMetrics, readinessOf, serviceTracer, type ComponentMetrics, type Logger, type Metrics, type Readiness, type SecretKey } from '../telemetry/index.ts';
import { AgendaBook } from './agenda-book.ts';
import { dutyKey, type ChainEvent, type WinningTicketsEvent } from './chain-event.ts';
import { ChainWatch } from './chain-watch.ts';
import { Claimer, clusterClaimPort } from './claimer.ts';
import { clusterRecords, lookupRecord } from './cluster-records.ts';
import { ClusterVoteFactory } from './cluster-vote-factory.ts';
import { parseVoterConfig, type VoterConfig, type VoterConfigInput } from './config.ts';
import { VOTE_KNOWN_DEADLINE_MS, runDuty, type DutyDeps, type DutyOutcome } from './duty.ts';
import { VoterAgendasUnknownError, VoterError, VoterStateError } from './errors.ts';
import { EtcdReach } from './etcd-reach.ts';
import { EventDedupe } from './event-dedupe.ts';
import type { VoteSink } from './fanout.ts';
import { planDuty, signerOrder } from './duty-plan.ts';
import { MissedWatch } from './missed-watch.ts';
import { OpenDraws } from './open-draws.ts';
import { RecordQueue } from './record-queue.ts';
import { RecordRepair } from './record-repair.ts';
import { VoteDelivery, type DeliveryStats } from './vote-delivery.ts';
import { STOP_BUDGET_MS, settledWithin, waitUntil } from '../base/index.ts';
import { TSpendBook } from './tspend-book.ts';

/** Collaborators of {@link createVoter}; all optional except the logger. */
export interface VoterDeps {
  /** Root logger; the voter derives `component` children. */
  log: Logger;
  /** Registry to put the voter's and the cluster's metrics on (default: a new one). */
  metrics?: Metrics;
  /** The cluster key bytes, instead of reading `clusterKeyFile` (embedding, tests). Secret. */
  clusterKey?: SecretKey;
  /**
   * Tracer of the voter's spans; default `serviceTracer('votecluster-voter', { region, nodeId })`,
   * so the spans name the voter even when it shares a process (the demo).
   */
  tracer?: Tracer;
  /** Called with every duty result (demo view, tests). Must not throw. */
  onDuty?: (info: DutyEvent) => void;
}

/** One finished duty, for observers. */
export interface DutyEvent {
  ticketHex: string;
  blockHashHex: string;
  height: number;
  outcome: DutyOutcome | 'error';
  rank: number;
  txidHex?: string;
  error?: unknown;
}

/** Counters a running voter reports. */
export interface VoterStats {
  nodeId: string;
  region: string;
  strategy: VoterConfig['strategy'];
  /** Draws of managed tickets started as duties. */
  duties: number;
  outcomes: Record<string, number>;
  takeovers: number;
  /** Chain events dropped as duplicates or too old. */
  eventsDropped: number;
  connectedProxies: number;
  managedTickets: number;
  ownedTickets: number;
  delivery: DeliveryStats;
  records: { written: number; deferred: number; pending: number; dropped: number };
  claims: { sweeps: number; claimed: number; released: number };
  /**
   * Ownership convergence: `unowned` = managed tickets with no claim by any node (cluster-wide,
   * from this voter's caches), `surplus` = claims this voter still has to hand to another rank-0
   * node. Both 0 = every ticket has its owner and owners keep the fast path through an etcd outage.
   */
  ownership: { unowned: number; surplus: number };
  /** Draw → first acceptance, ms, of votes this voter delivered (last 10,000). */
  latenciesMs: number[];
}

/** A voter (see the module comment). */
export interface Voter {
  readonly nodeId: string;
  /** Opens the cluster (joins membership), starts every loop, and resolves once the first ownership sweep is done. */
  start(): Promise<void>;
  /** Stops every loop and awaits it, then leaves the cluster (revokes the lease; claims go with it). Idempotent. */
  stop(): Promise<void>;
  stats(): VoterStats;
  /**
   * Readiness (`/readyz`): running, at least one proxy stream up, etcd reachable and the
   * session lease confirmed within `staleness.leaseMaxAgeMs`: i.e. this voter can sign and
   * deliver its owned draws now.
   */
  readiness(): Readiness;
  /** Liveness (`/healthz`): false once the voter has stopped (or never started because start failed). */
  isAlive(): boolean;
  /** The open cluster handle while running (tests, demo). */
  readonly cluster: Cluster | undefined;
}

const MAX_LATENCY_SAMPLES = 10_000;
/**
 * The abort reason of a retired duty, built once: `abort()` without a reason builds a
 * DOMException with a stack trace per duty (~0.3 ms each, 10 per block on the draw's
 * hot path).
 */
/** Whether the dcrd behind `client` knows `txidHex` (mempool or chain): NOT_FOUND is false; other failures throw. */
async function txKnownAt(client: NodeProxyClient, txidHex: string, deadlineMs: number): Promise<boolean> {
  try {
    await client.getRawTransaction(txidHex, { deadlineMs });
    return true;
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
}

/** How long stop() waits for aborted duties still inside an etcd txn or a proxy query. */
const DUTY_STOP_GRACE_MS = STOP_BUDGET_MS.dutyGrace;
/**
 * Graceful stop: how long the claims may take to be handed to their next signers (one batched
 * txn round; skipped while etcd is known unreachable). Claims not handed over vanish with the lease.
 */
const LEAVE_HANDOVER_MAX_MS = STOP_BUDGET_MS.claimHandover;

const DUTY_RETIRED = new VoterError('VOTER_DUTY_RETIRED', 'the duty\'s block was superseded or is too old');
/** The mined/missed lookups for block X wait this long after X's child connects (the child's own votes go first). */
const MISSED_CHECK_DELAY_MS = 1_000;
/**
 * Extra lease confirmations (cluster `leaseConfirmIntervalMs`): the lease age then lags the truth by
 * at most ~1 s instead of TTL/3, so an owner keeps the fast path through an etcd outage almost
 * as long as `staleness.leaseMaxAgeMs` (owners keep voting while quorum is lost).
 */
const LEASE_CONFIRM_INTERVAL_MS = 1_000;
const ZERO_HASH = '0'.repeat(64);
/** etcd counts as healthy for a backup's hedge (no extra read at the deadline) while the lease was confirmed this recently. */
const ETCD_HEALTHY_LEASE_AGE_MS = 2.5 * LEASE_CONFIRM_INTERVAL_MS;
/**
 * Early release of standby copies after this many hedges (vote-delivery.ts `standbyCheckMs`): by then the
 * owner's own send has been answered (its record follows its first answers), so a dcrd still
 * without the vote will not get it from the owner.
 */
const STANDBY_CHECK_HEDGES = 2;
/** Service name of the voter's spans. */
export const VOTER_TRACE_SERVICE = 'votecluster-voter';
/** Debounce of change-triggered claim sweeps (a burst of released claims becomes one sweep). */
const CLAIM_DEBOUNCE_MS = 100;
/** Safety-net claim sweep interval (a sweep ranks the owner of 100k tickets in ~20-30 ms CPU, in 1,000-ticket chunks). */
const CLAIM_PERIOD_MS = 5_000;
/** Start-up: claims wait for the first proxy stream (a voter with no proxy cannot vote its claims); a warning every this long. */
const CLAIM_AFTER_STREAM_MAX_WAIT_MS = 5_000;

/** How often the ownership gauges (owned, managed, unowned tickets) are refreshed. */
const GAUGE_REFRESH_MS = 2_000;

/**
 * Creates a voter. Validates `input` with {@link VoterConfigSchema}.
 * @throws {VoterConfigError} listing every config issue.
 * @example
 * const voter = createVoter({ nodeId: 'a1', region: 'a', network: 'simnet', etcd: { endpoints },
 *   proxies: [{ address: '127.0.0.1:7100', region: 'a' }], clusterKeyFile: '/etc/votecluster/key' }, { log });
 * await voter.start(); ... await voter.stop();
 */
export function createVoter(input: VoterConfigInput | VoterConfig, deps: VoterDeps): Voter {
  const cfg = parseVoterConfig(input);
  const log = deps.log.child({ component: 'voter', nodeId: cfg.nodeId, region: cfg.region });
  const metrics = deps.metrics ?? createMetrics({ service: 'voter', components: ['voter', 'cluster'], processMetrics: false });
  const m: ComponentMetrics<'voter'> = metrics.get('voter');
  const clusterMetrics = metrics.get('cluster');
  m.redundancyTarget.set(cfg.redundancyTarget);
  const tracer = deps.tracer ?? serviceTracer(VOTER_TRACE_SERVICE, { region: cfg.region, nodeId: cfg.nodeId });
  let gaugeTimer: NodeJS.Timeout | undefined;
  const params = netParams(cfg.network);
  /** The tspends the proxies streamed, until they expire (treasury votes, treasury.ts). */
  const tspendBook = new TSpendBook(params);

  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  let cluster: Cluster | undefined;
  let clients: NodeProxyClient[] = [];
  let proxyTls: TlsReloader | undefined;
  let watch: ChainWatch | undefined;
  let delivery: VoteDelivery | undefined;
  let recordQueue: RecordQueue | undefined;
  let claimer: Claimer | undefined;
  let missed: MissedWatch | undefined;
  let reach: EtcdReach | undefined;
  let repair: RecordRepair | undefined;
  let factory: ClusterVoteFactory | undefined;
  let agendaBook: AgendaBook | undefined;
  let stopping: Promise<void> | undefined;
  const unsubscribers: Array<() => void> = [];
  const dedupe = new EventDedupe(cfg.dedupeCapacity, cfg.maxVoteAgeBlocks);
  const openDraws = new OpenDraws();
  const duties = new Map<string, { abort: AbortController; height: number; blockHashHex: string; done: Promise<void> }>();
  const outcomes: Record<string, number> = {};
  const latencies: number[] = [];
  let dutyCount = 0;
  let takeovers = 0;

  function liveIds(): Set<string> {
    return new Set(cluster?.membership.liveNodes().map((n) => n.nodeId) ?? []);
  }

  /**
   * Before the first draw: each proxy's vote version (GetStatus) and that version's agendas
   * (agenda-book.ts; the etcd copy serves when no proxy answers). Streams refresh them after.
   */
  async function loadAgendas(book: AgendaBook): Promise<void> {
    await Promise.all(cfg.proxies.map(async (p, i) => {
      try {
        const st = await (clients[i] as NodeProxyClient).getStatus({ deadlineMs: cfg.sendDeadlineMs });
        await book.noteProxy(p.address, st.vote_version ?? 0, true);
      } catch (err) {
        log.warn({ err, proxy: p.address }, 'could not read a proxy\'s vote version; its stream will report it');
      }
    }));
  }

  /** Starts the duty of one managed ticket on one draw unless it has one already; false when it had one. */
  function startDuty(ticketHex: string, ev: WinningTicketsEvent, deps2: DutyDeps): boolean {
    const key = dutyKey(ticketHex, ev.blockHashHex);
    if (duties.has(key)) return false;
    dutyCount++;
    m.draws.inc();
    // The vote's inputs are those in force when the draw arrived (or, for a ticket that entered
    // the cluster later, when it entered), whatever path the duty takes.
    factory?.pin(ticketHex, ev);
    const abort = new AbortController();
    const done = runDuty(deps2, ticketHex, ev, abort.signal).then(
      (r) => {
        outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
        if (r.outcome === 'took-over' && r.rank > 0) takeovers++;
        if (r.txidHex && (r.outcome === 'fast-sent' || r.outcome === 'took-over' || r.outcome === 'all-vote-sent')) {
          missed?.signed(ev.blockHashHex, ev.height, ticketHex, r.txidHex);
        }
        log.info({ ticket: ticketHex, height: ev.height, blockHashHex: ev.blockHashHex, outcome: r.outcome, rank: r.rank, voteTxid: r.txidHex }, 'duty done');
        deps.onDuty?.({ ticketHex, blockHashHex: ev.blockHashHex, height: ev.height, outcome: r.outcome, rank: r.rank, ...(r.txidHex ? { txidHex: r.txidHex } : {}) });
      },
      (err: unknown) => {
        // A duty that cannot build (ticket removed meanwhile, corrupt record, wrong key):
        // logged as an operator problem; the other duties are unaffected.
        outcomes['error'] = (outcomes['error'] ?? 0) + 1;
        if (err instanceof VoterAgendasUnknownError) m.agendasUnknown.inc();
        log.error({ err, ticket: ticketHex, height: ev.height }, 'duty failed');
        deps.onDuty?.({ ticketHex, blockHashHex: ev.blockHashHex, height: ev.height, outcome: 'error', rank: -1, error: err });
      },
    );
    duties.set(key, { abort, height: ev.height, blockHashHex: ev.blockHashHex, done });
    return true;
  }

  function startDuties(ev: WinningTicketsEvent, deps2: DutyDeps): void {
    const c = cluster as Cluster;
    const managedTickets: string[] = [];
    for (const ticketHex of ev.ticketsHex) {
      if (!c.tickets.get(ticketHex)) continue;
      managedTickets.push(ticketHex);
      startDuty(ticketHex, ev, deps2);
    }
    if (managedTickets.length > 0) {
      repair?.drawSeen(ev.blockHashHex, ev.height, managedTickets, ev.receivedAtMs);
      log.debug({ height: ev.height, blockHashHex: ev.blockHashHex, managed: managedTickets.length }, 'draw received');
    }
  }

  /**
   * A ticket that entered the cluster after its draw arrived (imported late; or named again by a
   * re-delivered draw it was not managed at): voted at once on each open draw that names it, on
   * the record-first path (`lateDeps`: nothing was committed for it before the draw).
   */
  function startLateDuties(ticketHex: string, draws: readonly WinningTicketsEvent[], lateDeps: DutyDeps): void {
    const c = cluster as Cluster;
    if (!c.tickets.get(ticketHex)) return;
    for (const ev of draws) {
      if (!startDuty(ticketHex, ev, lateDeps)) continue;
      repair?.drawSeen(ev.blockHashHex, ev.height, [ticketHex], ev.receivedAtMs);
      m.lateTickets.inc();
      log.info({ ticket: ticketHex, height: ev.height, blockHashHex: ev.blockHashHex, drawAgeMs: Date.now() - ev.receivedAtMs }, 'ticket entered the cluster while its draw is open; voting it now');
    }
  }

  function retireDuties(pred: (d: { height: number; blockHashHex: string }) => boolean): void {
    factory?.unpin(pred);
    for (const [key, d] of duties) {
      if (pred(d)) {
        d.abort.abort(DUTY_RETIRED);
        duties.delete(key);
      }
    }
  }

  function onEvent(ev: ChainEvent, dutyDeps: DutyDeps, lateDeps: DutyDeps): void {
    // Every proxy's draws carry its dcrd's vote version: a dcrd upgraded behind a live stream shows here.
    if (ev.kind === 'winning-tickets') void agendaBook?.noteProxy(ev.proxy, ev.voteVersion, false);
    const r = dedupe.admit(ev);
    if (!r.admitted) {
      // A draw delivered again while still open: tickets it names that became managed since its
      // first arrival are voted now (the ticket watch normally got there first; this is the net).
      if (ev.kind === 'winning-tickets' && openDraws.isOpen(ev.blockHashHex)) {
        const first = openDraws.draw(ev.blockHashHex) as WinningTicketsEvent;
        for (const t of first.ticketsHex) if (!duties.has(dutyKey(t, first.blockHashHex))) startLateDuties(t, [first], lateDeps);
      }
      return;
    }
    switch (ev.kind) {
      case 'block-connected':
        openDraws.blockConnected(ev.height);
        delivery?.blockConnected(ev.height);
        missed?.blockConnected(ev.blockHashHex, ev.prevHashHex, ev.height);
        retireDuties((d) => d.height + cfg.maxVoteAgeBlocks < ev.height);
        break;
      case 'block-disconnected':
        openDraws.blockDisconnected(ev.blockHashHex);
        delivery?.blockDisconnected(ev.blockHashHex);
        missed?.blockDisconnected(ev.blockHashHex);
        retireDuties((d) => d.blockHashHex === ev.blockHashHex);
        break;
      case 'winning-tickets':
        openDraws.add(ev);
        startDuties(ev, dutyDeps);
        break;
    }
  }

  async function start(): Promise<void> {
    if (state !== 'new') throw new VoterStateError(`start() called in state ${state}`);
    state = 'starting';
    const c = await openCluster(
      {
        endpoints: cfg.etcd.endpoints, network: cfg.network, nodeId: cfg.nodeId, region: cfg.region,
        proxies: cfg.proxies.map((p) => p.address), leaseTtlSec: cfg.leaseTtlSec, dialTimeoutMs: cfg.etcd.dialTimeoutMs,
        leaseConfirmIntervalMs: LEASE_CONFIRM_INTERVAL_MS,
        ...(etcdAccessOf(cfg.etcd) ? { etcdAccess: etcdAccessOf(cfg.etcd) } : {}),
        ...(deps.clusterKey ? { clusterKey: new Uint8Array(deps.clusterKey.expose()) } : { clusterKeyFile: cfg.clusterKeyFile }),
        ...(cfg.nextClusterKeyFile !== undefined ? { nextClusterKeyFile: cfg.nextClusterKeyFile } : {}),
      },
      { metrics, log: log.child({ component: 'cluster' }) },
    );
    cluster = c;
    proxyTls = cfg.tls ? new TlsReloader(cfg.tls, { log }) : undefined;
    const credentials = proxyTls ? grpcChannelCredentials(proxyTls) : undefined;
    clients = cfg.proxies.map((p) => createNodeProxyClient(p.address, { clientId: cfg.nodeId, ...(credentials ? { credentials } : {}) }));
    const sinks: VoteSink[] = clients.map((client, i) => ({
      address: (cfg.proxies[i] as { address: string }).address,
      sendVote: (raw, o) => client.sendVote(raw, o),
    }));
    delivery = new VoteDelivery(sinks, {
      sendDeadlineMs: cfg.sendDeadlineMs, resendIntervalMs: cfg.resendIntervalMs, maxVoteAgeBlocks: cfg.maxVoteAgeBlocks,
      retryBaseMs: cfg.retry.baseMs, retryMaxMs: cfg.retry.maxMs, standbyCheckMs: STANDBY_CHECK_HEDGES * cfg.hedgeMs,
    }, {
      isNodeLive: (id) => liveIds().has(id),
      knownTo: (address, txidHex) =>
        txKnownAt(clients[cfg.proxies.findIndex((p) => p.address === address)] as NodeProxyClient, txidHex, cfg.sendDeadlineMs),
      onReleasedEarly: (vote, proxies) => log.warn({ ticket: vote.ticketHex, height: vote.height, signer: vote.signer, voteTxid: vote.txidHex, proxies }, 'stored vote missing from a dcrd while its signer is live; sent the stored bytes'),
      onOutcome: (vote, o, attempt) => {
        m.broadcasts.inc({ result: o.status === 'ERROR' ? 'error' : o.status.toLowerCase() });
        if (o.state === 'conflict') {
          m.votes.inc({ outcome: 'conflict' });
          log.error({ ticket: vote.ticketHex, height: vote.height, voteTxid: vote.txidHex, proxy: o.proxy, message: o.message }, 'a different vote for this ticket is already in the mempool');
        } else if (o.state === 'rejected') {
          m.votes.inc({ outcome: 'rejected' });
          log.warn({ ticket: vote.ticketHex, height: vote.height, voteTxid: vote.txidHex, proxy: o.proxy, message: o.message }, 'vote rejected by proxy');
        } else if (o.state === 'retry' && attempt === 1) {
          log.warn({ ticket: vote.ticketHex, proxy: o.proxy, message: o.message }, 'vote send failed; will retry');
        }
      },
      onFirstDelivered: (vote, latencyMs, o) => {
        // DUPLICATE: that dcrd already held these exact bytes (another voter or proxy sent them): success.
        m.votes.inc({ outcome: o.status === 'DUPLICATE' ? 'duplicate' : 'accepted' });
        m.voteLatency.observe({ strategy: cfg.strategy }, latencyMs / 1000);
        latencies.push(latencyMs);
        if (latencies.length > MAX_LATENCY_SAMPLES) latencies.shift();
      },
      onPromoted: (vote) => log.warn({ ticket: vote.ticketHex, height: vote.height, signer: vote.signer }, 'signer left; delivering its stored vote'),
    });
    missed = new MissedWatch({
      locate: async (txid, inBlock) => {
        // Any proxy that knows the block wins; "only in a mempool" or "unknown" from
        // one that answered is a verdict; failures of every proxy are not.
        let lastErr: unknown;
        let inMempool = false;
        let notFound = false;
        for (const client of clients) {
          try {
            const r = await client.getTransactionBlock(txid, { deadlineMs: cfg.sendDeadlineMs, blockHash: inBlock });
            if (r.blockHash) return { blockHash: r.blockHash };
            inMempool = true;
          } catch (err) {
            if (err instanceof NotFoundError) notFound = true;
            else lastErr = err;
          }
        }
        if (inMempool) return {};
        if (notFound) return 'not-found';
        throw lastErr;
      },
      onMissed: () => m.missedTickets.inc(),
      maxAgeBlocks: cfg.maxVoteAgeBlocks + 2,
      checkDelayMs: MISSED_CHECK_DELAY_MS,
      log: log.child({ component: 'missed' }),
    });
    const records = clusterRecords(c);
    const etcdReach = new EtcdReach(() => c.votes.getVote(0, ZERO_HASH, ZERO_HASH), log.child({ component: 'etcd-reach' }));
    etcdReach.attachSession(
      { leaseAgeMs: () => c.membership.leaseAgeMs(), isVotesWatchConnected: () => c.votes.isWatchConnected },
      { leaseMaxAgeMs: cfg.staleness.leaseMaxAgeMs, recentLeaseAgeMs: ETCD_HEALTHY_LEASE_AGE_MS },
    );
    reach = etcdReach;
    const queue = new RecordQueue(records, log.child({ component: 'records' }), { retryBaseMs: cfg.retry.baseMs, retryMaxMs: cfg.retry.maxMs, reach: etcdReach });
    recordQueue = queue;
    unsubscribers.push(etcdReach.onReachable(() => queue.kick()));
    const recordRepair = new RecordRepair({
      records, reach: etcdReach, lookup: lookupRecord(c),
      knownToDcrd: async (txidHex) => {
        // Any proxy that returns the tx: known. All answering "not found": unknown. Else: throw (retry later).
        const answers = await Promise.allSettled(clients.map((pc) => txKnownAt(pc, txidHex, cfg.sendDeadlineMs)));
        if (answers.some((a) => a.status === 'fulfilled' && a.value)) return true;
        if (answers.some((a) => a.status === 'fulfilled')) return false;
        throw (answers[0] as PromiseRejectedResult | undefined)?.reason ?? new Error('no proxy');
      },
      chainVotes: async (blockHashHex, height) => {
        // Union over every proxy that answers (each dcrd's mempool and main-chain child); throws only if none did.
        const answers = await Promise.allSettled(clients.map((pc) => pc.getBlockVotes(blockHashHex, height, { deadlineMs: cfg.sendDeadlineMs })));
        const ok = answers.filter((a) => a.status === 'fulfilled');
        if (ok.length === 0) throw (answers[0] as PromiseRejectedResult | undefined)?.reason ?? new Error('no proxy');
        return ok.flatMap((a) => a.value.map((v) => ({ rawTx: v.raw, txidHex: v.txid, ...(v.minedIn ? { minedIn: v.minedIn } : {}) })));
      },
      repairRank: (ticketHex) => signerOrder(cfg.nodeId, c.owners.rank(ticketHex).map((n) => n.nodeId), c.owners.ownerOf(ticketHex)).indexOf(cfg.nodeId),
      selfId: cfg.nodeId,
    }, log.child({ component: 'record-repair' }));
    repair = recordRepair;
    factory = new ClusterVoteFactory(
      c.tickets, () => c.config.voteDefaults().voteChoices, () => agendaBook?.current(), params, log, () => c.config.voteDefaultsRevision(),
      { tspends: tspendBook, defaults: () => c.config.voteDefaults() },
    );
    const planFor = (t: string, lateTicket: boolean) => planDuty({
      selfId: cfg.nodeId,
      ranked: c.owners.rank(t).map((n) => n.nodeId),
      claimHolder: c.owners.ownerOf(t),
      isLeaseFresh: etcdReach.isLeaseFresh(),
      isWatchFresh: c.tickets.watchAgeMs() < cfg.staleness.watchMaxAgeMs,
      hedgeMs: cfg.hedgeMs,
      lateTicket,
    });
    const dutyDeps: DutyDeps = {
      selfId: cfg.nodeId,
      strategy: cfg.strategy,
      plan: (t) => planFor(t, false),
      factory, records, delivery, recordQueue: queue, log: log.child({ component: 'duty' }), metrics: m,
      reach: etcdReach, onUnrecorded: (rec) => recordRepair.add(rec),
      retryBaseMs: cfg.retry.baseMs, retryMaxMs: cfg.retry.maxMs, tracer,
      // A backup's "is this vote already out?" goes to the nearest dcrd (its region's proxy, else the first).
      voteKnown: (txidHex) =>
        txKnownAt(clients[Math.max(0, cfg.proxies.findIndex((p) => p.region === cfg.region))] as NodeProxyClient, txidHex, VOTE_KNOWN_DEADLINE_MS),
    };
    const lateDeps: DutyDeps = { ...dutyDeps, plan: (t) => planFor(t, true) };
    // A ticket entering the cluster while one of its draws is open is voted on that draw now.
    unsubscribers.push(
      c.tickets.onChange((ch) => {
        if (ch.type !== 'put' || ch.previous !== undefined || state !== 'running' || openDraws.size === 0) return;
        const ticketHex = ch.entry.key.slice(c.keyspace.ticketsPrefix().length);
        const draws = openDraws.drawsOf(ticketHex);
        if (draws.length > 0) startLateDuties(ticketHex, draws, lateDeps);
      }),
    );
    if (cfg.strategy === 'lease') {
      // Ticket hashes, never record views: a sweep must stay cheap (it can land in a vote window).
      claimer = new Claimer(clusterClaimPort(c, () => etcdReach.isLeaseFresh()),
        log.child({ component: 'claimer' }), { debounceMs: CLAIM_DEBOUNCE_MS, periodMs: CLAIM_PERIOD_MS });
      const poke = (): void => claimer?.poke();
      unsubscribers.push(
        // Only changes that can move a claim: a new ticket, a claim that vanished, a node joining or leaving.
        c.tickets.onChange((ch) => {
          if (ch.type === 'put' && ch.previous === undefined) poke();
        }),
        c.owners.onChange((ch) => {
          if (ch.type === 'delete') poke();
        }),
        c.membership.onNodesChange(poke),
      );
    }
    agendaBook = new AgendaBook({
      proxies: cfg.proxies.map((p, i) => ({ address: p.address, client: clients[i] as NodeProxyClient })),
      store: c.config,
      log: log.child({ component: 'agendas' }),
      deadlineMs: cfg.sendDeadlineMs,
      onVersion: (v, mismatch) => {
        m.voteVersion.set(v);
        m.voteVersionMismatch.set(mismatch ? 1 : 0);
      },
    });
    await loadAgendas(agendaBook);
    watch = new ChainWatch(cfg.proxies.map((p, i) => ({ address: p.address, client: clients[i] as NodeProxyClient })), {
      onEvent: (ev) => onEvent(ev, dutyDeps, lateDeps),
      onStreamStart: (address, info) => {
        if (info.bestHeight !== undefined) dedupe.noteBestHeight(info.bestHeight);
        if (info.reconnected) delivery?.proxyReconnected(address);
        // Agendas are read again on every (re)connected stream (and on a vote-version change).
        void agendaBook?.noteProxy(address, info.voteVersion, true);
        m.connectedProxies.set(watch?.connectedCount ?? 0);
        log.info({ proxy: address, resumeStatus: info.resumeStatus, bestHeight: info.bestHeight }, 'proxy stream started');
      },
      onStreamDown: (address, err) => {
        agendaBook?.proxyDown(address);
        m.connectedProxies.set(watch?.connectedCount ?? 0);
        log.debug({ proxy: address, err }, 'proxy stream down');
      },
      onTSpend: (t) => {
        try {
          if (tspendBook.addRaw(t.raw).added) log.info({ tspend: t.hashHex, expiry: t.expiry, proxy: t.proxy }, 'tspend known');
        } catch (err) {
          log.warn({ err, tspend: t.hashHex, proxy: t.proxy }, 'tspend refused (fails dcrd checks)');
        }
      },
    }, { retryBaseMs: cfg.retry.baseMs, retryMaxMs: cfg.retry.maxMs, log });
    delivery.start();
    queue.start();
    recordRepair.start();
    // Watch first, claim after: a claim tells the other voters "I sign this ticket, back me up after
    // the hedge", so it must not exist before this voter hears draws (else the draw open at start-up,
    // replayed to each voter when its streams start, is taken over by backups that started earlier).
    watch.start();
    state = 'running';
    if (claimer) {
      const w = watch;
      // A voter that hears no draws cannot vote what it claims: no claims until a stream is up
      // (a proxy down, or refusing this voter's certificate, keeps it from claiming at all).
      for (let waitedMs = 0; ; ) {
        if (await waitUntil(() => w.connectedCount > 0 || state !== 'running', CLAIM_AFTER_STREAM_MAX_WAIT_MS)) break;
        waitedMs += CLAIM_AFTER_STREAM_MAX_WAIT_MS;
        log.warn({ waitedMs, proxies: cfg.proxies.map((p) => p.address) }, 'no proxy stream yet; not claiming tickets until one is up (check the proxies and the TLS files)');
      }
      if (state !== 'running') return; // stopped meanwhile
      claimer.start();
    }
    await claimer?.ready;
    const refreshGauges = (): void => {
      m.managedTickets.set(c.tickets.size);
      if (cfg.strategy !== 'lease') return;
      // No per-ticket work here (it would block the event loop at 100k tickets): the claimer's
      // chunked sweep counts the unowned tickets.
      m.ownedTickets.set(c.owners.ownedCount());
      const unowned = claimer?.unowned;
      if (unowned !== undefined) clusterMetrics.unownedTickets.set(unowned);
      // Recount for the next refresh (chunked; claims by other nodes arrive after our sweep).
      claimer?.refreshUnownedCount().catch((err: unknown) => {
        // A gauge only: log and keep the last value; the next refresh tries again.
        log.warn({ err }, 'unowned ticket count failed');
      });
    };
    refreshGauges();
    // Owned by this voter: cleared in doStop().
    gaugeTimer = setInterval(refreshGauges, GAUGE_REFRESH_MS);
    gaugeTimer.unref();
    log.info({ managed: c.tickets.size, owned: c.owners.ownedByMe().length, strategy: cfg.strategy }, 'voter started');
  }

  async function doStop(): Promise<void> {
    state = 'stopping';
    if (gaugeTimer) clearInterval(gaugeTimer);
    // Hand every claim to its next signer while this voter still hears draws, so no ticket is
    // unowned when the lease goes (a rolling restart moves claims without a gap).
    if (claimer) {
      await claimer.stop();
      if (reach?.isReachable !== false) await claimer.leave(LEAVE_HANDOVER_MAX_MS);
    }
    watch?.stop();
    for (const d of duties.values()) d.abort.abort(DUTY_RETIRED);
    // Aborted duties end at their next await, except one inside an etcd txn or a proxy query
    // (up to ~6 s with the etcd client's retries under load): the CLI's 5 s shutdown cap must
    // hold, so they get a bounded wait. One still running can only finish its own step (its
    // record is create-if-absent and recorded-before-sent; the clients close under it).
    const pendingDuties = [...duties.values()].map((d) => d.done);
    const dutiesSettled = settledWithin(Promise.allSettled(pendingDuties), DUTY_STOP_GRACE_MS).then((settled) => {
      if (!settled) log.warn({ duties: pendingDuties.length, graceMs: DUTY_STOP_GRACE_MS }, 'duties still in an etcd or proxy call at stop; not waiting longer');
    });
    // The duties' grace and the independent loops run together, so their last in-flight calls
    // overlap instead of adding up (with etcd unreachable every bounded wait is spent in full).
    await Promise.all([dutiesSettled, claimer?.stop(), missed?.stop(), delivery?.stop()]);
    duties.clear();
    await recordQueue?.stop();
    await repair?.stop();
    await reach?.stop();
    for (const u of unsubscribers.splice(0)) u();
    for (const c of clients) c.close();
    proxyTls?.close();
    await cluster?.close();
    state = 'stopped';
    log.info({}, 'voter stopped');
  }

  return {
    nodeId: cfg.nodeId,
    get cluster() {
      return cluster;
    },
    start,
    stop(): Promise<void> {
      if (state === 'new') {
        state = 'stopped';
        return Promise.resolve();
      }
      return (stopping ??= doStop());
    },
    readiness(): Readiness {
      const proxies = watch?.connectedCount ?? 0;
      const leaseAge = state === 'running' ? reach?.leaseAgeMs() : undefined;
      return readinessOf({
        running: { ok: state === 'running', detail: state },
        proxies: { ok: state === 'running' && proxies > 0, detail: `${proxies} of ${clients.length} proxy streams up` },
        etcd: { ok: state === 'running' && reach?.isReachable === true, detail: reach?.isReachable === false ? 'unreachable' : reach ? 'reachable' : 'not opened' },
        lease: {
          ok: leaseAge !== undefined && reach?.isLeaseFresh() === true,
          detail: leaseAge === undefined ? 'no session' : `confirmed ${Math.round(leaseAge)} ms ago (max ${cfg.staleness.leaseMaxAgeMs})`,
        },
      });
    },
    isAlive(): boolean {
      return state !== 'stopped';
    },
    stats(): VoterStats {
      return {
        nodeId: cfg.nodeId,
        region: cfg.region,
        strategy: cfg.strategy,
        duties: dutyCount,
        outcomes: { ...outcomes },
        takeovers,
        eventsDropped: dedupe.dropped,
        connectedProxies: watch?.connectedCount ?? 0,
        managedTickets: cluster?.tickets.size ?? 0,
        ownedTickets: cluster?.owners.ownedCount() ?? 0,
        delivery: delivery?.stats() ?? {
          tracked: 0, votesSent: 0, sends: 0, sendsByProxy: {}, delivered: 0, conflicts: 0, rejected: 0, promoted: 0, replaced: 0,
          releasedEarly: 0, standbyChecks: 0,
        },
        records: recordQueue?.stats() ?? { written: 0, deferred: 0, pending: 0, dropped: 0 },
        claims: claimer?.stats() ?? { sweeps: 0, claimed: 0, released: 0 },
        ownership: { unowned: claimer?.unowned ?? 0, surplus: claimer?.surplus() ?? 0 },
        latenciesMs: [...latencies],
      };
    },
  };
}
