/**
 * Generates docs/benchmarks.md from the bench results in `bench-results/*.json`
 * (one file per bench, written by test/bench/run.ts). `npm run bench` calls it after
 * every run; `npm run bench:report` runs it alone. The document is never edited by hand.
 *
 * Robust to what a checkout may hold: a bench that was never run is listed as not run,
 * a file that does not parse or lacks fields is reported as unreadable and skipped, and
 * a figure whose field is missing from a result is left out of the table.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One bench result as test/bench/run.ts writes it. */
export interface BenchRecord {
  name: string;
  startedAt: string;
  durationMs: number;
  node: string;
  cpu: string;
  cores: number;
  loadAvg1m: number;
  /** The bench's settings from the environment (`VOTECLUSTER_BENCH_*`, `BENCH_*`, `TRACING_BENCH_*`) when not the defaults. */
  settings?: Record<string, string>;
  ok: boolean;
  error?: string;
  results: Record<string, unknown>;
}

/** A headline figure of one bench: how to read it from the results, and its target. */
interface Figure {
  figure: string;
  value: (r: Record<string, unknown>) => string | undefined;
  target?: string;
  /** Whether the value meets the target, when the results say so; undefined = not judged. */
  met?: (r: Record<string, unknown>) => boolean | undefined;
}

/** The benches test/bench/run.ts knows, in its order, with the command that runs each. */
export const BENCH_NAMES = ['protocol', 'cluster-e2e', 'cluster', 'ticket-cache', 'voter-scale', 'admin-import', 'devnet', 'nodeproxy', 'vote-latency', 'tracing'] as const;

/** Files in bench-results/ that are not bench records. */
const NOT_RECORDS = new Set(['latest.json', 'retried-tests.json']);

function at(r: unknown, path: string): unknown {
  let cur: unknown = r;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function num(r: unknown, path: string): number | undefined {
  const v = at(r, path);
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function bool(r: unknown, path: string): boolean | undefined {
  const v = at(r, path);
  return typeof v === 'boolean' ? v : undefined;
}

/** A number for a table: thousands separated, at most `digits` decimals. */
export function fmt(x: number, digits = 2): string {
  const abs = Math.abs(x);
  const d = abs >= 100 ? 0 : abs >= 10 ? Math.min(digits, 1) : digits;
  return x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: 0 });
}

/** `a / b / c unit` from the numbers at `paths`; undefined unless every one is present. */
function nums(r: unknown, paths: string[], unit = '', digits = 2): string | undefined {
  const xs = paths.map((p) => num(r, p));
  if (xs.some((x) => x === undefined)) return undefined;
  return `${(xs as number[]).map((x) => fmt(x, digits)).join(' / ')}${unit ? ` ${unit}` : ''}`;
}

/** p50 / p90 / p99 of a summary object, whichever of `p50` or `p50Ms` it uses. */
function pcts(r: unknown, path: string, qs: string[] = ['p50', 'p90', 'p99']): string | undefined {
  const obj = at(r, path);
  if (obj === null || typeof obj !== 'object') return undefined;
  const key = (q: string): string | undefined => (num(obj, q) !== undefined ? q : num(obj, `${q}Ms`) !== undefined ? `${q}Ms` : undefined);
  const keys = qs.map(key);
  if (keys.some((k) => k === undefined)) return undefined;
  const n = num(obj, 'n');
  return `${nums(obj, keys as string[], 'ms')}${n !== undefined ? ` (n = ${fmt(n, 0)})` : ''}`;
}

/** `ratio [lo, hi]` from a ratio and its `…Ci95` pair. */
function ratioCi(r: unknown, path: string): string | undefined {
  const m = num(r, path);
  const ci = at(r, `${path}Ci95`);
  return m === undefined ? undefined : `${fmt(m)}${Array.isArray(ci) && ci.length === 2 ? ` [${ci.map((x) => fmt(Number(x))).join(', ')}]` : ''}`;
}

const lte = (x: number | undefined, limit: number | undefined): boolean | undefined => (x === undefined || limit === undefined ? undefined : x <= limit);

