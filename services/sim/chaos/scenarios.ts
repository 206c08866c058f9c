/**
 * The chaos scenarios (docs/architecture.md, "Fault model"), one per fault. Each names
 * the layout it needs and drives blocks while injecting its fault; the devnet
 * is the judge (missed, conflicting) and {@link checkNothingLost} checks etcd.
 * Used by test/e2e/<name>.e2e.test.ts (short form), `npm run chaos` (long form)
 * and `votecluster start --chaos <name>`.
 */
import { clusterTicketStore, createProxyChainLookup, createWalletRpcHandler, currentAgendas, setVoteChoices } from '../../admin/index.ts';
import { createNodeProxyClient } from '../../nodeproxy/index.ts';
import { loadTlsMaterial, ROLE } from '../../security/index.ts';
import { netParams } from '../../decred/index.ts';
import { waitUntil } from '../../base/index.ts';
import { awaitTipVotes, driveBlocks, mineHeld, mineOne, tipDraws, type DriveOptions } from '../layout/drive.ts';
import type { Layout, LayoutOptions } from '../layout/layout.ts';
import type { LayoutVoter } from '../layout/voter-handle.ts';
import { checkMinedVoteBits, rpc } from './vote-bits-check.ts';
import { SignerFaults, type SignerFault, type SignerFaultKind, type TakeoverReport } from './signer-faults.ts';
import { choiceChangeAtDraw, tspendAtDraw, type InputRaceReport } from './input-races.ts';

/** What a scenario run gets. */
export interface ScenarioContext {
  layout: Layout;
  /** Blocks to mine (>= 10 → >= 50 draws). */
  blocks: number;
  /** Progress lines (stderr in the CLI, silent in tests unless asked). */
  note: (line: string) => void;
  signal?: AbortSignal;
  /** Set by the scenarios that fault the signers of a draw: judges their takeovers (after the loss check). */
  takeovers?: () => Promise<TakeoverReport>;
  /** Set by the scenarios that race a vote input against a draw: the referee's verdict (after the loss check). */
  inputRaces?: () => Promise<InputRaceReport>;
}

export interface ChaosScenario {
  readonly name: string;
  readonly title: string;
  /** Layout options the scenario needs (the caller may add wan/strategy/trace). */
  readonly layout: LayoutOptions;
  run(ctx: ScenarioContext): Promise<void>;
}

/** Voter settings for fault runs: a short lease so a killed voter's session expires quickly. */
const SHORT_LEASE = { leaseTtlSec: 5, staleness: { leaseMaxAgeMs: 4_000, watchMaxAgeMs: 4_000 } } as const;

function drive(ctx: ScenarioContext, o: Omit<DriveOptions, 'blocks'> = {}): Promise<void> {
  return driveBlocks(ctx.layout, { blocks: ctx.blocks, note: ctx.note, ...o, ...(ctx.signal ? { signal: ctx.signal } : {}) });
}

/**
 * Voters down (killed, restarting) at once at most. A restart (new process, module load, rejoin
 * after the dead session's lease, cache load, claim sweep) took 20-30 s on a loaded 2-core CI box
 * while rounds take 1-3 s: killing one voter per round regardless ended with EVERY voter down, and
 * the harness could not mine (dcrd needs 3 votes) until restarts finished (> 30 s once). The fault
 * under test is "the owner dies before a draw, its backups vote": with the cap reached a round
 * waits (bounded) for a restart, else kills nobody (noted); 3 of 6 voters always stay up.
 */
const MAX_VOTERS_DOWN = 3;
/** How long a round at the cap waits for a restart before going without a kill. */
const KILL_WAIT_MS = 10_000;

