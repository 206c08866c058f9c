/**
 * `votecluster start` (`npm start`): the embedded demo. Starts a devnet (one
 * node per region), etcd, one node proxy per region and two voters per region
 * in three regions on 127.0.1.x / 127.0.2.x / 127.0.3.x, imports the devnet's
 * tickets, and shows one line per block until Ctrl-C (or `--blocks N`), then
 * a summary. `--report json` ends stdout with the one JSON line of
 * docs/architecture.md, "Machine-readable contracts" (human lines go to stderr in that mode). `--chaos NAME` runs one chaos
 * scenario in this layout. Stops cleanly on SIGINT, SIGTERM and at the end.
 */
import { dirname } from 'node:path';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { findEtcdBinary, EtcdNotInstalledError, type BlockInterval } from '../devnet/index.ts';
import { initTelemetry, createLogger, type Telemetry } from '../../telemetry/index.ts';
import { VOTER_STRATEGIES } from '../../voter/index.ts';
import { contractOf, startLayout, DEFAULT_DEMO_BLOCK_INTERVAL, type ContractReport, type Layout, type LayoutOptions } from '../layout/index.ts';
import { runChaos } from '../chaos/run.ts';
import { findScenario, SCENARIOS } from '../chaos/scenarios.ts';
import type { TakeoverReport } from '../chaos/signer-faults.ts';
import type { InputRaceReport } from '../chaos/input-races.ts';
import { startLiveView, type LiveView } from '../layout/live-view.ts';
import { startDemoAdmin, type DemoAdmin } from '../layout/demo-admin.ts';
import { parseDelay, DEFAULT_WAN_JITTER_MS } from '../layout/wan.ts';
import { parseBlockInterval } from './devnet.ts';

const FlagsSchema = z.object({
  blocks: z.coerce.number().int().min(1).optional(),
  report: z.enum(['json', 'text']).default('text'),
  strategy: z.enum(VOTER_STRATEGIES).default('lease'),
  wan: z.string().optional(),
  wanJitter: z.string().optional(),
  chaos: z.string().optional(),
  traceFile: z.string().optional(),
  regions: z.coerce.number().int().min(1).max(3).default(3),
  voters: z.coerce.number().int().min(1).max(20).default(2),
  etcdMembers: z.coerce.number().pipe(z.union([z.literal(1), z.literal(3)])).optional(),
  blockInterval: z.string().optional(),
  tickets: z.coerce.number().int().min(20).max(100_000).default(300),
  hedgeMs: z.coerce.number().int().min(0).max(60_000).optional(),
  /** Default: in-process, except for a chaos scenario, which names the mode its faults need (SIGKILL/SIGSTOP need child processes). */
  voterMode: z.enum(['process', 'in-process']).optional(),
  logLevel: z.enum(['silent', 'error', 'warn', 'info', 'debug']).default('error'),
});

/** Thrown when flags are bad (exit 2). */
class StartFlagsError extends Error {
  readonly code = 'CLI_START_BAD_FLAGS';
}

/**
 * Makes sure the etcd binary exists; on a Debian-like machine without it,
 * installs `etcd-server` with apt-get (needs root), else explains what to do.
 */
export function ensureEtcdInstalled(say: (l: string) => void): void {
  try {
    findEtcdBinary();
    return;
  } catch (err) {
    if (!(err instanceof EtcdNotInstalledError)) throw err;
  }
  const apt = ['/usr/bin/apt-get', '/bin/apt-get'].find((p) => existsSync(p));
  if (!apt || process.getuid?.() !== 0) {
    throw new EtcdNotInstalledError(
      'etcd is not installed. Install the etcd server (Debian/Ubuntu: `sudo apt-get install -y etcd-server`; '
      + 'elsewhere: put an etcd 3.4+ binary named `etcd` on PATH) and run `npm start` again.',
    );
  }
  say('etcd is not installed; installing etcd-server with apt-get ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update'], ['install', '-y', 'etcd-server']]) {
    const r = spawnSync(apt, args, { stdio: ['ignore', 2, 2], env });
    if (r.status !== 0) throw new EtcdNotInstalledError(`apt-get ${args.join(' ')} failed (exit ${String(r.status)}); install etcd-server by hand`);
  }
  findEtcdBinary();
}

function waitForSignal(abort: AbortController): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => (): void => {
      abort.abort();
      resolve(sig);
    };
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
}

/**
 * Runs the auto-mining demo until `blocks` blocks were mined since ready (or the abort);
 * imports new tickets meanwhile. The last block's draws are still open then: the report
 * counts them as `open`.
 */