/** Headline figures per bench; every other value is in the bench's full listing. */
const FIGURES: Readonly<Record<string, readonly Figure[]>> = {
  protocol: [
    { figure: 'votes built + signed per CPU-second (one core)', value: (r) => nums(r, ['votesBuiltSignedPerCpuSec'], '', 0), target: '≥ 2,000', met: (r) => bool(r, 'votesBuiltSignedOk') },
    { figure: 'votes built + signed per second (wall clock)', value: (r) => nums(r, ['votesBuiltSignedPerSec'], '', 0) },
    { figure: 'full consensus vote checks per CPU-second', value: (r) => nums(r, ['voteChecksPerCpuSec'], '', 0) },
    { figure: 'transactions decoded per CPU-second', value: (r) => nums(r, ['txDecodePerCpuSec'], '', 0), target: '≥ 50,000', met: (r) => bool(r, 'txDecodeOk') },
    { figure: 'lottery over 100,000 live tickets, kept sorted / unsorted', value: (r) => nums(r, ['lottery100kSortedMs', 'lottery100kUnsortedMs'], 'ms') },
  ],
  'vote-latency': [
    { figure: 'draw → accepted p50 / p90 / p99, lease, 1 region on loopback', value: (r) => pcts(r, 'drawToAcceptedMs') },
    { figure: 'physical floor (notify hop + sign + SendVote, p50s, same run)', value: (r) => nums(r, ['floorMs'], 'ms') },
    { figure: 'lease p99 / floor', value: (r) => nums(r, ['p99OverFloor']), target: '≤ 2', met: (r) => lte(num(r, 'p99OverFloor'), 2) },
    { figure: 'draw → accepted p50 / p90 / p99, all-vote', value: (r) => pcts(r, 'allVote.latencyMs') },
    { figure: 'p99 lease / all-vote', value: (r) => nums(r, ['p99RatioLeaseOverAllVote']), target: '≤ 1.1', met: (r) => lte(num(r, 'p99RatioLeaseOverAllVote'), 1.1) },
    { figure: 'broadcasts per vote per dcrd, lease / all-vote', value: (r) => nums(r, ['lease.broadcastsPerVotePerDcrd', 'allVote.broadcastsPerVotePerDcrd']), target: '~1 for lease' },
    { figure: 'CPU of the whole cluster per block p50, lease', value: (r) => nums(r, ['lease.cpuMsPerBlock.p50'], 'ms') },
    { figure: 'missed / conflicting, lease', value: (r) => nums(r, ['lease.missed', 'lease.conflicting'], '', 0), target: '0 / 0', met: (r) => (num(r, 'lease.missed') === undefined ? undefined : num(r, 'lease.missed') === 0 && num(r, 'lease.conflicting') === 0) },
  ],
  'cluster-e2e': [
    { figure: '3 regions, 40 ± 5 ms WAN: draw → accepted at the nearest dcrd p50 / p90 / p99, lease', value: (r) => pcts(r, 'threeRegions.lease.latencyMs'), target: 'p99 ≤ one-way delay + 10 ms', met: (r) => bool(r, 'threeRegions.leaseMeetsTarget') },
    { figure: 'same, all-vote', value: (r) => pcts(r, 'threeRegions.allVote.latencyMs') },
    { figure: 'draw → accepted at the miner p50 / p99, lease / all-vote', value: (r) => { const a = pcts(r, 'threeRegions.lease.toMinerMs', ['p50', 'p99']); const b = pcts(r, 'threeRegions.allVote.toMinerMs', ['p50', 'p99']); return a && b ? `${a}; ${b}` : undefined; } },
    { figure: 'same, single-signer (one signer per ticket for every draw) p50 / p99', value: (r) => pcts(r, 'threeRegions.singleSigner.toMinerMs', ['p50', 'p99']) },
    { figure: 'p99 at the miner lease / all-vote, single-signer / all-vote', value: (r) => nums(r, ['threeRegions.toMinerP99RatioLeaseOverAllVote', 'threeRegions.toMinerP99RatioSingleSignerOverAllVote']), target: 'lease ≤ 1.1 with ≤ 1.1 broadcasts per vote per dcrd', met: (r) => bool(r, 'threeRegions.leaseMeetsToMinerTarget') },
    { figure: 'lease draws whose miner-region signer had the previous block\'s tip at once / waited for it / read it from etcd / not canonical', value: (r) => nums(r, ['threeRegions.lease.minerRegionInputs.view', 'threeRegions.lease.minerRegionInputs.waited', 'threeRegions.lease.minerRegionInputs.read', 'threeRegions.lease.minerRegionInputs.none'], '', 0) },
    { figure: 'least time between blocks in the latency runs', value: (r) => nums(r, ['blockGapMs'], 'ms', 0) },
    { figure: 'block drawn at the miner → every voter\'s view holds its cluster tip p50 / p90 / p99, lease', value: (r) => pcts(r, 'threeRegions.lease.tipCurrentMs') },
    { figure: 'p99 lease / all-vote', value: (r) => nums(r, ['threeRegions.p99RatioLeaseOverAllVote']), target: '≤ 1.1', met: (r) => lte(num(r, 'threeRegions.p99RatioLeaseOverAllVote'), 1.1) },
    { figure: 'broadcasts per vote per dcrd, lease / single-signer / all-vote', value: (r) => nums(r, ['threeRegions.lease.broadcastsPerVotePerDcrd', 'threeRegions.singleSigner.broadcastsPerVotePerDcrd', 'threeRegions.allVote.broadcastsPerVotePerDcrd']), target: '~1 for lease' },
    { figure: 'floor, 3 regions (same run)', value: (r) => nums(r, ['threeRegions.floorMs'], 'ms') },
    { figure: 'signer SIGKILLed just before its draw, 3 regions: draw → accepted p50 / p90 / p99', value: (r) => pcts(r, 'takeover.takeoverMs'), target: 'hedge + 50 ms', met: (r) => lte(num(r, 'takeover.takeoverMs.p99'), num(r, 'takeover.targetMs')) },
    { figure: 'same, at the miner p50 / p99', value: (r) => pcts(r, 'takeover.toMinerMs', ['p50', 'p99']) },
    { figure: 'signer kills / kills taken over / takeovers per kill (from the chain), 3 regions', value: (r) => nums(r, ['takeover.kills', 'takeover.killsExercised', 'takeover.takeoversPerKill']), target: 'every kill taken over', met: (r) => (num(r, 'takeover.kills') === undefined ? undefined : num(r, 'takeover.kills')! > 0 && num(r, 'takeover.kills') === num(r, 'takeover.killsExercised')) },
    { figure: 'signer SIGKILLed just before its draw, 1 region, 3 voters: draw → accepted p50 / p90 / p99', value: (r) => pcts(r, 'takeoverOneRegion.takeoverMs'), target: 'p99 ≤ 100 ms', met: (r) => lte(num(r, 'takeoverOneRegion.takeoverMs.p99'), 100) },
    { figure: '1 region on loopback: lease p50 / p90 / p99', value: (r) => pcts(r, 'oneRegion.lease.latencyMs') },
    { figure: 'same, single-signer', value: (r) => pcts(r, 'oneRegion.singleSigner.latencyMs') },
    { figure: '1 region: lease p99 / floor', value: (r) => nums(r, ['oneRegion.p99OverFloor']), target: '≤ 2', met: (r) => lte(num(r, 'oneRegion.p99OverFloor'), 2) },
    { figure: 'missed / conflicting, 3 regions lease / all-vote', value: (r) => nums(r, ['threeRegions.lease.missed', 'threeRegions.lease.conflicting', 'threeRegions.allVote.missed', 'threeRegions.allVote.conflicting'], '', 0), target: '0' },
  ],
  cluster: [
    { figure: 'create-if-absent claim txn p50 / p99 (1 etcd member)', value: (r) => pcts(r, 'claimTxn', ['p50', 'p99']) },
    { figure: 'vote record txn p50 / p99, created', value: (r) => pcts(r, 'recordTxnCreated', ['p50', 'p99']) },
    { figure: 'import of tickets (batched txns): tickets, ms, per second', value: (r) => nums(r, ['import.tickets', 'import.ms', 'import.perSec'], '', 0) },
    { figure: 'voter start-up among 6 nodes (claimMany): wall ms / CPU ms / peak RSS MB', value: (r) => nums(r, ['voterStartClaimMany.totalMs', 'voterStartClaimMany.cpuMs', 'voterStartClaimMany.peakRssMB'], '', 0), target: '< 10 s, < 300 MB', met: (r) => bool(r, 'voterStartClaimMany.meetsTarget') },
  ],
  'ticket-cache': [
    { figure: 'heap + buffers of 100,000 cached tickets, compact / plain records, MB', value: (r) => nums(r, ['compact.totalMB', 'plain.totalMB']) },
    { figure: 'plain records / compact form', value: (r) => nums(r, ['plainOverCompact']) },
  ],
  'voter-scale': [
    { figure: 'real `votecluster voter` start with the tickets among 6 nodes: tickets', value: (r) => nums(r, ['tickets'], '', 0), target: '100,000' },
    { figure: 'wall ms from spawn / CPU ms', value: (r) => nums(r, ['plainMedian.wallMs', 'plainMedian.cpuMs'], '', 0) ?? nums(r, ['plain.wallMs', 'plain.cpuMs'], '', 0), target: '< 10 s', met: (r) => bool(r, 'plain.meetsTarget') },
    { figure: 'RSS steady / peak MB', value: (r) => nums(r, ['plainMedian.steadyRssMb', 'plainMedian.peakRssMb'], '', 0) ?? nums(r, ['plain.steadyRssMb', 'plain.peakRssMb'], '', 0), target: '< 300 MB', met: (r) => bool(r, 'plain.peakRssUnder300') },
    { figure: 'owns its expected share', value: (r) => (bool(r, 'plain.ownsExpectedShare') === undefined ? undefined : String(bool(r, 'plain.ownsExpectedShare'))), target: 'true', met: (r) => bool(r, 'plain.ownsExpectedShare') },
  ],
  'admin-import': [
    { figure: 'ticket import, batched: entries / ms / per second', value: (r) => nums(r, ['batched.entries', 'batched.ms', 'batched.perSec'], '', 0) },
    { figure: 'ticket import, one txn per entry: entries / ms / per second', value: (r) => nums(r, ['perEntry.entries', 'perEntry.ms', 'perEntry.perSec'], '', 0) },
  ],
  devnet: [
    { figure: 'boot to stake validation height with 64 / 10,000 / 100,000 tickets', value: (r) => nums(r, ['boot.64.bootMs', 'boot.10000.bootMs', 'boot.100000.bootMs'], 'ms', 0), target: '64 tickets in < 5 s', met: (r) => lte(num(r, 'boot.64.bootMs'), 5_000) },
    { figure: 'blocks mined per second', value: (r) => nums(r, ['blocksPerSecond'], '', 0) },
    { figure: 'heap after 1,000 blocks / at the end (MB), blocks', value: (r) => nums(r, ['heapAfter1kMb', 'heapAfterEndMb', 'blocksMined'], '', 1), target: 'flat' },
  ],
  nodeproxy: [
    { figure: 'notification latency the proxy adds, 1 client, p50 / p99', value: (r) => pcts(r, 'notifyProxyAdded1Client', ['p50', 'p99']) },
    { figure: 'same, 200 clients', value: (r) => pcts(r, 'notifyProxyAdded200Clients', ['p50', 'p99']) },
    { figure: 'SendVote round trip to ACCEPTED p50 / p99', value: (r) => pcts(r, 'sendVoteRttAccepted', ['p50', 'p99']) },
    { figure: 'SendVote round trip, duplicate answered by the proxy, p50 / p99', value: (r) => pcts(r, 'sendVoteRttProxyDedup', ['p50', 'p99']) },
  ],
  tracing: [
    { figure: 'p99 draw → accepted, tracing on / off', value: (r) => nums(r, ['latencyMs.on.p99', 'latencyMs.off.p99'], 'ms') },
    { figure: 'p99 ratio on / off: median of pairs, pooled [95 % intervals]', value: (r) => { const a = ratioCi(r, 'ratio.medianPairP99'); const b = ratioCi(r, 'ratio.pooledP99'); return a && b ? `${a}; ${b}` : undefined; }, target: 'both ≤ 1.10', met: (r) => bool(r, 'withinBudget') },
    { figure: 'CPU per vote, tracing on / off', value: (r) => nums(r, ['cpuMsPerVote.on', 'cpuMsPerVote.off'], 'ms') },
    { figure: "a vote's spans (8) in a hot loop, tracing on / off; added per vote", value: (r) => { const a = nums(r, ['spanCost.voteSpansUsOn', 'spanCost.voteSpansUsOff'], 'µs'); const b = nums(r, ['spanCost.voteSpansMsAdded'], 'ms', 3); return a && b ? `${a}; ${b}` : undefined; } },
    { figure: 'pairs / votes on / votes off', value: (r) => nums(r, ['pairs', 'votes.on', 'votes.off'], '', 0) },
  ],
};