/** Voters restarting in the background after a fault, with at most {@link MAX_VOTERS_DOWN} down at once. */
function restartTracker(maxDown = MAX_VOTERS_DOWN) {
  const restarts = new Map<string, Promise<void>>();
  return {
    /** Waits (up to `waitMs`) until `need` more voters may go down; whether they may. */
    async room(need = 1, waitMs = KILL_WAIT_MS): Promise<boolean> {
      const until = Date.now() + waitMs;
      while (restarts.size + need > maxDown && Date.now() < until) {
        await Promise.race([...restarts.values(), new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())))]);
      }
      return restarts.size + need <= maxDown;
    },
    /** Whether `v` is still restarting. */
    isDown(v: LayoutVoter): boolean {
      return restarts.has(v.nodeId);
    },
    /** Starts `v` again in the background (awaited by settle()). */
    restartLater(v: LayoutVoter, note?: (line: string) => void): void {
      const t0 = Date.now();
      const p = v.start().then(() => note?.(`${v.nodeId} restarted in ${Date.now() - t0} ms`)).finally(() => {
        restarts.delete(v.nodeId);
      });
      restarts.set(v.nodeId, p);
    },
    /** Voters still restarting. */
    get down(): string[] {
      return [...restarts.keys()];
    },
    async settle(): Promise<void> {
      await Promise.all(restarts.values());
    },
  };
}

/**
 * Drives `ctx.blocks` blocks, each mined with its draw held: a designated signer of the winners
 * (signer-faults.ts: with the lease strategy the region signer of the miner's region that signs
 * the most winners, else the claim owner owning the most; `region`: every running voter of that
 * signer's region) is SIGKILLed or SIGSTOPped before the draw is released. SIGKILLed voters
 * restart in the background; SIGSTOPped ones resume once the draw's votes are in (a zombie that
 * must not vote differently). Takeovers are judged at the end from the chain and the vote records.
 */
async function signerFaults(ctx: ScenarioContext, kind: SignerFaultKind): Promise<void> {
  const l = ctx.layout;
  if (kind === 'region' && l.regions.length < 2) throw new RangeError('a region fault needs at least 2 regions (the other regions vote while it is down)');
  const faults = new SignerFaults(l, l.strategy);
  ctx.takeovers = () => faults.judge();
  // At most half the voters down at once (MAX_VOTERS_DOWN in the 3 × 2 layout): one region of
  // 2 voters keeps one up; a region fault takes down every voter of one region at once.
  const maxDown = Math.max(1, Math.min(MAX_VOTERS_DOWN, Math.floor(l.voters.length / 2)));
  const restarts = restartTracker(maxDown);
  const need = kind === 'region' ? Math.max(1, ...l.regions.map((r) => l.voters.filter((v) => v.region === r).length)) : 1;
  let hit: LayoutVoter[] = [];
  let fault: SignerFault | undefined;
  await drive(ctx, {
    beforeBlock: async () => {
      if (kind !== 'SIGSTOP' && !(await restarts.room(need))) ctx.note(`no fault this round: ${restarts.down.join(',')} still restarting`);
    },
    mine: () => mineHeld(l, async (held) => {
      const byId = new Map(l.voters.map((v) => [v.nodeId, v]));
      const isDown = (id: string): boolean => {
        const v = byId.get(id);
        return v !== undefined && (!v.isRunning || restarts.isDown(v));
      };
      const signers = await faults.signersAt(held, isDown);
      const chosen = faults.choose(kind, signers, (v) => v.isRunning && !restarts.isDown(v));
      if (!chosen || (kind !== 'SIGSTOP' && restarts.down.length + need > maxDown)) {
        ctx.note(`height ${held.height}: no fault (${chosen ? 'too many voters restarting' : kind === 'region' ? 'no running signer among the winners' : 'no running signer with a running voter beside it in its region'})`);
        return;
      }
      hit = chosen.victims;
      if (kind === 'SIGSTOP') for (const v of hit) v.pause();
      else await Promise.all(hit.map((v) => v.kill('SIGKILL')));
      const f = faults.record(kind, held, hit, chosen.tickets);
      fault = f;
      const what = kind === 'region' ? `region ${hit[0]?.region ?? ''} (SIGKILL ${f.victims.join(',')})` : `${kind} ${f.victims.join(',')}`;
      ctx.note(`height ${held.height}: ${what}, ${faults.choice} of ${f.victimTickets.length} of ${held.winners.length} winners; releasing the draw`);
    }, ctx.note),
    afterBlock: async () => {
      const t0 = Date.now();
      const ok = await awaitTipVotes(l);
      const d = tipDraws(l);
      ctx.note(`tip ${d.height}: ${d.voted}/${d.drawn} voted after ${Date.now() - t0} ms${ok ? '' : ' (deadline passed)'}`);
      if (fault) faults.back(fault);
      for (const v of hit) {
        if (kind === 'SIGSTOP') v.resume();
        else restarts.restartLater(v, ctx.note);
      }
      if (kind === 'SIGSTOP' && hit.length > 0) ctx.note(`SIGCONT ${hit.map((v) => v.nodeId).join(',')}`);
      hit = [];
      fault = undefined;
    },
  });
  await restarts.settle();
}

