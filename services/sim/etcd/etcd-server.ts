/**
 * Local etcd launcher: spawns the Debian `etcd` binary (package `etcd-server`,
 * 3.4.x) as one or three members on free loopback ports with a temp data dir,
 * waits until the cluster reports healthy (HTTP `/health` polled, no fixed
 * sleeps) and tears everything down on `stop()`.
 *
 * Used by `npm start` (embedded demo) and by test/harness. Each member's
 * listen URLs and advertised URLs are separate, so a WAN-delay TCP proxy can
 * sit in front of a member: pass `advertise` and return the proxy's URL for
 * that member; every member (and the initial cluster) then reaches it through
 * the proxy. etcd derives member IDs from the advertised peer URLs, so all
 * members must agree on one peer URL per member (one proxy per member, not
 * per direction).
 *
 * Secure by default, as in production: client and peer TLS from a cluster CA
 * (client certificates required on both ports; see etcd-tls.ts) and etcd
 * authentication with one user per kind of service.
 *
 * Gotcha (etcd 3.4): a member of a cluster that lost quorum may take
 * 5-10 s to exit on SIGTERM, so `stop()` escalates to SIGKILL after a grace
 * period.
 */
import { CodedError } from '../../base/index.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IOptions } from 'etcd3';
import {
  createEtcdClient,
  ETCD_ROOT_USER,
  ETCD_SERVICE_ROLES,
  ETCD_USER_NAMES,
  initEtcdAuth,
  NETWORKS,
  readOrCreateEtcdPasswordFile,
  type EtcdAccess,
  type EtcdServiceRole,
} from '../../cluster/index.ts';
import { createServer } from 'node:net';
import type { CertsDir, TlsFiles } from '../../security/index.ts';
import { createEtcdTls, etcdHttp, etcdTlsFlags, type EtcdHttpTls, type EtcdTlsMaterial } from './etcd-tls.ts';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Defaults, named beside their options. */
export const DEFAULT_ETCD_HOST = '127.0.0.1';
export const DEFAULT_ETCD_START_TIMEOUT_MS = 15_000;
/**
 * A member that is not healthy at its start deadline is given up on only once it has had
 * this much CPU since it was spawned (a fresh member needs 40-80 ms to elect itself and
 * answer /health). On a starved machine (load 25+ on 2 cores) a member can get less than
 * that in 15 s of wall time, and the launcher's own polls can be starved too: failing then
 * reported a start-up failure of an etcd that was merely waiting for the CPU.
 */
export const ETCD_START_CPU_BUDGET_MS = 1_000;
/** Past the deadline, a member still under its CPU budget is waited for at most this many times the start timeout in all (a bound, not the criterion). */
export const ETCD_START_STARVED_FACTOR = 4;
export const DEFAULT_ETCD_STOP_GRACE_MS = 2_000;
/** Faster than etcd's 100/1000 ms defaults so failover tests are quick; still safe on loopback. */
export const DEFAULT_ETCD_HEARTBEAT_MS = 50;
export const DEFAULT_ETCD_ELECTION_MS = 500;
/**
 * etcd `--bcrypt-cost` (etcd's own default is 10). The passwords are 32 random bytes
 * (`etcd init --generate`), which no work factor makes harder or easier to guess; the
 * factor only costs CPU: etcd 3.4 hashes inside its apply loop on every member and checks
 * a hash on every client's log-in (cost 10: ~0.25-1 s per log-in on a loaded 2-core
 * machine, cost 4: ~5 ms). Human-chosen passwords need etcd's default or more.
 */
export const DEFAULT_ETCD_BCRYPT_COST = 4;

/**
 * Lifetime of an etcd auth token. etcd3's clients log in again when a request's token
 * expired, but not on a stream they keep open (watches, lease keepalives): a launched etcd
 * lives for a test or a demo, so its tokens outlive it.
 */
const JWT_TOKEN_TTL = '24h';

/** Base of the launcher's errors; `code` is `DEVNET_ETCD_*`. */
export class EtcdLauncherError extends CodedError {}

/** The `etcd` binary is not installed (or not executable). */
export class EtcdNotInstalledError extends EtcdLauncherError {
  constructor(message: string, options?: ErrorOptions) {
    super('DEVNET_ETCD_NOT_INSTALLED', message, options);
  }
}

