/**
 * `votecluster trace --file FILE [--json]`: reads the JSON-lines span file
 * that `--trace-file` makes every service write, or the OTLP/JSON lines the
 * OpenTelemetry Collector's `file` exporter writes (services started with an
 * OTLP endpoint send their spans to a Collector), and prints per vote the
 * latency waterfall (which span took the time) and, in aggregate, percentiles
 * per span name. With `--json`: one JSON object per vote per line
 * (`{traceId, height, blockHash, ticketHash, spans:[{name, service, startMs,
 * durationMs, parent, ...}], totalMs, ...}`).
 */
import type { Command } from 'commander';
import {
  buildTraceReport,
  formatAggregate,
  formatVoteWaterfall,
  readSpanFile,
  voteToJson,
  type SpanRecord,
} from '../../telemetry/index.ts';

interface TraceFlags {
  file?: string;
  json?: boolean;
  limit?: string;
  ticket?: string;
  strict?: boolean;
}

function fail(message: string): void {
  process.stderr.write(`votecluster trace: ${message}\n`);
  process.exitCode = 2;
}

function printReport(spans: readonly SpanRecord[], flags: TraceFlags): void {
  let report = buildTraceReport(spans);
  if (flags.ticket !== undefined) {
    const ids = new Set(report.votes.filter((v) => v.ticketHash?.startsWith(flags.ticket!)).map((v) => v.traceId));
    report = buildTraceReport(spans.filter((s) => ids.has(s.traceId)));
  }
  const votes = report.votes;
  if (flags.json) {
    for (const v of votes) process.stdout.write(JSON.stringify(voteToJson(v)) + '\n');
    return;
  }
  const limit = flags.limit === undefined ? 20 : Number(flags.limit);
  const shown = limit === 0 ? [] : votes.slice(-limit);
  for (const v of shown) process.stdout.write(formatVoteWaterfall(v) + '\n\n');
  if (shown.length < votes.length) process.stdout.write(`(${votes.length - shown.length} earlier vote(s) not shown; --limit)\n\n`);
  process.stdout.write(formatAggregate(report) + '\n');
}

export function register(program: Command): void {
  program
    .command('trace')
    .description('print per-vote latency waterfalls and per-span percentiles from a span file')
    .option('--file <path>', 'span file: written with --trace-file, or OTLP/JSON lines from the OpenTelemetry Collector\'s file exporter')
    .option('--json', 'one JSON object per vote per line')
    .option('--limit <n>', 'print at most the last N vote waterfalls (text mode; default 20)')
    .option('--ticket <hash>', 'only votes for this ticket hash (prefix)')
    .option('--strict', 'fail on a malformed line instead of skipping it')
    .action(async (flags: TraceFlags) => {
      if (flags.file === undefined) return fail('--file FILE is required');
      if (flags.limit !== undefined && !(Number.isInteger(Number(flags.limit)) && Number(flags.limit) >= 0)) {
        return fail(`--limit ${flags.limit} is not a non-negative integer`);
      }
      const { spans, skipped } = readSpanFile(flags.file, { lenient: !flags.strict });
      if (skipped > 0) process.stderr.write(`votecluster trace: skipped ${skipped} malformed line(s) or span(s) in ${flags.file}\n`);
      printReport(spans, flags);
    });
}