const killOwner: ChaosScenario = {
  name: 'kill-owner-before-draw',
  title: "the signer of winners (lease: their region signer in the miner's region; single-signer: their owner) SIGKILLed after the draw was made, before any voter heard of it",
  layout: { voterMode: 'process', voter: SHORT_LEASE },
  run: (ctx) => signerFaults(ctx, 'SIGKILL'),
};

const killOwnerRegion: ChaosScenario = {
  name: 'kill-owner-region-before-draw',
  title: "every voter of the region of a winner's signer (lease: the miner's region) SIGKILLed before any voter heard of the draw",
  layout: { voterMode: 'process', voter: SHORT_LEASE },
  run: (ctx) => signerFaults(ctx, 'region'),
};

const sigstopOwner: ChaosScenario = {
  name: 'sigstop-owner',
  title: "the signer of winners (lease: their region signer in the miner's region; single-signer: their owner) SIGSTOPped before the draw reaches it, resumed once its votes are in (a zombie must not vote differently)",
  layout: { voterMode: 'process', voter: SHORT_LEASE },
  run: (ctx) => signerFaults(ctx, 'SIGSTOP'),
};

const etcdLeaderKill: ChaosScenario = {
  name: 'etcd-leader-kill',
  title: 'etcd leader SIGKILLed (3 members), restarted two blocks later',
  layout: { etcdMembers: 3, voter: SHORT_LEASE },
  async run(ctx) {
    let down: number | undefined;
    await drive(ctx, {
      beforeBlock: async (i) => {
        const members = ctx.layout.etcd.server.members;
        if (down !== undefined && i % 3 === 2) {
          await members[down]?.start();
          ctx.note(`etcd member ${down} restarted`);
          down = undefined;
        }
        if (down === undefined && i % 3 === 0) {
          const leader = await ctx.layout.etcd.leaderIndex();
          if (leader !== undefined) {
            await members[leader]?.kill();
            down = leader;
            ctx.note(`etcd leader ${leader} SIGKILLed`);
          }
        }
      },
    });
    if (down !== undefined) await ctx.layout.etcd.server.members[down]?.start();
  },
};

const QUORUM_OUTAGE_MS = 15_000;
const OUTAGE_BLOCK_PACE_MS = 1_000;

