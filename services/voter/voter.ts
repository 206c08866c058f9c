/**
 * `createVoter`: the voter as an ordered list of components (`components`
 * below), started in that order and stopped in reverse under one stop
 * deadline (services/base/lifecycle.ts, stop-budget.ts):
 *
 *   cluster        etcd session, caches of tickets/owners/votes/config (cluster service)
 *   proxies        one gRPC client per node proxy (proxy-pool.ts)
 *   wiring         the vote path's parts, built once the cluster is open (below)
 *   etcd reach     whether etcd answers now (etcd-reach.ts)
 *   record repair  records for votes that went out during an etcd outage (record-repair.ts)
 *   record queue   fast-path records, queued while etcd is down (record-queue.ts)
 *   votes          duties (duty-scheduler.ts, duty.ts), delivery until mined (vote-delivery.ts),
 *                  the mined/missed check (missed-watch.ts); the hedge backups wait, learned
 *                  from the records other signers' votes show up in (hedge.ts)
 *   agendas        each proxy's vote version and its agendas (agenda-book.ts)
 *   streams        WatchChain on every proxy → dedupe → duties (chain-watch.ts, event-dedupe.ts)
 *   claims         owner claims ahead of draws, lease strategy only (claimer.ts)
 *   gauges         ownership gauges
 *
 * The path of one draw: a proxy stream delivers it (`onEvent`), the deduper
 * keeps the first arrival, the scheduler starts one duty per managed ticket;
 * the duty plans (duty-plan.ts), builds and signs (cluster-vote-factory.ts),
 * sends through every proxy and records (duty.ts).
 * Stateless: everything it needs comes from etcd and the proxies' streams; a
 * restarted voter replays the open draws and the records make that harmless.
 */
import { etcdAccessOf, openCluster, type Cluster } from '../cluster/index.ts';
import { netParams } from '../decred/index.ts';
import type { Tracer } from '@opentelemetry/api';
import { createMetrics, readinessOf, serviceTracer, type ComponentMetrics, type Logger, type Metrics, type Readiness, type SecretKey } from '../telemetry/index.ts';
import { Lifecycle, SHUTDOWN_DEADLINE_MS, STOP_BUDGET_MS, type Component } from '../base/index.ts';
import { AgendaBook } from './agenda-book.ts';
import type { ChainEvent, WinningTicketsEvent } from './chain-event.ts';
import type { ChainWatchHandlers } from './chain-watch.ts';
import { Claimer, clusterClaimPort } from './claimer.ts';
import { clusterRecords, lookupRecord } from './cluster-records.ts';
import { ClusterVoteFactory } from './cluster-vote-factory.ts';
import { VOTER_TIMING, parseVoterConfig, usesClaims, type VoterConfig, type VoterConfigInput } from './config.ts';
import type { DutyDeps } from './duty-common.ts';
import { VOTE_KNOWN_DEADLINE_MS } from './vote-check.ts';
import { planDuty, signerOrder } from './duty-plan.ts';
import { DutyScheduler, type DutyEvent } from './duty-scheduler.ts';
import { VoterStateError } from './errors.ts';
import { EtcdReach } from './etcd-reach.ts';
import { EventDedupe } from './event-dedupe.ts';
import { AdaptiveHedge, type HedgeStatus } from './hedge.ts';
import { MissedWatch } from './missed-watch.ts';
import { OpenDraws } from './open-draws.ts';
import { PeerPresence } from './peer-presence.ts';
import { planRegion } from './region-plan.ts';
import { ProxyPool } from './proxy-pool.ts';
import { RecordQueue } from './record-queue.ts';
import { RecordRepair } from './record-repair.ts';
import { TSpendBook } from './tspend-book.ts';
import type { VoteFactory } from './vote-factory.ts';
import { VoteDelivery, type DeliveryStats, type VoteDeliveryHooks } from './vote-delivery.ts';

export type { DutyEvent } from './duty-scheduler.ts';

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
  /** The hedge backups wait now, per region of the signer waited for, and what it was learned from (hedge.ts). */
  hedge: HedgeStatus;
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

/** Service name of the voter's spans. */
export const VOTER_TRACE_SERVICE = 'votecluster-voter';
const MAX_LATENCY_SAMPLES = 10_000;
/** The ticket the etcd reachability probe reads (none: a cheap linearizable read). */
const ZERO_HASH = '0'.repeat(64);