/** etcd exited during start-up or did not become healthy in time; the message carries its log tail. */
export class EtcdStartError extends EtcdLauncherError {
  constructor(message: string, options?: ErrorOptions) {
    super('DEVNET_ETCD_START_FAILED', message, options);
  }
}

/** Bad launcher options. */
export class EtcdOptionsError extends EtcdLauncherError {
  constructor(message: string, options?: ErrorOptions) {
    super('DEVNET_ETCD_BAD_OPTIONS', message, options);
  }
}

/** What `advertise` gets for each member once its listen ports are chosen. */
export interface EtcdMemberListen {
  index: number;
  name: string;
  host: string;
  clientPort: number;
  peerPort: number;
  /** URL etcd listens on for clients, e.g. `https://127.0.0.1:23790`. */
  listenClientUrl: string;
  /** URL etcd listens on for peers. */
  listenPeerUrl: string;
}

/** Advertised URLs for one member; omitted fields default to the listen URLs. */
export interface EtcdAdvertise {
  clientUrl?: string;
  peerUrl?: string;
}

/** Options of {@link startEtcd}. */
export interface StartEtcdOptions {
  /** 1 (default) or 3 members. */
  members?: 1 | 3;
  /** Bind host per member (loopback only, e.g. `127.0.1.1`); default 127.0.0.1 for all. */
  hosts?: string[];
  /**
   * Base directory for member data dirs (`<dataDir>/<name>`). If omitted a temp dir
   * is created (under /dev/shm when available, so fsync is cheap) and removed on `stop()`;
   * a caller-supplied dir is kept.
   */
  dataDir?: string;
  heartbeatMs?: number;
  electionMs?: number;
  /**
   * etcd `--pre-vote` (default false, as etcd 3.4): a member cut off from the others
   * (e.g. an asymmetric WAN partition) cannot raise the term and depose a healthy leader.
   */
  preVote?: boolean;
  /** Member name prefix (default `etcd`): members are `<prefix>0`, `<prefix>1`, ... */
  namePrefix?: string;
  /**
   * Called once per member after ports are chosen and before anything is spawned;
   * return the URLs other members / clients should use (e.g. a WAN proxy's URLs).
   */
  advertise?: (m: EtcdMemberListen) => EtcdAdvertise | Promise<EtcdAdvertise>;
  /** Deadline for the whole cluster to become healthy (default 15 s). */
  startTimeoutMs?: number;
  /** SIGTERM grace before SIGKILL in `stop()` (default 2 s). */
  stopGraceMs?: number;
  /** Path of the etcd binary (default: `etcd` on PATH, then /usr/bin/etcd). */
  etcdBinary?: string;
  /** etcd `--log-level` (default `error`); logs are kept in memory for error messages. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * etcd authentication (default true): once healthy, the launcher runs the set-up of
   * `votecluster etcd init` (root, one role and user per kind of service, every network)
   * with passwords generated into 0600 files under `<dataDir>/credentials/`. False only
   * for tests of an etcd without authentication (the set-up step itself).
   */
  auth?: boolean;
  /** etcd `--bcrypt-cost` (default {@link DEFAULT_ETCD_BCRYPT_COST}). */
  bcryptCost?: number;
  /**
   * Client and peer TLS (default on): certificates issued from `certs` (a cluster CA the
   * caller has, e.g. the layout's) or from a new CA under the data dir. Each member's
   * certificate names its host, the hosts of its advertised URLs and `sans(member)` (the
   * addresses clients dial it at through proxies). `false` only for tests of a plaintext etcd.
   */
  tls?: false | { certs?: CertsDir; sans?: (m: EtcdMemberListen) => readonly string[] };
}

/** Who connects: one of the service users, or etcd's root (set-up and tests that forge records). */
export type EtcdUserKind = EtcdServiceRole | 'root';

/** The users the launcher created and their password files. */
export interface EtcdCredentials {
  /** Directory of the password files (mode 0700). */
  readonly dir: string;
  /** Password file of each user (mode 0600). */
  readonly passwordFiles: Readonly<Record<EtcdUserKind, string>>;
  /** etcd user name of each kind. */
  readonly usernames: Readonly<Record<EtcdUserKind, string>>;
}

/** Client TLS of every kind of user: files (for configs and flags) and PEM bytes (for raw clients). */
export interface EtcdClientTls {
  readonly files: Readonly<Record<EtcdUserKind, TlsFiles>>;
  readonly pem: Readonly<Record<EtcdUserKind, EtcdHttpTls>>;
}