const etcdQuorumLoss: ChaosScenario = {
  name: 'etcd-quorum-loss',
  title: 'etcd quorum lost for 15 s (2 of 3 members down), then restored; one voter killed during the outage',
  // Default lease TTL (20 s) and staleness (18 s): owners must keep the fast path through a 15 s outage.
  layout: { etcdMembers: 3 },
  async run(ctx) {
    const members = ctx.layout.etcd.server.members;
    const half = Math.max(1, Math.floor(ctx.blocks / 2));
    await driveBlocks(ctx.layout, { blocks: Math.min(2, half) });
    // Every ticket bought so far is imported before quorum goes: simnet tickets mature in 16 blocks,
    // so one bought just before the outage goes live during it, and an import is impossible then
    // (long form: a draw at +19.3 s of a ticket imported only at +24.4 s, after the restore; no
    // voter had a duty for it). In production tickets are imported ~256 blocks before they are live.
    await importAndAwaitManaged(ctx, 'before the outage');
    await Promise.all([members[1]?.kill(), members[2]?.kill()]);
    ctx.note('etcd members 1 and 2 SIGKILLed: quorum lost');
    const until = Date.now() + QUORUM_OUTAGE_MS;
    let mined = 0;
    while (Date.now() < until) {
      await awaitTipVotes(ctx.layout);
      const paceUntil = Date.now() + OUTAGE_BLOCK_PACE_MS;
      await waitUntil(() => Date.now() >= paceUntil, OUTAGE_BLOCK_PACE_MS + 100, 50);
      await mineOne(ctx.layout);
      mined++;
    }
    // Just before quorum returns, one voter dies with its queued (unwritten) vote records: the
    // backups must record those votes after quorum returns (the chain is the source of truth).
    // It dies once the last outage block's votes are in: killed while it still owns an unsigned
    // draw of that block, the draw could only be taken over after quorum returns (the fault model: no
    // takeover without a record), and the 4 s harness deadline would race etcd's restart, not
    // test the queued records (seen once in the long form: height 161, the owner killed 0 s
    // after the draw). Killed any earlier, its draws meanwhile would be missed by design.
    await awaitTipVotes(ctx.layout);
    const victim = ctx.layout.voters[ctx.layout.voters.length - 1];
    // Not awaited: an in-process stop waits for etcd calls that cannot answer now.
    const stopping = victim?.kill('SIGKILL');
    ctx.note(`${mined} blocks mined without quorum; voter ${victim?.nodeId ?? ''} killed; restoring`);
    await Promise.all([members[1]?.start({ waitHealthy: false }), members[2]?.start({ waitHealthy: false })]);
    await ctx.layout.etcd.server.waitHealthy(30_000);
    await stopping;
    // Tickets that went live during the outage could not be imported (etcd had no quorum): import
    // them now and let every voter see them before the next draw. (In production a ticket is
    // imported ~256 blocks before it can be drawn; here simnet tickets mature within the outage,
    // and the long form once drew one the voters' caches did not hold yet: no duty, a "miss".)
    await importAndAwaitManaged(ctx, 'after the outage');
    await driveBlocks(ctx.layout, { blocks: Math.max(1, ctx.blocks - 2 - mined) });
  },
};

/** Imports every exported ticket and waits (<= 30 s) until every running voter's cache holds them. */
async function importAndAwaitManaged(ctx: { layout: Layout; note: (line: string) => void }, when: string): Promise<void> {
  const imported = await importUntilDone(ctx.layout);
  const seen = await waitUntil(async () => {
    const stats = await Promise.all(ctx.layout.voters.filter((v) => v.isRunning).map((v) => v.stats()));
    return stats.every((st) => st !== undefined && st.managedTickets >= imported);
  }, 30_000, 100);
  ctx.note(`${imported} tickets imported ${when}; ${seen ? 'every voter holds them' : 'NOT every voter holds them after 30 s'}`);
}

/** Imports every exported ticket, retrying while etcd is still settling; returns how many are imported in all. */
async function importUntilDone(layout: Layout): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await layout.importAllTickets();
      return layout.importedTickets().size;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const proxyKilled: ChaosScenario = {
  name: 'proxy-killed',
  title: 'a node proxy killed, restarted two blocks later',
  layout: { voter: SHORT_LEASE },
  async run(ctx) {
    let down: number | undefined;
    let next = 0;
    await drive(ctx, {
      beforeBlock: async (i) => {
        const proxies = ctx.layout.proxies;
        if (down !== undefined && i % 3 === 2) {
          await proxies[down]?.start();
          ctx.note(`proxy ${proxies[down]?.region ?? ''} restarted`);
          down = undefined;
        }
        if (down === undefined && i % 3 === 0) {
          down = next++ % proxies.length;
          await proxies[down]?.stop();
          ctx.note(`proxy ${proxies[down]?.region ?? ''} killed`);
        }
      },
    });
    if (down !== undefined) await ctx.layout.proxies[down]?.start();
  },
};