/** The vote path's parts, built together once the cluster is open (see `wire`). */
interface Parts {
  reach: EtcdReach;
  repair: RecordRepair;
  queue: RecordQueue;
  delivery: VoteDelivery;
  missed: MissedWatch;
  agendas: AgendaBook;
  claimer: Claimer | undefined;
  /** Deps of a duty on a draw as it arrives, and of a late one (record-first: nothing was committed before the draw). */
  dutyDeps: DutyDeps;
  lateDeps: DutyDeps;
  /** Cache subscriptions, dropped at stop. */
  unsubscribe: Array<() => void>;
}

/** What the voter reads from the live membership, rebuilt per membership version. */
interface LiveVoters {
  version: number;
  /** Live voters' regions by node id (the hedge learns per signer region). */
  regionById: Map<string, string>;
  /** Whether a live voter of an older version (no `heightInputs` or no `committedVoteVersion` in `nodes/`) is in the cluster. */
  olderVoters: boolean;
}

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
  m.redundancyTarget.set(cfg.redundancyTarget);
  const tracer = deps.tracer ?? serviceTracer(VOTER_TRACE_SERVICE, { region: cfg.region, nodeId: cfg.nodeId });
  const params = netParams(cfg.network);
  /** The tspends the proxies streamed, until they expire (treasury votes). */
  const tspendBook = new TSpendBook(params);
  const proxies = new ProxyPool(cfg.proxies, {
    clientId: cfg.nodeId, region: cfg.region, tls: cfg.tls, callDeadlineMs: cfg.sendDeadlineMs, retry: cfg.retry, log,
  });
  const dedupe = new EventDedupe(cfg.dedupeCapacity, cfg.maxVoteAgeBlocks);
  const openDraws = new OpenDraws();
  /** Voters the proxies declared gone (crashed): their backups race at once instead of hedging. */
  const presence = new PeerPresence();
  /** The hedge for silent failures, learned from observed waits; never longer than `hedgeMs`. */
  const hedge = new AdaptiveHedge({ ceilingMs: cfg.hedgeMs });
  /** The live membership as the voter reads it, rebuilt when membership changes. */
  let liveCache: LiveVoters | undefined;
  const latencies: number[] = [];

  let state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  let cluster: Cluster | undefined;
  let p: Parts | undefined;
  let gaugeTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let factory: ClusterVoteFactory | undefined;

  const duties = new DutyScheduler({
    isManaged: (t) => cluster?.tickets.get(t) !== undefined,
    pin: (t, ev) => factory?.pin(t, ev),
    unpin: (pred) => factory?.unpin(pred),
    drawSeen: (...a) => p?.repair.drawSeen(...a),
    signed: (...a) => p?.missed.signed(...a),
    onDuty: deps.onDuty,
  }, m, log);

  /** The components, in start order (see the module comment); stopped in reverse. */
  const components: Component[] = [
    {
      name: 'cluster',
      start: async () => { cluster = await openVoterCluster(); },
      // Bounded inside: watch caches (STOP_BUDGET_MS.watchCancel), then the lease revoke (leaseRevoke).
      stop: () => cluster?.close(),
    },
    { name: 'proxies', start: () => proxies.open(), stop: () => proxies.close() },
    {
      name: 'wiring',
      start: () => { p = wire(cluster as Cluster); },
      stop: () => { for (const u of p?.unsubscribe.splice(0) ?? []) u(); },
    },
    { name: 'etcd reach', start: () => undefined, stop: () => p?.reach.stop() },
    { name: 'record repair', start: () => p?.repair.start(), stop: () => p?.repair.stop() },
    {
      name: 'record queue',
      start: () => p?.queue.start(),
      stop: (budgetMs) => p?.queue.stop(budgetMs),
      stopShareMs: STOP_BUDGET_MS.recordFlush,
    },
    {
      name: 'votes',
      start: () => p?.delivery.start(),
      // The duties' grace and the other loops run together, so their last in-flight calls
      // overlap instead of adding up (with etcd unreachable every bounded wait is spent in full).
      stop: async (budgetMs) => { await Promise.all([duties.stop(budgetMs), p?.missed.stop(), p?.delivery.stop()]); },
      stopShareMs: STOP_BUDGET_MS.dutyGrace,
    },
    // Before the first draw: each proxy's vote version and its agendas (the etcd copy serves when no proxy answers).
    { name: 'agendas', start: () => (p ? proxies.readVoteVersions(p.agendas) : undefined), stop: () => undefined },
    {
      name: 'streams',
      start: () => {
        proxies.watch(streamHandlers());
        state = 'running';
      },
      stop: () => proxies.stopWatch(),
    },
    // Watch first, claim after: a claim tells the other voters "I sign this ticket, back me up after
    // the hedge", so it must not exist before this voter hears draws (else the draw open at start-up,
    // replayed to each voter when its streams start, is taken over by backups that started earlier).
    {
      name: 'claims',
      start: async (signal) => {
        const claimer = p?.claimer;
        if (!claimer) return;
        // A voter that hears no draws cannot vote what it claims: no claims until a stream is up
        // (a proxy down, or refusing this voter's certificate, keeps it from claiming at all).
        if (!(await proxies.waitForStream(() => signal.aborted, VOTER_TIMING.claimStreamWarnMs))) return;
        claimer.start();
        // Start-up ends once this voter owns its share (claimed or handed over); a stop ends the wait.
        await Promise.race([claimer.ready, abortedPromise(signal)]);
      },
      // Hand every claim to its next signer while this voter still hears draws, so no ticket is
      // unowned when the lease goes (a rolling restart moves claims without a gap); skipped while
      // etcd is known unreachable. Claims not handed over vanish with the lease.
      stop: async (budgetMs) => {
        const claimer = p?.claimer;
        if (!claimer) return;
        await claimer.stop();
        if (p?.reach.isReachable !== false) await claimer.leave(budgetMs);
      },
      stopShareMs: STOP_BUDGET_MS.claimHandover,
    },
    {
      name: 'gauges',
      start: () => {
        refreshGauges();
        gaugeTimer = setInterval(refreshGauges, VOTER_TIMING.gaugeRefreshMs);
        gaugeTimer.unref();
        const c = cluster as Cluster;
        log.info({ managed: c.tickets.size, owned: c.owners.ownedByMe().length, strategy: cfg.strategy }, 'voter started');
      },
      stop: () => clearInterval(gaugeTimer),
    },
  ];
  const lifecycle = new Lifecycle(components, SHUTDOWN_DEADLINE_MS, log);

  function openVoterCluster(): Promise<Cluster> {
    const access = etcdAccessOf(cfg.etcd);
    return openCluster(
      {
        endpoints: cfg.etcd.endpoints, network: cfg.network, nodeId: cfg.nodeId, region: cfg.region,
        proxies: cfg.proxies.map((x) => x.address), leaseTtlSec: cfg.leaseTtlSec, dialTimeoutMs: cfg.etcd.dialTimeoutMs,
        leaseConfirmIntervalMs: VOTER_TIMING.leaseConfirmIntervalMs,
        ...(access ? { etcdAccess: access } : {}),
        ...(deps.clusterKey ? { clusterKey: new Uint8Array(deps.clusterKey.expose()) } : { clusterKeyFile: cfg.clusterKeyFile }),
        ...(cfg.nextClusterKeyFile !== undefined ? { nextClusterKeyFile: cfg.nextClusterKeyFile } : {}),
      },
      { metrics, log: log.child({ component: 'cluster' }) },
    );
  }

  /** Builds the vote path's parts on the open cluster (nothing runs yet; the components start them). */
  function wire(c: Cluster): Parts {
    const records = clusterRecords(c);
    const reach = new EtcdReach(() => c.votes.getVote(0, ZERO_HASH, ZERO_HASH), log.child({ component: 'etcd-reach' }));
    reach.attachSession(
      { leaseAgeMs: () => c.membership.leaseAgeMs(), isVotesWatchConnected: () => c.votes.isWatchConnected },
      { leaseMaxAgeMs: cfg.staleness.leaseMaxAgeMs, recentLeaseAgeMs: VOTER_TIMING.etcdHealthyLeaseAgeMs },
    );
    const queue = new RecordQueue(records, log.child({ component: 'records' }), { retryBaseMs: cfg.retry.baseMs, retryMaxMs: cfg.retry.maxMs, reach });
    const repair = new RecordRepair({
      records, reach, lookup: lookupRecord(c),
      knownToDcrd: (txidHex) => proxies.knownAnywhere(txidHex),
      chainVotes: (blockHashHex, height) => proxies.chainVotes(blockHashHex, height),
      repairRank: (t) => signerOrder(cfg.nodeId, c.owners.rank(t).map((n) => n.nodeId), c.owners.ownerOf(t)).indexOf(cfg.nodeId),
      selfId: cfg.nodeId,
    }, log.child({ component: 'record-repair' }));
    const delivery = new VoteDelivery(proxies.sinks(), {
      sendDeadlineMs: cfg.sendDeadlineMs, resendIntervalMs: cfg.resendIntervalMs, maxVoteAgeBlocks: cfg.maxVoteAgeBlocks,
      retryBaseMs: cfg.retry.baseMs, retryMaxMs: cfg.retry.maxMs, standbyCheckMs: VOTER_TIMING.standbyCheckHedges * cfg.hedgeMs,
    }, deliveryHooks(c));
    const missed = new MissedWatch({
      locate: (txid, inBlock) => proxies.locate(txid, inBlock),
      onMissed: () => m.missedTickets.inc(),
      maxAgeBlocks: cfg.maxVoteAgeBlocks + 2,
      checkDelayMs: VOTER_TIMING.missedCheckDelayMs,
      log: log.child({ component: 'missed' }),
    });
    const agendas = new AgendaBook({
      proxies: proxies.watched(),
      store: c.config,
      log: log.child({ component: 'agendas' }),
      deadlineMs: cfg.sendDeadlineMs,
      onVersion: (v, mismatch) => {
        m.voteVersion.set(v);
        m.voteVersionMismatch.set(mismatch ? 1 : 0);
      },
      // The vote version is a vote input committed in etcd (services/cluster vote-version.ts).
      committed: () => {
        const e = c.config.voteVersionEntry();
        return 'corrupt' in e ? undefined : e.value?.voteVersion;
      },
      propose: (v) => c.config.proposeVoteVersion(v),
    });
    // Every build uses the inputs that apply at the draw's height (services/cluster vote-inputs.ts):
    // the canonical ones when this voter's view is provably current, else read from etcd.
    factory = new ClusterVoteFactory(
      c.tickets, () => c.config.voteDefaults().voteChoices, () => agendas.current(), params, log, () => c.config.voteDefaultsRevision(),
      undefined,
      {
        canonicalInputs: (t, h) => c.canonicalInputs(t, h),
        freshInputs: (t, h) => c.freshInputs(t, h),
        viewInputs: (t, h) => c.voteView.viewInputs(t, h),
        whenCurrentFor: (h, ms, signal) => c.voteView.whenCurrentFor(h, ms, signal),
        viewHeight: () => c.voteView.viewHeight(),
        olderVotersLive: () => liveVoters(c).olderVoters,
      },
      // A view behind the draw waits for its own watches at most the hedge learned for this region.
      () => hedge.hedgeMs(cfg.region),
      // Every build writes the vote version committed for the draw's height, with its agendas.
      (v) => agendas.forVersion(v),
    );
    const planFor = (t: string, lateTicket: boolean) => {
      const ranked = c.owners.rank(t);
      const claimHolder = c.owners.ownerOf(t);
      // The backups wait for the signer ranked first: the hedge learned for its region.
      const first = ranked.find((n) => n.nodeId === claimHolder) ?? ranked[0];
      return planDuty({
        selfId: cfg.nodeId,
        ranked: ranked.map((n) => n.nodeId),
        claimHolder,
        isLeaseFresh: reach.isLeaseFresh(),
        isWatchFresh: c.tickets.watchAgeMs() < cfg.staleness.watchMaxAgeMs,
        hedgeMs: hedge.hedgeMs(first?.region),
        lateTicket,
      });
    };
    const dutyDeps: DutyDeps = {
      selfId: cfg.nodeId,
      strategy: cfg.strategy,
      plan: (t) => planFor(t, false),
      factory, records, delivery, recordQueue: queue, log: log.child({ component: 'duty' }), metrics: m,
      reach, onUnrecorded: (rec) => repair.add(rec),
      retryBaseMs: cfg.retry.baseMs, retryMaxMs: cfg.retry.maxMs, tracer,
      voteKnown: (txidHex) => proxies.knownNearby(txidHex, VOTE_KNOWN_DEADLINE_MS),
      whenGone: (nodeIds, signal) => presence.whenAllGone(nodeIds, signal),
    };
    // Region signers (lease strategy): only for draws whose vote is canonical. Until the factory
    // can tell (inputs effective from a height, a view provably current for the draw), none is,
    // and every draw takes the single-signer paths.
    const built: VoteFactory = factory;
    const canonical = built.canonical?.bind(built);
    if (cfg.strategy === 'lease' && canonical) {
      dutyDeps.canonical = canonical;
      // A region's backups wait for a signer of their own region: the hedge learned for it.
      dutyDeps.regionPlan = (t) => planRegion({
        selfId: cfg.nodeId, region: cfg.region, ticketHex: t, live: c.membership.liveSnapshot().nodes,
        isGone: (id) => presence.isGone(id), proxies: cfg.proxies, hedgeMs: hedge.hedgeMs(cfg.region),
      });
    }
    // A ticket that entered the cluster while its draw is open had nothing committed before the
    // draw: single signer, record-first.
    const lateDeps: DutyDeps = { ...dutyDeps, plan: (t) => planFor(t, true), canonical: undefined, regionPlan: undefined };
    const unsubscribe = [
      reach.onReachable(() => queue.kick()),
      // The hedge's samples: draw arrival here → another signer's record in the votes watch (hedge.ts).
      c.votes.onChange((ch) => {
        if (ch.type !== 'put' || ch.previous !== undefined) return;
        const rec = ch.entry.value;
        if (rec.signer === cfg.nodeId || rec.path === 'takeover' || rec.path === 'repair') return;
        const waitMs = hedge.sinceDraw(rec.blockHash, performance.now());
        if (waitMs === undefined || !reach.isCurrentSince(Date.now() - waitMs)) return;
        const region = liveVoters(c).regionById.get(rec.signer);
        if (region !== undefined) hedge.observe(region, waitMs);
      }),
      // A ticket entering the cluster while one of its draws is open is voted on that draw now.
      c.tickets.onChange((ch) => {
        if (ch.type !== 'put' || ch.previous !== undefined || state !== 'running' || openDraws.size === 0) return;
        const ticketHex = ch.entry.key.slice(c.keyspace.ticketsPrefix().length);
        const draws = openDraws.drawsOf(ticketHex);
        if (draws.length > 0) duties.startLate(ticketHex, draws, lateDeps);
      }),
    ];
    let claimer: Claimer | undefined;
    if (usesClaims(cfg.strategy)) {
      // Ticket hashes, never record views: a sweep must stay cheap (it can land in a vote window).
      const cl = new Claimer(clusterClaimPort(c, () => reach.isLeaseFresh()),
        log.child({ component: 'claimer' }), { debounceMs: VOTER_TIMING.claimDebounceMs, periodMs: VOTER_TIMING.claimPeriodMs });
      claimer = cl;
      // Only changes that can move a claim: a new ticket, a claim that vanished, a node joining or leaving.
      unsubscribe.push(
        c.tickets.onChange((ch) => { if (ch.type === 'put' && ch.previous === undefined) cl.poke(); }),
        c.owners.onChange((ch) => { if (ch.type === 'delete') cl.poke(); }),
        c.membership.onNodesChange(() => cl.poke()),
      );
    }
    return { reach, repair, queue, delivery, missed, agendas, claimer, dutyDeps, lateDeps, unsubscribe };
  }

  /** Logs and metrics of each send, first delivery and promotion. */
  function deliveryHooks(c: Cluster): VoteDeliveryHooks {
    return {
      isNodeLive: (id) => c.membership.liveNodes().some((n) => n.nodeId === id),
      knownTo: (address, txidHex) => proxies.knownTo(address, txidHex),
      onReleasedEarly: (vote, addrs) => log.warn({ ticket: vote.ticketHex, height: vote.height, signer: vote.signer, voteTxid: vote.txidHex, proxies: addrs }, 'stored vote missing from a dcrd while its signer is live; sent the stored bytes'),
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
      onFirstDelivered: (_vote, latencyMs, o) => {
        // DUPLICATE: that dcrd already held these exact bytes (another voter or proxy sent them): success.
        m.votes.inc({ outcome: o.status === 'DUPLICATE' ? 'duplicate' : 'accepted' });
        m.voteLatency.observe({ strategy: cfg.strategy }, latencyMs / 1000);
        latencies.push(latencyMs);
        if (latencies.length > MAX_LATENCY_SAMPLES) latencies.shift();
      },
      onPromoted: (vote) => log.warn({ ticket: vote.ticketHex, height: vote.height, signer: vote.signer }, 'signer left; delivering its stored vote'),
    };
  }

  /** What the proxies' streams feed: chain events, stream (re)starts and downs, tspends. */
  function streamHandlers(): ChainWatchHandlers {
    return {
      onEvent,
      onStreamStart: (address, info) => {
        // Facts this proxy announced while our stream was down are lost: forget its earlier ones.
        presence.proxyRestarted(address);
        if (info.bestHeight !== undefined) dedupe.noteBestHeight(info.bestHeight);
        if (info.reconnected) p?.delivery.proxyReconnected(address);
        // Agendas are read again on every (re)connected stream (and on a vote-version change).
        void p?.agendas.noteProxy(address, info.voteVersion, true);
        m.connectedProxies.set(proxies.connectedCount);
        log.info({ proxy: address, resumeStatus: info.resumeStatus, bestHeight: info.bestHeight }, 'proxy stream started');
      },
      onStreamDown: (address, err) => {
        p?.agendas.proxyDown(address);
        m.connectedProxies.set(proxies.connectedCount);
        log.debug({ proxy: address, err }, 'proxy stream down');
      },
      onVoterPresence: (f) => {
        if (f.nodeId === cfg.nodeId) return;
        presence.note(f);
        log.info({ voter: f.nodeId, proxy: f.proxy, kind: f.kind, proxyAtMs: f.atMs }, f.kind === 'gone' ? 'a proxy says a voter is gone' : 'a proxy says a voter is back');
      },
      onTSpend: (t) => {
        try {
          if (tspendBook.addRaw(t.raw).added) log.info({ tspend: t.hashHex, expiry: t.expiry, proxy: t.proxy }, 'tspend known');
        } catch (err) {
          log.warn({ err, tspend: t.hashHex, proxy: t.proxy }, 'tspend refused (fails dcrd checks)');
          return;
        }
        // Votes carry recorded tspends only (from the cluster tip + 2 on): record it, create-if-absent.
        const c = cluster;
        if (c) {
          void c.tspends.record(t.raw).then(
            (r) => { if (r.created) log.info({ tspend: r.hashHex, from: r.from }, 'tspend recorded: votes carry it from this height'); },
            (err: unknown) => log.warn({ err, tspend: t.hashHex }, 'tspend not recorded (retried when a proxy streams it again)'),
          );
        }
      },
    };
  }

  /** One chain event from any proxy: first arrivals start and retire duties. */
  function onEvent(ev: ChainEvent): void {
    if (!p) return;
    const { dutyDeps, lateDeps } = p;
    // Every proxy's draws carry its dcrd's vote version: a dcrd upgraded behind a live stream shows here.
    if (ev.kind === 'winning-tickets') void p.agendas.noteProxy(ev.proxy, ev.voteVersion, false);
    if (!dedupe.admit(ev).admitted) {
      // A draw delivered again while still open: tickets it names that became managed since its
      // first arrival are voted now (the ticket watch normally got there first; this is the net).
      if (ev.kind === 'winning-tickets' && openDraws.isOpen(ev.blockHashHex)) {
        const first = openDraws.draw(ev.blockHashHex) as WinningTicketsEvent;
        for (const t of first.ticketsHex) if (!duties.has(t, first.blockHashHex)) duties.startLate(t, [first], lateDeps);
      }
      return;
    }
    // Every block heard raises the cluster tip (off the critical path; the cache skips a tip
    // already there): what shapes a vote is guarded by it (services/cluster chain-tip.ts).
    if (ev.kind !== 'block-disconnected') advanceTip(ev.height);
    switch (ev.kind) {
      case 'block-connected':
        openDraws.blockConnected(ev.height);
        p.delivery.blockConnected(ev.height);
        p.missed.blockConnected(ev.blockHashHex, ev.prevHashHex, ev.height);
        duties.retire((d) => d.height + cfg.maxVoteAgeBlocks < ev.height);
        break;
      case 'block-disconnected':
        openDraws.blockDisconnected(ev.blockHashHex);
        p.delivery.blockDisconnected(ev.blockHashHex);
        p.missed.blockDisconnected(ev.blockHashHex);
        duties.retire((d) => d.blockHashHex === ev.blockHashHex);
        break;
      case 'winning-tickets':
        openDraws.add(ev);
        hedge.drawArrived(ev.blockHashHex, performance.now());
        duties.startDraw(ev, dutyDeps);
        break;
    }
  }

  /** The live voters as this voter reads them, cached per membership version. */
  function liveVoters(c: Cluster): LiveVoters {
    const live = c.membership.liveSnapshot();
    if (liveCache?.version !== live.version) {
      liveCache = {
        version: live.version,
        regionById: new Map(live.nodes.map((n) => [n.nodeId, n.region])),
        // An older version: no `heightInputs`, or no `committedVoteVersion` (writes its proxies' version).
        olderVoters: live.nodes.some((n) => n.heightInputs !== true || n.committedVoteVersion !== true),
      };
    }
    return liveCache;
  }

  function advanceTip(height: number): void {
    const c = cluster;
    if (!c) return;
    c.advanceTip(height).catch((err: unknown) => log.debug({ err, height }, 'cluster tip not advanced (etcd unreachable?)'));
  }

  function refreshGauges(): void {
    const c = cluster as Cluster;
    m.managedTickets.set(c.tickets.size);
    // The hedge for a signer in each region with live voters or samples.
    const hedgeRegions = new Set([...c.membership.liveSnapshot().nodes.map((n) => n.region), ...Object.keys(hedge.status().regions)]);
    for (const r of hedgeRegions) m.hedge.set({ signer_region: r }, hedge.hedgeMs(r) / 1000);
    if (p) m.etcdReachable.set(p.reach.answersNow() ? 1 : 0);
    if (!usesClaims(cfg.strategy)) return;
    // No per-ticket work here (it would block the event loop at 100k tickets): the claimer keeps
    // the unowned count current from the caches' change events.
    m.ownedTickets.set(c.owners.ownedCount());
    const unowned = p?.claimer?.unowned;
    if (unowned !== undefined) metrics.get('cluster').unownedTickets.set(unowned);
  }

  async function doStop(): Promise<void> {
    state = 'stopping';
    await lifecycle.stop();
    state = 'stopped';
    log.info({}, 'voter stopped');
  }

  return {
    nodeId: cfg.nodeId,
    get cluster() {
      return cluster;
    },
    async start(): Promise<void> {
      if (state !== 'new') throw new VoterStateError(`start() called in state ${state}`);
      state = 'starting';
      await lifecycle.start();
    },
    stop(): Promise<void> {
      if (state === 'new') {
        state = 'stopped';
        return Promise.resolve();
      }
      return (stopping ??= doStop());
    },
    readiness(): Readiness {
      const streams = proxies.connectedCount;
      const reach = p?.reach;
      const leaseAge = state === 'running' ? reach?.leaseAgeMs() : undefined;
      return readinessOf({
        running: { ok: state === 'running', detail: state },
        proxies: { ok: state === 'running' && streams > 0, detail: `${streams} of ${proxies.size} proxy streams up` },
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
      const claimer = p?.claimer;
      return {
        nodeId: cfg.nodeId,
        region: cfg.region,
        strategy: cfg.strategy,
        duties: duties.started,
        outcomes: duties.outcomes(),
        takeovers: duties.takeovers,
        eventsDropped: dedupe.dropped,
        connectedProxies: proxies.connectedCount,
        managedTickets: cluster?.tickets.size ?? 0,
        ownedTickets: cluster?.owners.ownedCount() ?? 0,
        delivery: p?.delivery.stats() ?? EMPTY_DELIVERY_STATS,
        records: p?.queue.stats() ?? { written: 0, deferred: 0, pending: 0, dropped: 0 },
        claims: claimer?.stats() ?? { sweeps: 0, claimed: 0, released: 0 },
        ownership: { unowned: claimer?.unowned ?? 0, surplus: claimer?.surplus() ?? 0 },
        latenciesMs: [...latencies],
        hedge: hedge.status(),
      };
    },
  };
}

/** Resolves once `signal` aborts. */
function abortedPromise(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

const EMPTY_DELIVERY_STATS: DeliveryStats = {
  tracked: 0, votesSent: 0, sends: 0, sendsByProxy: {}, delivered: 0, conflicts: 0, rejected: 0, promoted: 0, replaced: 0,
  releasedEarly: 0, standbyChecks: 0,
};