/** One running (or stopped) etcd member. */
export interface EtcdMember {
  readonly name: string;
  /** Advertised client URL (what clients should dial). */
  readonly clientUrl: string;
  /** Advertised peer URL. */
  readonly peerUrl: string;
  readonly listenClientUrl: string;
  readonly listenPeerUrl: string;
  readonly dataDir: string;
  /** The member's certificate (client and peer port), undefined without TLS. */
  readonly tls: TlsFiles | undefined;
  /** PID of the current process, or undefined while stopped. */
  readonly pid: number | undefined;
  readonly isRunning: boolean;
  /** Stops the member: `signal` (default SIGTERM), then SIGKILL after the grace period. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /**
   * Restarts the member with the same flags and data dir. Waits until the member's
   * `/health` is true unless `waitHealthy` is false (a lone member of a cluster that
   * lost quorum cannot become healthy until enough peers run).
   */
  start(opts?: { waitHealthy?: boolean; timeoutMs?: number }): Promise<void>;
  /** The last lines etcd wrote (for diagnostics). */
  logTail(): string;
}

/** A running local etcd cluster. */
export interface EtcdServer {
  /** Advertised client URLs of all members, in member order. */
  readonly endpoints: string[];
  readonly members: EtcdMember[];
  /** The users and password files (undefined when started with `auth: false`). */
  readonly credentials: EtcdCredentials | undefined;
  /** Client certificates of every kind of user (undefined when started with `tls: false`). */
  readonly clientTls: EtcdClientTls | undefined;
  /** What the launcher presents to etcd's HTTP endpoints (`/health`, the gateway); undefined without TLS. */
  readonly httpTls: EtcdHttpTls | undefined;
  /**
   * How a service of kind `who` reaches this etcd, for `openCluster`'s `etcdAccess`
   * (`{}` without authentication).
   */
  access(who: EtcdUserKind): EtcdAccess;
  /** etcd3 client options (hosts, user) for `new Etcd3(...)` as `who`. */
  clientOptions(who: EtcdUserKind): IOptions;
  /** CLI flags for a command run as `who`: `--etcd URLS --etcd-user NAME --etcd-password-file FILE --etcd-ca CA --etcd-cert CERT --etcd-key KEY`. */
  cliFlags(who: EtcdUserKind): string[];
  /** Resolves once every running member reports `/health` true. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /**
   * Stops every member and removes the temp dir (SIGKILL when the data dir is a temp dir;
   * SIGTERM then SIGKILL after the grace period, member by member, for a caller's dir). Idempotent.
   */
  stop(): Promise<void>;
}

/** Finds the etcd binary or throws {@link EtcdNotInstalledError}. */
export function findEtcdBinary(explicit?: string): string {
  const candidates = explicit
    ? [explicit]
    : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'etcd')), '/usr/bin/etcd'];
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      return c;
    } catch {
      // not here (ENOENT/EACCES): try the next candidate; the error below lists them all
    }
  }
  throw new EtcdNotInstalledError(
    `etcd binary not found (looked for ${explicit ? explicit : '`etcd` on PATH and /usr/bin/etcd'}); ` +
      'install it with: apt-get install -y etcd-server',
  );
}

/** Binds `port` on `host` (0: any) and closes it; resolves the port, or 0 if it was taken. */
function probePort(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => (port !== 0 && (err.code === 'EADDRINUSE' || err.code === 'EACCES') ? resolve(0) : reject(err)));
    srv.listen({ host, port, exclusive: true }, () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (got ? resolve(got) : reject(new Error(`no port from ${host}`))));
    });
  });
}

/** Lowest port of the range {@link freePort} draws from. */
const STABLE_PORT_MIN = 10_000;

/** First port of the kernel's ephemeral range (the local ports of outgoing connections). */
function ephemeralPortStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > 0 ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * Reserves a free TCP port on `host`: a random one BELOW the kernel's ephemeral range when
 * there is room, else any (port 0). A member restarted on its port (a test stopping etcd for
 * a while) must find it free: a port from the ephemeral range can meanwhile become the local
 * port of some outgoing connection on the machine, and etcd then dies with "bind: address
 * already in use".
 */