const dcrdRestarted: ChaosScenario = {
  name: 'dcrd-restarted',
  title: 'a dcrd (devnet node) restarted',
  layout: { voter: SHORT_LEASE },
  async run(ctx) {
    let next = 0;
    await drive(ctx, {
      beforeBlock: async (i) => {
        if (i % 2 !== 0) return;
        const nodes = ctx.layout.devnet.nodes;
        const n = nodes[next++ % nodes.length];
        if (!n) return;
        await n.restart();
        // A restarted dcrd has lost its mempool; the cluster must deliver the tip's votes to it
        // again. Mining waits (bounded by the vote deadline) until it holds them, as a miner that
        // waits for its block's votes does, instead of the instant dcrd's minimum of 3 is back.
        const t0 = Date.now();
        const want = tipDraws(ctx.layout).drawn;
        const back = await waitUntil(async () => {
          try {
            return ((await rpc(n, 'getrawmempool', [false, 'votes'])) as unknown[]).length >= want;
          } catch {
            return false; // still starting
          }
        }, 10_000, 50);
        ctx.note(`dcrd ${n.index} restarted; ${back ? `its ${want} tip votes re-delivered after ${Date.now() - t0} ms` : `not every tip vote re-delivered within 10 s`}`);
      },
    });
  },
};

const regionKilled: ChaosScenario = {
  name: 'region-killed',
  title: 'a whole region killed (dcrd, proxy, voters, etcd member), then restored',
  layout: { etcdMembers: 3, voter: SHORT_LEASE },
  async run(ctx) {
    const l = ctx.layout;
    const r = l.regions.length - 1; // region c: not the miner's region
    const region = l.regions[r] as string;
    const half = Math.max(1, Math.floor(ctx.blocks / 2));
    await driveBlocks(l, { blocks: half, settle: false });
    const voters = l.voters.filter((v) => v.region === region);
    await Promise.all(voters.map((v) => v.kill('SIGKILL')));
    await l.proxies[r]?.stop();
    await l.devnet.nodes[r]?.stop();
    await l.etcd.server.members[r]?.kill();
    ctx.note(`region ${region} killed`);
    await driveBlocks(l, { blocks: half, settle: false });
    await l.etcd.server.members[r]?.start();
    await l.devnet.nodes[r]?.restart();
    await l.proxies[r]?.start();
    await Promise.all(voters.map((v) => v.start()));
    ctx.note(`region ${region} restored`);
    // The rest of the blocks (0 or 1), then the block that judges the last draws.
    await driveBlocks(l, { blocks: ctx.blocks - 2 * half });
  },
};

/**
 * Shortest partition: longer than SHORT_LEASE's TTL (5 s) plus its staleness bound, so the
 * partitioned side's leases go stale and expire and the other regions take its tickets over.
 */
const PARTITION_MIN_MS = 8_000;

/** Region b's voters lose etcd (drop) but keep every proxy. */
const voterPartitionedFromEtcd: ChaosScenario = {
  name: 'voter-partitioned-from-etcd',
  title: 'voters partitioned from etcd but not from the proxies',
  // One etcd member (in a): b's voters reach it only through "b reaches a" links, which the
  // filter cuts; b's proxy links stay up. (With a member in b they would keep a local path.)
  layout: { wan: { delayMs: 1, jitterMs: 0 }, etcdMembers: 1, voter: SHORT_LEASE },
  async run(ctx) {
    const l = ctx.layout;
    const etcdPort = l.etcd.clientTargets[0]?.port;
    const half = Math.max(1, Math.floor(ctx.blocks / 2));
    await driveBlocks(l, { blocks: Math.min(2, half), settle: false });
    l.wan.partition('b', { mode: 'drop', filter: (k) => k.from === 'b' && k.targetPort === etcdPort });
    ctx.note('region b voters partitioned from etcd');
    await driveBlocks(l, { blocks: half, minRoundMs: Math.ceil(PARTITION_MIN_MS / half), settle: false });
    l.wan.heal('b');
    ctx.note('healed');
    await driveBlocks(l, { blocks: Math.max(1, ctx.blocks - half - Math.min(2, half)) });
  },
};

