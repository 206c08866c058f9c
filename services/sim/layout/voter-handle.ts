/**
 * Voters of the layout, behind one handle whether they run in this process
 * or as child processes. Child processes exist so faults can SIGKILL or
 * SIGSTOP a real voter process; their stats and duty events come back over
 * the IPC channel (see voter-process.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createVoter, type DutyEvent, type Voter, type VoterConfigInput, type VoterStats } from '../../voter/index.ts';
import type { Logger, SecretKey } from '../../telemetry/index.ts';

/** A voter of the layout. */
export interface LayoutVoter {
  readonly nodeId: string;
  readonly region: string;
  readonly mode: 'process' | 'in-process';
  /** Whether it is started (and not stopped or killed). */
  readonly isRunning: boolean;
  /** PID of the child process (process mode, while running). */
  readonly pid: number | undefined;
  start(): Promise<void>;
  /** Graceful stop (leaves the cluster: lease revoked). */
  stop(): Promise<void>;
  /** Process mode: sends `signal` (default SIGKILL) and waits for the exit. In-process: stops without waiting for anything else (no signal exists). */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** `stop()` (or wait for an earlier kill) then `start()`. */
  restart(): Promise<void>;
  /** Process mode only: SIGSTOP / SIGCONT. */
  pause(): void;
  resume(): void;
  /** Last known stats of the current (or last) run (undefined before the first start). */
  stats(): Promise<VoterStats | undefined>;
  /** Stats of every run so far (one entry per start), the current one last. */
  allStats(): Promise<VoterStats[]>;
  /** The in-process voter (in-process mode, while running). */
  readonly voter: Voter | undefined;
}

export interface VoterHandleOptions {
  config: VoterConfigInput;
  log: Logger;
  clusterKey: SecretKey;
  onDuty?: (e: DutyEvent & { nodeId: string }) => void;
  /** Child process log level (process mode). */
  childLogLevel?: string;
  traceFile?: string;
  /** Process mode: children spawned ahead of time (modules loaded); a start takes one if there is one. */
  pool?: VoterChildPool;
  /**
   * Whether etcd can commit right now (every running member's /health; the layout passes it).
   * A retryable start failure while it is false is not charged to the retry window, and the
   * next attempt waits for it: a join past its deadline while etcd elects is etcd's moment,
   * not the voter's failure.
   */
  etcdReady?: () => Promise<boolean>;
}

/**
 * A voter start that failed in a way worth another try (`retryable`: etcd briefly unavailable,
 * e.g. a read past its deadline while a loaded machine starves etcd or the layout's WAN links).
 */
export class VoterStartError extends Error {
  readonly code = 'LAYOUT_VOTER_START';
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean, options?: ErrorOptions) {
    super(message, options);
    this.name = 'VoterStartError';
    this.retryable = retryable;
  }
}

/**
 * How long a voter whose start fails with a retryable error is started again (as a supervisor
 * would), counting only attempts that failed while etcd could commit (see `etcdReady`).
 */
export const START_RETRY_WINDOW_MS = 30_000;
/** Bound on the whole retry loop, etcd's unready time included (a bound, not the criterion). */
export const START_RETRY_CAP_MS = 4 * START_RETRY_WINDOW_MS;
const START_RETRY_PAUSE_MS = 500;
const ETCD_READY_POLL_MS = 200;

/**
 * Runs `attempt` until it succeeds, it fails non-retryably, or retryable failures while etcd
 * could commit add up to {@link START_RETRY_WINDOW_MS}. Before each retry it waits until etcd
 * is ready again (real readiness, not a fixed pause only). The last error is thrown with how
 * the time went.
 */
export async function startWithRetry(
  log: Logger, nodeId: string, attempt: () => Promise<void>,
  o: { etcdReady?: (() => Promise<boolean>) | undefined; windowMs?: number; capMs?: number; pauseMs?: number } = {},
): Promise<void> {
  const { etcdReady } = o;
  const windowMs = o.windowMs ?? START_RETRY_WINDOW_MS;
  const capMs = o.capMs ?? START_RETRY_CAP_MS;
  const pauseMs = o.pauseMs ?? START_RETRY_PAUSE_MS;
  const t0 = Date.now();
  let charged = 0;
  let unready = 0;
  let attempts = 0;
  for (;;) {
    const at = Date.now();
    attempts++;
    try {
      await attempt();
      return;
    } catch (err) {
      if ((err as { retryable?: unknown }).retryable !== true) throw err;
      const ready = etcdReady ? await etcdReady().catch(() => false) : true;
      if (ready) charged += Date.now() - at;
      else unready += Date.now() - at;
      if (charged >= windowMs || Date.now() - t0 >= capMs) {
        throw new VoterStartError(
          `voter ${nodeId}: start failed ${attempts} times in ${Date.now() - t0} ms (${charged} ms of it while etcd was ready, ${unready} ms while it was not): ${(err as Error).message}`,
          true, { cause: err },
        );
      }
      log.warn({ err, nodeId, etcdReady: ready }, 'voter start failed (retryable); starting it again');
      await new Promise((r) => setTimeout(r, pauseMs));
      // Retry the join while etcd elects: wait until it can commit (bounded by the cap).
      while (etcdReady && Date.now() - t0 < capMs && !(await etcdReady().catch(() => false))) {
        await new Promise((r) => setTimeout(r, ETCD_READY_POLL_MS));
      }
    }
  }
}