export async function freePort(host: string): Promise<number> {
  const end = ephemeralPortStart();
  if (end - STABLE_PORT_MIN >= 1_000) {
    for (let i = 0; i < 20; i++) {
      const got = await probePort(host, STABLE_PORT_MIN + Math.floor(Math.random() * (end - STABLE_PORT_MIN)));
      if (got) return got;
    }
  }
  return probePort(host, 0);
}

const LOOPBACK_RE = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const LOG_TAIL_BYTES = 8_192;

/** Processes still alive in this Node process; killed on `exit` so a crashed test leaves no orphans. */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of liveChildren) c.kill('SIGKILL');
    });
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/**
 * `/health` of one member at its client URL (with `tls`: over https, presenting that client
 * certificate): true only when it answers healthy within 1 s (in etcd 3.4 a quorum read, so
 * false while the cluster has no leader). Never throws.
 */
export async function isEtcdMemberHealthy(clientUrl: string, tls?: EtcdHttpTls): Promise<boolean> {
  try {
    const res = await etcdHttp(`${clientUrl}/health`, { tls, timeoutMs: 1_000 });
    if (res.status !== 200) return false;
    const body = JSON.parse(res.body) as { health?: unknown };
    return body.health === 'true' || body.health === true;
  } catch {
    // connection refused / timeout while starting: not healthy yet, the caller polls again
    return false;
  }
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system, ms) a process has used, from /proc; undefined where that cannot be read. */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after "(comm) ": state is [0], utime [11], stime [12], in clock ticks (USER_HZ = 100 on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ');
    const ticks = Number(fields?.[11]) + Number(fields?.[12]);
    return Number.isFinite(ticks) ? ticks * 10 : undefined;
  } catch {
    return undefined; // not Linux, or the process is gone: the wall-clock deadline alone decides
  }
}

class Member implements EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly listenClientUrl: string;
  readonly listenPeerUrl: string;
  readonly dataDir: string;
  readonly tls: TlsFiles | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  constructor(
    private readonly binary: string,
    private readonly args: string[],
    init: { name: string; clientUrl: string; peerUrl: string; listenClientUrl: string; listenPeerUrl: string; dataDir: string; tls: TlsFiles | undefined },
    private readonly graceMs: number,
    private readonly httpTls: EtcdHttpTls | undefined,
  ) {
    this.name = init.name;
    this.clientUrl = init.clientUrl;
    this.peerUrl = init.peerUrl;
    this.listenClientUrl = init.listenClientUrl;
    this.listenPeerUrl = init.listenPeerUrl;
    this.dataDir = init.dataDir;
    this.tls = init.tls;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  logTail(): string {
    return this.log;
  }

  /** Spawns the process (no health wait). */
  spawnProcess(): void {
    if (this.isRunning) return;
    const child = spawn(this.binary, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (b: Buffer): void => {
      this.log = (this.log + b.toString('utf8')).slice(-LOG_TAIL_BYTES);
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (err) => {
        append(Buffer.from(`spawn error: ${err.message}\n`));
        resolve();
      });
    });
    trackChild(child);
    this.child = child;
  }

  /**
   * Polls `/health` until true. At `deadline` it gives up only if the member has had its
   * chance: {@link ETCD_START_CPU_BUDGET_MS} of CPU (a starved member is waited for, up to
   * {@link ETCD_START_STARVED_FACTOR} times the timeout in all). Exiting fails at once.
   */
  async waitHealthy(deadline: number): Promise<void> {
    const startedAt = Date.now();
    const hardDeadline = startedAt + Math.max(0, deadline - startedAt) * ETCD_START_STARVED_FACTOR;
    for (;;) {
      if (!this.isRunning) {
        throw new EtcdStartError(`etcd member ${this.name} exited during start-up; log tail:\n${this.log.trim()}`);
      }
      if (await isEtcdMemberHealthy(this.listenClientUrl, this.httpTls)) return;
      const now = Date.now();
      if (now > deadline) {
        const cpuMs = processCpuMs(this.pid);
        const starved = cpuMs !== undefined && cpuMs < ETCD_START_CPU_BUDGET_MS;
        if (!starved || now > hardDeadline) {
          throw new EtcdStartError(
            `etcd member ${this.name} (${this.listenClientUrl}) not healthy ${Math.round((now - startedAt) / 100) / 10} s after the wait began` +
              ` (deadline ${Math.round((deadline - startedAt) / 100) / 10} s; the member used ${cpuMs ?? '?'} ms of CPU); log tail:\n${this.log.trim()}`,
          );
        }
      }
      await delay(25);
    }
  }

  async start(opts: { waitHealthy?: boolean; timeoutMs?: number } = {}): Promise<void> {
    this.spawnProcess();
    if (opts.waitHealthy === false) return;
    await this.waitHealthy(Date.now() + (opts.timeoutMs ?? DEFAULT_ETCD_START_TIMEOUT_MS));
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || !this.isRunning) {
      await this.exited;
      return;
    }
    child.kill(signal);
    const grace = new Promise<'timeout'>((r) => {
      const t = setTimeout(() => r('timeout'), this.graceMs);
      t.unref();
    });
    if ((await Promise.race([this.exited.then(() => 'exited' as const), grace])) === 'timeout') {
      child.kill('SIGKILL');
    }
    await this.exited;
  }

  kill(): Promise<void> {
    return this.stop('SIGKILL');
  }
}