const regionPartitioned: ChaosScenario = {
  name: 'region-partitioned',
  title: 'a region partitioned from the others (WAN links dropped), then healed',
  layout: { wan: { delayMs: 40, jitterMs: 5 }, voter: SHORT_LEASE },
  async run(ctx) {
    const l = ctx.layout;
    const region = l.regions[l.regions.length - 1] as string;
    const half = Math.max(1, Math.floor(ctx.blocks / 2));
    await driveBlocks(l, { blocks: Math.min(2, half), settle: false });
    l.wan.partition(region, { mode: 'drop' });
    ctx.note(`region ${region} partitioned`);
    await driveBlocks(l, { blocks: half, minRoundMs: Math.ceil(PARTITION_MIN_MS / half), settle: false });
    l.wan.heal(region);
    ctx.note('healed');
    await driveBlocks(l, { blocks: Math.max(1, ctx.blocks - half - Math.min(2, half)) });
  },
};

const NOTIFY_DELAY_MS = 2_000;

const notificationsDelayed: ChaosScenario = {
  name: 'notifications-delayed',
  title: 'notifications delayed by 2 s on one proxy',
  layout: {},
  async run(ctx) {
    await ctx.layout.proxies[0]?.restart({ notifyDelayMs: NOTIFY_DELAY_MS });
    ctx.note(`proxy ${ctx.layout.proxies[0]?.region ?? ''}: dcrd notifications delayed ${NOTIFY_DELAY_MS} ms`);
    await drive(ctx);
  },
};

const competingTips: ChaosScenario = {
  name: 'competing-tips-reorg',
  title: 'competing tips and a reorganisation every third block',
  layout: {},
  async run(ctx) {
    const l = ctx.layout;
    await drive(ctx, {
      beforeBlock: async (i) => {
        if (i % 3 !== 1) return;
        const fork = await l.devnet.forkNextBlock();
        ctx.note(`competing tip ${fork.slice(0, 12)}`);
        await waitUntil(() => {
          const draws = l.devnet.minerReport().tickets.filter((t) => t.blockHash === fork);
          return draws.length > 0 && draws.every((t) => t.firstVoteAt !== undefined);
        }, 10_000);
        await l.devnet.mineOn(fork, 1);
        ctx.note('reorganised onto it');
        await awaitTipVotes(l);
      },
    });
  },
};

const backToBack: ChaosScenario = {
  name: 'back-to-back-blocks',
  title: 'back-to-back blocks (next block 200 ms after its parent)',
  layout: { blockInterval: { mode: 'fixed', ms: 200 } },
  async run(ctx) {
    const l = ctx.layout;
    const start = l.devnet.report().blocks;
    await waitUntil(async () => {
      // Tickets bought meanwhile; an import past etcd's deadline on a loaded machine is tried
      // again at the next poll (as the drive loop does), it is not the fault under test
      await l.importAllTickets().catch((err: unknown) => l.log.warn({ err }, 'ticket import failed; retrying at the next poll'));
      return l.devnet.report().blocks - start >= ctx.blocks + 1 || (ctx.signal?.aborted ?? false);
    }, 60_000 + ctx.blocks * 2_000, 100);
  },
};

