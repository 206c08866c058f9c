/**
 * Harness of the observability tests: real etcd, a real devnet (in this
 * process, or as a `votecluster devnet` process), its tickets imported into the
 * cluster, and node proxies and voters as SEPARATE processes started through
 * the CLI (`votecluster proxy`, `votecluster voter`), every one exporting spans
 * to one shared JSON-lines file and serving /metrics on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCluster, generateClusterKey, type Cluster } from '../../services/cluster/index.ts';
import { decodeWif, SIMNET, toHex } from '../../services/decred/index.ts';
import type { ExportedTicket } from '../../services/sim/devnet/index.ts';
import { SecretKey } from '../../services/telemetry/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/** A CLI child process and the JSON lines it printed on stdout. */
export interface CliChild {
  readonly name: string;
  readonly proc: ChildProcess;
  /** Every stdout line that parsed as a JSON object. */
  readonly lines: Array<Record<string, unknown>>;
  /** Raw stdout. */
  stdout(): string;
  /** Waits for a JSON line matching `pred`. */
  line(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`); resolves the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Spawns `votecluster ARGS` (node --import tsx bin/votecluster.ts). */
export function spawnCli(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): CliChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'bin/votecluster.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', process.env['OBS_TEST_LOG'] ? 'inherit' : 'ignore'],
    env: { ...process.env, ...env },
  });
  let out = '';
  const lines: Array<Record<string, unknown>> = [];
  let partial = '';
  proc.stdout?.on('data', (b: Buffer) => {
    const s = b.toString();
    out += s;
    partial += s;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      try {
        const v = JSON.parse(p) as unknown;
        if (v && typeof v === 'object') lines.push(v as Record<string, unknown>);
      } catch {
        // not a JSON line (devnet prints text too)
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    name,
    proc,
    lines,
    stdout: () => out,
    line: (pred, timeoutMs = 60_000) =>
      waitFor(() => {
        if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}: ${out.slice(-500)}`);
        return lines.find(pred);
      }, { timeoutMs, message: `${name}: expected stdout line` }),
    async stop(graceMs = 8_000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        try {
          return await exited;
        } finally {
          clearTimeout(t);
        }
      }
      return exited;
    },
  };
}

/** Where a proxy process listens. */
export interface ProxyProcess {
  child: CliChild;
  address: string;
  metricsUrl: string;
}

/** A voter process. */
export interface VoterProcess {
  child: CliChild;
  nodeId: string;
  metricsUrl: string;
}

/** The shared part: etcd, cluster key file, ticket import. */
export interface ObsBase {
  dir: string;
  etcd: TestEtcd;
  clusterKey: SecretKey;
  clusterKeyFile: string;
  admin: Cluster;
  /** Imports tickets not imported yet (idempotent); returns how many were new. */
  importTickets(tickets: readonly ExportedTicket[]): Promise<number>;
  isImported(ticketHash: string): boolean;
  startProxy(name: string, dcrd: { wsUrl: string; user: string; pass: string }, opts?: { traceFile?: string }): Promise<ProxyProcess>;
  startVoter(nodeId: string, region: string, proxies: readonly string[], opts?: { traceFile?: string; extra?: string[] }): Promise<VoterProcess>;
  children: CliChild[];
  stop(): Promise<void>;
}

/** Starts etcd, writes a cluster key file, opens an admin cluster handle. */
export async function startObsBase(): Promise<ObsBase> {
  const dir = mkdtempSync(join(tmpdir(), 'vc-obs-'));
  const etcd = await startTestEtcd({ preferLocal: true });
  const clusterKey = generateClusterKey();
  const clusterKeyFile = join(dir, 'cluster.key');
  writeFileSync(clusterKeyFile, toHex(clusterKey.expose()), { mode: 0o600 });
  const admin = await openCluster({
    endpoints: etcd.endpoints, etcdAccess: etcd.access('admin'), network: 'simnet', nodeId: 'obs-admin', region: 'x', join: false,
    clusterKey: new Uint8Array(clusterKey.expose()), storeKeyFingerprint: true,
  });
  const imported = new Set<string>();
  const children: CliChild[] = [];
  let passFiles = 0;
  const base: ObsBase = {
    dir, etcd, clusterKey, clusterKeyFile, admin, children,
    async importTickets(tickets) {
      let n = 0;
      for (const t of tickets) {
        if (imported.has(t.ticketHash)) continue;
        const key = new SecretKey(decodeWif(t.wif, SIMNET).privKey);
        await admin.tickets.importTicket({ ticketHash: t.ticketHash, ticketHex: t.ticketHex, votingKey: key });
        key.wipe();
        imported.add(t.ticketHash);
        n++;
      }
      return n;
    },
    isImported: (t) => imported.has(t),
    async startProxy(name, dcrd, opts = {}) {
      const passFile = join(dir, `dcrd-pass-${passFiles++}`);
      writeFileSync(passFile, dcrd.pass, { mode: 0o600 });
      const child = spawnCli(name, [
        'proxy', '--dcrd', dcrd.wsUrl, '--dcrd-user', dcrd.user, '--dcrd-pass-file', passFile,
        '--listen', '127.0.0.1:0', '--network', 'simnet', '--metrics-listen', '127.0.0.1:0', '--log-level', 'warn',
        ...(opts.traceFile ? ['--trace-file', opts.traceFile] : []),
      ]);
      children.push(child);
      const l = await child.line((x) => typeof x['listening'] === 'string');
      return { child, address: l['listening'] as string, metricsUrl: l['metrics'] as string };
    },
    async startVoter(nodeId, region, proxies, opts = {}) {
      const child = spawnCli(nodeId, [
        'voter', '--node-id', nodeId, '--region', region, '--network', 'simnet', ...etcd.cliFlags('voter'),
        ...proxies.flatMap((p) => ['--proxy', `${p}@${region}`]),
        '--cluster-key-file', clusterKeyFile, '--resend-interval-ms', '200',
        '--metrics-listen', '127.0.0.1:0', '--log-level', 'warn',
        ...(opts.traceFile ? ['--trace-file', opts.traceFile] : []),
        ...(opts.extra ?? []),
      ]);
      children.push(child);
      const l = await child.line((x) => x['voter'] === 'started');
      return { child, nodeId, metricsUrl: l['metrics'] as string };
    },
    async stop() {
      await Promise.allSettled(children.map((c) => c.stop()));
      await admin.close();
      await etcd.stop();
      clusterKey.wipe();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return base;
}

/** Fetches `/metrics` text. */
export async function scrape(url: string): Promise<string> {
  const r = await fetch(`${url}/metrics`);
  if (r.status !== 200) throw new Error(`GET ${url}/metrics: HTTP ${r.status}`);
  return r.text();
}

/**
 * Sum of every sample of a series (all label sets) in Prometheus text, or
 * undefined when the series is absent. `name` is the full sample name
 * (`..._total`, `..._count`).
 */
export function sampleSum(text: string, name: string, labelFilter?: (labels: string) => boolean): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    let labels = '';
    let value: string;
    if (rest.startsWith('{')) {
      const end = rest.indexOf('}');
      labels = rest.slice(1, end);
      value = rest.slice(end + 1).trim();
    } else if (rest.startsWith(' ')) {
      value = rest.trim();
    } else continue;
    if (labelFilter && !labelFilter(labels)) continue;
    sum = (sum ?? 0) + Number(value.split(' ')[0]);
  }
  return sum;
}

/** The `# TYPE` families present in Prometheus text. */
export function families(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) /.exec(line);
    if (m) out.add(m[1] as string);
  }
  return out;
}