/** How to run one bench, for the "not run" list. */
const HOW_TO_RUN = (name: string): string => `npm run bench -- ${name}`;

/** Parses one bench-results file; undefined (with a reason) when it is not a usable record. */
export function parseRecord(text: string): { record?: BenchRecord; problem?: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { problem: `not JSON (${(e as Error).message.split('\n')[0]})` };
  }
  if (v === null || typeof v !== 'object') return { problem: 'not an object' };
  const o = v as Record<string, unknown>;
  if (typeof o['name'] !== 'string' || o['name'] === '') return { problem: 'no bench name' };
  if (typeof o['startedAt'] !== 'string' || Number.isNaN(Date.parse(o['startedAt']))) return { problem: 'no start time' };
  const results = o['results'] !== null && typeof o['results'] === 'object' && !Array.isArray(o['results']) ? (o['results'] as Record<string, unknown>) : {};
  return {
    record: {
      name: o['name'],
      startedAt: o['startedAt'],
      durationMs: typeof o['durationMs'] === 'number' ? o['durationMs'] : 0,
      node: typeof o['node'] === 'string' ? o['node'] : 'unknown',
      cpu: typeof o['cpu'] === 'string' ? o['cpu'] : 'unknown',
      cores: typeof o['cores'] === 'number' ? o['cores'] : 0,
      loadAvg1m: typeof o['loadAvg1m'] === 'number' ? o['loadAvg1m'] : Number.NaN,
      ...(o['settings'] !== null && typeof o['settings'] === 'object' && !Array.isArray(o['settings'])
        ? { settings: Object.fromEntries(Object.entries(o['settings'] as Record<string, unknown>).map(([k, v]) => [k, String(v)])) }
        : {}),
      ok: o['ok'] !== false,
      ...(typeof o['error'] === 'string' ? { error: o['error'] } : {}),
      results,
    },
  };
}