/** What {@link setUpEtcdAuth} made: the users, their password files and the passwords. */
export interface EtcdAuthSetup {
  readonly creds: EtcdCredentials;
  readonly passwords: Readonly<Record<EtcdUserKind, string>>;
}

/**
 * The set-up of `votecluster etcd init` against a running etcd (every network): passwords
 * generated into 0600 files under `dir` on first use (kept, and reused, when the files exist).
 * `tls`: the client TLS to reach etcd with (the root kind's certificate).
 * @throws {EtcdStartError} when etcd refuses a step.
 */
export async function setUpEtcdAuth(endpoints: readonly string[], dir: string, tls?: EtcdHttpTls): Promise<EtcdAuthSetup> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const kinds: EtcdUserKind[] = ['root', ...ETCD_SERVICE_ROLES];
  const passwordFiles = Object.fromEntries(kinds.map((k) => [k, join(dir, `${k}.password`)])) as Record<EtcdUserKind, string>;
  const usernames = { root: ETCD_ROOT_USER, ...ETCD_USER_NAMES } as Record<EtcdUserKind, string>;
  const passwords = {} as Record<EtcdUserKind, string>;
  for (const k of kinds) passwords[k] = (await readOrCreateEtcdPasswordFile(passwordFiles[k], true)).password;
  try {
    await initEtcdAuth({
      connect: (asRoot) =>
        createEtcdClient({ endpoints, access: { ...(tls ? { tls } : {}), ...(asRoot ? { auth: { username: ETCD_ROOT_USER, password: passwords.root } } : {}) } }),
      networks: NETWORKS,
      rootPassword: passwords.root,
      passwords: { voter: passwords.voter, admin: passwords.admin, reader: passwords.reader },
    });
  } catch (err) {
    throw new EtcdStartError(`etcd authentication set-up failed: ${(err as Error).message}`, { cause: err });
  }
  return { creds: { dir, passwordFiles, usernames }, passwords };
}

/** Issues the client certificate of every kind of user from `tls`. */
export async function issueEtcdClientTls(tls: EtcdTlsMaterial): Promise<EtcdClientTls> {
  const kinds: EtcdUserKind[] = ['root', ...ETCD_SERVICE_ROLES];
  const files = {} as Record<EtcdUserKind, TlsFiles>;
  const pem = {} as Record<EtcdUserKind, EtcdHttpTls>;
  for (const k of kinds) {
    const f = await tls.client(k);
    files[k] = f;
    pem[k] = { ca: readFileSync(f.caFile), cert: readFileSync(f.certFile), key: readFileSync(f.keyFile) };
  }
  return { files, pem };
}