/** An in-process voter (fast to start; "kill" is a stop). */
export function inProcessVoter(o: VoterHandleOptions): LayoutVoter {
  let voter: Voter | undefined;
  let last: VoterStats | undefined;
  const history: VoterStats[] = [];
  const nodeId = o.config.nodeId;
  const make = (): Voter => createVoter(o.config, {
    log: o.log,
    clusterKey: o.clusterKey,
    ...(o.onDuty ? { onDuty: (e: DutyEvent) => o.onDuty?.({ ...e, nodeId }) } : {}),
  });
  const stop = async (): Promise<void> => {
    const v = voter;
    voter = undefined;
    if (!v) return;
    await v.stop();
    last = v.stats();
    history.push(last);
  };
  // A failed start leaves the half-started voter stopped (its cluster handle closed) before any retry.
  const attempt = async (): Promise<void> => {
    const v = make();
    voter = v;
    try {
      await v.start();
    } catch (err) {
      if (voter === v) voter = undefined;
      await v.stop().catch(() => undefined);
      throw err;
    }
  };
  return {
    nodeId,
    region: o.config.region,
    mode: 'in-process',
    get isRunning() {
      return voter !== undefined;
    },
    get pid() {
      return undefined;
    },
    get voter() {
      return voter;
    },
    async start() {
      if (voter) return;
      await startWithRetry(o.log, nodeId, attempt, { etcdReady: o.etcdReady });
    },
    stop,
    kill: () => stop(),
    async restart() {
      await stop();
      await startWithRetry(o.log, nodeId, attempt, { etcdReady: o.etcdReady });
    },
    pause() {
      throw new Error(`voter ${nodeId}: pause needs voterMode 'process'`);
    },
    resume() {
      throw new Error(`voter ${nodeId}: resume needs voterMode 'process'`);
    },
    stats: () => Promise.resolve(voter?.stats() ?? last),
    allStats: () => Promise.resolve([...history, ...(voter ? [voter.stats()] : [])]),
  };
}

/**
 * The child's entry and loader flags: the TypeScript sources through tsx in a
 * checkout (tests, `npm start`), the compiled voter-process.js with plain Node.js
 * in a build (dist/, the installed package, which has no tsx).
 */
const FROM_SOURCES = import.meta.url.endsWith('.ts');
const CHILD_ENTRY = fileURLToPath(new URL(FROM_SOURCES ? './voter-process.ts' : './voter-process.js', import.meta.url));
const CHILD_EXEC_ARGV: readonly string[] = FROM_SOURCES ? ['--import', 'tsx'] : [];
const READY_TIMEOUT_MS = 60_000;
const STATS_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 10_000;

/** Messages from the child (voter-process.ts). */
export type ChildMessage =
  | { t: 'warm' }
  | { t: 'ready' }
  | { t: 'failed'; message: string; retryable: boolean }
  | { t: 'stats'; id: number; stats: VoterStats }
  | { t: 'duty'; e: DutyEvent };

/** Messages to the child: `run` once (after `warm`), then `stats` requests. */
export type ParentMessage =
  | { t: 'run'; config: VoterConfigInput; logLevel: string; traceFile?: string }
  | { t: 'stats'; id: number };

/** A voter child process with its modules loaded (or loading), not yet running a voter. */
export interface WarmVoterChild {
  readonly child: ChildProcess;
  /** Resolves when the child is gone. */
  readonly exited: Promise<void>;
  /** Resolves when the child reported `warm`; rejects if it exits or stays silent for {@link READY_TIMEOUT_MS}. */
  readonly warm: Promise<void>;
}