const choicesChanged: ChaosScenario = {
  name: 'choices-changed',
  title: 'vote choices changed while draws happen',
  layout: {},
  async run(ctx) {
    const l = ctx.layout;
    const params = netParams('simnet');
    // The proxies accept only client certificates of the cluster CA (mutual TLS).
    const tls = loadTlsMaterial(await l.issueClientTls('chaos-choices', ROLE.admin));
    const client = createNodeProxyClient((l.proxies[0] as { address: string }).address, {
      clientId: 'chaos-choices', tls: { caPem: tls.ca, certPem: tls.cert, keyPem: tls.key },
    });
    const deps = { store: clusterTicketStore(l.admin), chain: createProxyChainLookup(client, { params }), params, log: l.log };
    // The agendas of the vote version the chain votes on (dcrd 2.1.6: maxtreasuryspend; 2.0.6:
    // blake3pow, changesubsidysplitr2): the defaults use the first, the tickets the last.
    const set = await currentAgendas(deps);
    const defaultAgenda = (set.agendas[0] as { id: string }).id;
    const ticketAgenda = (set.agendas[set.agendas.length - 1] as { id: string }).id;
    const choices = ['yes', 'no', 'abstain'];
    // Per-ticket changes alternate between the Admin API's operation and the wallet JSON-RPC
    // (vspd's `setvotechoice`); a refused change fails the run.
    const wallet = createWalletRpcHandler(deps);
    let n = 0;
    const perTicket = async (ticketHash: string, agendaId: string): Promise<void> => {
      const choiceId = choices[n++ % choices.length] as string;
      if (n % 2 === 0) await setVoteChoices(deps, [{ agendaId, choiceId }], ticketHash);
      else await wallet.call('setvotechoice', [agendaId, choiceId, ticketHash]);
    };
    await drive(ctx, {
      beforeBlock: async () => {
        // cluster-wide default and the per-ticket choices of some live tickets, just before the draw
        const choice = choices[n++ % choices.length] as string;
        await setVoteChoices(deps, [{ agendaId: defaultAgenda, choiceId: choice }]);
        const live = [...l.importedTickets()];
        for (let i = 0; i < 3 && live.length > 0; i++) await perTicket(live[(n * 7 + i * 13) % live.length] as string, ticketAgenda);
      },
      afterBlock: async (_round, blockHash) => {
        // change again right after the draw: owners and backups race the new revisions, both the
        // default and the drawn tickets' own choices
        const choice = choices[n++ % choices.length] as string;
        await Promise.all([
          setVoteChoices(deps, [{ agendaId: ticketAgenda, choiceId: choice }]),
          ...l.devnet.report().tickets.filter((t) => t.blockHash === blockHash && l.admin.tickets.get(t.ticketHash)).slice(0, 3)
            .map((t) => perTicket(t.ticketHash, defaultAgenda)),
        ]);
      },
    }).finally(() => {
      wallet.close();
      client.close();
    });
    // Every mined vote carries exactly the choices in force at its draw (vote-bits-check.ts).
    const node = l.devnet.nodes[0] as { rpcUrl: string; rpcUser: string; rpcPass: string };
    const r = await checkMinedVoteBits(l.admin, node, set.agendas);
    ctx.note(`vote bits: ${r.checked} mined votes checked against the choices pinned at their draw, ${r.notMined} not mined, ${r.mismatches.length} mismatches`);
    if (r.mismatches.length > 0 || r.checked === 0) {
      throw new Error(`choices-changed: ${r.checked} mined votes checked; mismatches:\n  ${r.mismatches.join('\n  ') || 'none (and nothing was checked)'}`);
    }
  },
};

const choiceChangeAtDrawScenario: ChaosScenario = {
  name: 'choice-change-at-draw',
  title: "a winner's vote choice (and in some rounds the cluster default) changed through the Admin API within milliseconds of its draw's release, and another winner's right after it",
  layout: {},
  async run(ctx) {
    ctx.inputRaces = await choiceChangeAtDraw(ctx);
  },
};

const tspendAtDrawScenario: ChaosScenario = {
  name: 'tspend-at-draw',
  title: 'a new treasury spend enters a dcrd mempool (and the proxies stream it) within milliseconds of a draw\'s release',
  layout: {},
  async run(ctx) {
    ctx.inputRaces = await tspendAtDraw(ctx);
  },
};

const rollingRestart: ChaosScenario = {
  name: 'rolling-restart',
  title: 'rolling restart of every voter, one by one, during a run',
  layout: { voter: SHORT_LEASE },
  async run(ctx) {
    let next = 0;
    await drive(ctx, {
      beforeBlock: async () => {
        const v = ctx.layout.voters[next++ % ctx.layout.voters.length] as LayoutVoter;
        await v.restart();
        ctx.note(`${v.nodeId} restarted`);
      },
    });
  },
};

/** Every scenario, in the priority order of the brief. */
export const SCENARIOS: readonly ChaosScenario[] = [
  killOwner, killOwnerRegion, sigstopOwner, etcdLeaderKill, etcdQuorumLoss, proxyKilled, dcrdRestarted, regionKilled,
  voterPartitionedFromEtcd, regionPartitioned, notificationsDelayed, competingTips, backToBack, choicesChanged, rollingRestart,
  choiceChangeAtDrawScenario, tspendAtDrawScenario,
];

/** The scenario called `name`, or undefined. */
export function findScenario(name: string): ChaosScenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