/** The access helpers of an {@link EtcdServer} (also used by test/harness for a container). */
export function etcdAccessHelpers(
  endpoints: readonly string[],
  auth: EtcdAuthSetup | undefined,
  tls?: EtcdClientTls,
): Pick<EtcdServer, 'credentials' | 'clientTls' | 'access' | 'clientOptions' | 'cliFlags'> {
  return {
    credentials: auth?.creds,
    clientTls: tls,
    access(who: EtcdUserKind): EtcdAccess {
      const f = tls?.files[who];
      return {
        ...(auth ? { username: auth.creds.usernames[who], passwordFile: auth.creds.passwordFiles[who] } : {}),
        ...(f ? { caFile: f.caFile, certFile: f.certFile, keyFile: f.keyFile } : {}),
      };
    },
    clientOptions(who: EtcdUserKind): IOptions {
      const p = tls?.pem[who];
      return {
        hosts: [...endpoints],
        ...(auth ? { auth: { username: auth.creds.usernames[who], password: auth.passwords[who] } } : {}),
        ...(p ? { credentials: { rootCertificate: p.ca, certChain: p.cert, privateKey: p.key } } : {}),
      };
    },
    cliFlags(who: EtcdUserKind): string[] {
      const f = tls?.files[who];
      return [
        '--etcd', endpoints.join(','),
        ...(auth ? ['--etcd-user', auth.creds.usernames[who], '--etcd-password-file', auth.creds.passwordFiles[who]] : []),
        ...(f ? ['--etcd-ca', f.caFile, '--etcd-cert', f.certFile, '--etcd-key', f.keyFile] : []),
      ];
    },
  };
}