/** Every `path: value` leaf of a result, arrays shortened, for the full listing. */
export function flatten(obj: unknown, prefix = ''): Array<[string, string]> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return [[prefix, leaf(obj)]];
  const rows: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) rows.push(...flatten(v, prefix ? `${prefix}.${k}` : k));
  return rows;
}

function leaf(v: unknown): string {
  if (Array.isArray(v)) {
    const shown = v.slice(0, 12).map((x) => leaf(x)).join(', ');
    return v.length > 12 ? `${shown}, … (${v.length} values)` : shown;
  }
  if (typeof v === 'number') return fmt(v, 3);
  if (v === null || v === undefined) return '—';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Markdown table cell: no pipes or newlines. */
const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

const dateOf = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
const loadOf = (x: number): string => (Number.isFinite(x) ? fmt(x, 1) : '?');
const machineOf = (r: BenchRecord): string => `${r.cores} × ${r.cpu.replace(/\s+/g, ' ').trim()}, ${r.node}, load ${loadOf(r.loadAvg1m)}`;

/** Inputs of {@link renderBenchmarksDoc}. */
export interface RenderInput {
  records: readonly BenchRecord[];
  /** Files that could not be used, with the reason. */
  unreadable: ReadonlyArray<{ file: string; problem: string }>;
  /** When and on what the document is generated. */
  generatedAt: string;
  loadAvgNow: readonly number[];
  coresNow: number;
}

/** The whole of docs/benchmarks.md. Pure: same input, same text. */
export function renderBenchmarksDoc(input: RenderInput): string {
  const byName = new Map<string, BenchRecord>();
  for (const r of input.records) {
    const prev = byName.get(r.name);
    if (!prev || Date.parse(r.startedAt) > Date.parse(prev.startedAt)) byName.set(r.name, r);
  }
  const known = [...BENCH_NAMES, ...[...byName.keys()].filter((n) => !(BENCH_NAMES as readonly string[]).includes(n)).sort()];
  const present = known.filter((n) => byName.has(n));
  const missing = known.filter((n) => !byName.has(n));
  const loads = present.map((n) => byName.get(n)!.loadAvg1m).filter((x) => Number.isFinite(x));
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push('<!-- Generated by `npm run bench:report` (test/bench/report.ts) from bench-results/*.json. Do not edit: run `npm run bench` and commit the regenerated file. -->', '');
  out.push(`Generated ${dateOf(input.generatedAt)} from ${present.length} bench result${present.length === 1 ? '' : 's'} in \`bench-results/\` by \`npm run bench:report\`; \`npm run bench\` (or \`npm run bench -- NAME …\`) measures and regenerates it. What each bench does: \`test/bench/<name>.bench.ts\`; the targets: docs/architecture.md, "Targets".`, '');
  out.push(
    `**The machine is shared.** These figures come from a ${input.coresNow}-core machine that other work was using at the same time: the 1-minute load average was ${input.loadAvgNow.map((x) => loadOf(x)).join(' / ')} (1 / 5 / 15 min) when this file was generated${loads.length > 0 ? `, and ${loadOf(Math.min(...loads))}–${loadOf(Math.max(...loads))} when the benches started` : ''} (each row's machine column has its own). Above a load of about the core count, latencies include time spent waiting for a CPU: compare medians and ratios, and prefer the figures measured per CPU-second, per block of CPU, or as broadcasts per vote, which the load does not inflate. A run on a quiet machine gives lower latencies.`,
    '',
  );
  if (present.length === 0) {
    out.push('No bench results were found. Run `npm run bench` (or `npm run bench -- protocol` for a quick one).', '');
  } else {
    out.push('| bench | figure | value | target | machine | date |', '|---|---|---|---|---|---|');
    for (const name of present) {
      const rec = byName.get(name)!;
      const machine = cell(machineOf(rec));
      const date = dateOf(rec.startedAt);
      if (!rec.ok) {
        out.push(`| \`${name}\` | **failed** | ${cell(rec.error ?? 'unknown error')} | | ${machine} | ${date} |`);
        continue;
      }
      const rows = (FIGURES[name] ?? []).map((f) => ({ f, v: f.value(rec.results) })).filter((x) => x.v !== undefined);
      if (rows.length === 0) {
        out.push(`| \`${name}\` | (see the full listing below) | | | ${machine} | ${date} |`);
        continue;
      }
      for (const { f, v } of rows) {
        const met = f.met?.(rec.results);
        const target = f.target ? `${f.target}${met === true ? ' ✔' : met === false ? ' ✘' : ''}` : '';
        out.push(`| \`${name}\` | ${cell(f.figure)} | ${cell(v as string)} | ${cell(target)} | ${machine} | ${date} |`);
      }
    }
    out.push('');
  }
  if (missing.length > 0) {
    out.push(`Not run on this machine for this file: ${missing.map((n) => `\`${n}\` (\`${HOW_TO_RUN(n)}\`)`).join(', ')}.`, '');
  }
  if (input.unreadable.length > 0) {
    out.push(`Skipped (not a usable bench result): ${input.unreadable.map((u) => `\`${u.file}\` (${u.problem})`).join(', ')}.`, '');
  }
  if (present.length > 0) {
    out.push('## Every figure', '', 'Each bench\'s complete result, as `bench-results/<name>.json` holds it.', '');
    for (const name of present) {
      const rec = byName.get(name)!;
      out.push(`### \`${name}\``, '');
      const settings = Object.entries(rec.settings ?? {}).map(([k, v]) => `\`${k}=${v}\``).join(' ');
      out.push(`${dateOf(rec.startedAt)}, ${fmt(rec.durationMs / 1000, 1)} s, ${cell(machineOf(rec))}; settings: ${settings || 'defaults (or not recorded)'}${rec.ok ? '' : `; failed: ${cell(rec.error ?? 'unknown error')}`}.`, '');
      const rows = flatten(rec.results).filter(([k]) => k !== '');
      if (rows.length > 0) {
        out.push('<details><summary>' + `${rows.length} values` + '</summary>', '', '| field | value |', '|---|---|');
        for (const [k, v] of rows) out.push(`| \`${cell(k)}\` | ${cell(v)} |`);
        out.push('', '</details>', '');
      }
    }
  }
  return out.join('\n').replace(/\n+$/, '\n');
}