async function runDemo(layout: Layout, blocks: number | undefined, signal: AbortSignal): Promise<void> {
  let lastImport = 0;
  while (!signal.aborted) {
    if (Date.now() - lastImport >= 200) {
      lastImport = Date.now();
      try {
        await layout.importAllTickets();
      } catch (err) {
        layout.log.warn({ err }, 'ticket import failed; retrying');
      }
    }
    if (blocks !== undefined && layout.devnet.height() - layout.readyHeight >= blocks) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What an operator needs to find the demo's parts, and how to read its lines. */
function whereLines(layout: Layout, admin: DemoAdmin | undefined): string[] {
  return [
    ...(admin ? [`  status page  ${admin.statusUrl}  (verdict, misses from the chain, regions, recent votes)`, `  metrics      ${admin.metricsUrl}`] : []),
    ...(admin ? [`  admin gRPC   ${admin.grpcAddress}  (mutual TLS; an operator certificate: votecluster certs create-client <name> --role operator --certs-dir ${dirname(layout.caFile)})`] : []),
    `  etcd         ${layout.etcd.server.endpoints.join(', ')}  (TLS with client certificates, etcd users; certificates in ${dirname(layout.caFile)})`,
    `  cluster key  ${layout.clusterKeyFile}`,
    '  one line per settled block: block <height>  drawn <n>  <ticket>:<signer>:<draw→accepted>  missed <so far>',
    '    signer ? = no vote record in etcd yet; latency - = no dcrd accepted a vote; !MISSED / !CONFLICT mark a miss or two different votes',
  ];
}

function summaryLines(r: Awaited<ReturnType<Layout['report']>>, strategy: string): string[] {
  return [
    `summary (${strategy}): ${r.blocks} blocks, ${r.drawn} drawn: ${r.voted} voted, ${r.missed} missed, ${r.open} open (drawn in the last block, judged when the next one connects); ${r.conflicting} conflicting, ${r.takeovers} takeovers counted by the voters`,
    `  latency draw→accepted ms: p50 ${r.latencyMs.p50}  p90 ${r.latencyMs.p90}  p99 ${r.latencyMs.p99}  max ${r.latencyMs.max}`,
    `  SendVote calls ${r.sends} (${r.sendsPerVotePerProxy.toFixed(2)} per vote per dcrd), beyond one per vote per dcrd: ${r.duplicatesSent}`,
  ];
}

/**
 * The contract line of a chaos run that faulted the signers of its draws: `takeovers` counts, from
 * the chain, the winners a victim was to sign whose mined vote another voter delivered; `faults`,
 * `faultsExercised`, `takeoverMs` (draw → accepted at the miner's dcrd) and `takeoverNearestMs`
 * (→ the nearest dcrd) follow (docs/architecture.md, "Machine-readable contracts").
 */
type Ms4 = { p50: number; p90: number; p99: number; max: number };
function withTakeovers(c: ContractReport, t: TakeoverReport): ContractReport & { faults: number; faultsExercised: number; takeoverMs: Ms4; takeoverNearestMs: Ms4 } {
  const ms = (m: Ms4): Ms4 => ({ p50: m.p50, p90: m.p90, p99: m.p99, max: m.max });
  return {
    ...c, takeovers: t.takeovers, faults: t.faults, faultsExercised: t.faultsExercised,
    takeoverMs: ms(t.takeoverMs), takeoverNearestMs: ms(t.takeoverNearestMs),
  };
}

/**
 * The contract line of a chaos run that raced a vote input against its draws: `faults` (changes
 * made at held draws), `faultsExercised` (of them, completed within the race window of the
 * release on a drawn ticket), `raceMs` (change committed − draw released), the mined votes the
 * referee checked, the votes on the raced draws, how many changes apply from the next block or the one after, and how many votes or records it found wrong (docs/architecture.md, "Machine-readable contracts").
 */
function withInputRaces(c: ContractReport, r: InputRaceReport): ContractReport & { faults: number; faultsExercised: number; raceMs: { min: number; p50: number; p90: number; p99: number; max: number }; votesChecked: number; racedVotes: number; fromNext: number; fromAfterNext: number; mismatches: number } {
  return {
    ...c, faults: r.faults, faultsExercised: r.faultsExercised,
    raceMs: { min: r.raceMs.min, p50: r.raceMs.p50, p90: r.raceMs.p90, p99: r.raceMs.p99, max: r.raceMs.max },
    votesChecked: r.votesChecked, racedVotes: r.racedVotes, fromNext: r.fromNext, fromAfterNext: r.fromAfterNext, mismatches: r.mismatches.length,
  };
}

/** Registers `start`. */
export function register(program: Command): void {
  program
    .command('start')
    .description('Run the embedded demo: devnet + etcd + node proxies + voters in three loopback regions')
    .option('--blocks <n>', 'stop after N blocks (default: run until Ctrl-C)')
    .option('--report <format>', 'json: end stdout with the one-line JSON report', 'text')
    .option('--strategy <name>', 'lease (canonical draws: every region\'s best voter signs; else one signer per ticket) | single-signer (one signer per ticket) | all-vote (every replica votes, as vspd)', 'lease')
    .option('--wan <delay>', 'one-way delay of every cross-region connection, e.g. 40ms')
    .option('--wan-jitter <delay>', 'jitter of the WAN delay (default with --wan: 5ms, at most delay/8)')
    .option('--chaos <scenario>', `run one chaos scenario: ${SCENARIOS.map((s) => s.name).join(', ')}`)
    .option('--trace-file <file>', 'append spans (JSON lines) to this file (read by `votecluster trace`)')
    .option('--regions <n>', 'regions (1..3)', '3')
    .option('--voters <n>', 'voters per region', '2')
    .option('--etcd-members <n>', '1 or 3 (one per region); default 3 with --wan, else 1')
    .option('--block-interval <d>', '<mean> (exponential) | fixed:<d> | manual; default 1s')
    .option('--tickets <n>', 'live ticket pool', '300')
    .option('--hedge-ms <ms>', 'backup hedge delay per rank')
    .option('--voter-mode <mode>', 'in-process | process (child processes); default in-process, or what the --chaos scenario needs')
    .option('--log-level <level>', 'log level of the components (stderr)', 'error')
    .action(async (raw: Record<string, unknown>) => {
      const parsed = FlagsSchema.safeParse(raw);
      if (!parsed.success) {
        for (const i of parsed.error.issues) process.stderr.write(`start: --${i.path.join('.')}: ${i.message}\n`);
        process.exitCode = 2;
        return;
      }
      const f = parsed.data;
      const json = f.report === 'json';
      const human = (l: string): void => {
        (json ? process.stderr : process.stdout).write(`${l}\n`);
      };
      let blockInterval: BlockInterval = DEFAULT_DEMO_BLOCK_INTERVAL;
      let wan: LayoutOptions['wan'];
      try {
        if (f.blockInterval) blockInterval = parseBlockInterval(f.blockInterval);
        if (f.wan) {
          const delayMs = parseDelay(f.wan);
          wan = { delayMs, jitterMs: f.wanJitter ? parseDelay(f.wanJitter) : Math.min(DEFAULT_WAN_JITTER_MS, delayMs / 8) };
        }
        if (f.chaos && !findScenario(f.chaos)) throw new StartFlagsError(`--chaos: unknown scenario ${f.chaos}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
        if (f.chaos && f.voterMode === 'in-process' && findScenario(f.chaos)?.layout.voterMode === 'process') {
          throw new StartFlagsError(`--chaos ${f.chaos} signals voter processes: it needs --voter-mode process (its default)`);
        }
        if (blockInterval.mode === 'manual' && !f.chaos) throw new StartFlagsError('--block-interval manual needs --chaos (nothing would mine)');
      } catch (err) {
        process.stderr.write(`start: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      ensureEtcdInstalled(human);

      const abort = new AbortController();
      const sig = waitForSignal(abort);
      void sig.then((s) => human(`${s}: stopping ...`));
      let telemetry: Telemetry | undefined;
      if (f.traceFile) telemetry = await initTelemetry({ serviceName: 'votecluster-demo', traceFile: f.traceFile });
      const log = createLogger({ service: 'demo', level: f.logLevel, destination: 2 });
      const layoutOpts: LayoutOptions = {
        regions: f.regions, votersPerRegion: f.voters, strategy: f.strategy,
        ...(f.etcdMembers !== undefined ? { etcdMembers: f.etcdMembers as 1 | 3 } : {}),
        tickets: f.tickets, log,
        // A chaos scenario's own mode stands unless the flag names one (its signals need real processes).
        ...(f.voterMode !== undefined ? { voterMode: f.voterMode } : f.chaos ? {} : { voterMode: 'in-process' as const }),
        ...(wan ? { wan } : {}),
        ...(f.hedgeMs !== undefined ? { hedgeMs: f.hedgeMs } : {}),
        ...(f.traceFile ? { traceFile: f.traceFile } : {}),
      };
      let view: LiveView | undefined;
      const t0 = Date.now();
      const members = f.etcdMembers ?? (wan && f.regions === 3 ? 3 : 1);
      human(`votecluster demo: ${f.regions} region(s) × ${f.voters} voters, etcd ${members}, strategy ${f.strategy}${wan ? `, WAN ${wan.delayMs} ms ± ${wan.jitterMs}` : ''}${f.chaos ? `, chaos ${f.chaos}` : ''}; starting ...`);
      let report: Awaited<ReturnType<Layout['report']>>;
      let takeovers: TakeoverReport | undefined;
      let inputRaces: InputRaceReport | undefined;
      try {
        if (f.chaos) {
          const r = await runChaos(f.chaos, {
            ...(f.blocks !== undefined ? { blocks: f.blocks } : {}),
            layout: layoutOpts,
            note: (l) => human(`  chaos: ${l}`),
            signal: abort.signal,
            onLayout: (l) => {
              human(`ready in ${Date.now() - t0} ms; Ctrl-C to stop`);
              view = startLiveView(l, human);
            },
          });
          await view?.stop();
          report = r.report;
          takeovers = r.takeovers;
          inputRaces = r.inputRaces;
          const lost = r.loss.ticketsMissing.length + r.loss.votesUnrecorded.length + r.loss.recordsDiffering.length;
          human(`  nothing lost: ${lost === 0 ? 'yes' : `NO (${JSON.stringify(r.loss)})`}`);
        } else {
          const layout = await startLayout({ ...layoutOpts, blockInterval, onProgress: (l) => human(`  ${l}`) });
          let admin: DemoAdmin | undefined;
          try {
            try {
              admin = await startDemoAdmin(layout, log);
            } catch (err) {
              human(`  admin service did not start: ${(err as Error).message}`);
            }
            human(`ready in ${Date.now() - t0} ms at height ${layout.readyHeight}; ${f.blocks !== undefined ? `running ${f.blocks} blocks (${layout.readyHeight + 1}..${layout.readyHeight + f.blocks})` : 'Ctrl-C to stop'}`);
            for (const l of whereLines(layout, admin)) human(l);
            view = startLiveView(layout, human, f.blocks !== undefined ? { throughHeight: layout.readyHeight + f.blocks } : {});
            await runDemo(layout, f.blocks, abort.signal);
            await view.stop();
            report = await layout.report(f.blocks !== undefined ? { throughHeight: layout.readyHeight + f.blocks } : {});
          } finally {
            await admin?.stop();
            await layout.stop();
          }
        }
      } finally {
        await view?.stop();
        await telemetry?.shutdown();
      }
      for (const l of summaryLines(report, f.strategy)) human(l);
      if (takeovers) {
        const t = takeovers;
        human(`  takeovers judged from the chain (victims: ${t.choice}): ${t.faults} faults at held draws, ${t.faultsExercised} exercised a takeover; ${t.takeovers} of the ${t.victimDraws} winners the victims were to sign voted by another voter`);
        human(`  takeover draw→accepted at the miner ms: p50 ${t.takeoverMs.p50}  p90 ${t.takeoverMs.p90}  p99 ${t.takeoverMs.p99}  max ${t.takeoverMs.max}`);
        human(`  takeover draw→accepted at the nearest dcrd ms: p50 ${t.takeoverNearestMs.p50}  p90 ${t.takeoverNearestMs.p90}  p99 ${t.takeoverNearestMs.p99}  max ${t.takeoverNearestMs.max}`);
      }
      if (inputRaces) {
        const r = inputRaces;
        human(`  input races: ${r.faults} changes at held draws, ${r.faultsExercised} exercised; change done − draw released ms: min ${r.raceMs.min}  |p50| ${r.raceMs.p50}  |max| ${r.raceMs.max}`);
        human(`  referee: ${r.votesChecked} mined votes checked, ${r.mismatches.length} carried inputs other than the rule says${r.mismatches.length ? `: ${r.mismatches.slice(0, 5).join('; ')}` : ''}`);
      }
      const contract = takeovers ? withTakeovers(contractOf(report), takeovers) : inputRaces ? withInputRaces(contractOf(report), inputRaces) : contractOf(report);
      if (json) process.stdout.write(`${JSON.stringify(contract)}\n`);
      if (report.missed > 0 || report.conflicting > 0 || (inputRaces?.mismatches.length ?? 0) > 0) process.exitCode = 1;
      // The signal listeners would keep nothing alive, but remove them so a second Ctrl-C kills at once.
      process.removeAllListeners('SIGINT');
      process.removeAllListeners('SIGTERM');
    });
}