/**
 * Starts a local etcd (1 or 3 members) and resolves once it is healthy.
 * Throws {@link EtcdNotInstalledError} when the binary is missing,
 * {@link EtcdStartError} (with etcd's log tail) when it cannot start.
 *
 * @example
 * const etcd = await startEtcd({ members: 3 });
 * const client = new Etcd3(etcd.clientOptions('admin'));
 * await etcd.members[0].kill();   // lose one member, quorum stays
 * await etcd.stop();
 */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdServer> {
  const n = opts.members ?? 1;
  if (n !== 1 && n !== 3) throw new EtcdOptionsError(`members must be 1 or 3, got ${String(n)}`);
  const hosts = Array.from({ length: n }, (_, i) => opts.hosts?.[i] ?? opts.hosts?.[0] ?? DEFAULT_ETCD_HOST);
  for (const h of hosts) {
    if (!LOOPBACK_RE.test(h)) throw new EtcdOptionsError(`etcd host ${h} is not a 127.0.0.0/8 address`);
  }
  const heartbeatMs = opts.heartbeatMs ?? DEFAULT_ETCD_HEARTBEAT_MS;
  const electionMs = opts.electionMs ?? DEFAULT_ETCD_ELECTION_MS;
  if (!(electionMs >= 5 * heartbeatMs)) {
    throw new EtcdOptionsError(`electionMs (${electionMs}) must be at least 5 x heartbeatMs (${heartbeatMs})`);
  }
  const binary = findEtcdBinary(opts.etcdBinary);
  const ownsDir = opts.dataDir === undefined;
  const shm = '/dev/shm';
  const baseDir = opts.dataDir ?? (await mkdtemp(join(existsSync(shm) ? shm : tmpdir(), 'votecluster-etcd-')));
  await mkdir(baseDir, { recursive: true });
  const prefix = opts.namePrefix ?? 'etcd';
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_ETCD_START_TIMEOUT_MS;
  // Signed (JWT) auth tokens, one key pair for every member: a token stays valid when a member
  // restarts, where etcd's default `simple` tokens live in one member's memory and die with it
  // (a long-lived stream of a client, such as its lease keepalive, would keep the dead token).
  const jwtDir = join(baseDir, 'jwt');
  await mkdir(jwtDir, { recursive: true, mode: 0o700 });
  const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const jwtPub = join(jwtDir, 'jwt.pub.pem');
  const jwtKey = join(jwtDir, 'jwt.key.pem');
  await writeFile(jwtPub, pair.publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o600 });
  await writeFile(jwtKey, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const authToken = `jwt,pub-key=${jwtPub},priv-key=${jwtKey},sign-method=ES256,ttl=${JWT_TOKEN_TTL}`;
  const tls = opts.tls === false ? undefined : await createEtcdTls(join(baseDir, 'certs'), opts.tls?.certs);
  const clientTls = tls ? await issueEtcdClientTls(tls) : undefined;
  const httpTls = clientTls?.pem.root;
  const scheme = tls ? 'https' : 'http';

  // Ports are reserved by bind-and-close; another process could grab one before etcd
  // binds it, so a start that fails is retried with fresh ports (bounded).
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const members = await buildMembers();
    try {
      for (const m of members) m.spawnProcess();
      const deadline = Date.now() + timeoutMs;
      await Promise.all(members.map((m) => m.waitHealthy(deadline)));
      const credentials = opts.auth === false ? undefined : await setUpEtcdAuth(members.map((m) => m.listenClientUrl), join(baseDir, 'credentials'), httpTls);
      return makeServer(members, credentials);
    } catch (err) {
      lastErr = err;
      await Promise.all(members.map((m) => m.kill()));
      const inUse = members.some((m) => /address already in use/i.test(m.logTail()));
      await Promise.all(members.map((m) => rm(m.dataDir, { recursive: true, force: true })));
      if (!inUse) break;
    }
  }
  if (ownsDir) await rm(baseDir, { recursive: true, force: true });
  throw lastErr;

  async function buildMembers(): Promise<Member[]> {
    const listen: EtcdMemberListen[] = [];
    for (let i = 0; i < n; i++) {
      const host = hosts[i] as string;
      const clientPort = await freePort(host);
      let peerPort = await freePort(host);
      while (peerPort === clientPort) peerPort = await freePort(host);
      listen.push({
        index: i,
        name: `${prefix}${i}`,
        host,
        clientPort,
        peerPort,
        listenClientUrl: `${scheme}://${host}:${clientPort}`,
        listenPeerUrl: `${scheme}://${host}:${peerPort}`,
      });
    }
    const adv = await Promise.all(listen.map(async (l) => (opts.advertise ? await opts.advertise(l) : {})));
    const peerUrls = listen.map((l, i) => adv[i]?.peerUrl ?? l.listenPeerUrl);
    const clientUrls = listen.map((l, i) => adv[i]?.clientUrl ?? l.listenClientUrl);
    const initialCluster = listen.map((l, i) => `${l.name}=${peerUrls[i]}`).join(',');
    const token = `votecluster-${listen.map((l) => l.clientPort).join('-')}`;
    const memberTls = await Promise.all(
      listen.map((l, i) =>
        tls?.member(l.name, [l.host, new URL(clientUrls[i] as string).hostname, new URL(peerUrls[i] as string).hostname, ...(opts.tls ? (opts.tls.sans?.(l) ?? []) : [])]),
      ),
    );
    return listen.map((l, i) => {
      const dataDir = join(baseDir, l.name);
      const mt = memberTls[i];
      const args = [
        '--name', l.name,
        '--data-dir', dataDir,
        '--listen-client-urls', l.listenClientUrl,
        '--advertise-client-urls', clientUrls[i] as string,
        '--listen-peer-urls', l.listenPeerUrl,
        '--initial-advertise-peer-urls', peerUrls[i] as string,
        '--initial-cluster', initialCluster,
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', token,
        '--heartbeat-interval', String(heartbeatMs),
        '--election-timeout', String(electionMs),
        ...(opts.preVote ? ['--pre-vote'] : []),
        '--bcrypt-cost', String(opts.bcryptCost ?? DEFAULT_ETCD_BCRYPT_COST),
        '--auth-token', authToken,
        ...(mt ? etcdTlsFlags(mt) : []),
        '--logger', 'zap',
        '--log-level', opts.logLevel ?? 'error',
      ];
      return new Member(
        binary,
        args,
        {
          name: l.name,
          clientUrl: clientUrls[i] as string,
          peerUrl: peerUrls[i] as string,
          listenClientUrl: l.listenClientUrl,
          listenPeerUrl: l.listenPeerUrl,
          dataDir,
          tls: mt,
        },
        opts.stopGraceMs ?? DEFAULT_ETCD_STOP_GRACE_MS,
        httpTls,
      );
    });
  }

  function makeServer(members: Member[], auth: EtcdAuthSetup | undefined): EtcdServer {
    let stopping: Promise<void> | undefined;
    const endpoints = members.map((m) => m.clientUrl);
    return {
      endpoints,
      ...etcdAccessHelpers(endpoints, auth, clientTls),
      httpTls,
      members,
      async waitHealthy(ms = timeoutMs): Promise<void> {
        const deadline = Date.now() + ms;
        await Promise.all(members.filter((m) => m.isRunning).map((m) => m.waitHealthy(deadline)));
      },
      stop(): Promise<void> {
        stopping ??= (async () => {
          // A temp data dir is thrown away, so SIGKILL is safe and avoids the quorum-loss
          // SIGTERM hang; a caller-owned dir gets a graceful stop, one member at a time.
          if (ownsDir) await Promise.all(members.map((m) => m.kill()));
          else for (const m of members) await m.stop();
          if (ownsDir) await rm(baseDir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
  }
}