/** Spawns the voter child (`node --import tsx voter-process.ts` from the sources, `node voter-process.js` built); it loads its modules and waits for `run`. */
export function spawnVoterChild(): WarmVoterChild {
  const child = spawn(process.execPath, [...CHILD_EXEC_ARGV, CHILD_ENTRY], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const warm = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`voter child did not load within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    const onMsg = (raw: unknown): void => {
      if ((raw as ChildMessage).t !== 'warm') return;
      clearTimeout(timer);
      child.off('message', onMsg);
      resolve();
    };
    child.on('message', onMsg);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`voter child exited while loading (code ${String(child.exitCode)})`));
    });
  });
  warm.catch(() => undefined); // observed by whoever takes the child
  return { child, exited, warm };
}

/** Children spawned ahead of their voters' configs (the layout spawns them while etcd and the devnet start). */
export interface VoterChildPool {
  /** A spawned child not handed out yet, if any. */
  take(): WarmVoterChild | undefined;
  /** Kills the children never handed out and waits for them to exit. */
  close(): Promise<void>;
}

/** Spawns `n` voter children now. */
export function voterChildPool(n: number): VoterChildPool {
  const spare = Array.from({ length: n }, () => spawnVoterChild());
  return {
    take: () => spare.shift(),
    async close() {
      const rest = spare.splice(0);
      for (const w of rest) w.child.kill('SIGKILL');
      await Promise.all(rest.map((w) => w.exited));
    },
  };
}

/** A voter in a child process `node --import tsx voter-process.ts` with an IPC channel. */
export function processVoter(o: VoterHandleOptions): LayoutVoter {
  const nodeId = o.config.nodeId;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let last: VoterStats | undefined;
  const history: VoterStats[] = [];
  let paused = false;
  let nextId = 1;
  const pending = new Map<number, (s: VoterStats) => void>();

  const attempt = async (): Promise<void> => {
    const w = o.pool?.take() ?? spawnVoterChild();
    const c = w.child;
    child = c;
    paused = false;
    exited = w.exited;
    last = undefined;
    void exited.then(() => {
      if (child === c) child = undefined;
      // The run's last reported stats (a SIGKILLed child loses what it did since then).
      if (last) history.push(last);
      last = undefined;
    });
    c.on('message', (raw) => {
      const m = raw as ChildMessage;
      if (m.t === 'stats') {
        last = m.stats;
        pending.get(m.id)?.(m.stats);
        pending.delete(m.id);
      } else if (m.t === 'duty') o.onDuty?.({ ...m.e, nodeId });
    });
    const run: ParentMessage = { t: 'run', config: o.config, logLevel: o.childLogLevel ?? 'error', ...(o.traceFile ? { traceFile: o.traceFile } : {}) };
    await w.warm.then(() => new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`voter ${nodeId}: child did not start within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      const onMsg = (raw: unknown): void => {
        const m = raw as ChildMessage;
        if (m.t === 'ready' || m.t === 'failed') {
          clearTimeout(timer);
          c.off('message', onMsg);
          if (m.t === 'ready') resolve();
          else reject(new VoterStartError(`voter ${nodeId}: ${m.message}`, m.retryable));
        }
      };
      c.on('message', onMsg);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`voter ${nodeId}: child exited during start-up (code ${String(c.exitCode)})`));
      });
      c.send(run);
    })).catch(async (err: unknown) => {
      c.kill('SIGKILL');
      await exited;
      if (child === c) child = undefined;
      throw err;
    });
  };
  const start = async (): Promise<void> => {
    if (child) return;
    await startWithRetry(o.log, nodeId, attempt, { etcdReady: o.etcdReady });
  };

  const signalAndWait = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (!c) return;
    await refreshStats();
    if (paused && signal !== 'SIGKILL') c.kill('SIGCONT');
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
    child = undefined;
  };

  const refreshStats = async (): Promise<VoterStats | undefined> => {
    const c = child;
    if (!c || paused || !c.connected) return last;
    const id = nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        resolve(last);
      }, STATS_TIMEOUT_MS);
      pending.set(id, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
      c.send({ t: 'stats', id }, (err) => {
        if (err) {
          clearTimeout(timer);
          pending.delete(id);
          resolve(last);
        }
      });
    });
  };

  return {
    nodeId,
    region: o.config.region,
    mode: 'process',
    get isRunning() {
      return child !== undefined;
    },
    get pid() {
      return child?.pid;
    },
    get voter() {
      return undefined;
    },
    start,
    stop: () => signalAndWait('SIGTERM'),
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      const c = child;
      if (!c) return;
      if (signal === 'SIGKILL') {
        c.kill('SIGKILL');
        await exited;
        child = undefined;
      } else await signalAndWait(signal);
    },
    async restart() {
      await signalAndWait('SIGTERM');
      await start();
    },
    pause() {
      if (!child) throw new Error(`voter ${nodeId} is not running`);
      child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (!child) throw new Error(`voter ${nodeId} is not running`);
      child.kill('SIGCONT');
      paused = false;
    },
    stats: refreshStats,
    async allStats() {
      const cur = child ? await refreshStats() : undefined;
      return [...history, ...(cur ? [cur] : [])];
    },
  };
}