/** Reads every record in `dir` (none when the folder is missing). */
export function readRecords(dir: string): { records: BenchRecord[]; unreadable: Array<{ file: string; problem: string }> } {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.json') && !NOT_RECORDS.has(f)).sort();
  } catch {
    return { records: [], unreadable: [] };
  }
  const records: BenchRecord[] = [];
  const unreadable: Array<{ file: string; problem: string }> = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(join(dir, f), 'utf8');
    } catch (e) {
      unreadable.push({ file: f, problem: (e as NodeJS.ErrnoException).code ?? 'unreadable' });
      continue;
    }
    const { record, problem } = parseRecord(text);
    if (record) records.push(record);
    else unreadable.push({ file: basename(f), problem: problem ?? 'unusable' });
  }
  return { records, unreadable };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Regenerates docs/benchmarks.md from bench-results/; returns the path written. */
export function writeBenchmarksDoc(resultsDir = join(ROOT, 'bench-results'), outFile = join(ROOT, 'docs', 'benchmarks.md')): string {
  const { records, unreadable } = readRecords(resultsDir);
  const text = renderBenchmarksDoc({ records, unreadable, generatedAt: new Date().toISOString(), loadAvgNow: loadavg(), coresNow: cpus().length });
  writeFileSync(outFile, text);
  return outFile;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`wrote ${writeBenchmarksDoc()}\n`);
}
