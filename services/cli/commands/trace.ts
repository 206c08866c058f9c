/**
 * `votecluster trace --file FILE | --otlp-listen [HOST:]PORT [--duration S] [--json]`:
 * reads the JSON-lines span file that `--trace-file` makes every service
 * write, or receives spans over OTLP/gRPC (TraceService/Export; services
 * started with an OTLP endpoint send there) until SIGINT/SIGTERM or
 * `--duration`, then prints per vote the latency waterfall (which span took the
 * time) and, in aggregate, percentiles per span name. With `--json`: one JSON
 * object per vote per line (`{traceId, height, blockHash, ticketHash,
 * spans:[{name, service, startMs, durationMs, parent, ...}], totalMs, ...}`).
 * The receiver listens on loopback unless a host is given; its address goes to
 * stderr (`votecluster trace: receiving OTLP on HOST:PORT`), stdout stays the report.
 */
import type { Command } from 'commander';
import {
  buildTraceReport,
  formatAggregate,
  formatVoteWaterfall,
  readSpanFile,
  startOtlpReceiver,
  voteToJson,
  type SpanRecord,
} from '../../telemetry/index.ts';

interface TraceFlags {
  file?: string;
  otlpListen?: string;
  duration?: string;
  json?: boolean;
  limit?: string;
  ticket?: string;
  strict?: boolean;
}

function fail(message: string): void {
  process.stderr.write(`votecluster trace: ${message}\n`);
  process.exitCode = 2;
}

/** `PORT` (loopback) or `HOST:PORT` / `[v6]:PORT`; undefined when malformed. */
export function parseOtlpListen(value: string): { host: string; port: number } | undefined {
  const i = value.lastIndexOf(':');
  let host = i < 0 ? '127.0.0.1' : value.slice(0, i);
  const portText = i < 0 ? value : value.slice(i + 1);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  const port = Number(portText);
  if (host === '' || !/^\d+$/.test(portText) || port > 65535) return undefined;
  return { host, port };
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

/** Receives OTLP spans until SIGINT/SIGTERM or `durationMs`. */
async function receive(listen: { host: string; port: number }, durationMs: number | undefined): Promise<SpanRecord[]> {
  const receiver = await startOtlpReceiver({ ...listen });
  process.stderr.write(`votecluster trace: receiving OTLP on ${receiver.address}\n`);
  await new Promise<void>((resolve) => {
    const timer = durationMs === undefined ? undefined : setTimeout(done, durationMs);
    function done(): void {
      if (timer) clearTimeout(timer);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    }
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
  await receiver.stop();
  const st = receiver.stats();
  process.stderr.write(`votecluster trace: ${st.requests} export request(s), ${st.accepted} span(s)${st.rejected ? `, ${st.rejected} malformed span(s) dropped` : ''}${st.dropped ? `, ${st.dropped} oldest dropped` : ''}\n`);
  return receiver.spans;
}

export function register(program: Command): void {
  program
    .command('trace')
    .description('print per-vote latency waterfalls and per-span percentiles from a span file or received OTLP spans')
    .option('--file <path>', 'JSON-lines span file written with --trace-file')
    .option('--otlp-listen <[host:]port>', 'receive spans over OTLP/gRPC here (loopback unless a host is given) until SIGINT or --duration')
    .option('--duration <seconds>', 'with --otlp-listen: stop receiving after this many seconds')
    .option('--json', 'one JSON object per vote per line')
    .option('--limit <n>', 'print at most the last N vote waterfalls (text mode; default 20)')
    .option('--ticket <hash>', 'only votes for this ticket hash (prefix)')
    .option('--strict', 'fail on a malformed line instead of skipping it')
    .action(async (flags: TraceFlags) => {
      if ((flags.file === undefined) === (flags.otlpListen === undefined)) return fail('give exactly one of --file FILE or --otlp-listen [HOST:]PORT');
      if (flags.limit !== undefined && !(Number.isInteger(Number(flags.limit)) && Number(flags.limit) >= 0)) {
        return fail(`--limit ${flags.limit} is not a non-negative integer`);
      }
      if (flags.file !== undefined) {
        if (flags.duration !== undefined) return fail('--duration goes with --otlp-listen');
        const { spans, skipped } = readSpanFile(flags.file, { lenient: !flags.strict });
        if (skipped > 0) process.stderr.write(`votecluster trace: skipped ${skipped} malformed line(s) in ${flags.file}\n`);
        printReport(spans, flags);
        return;
      }
      const listen = parseOtlpListen(flags.otlpListen as string);
      if (!listen) return fail(`--otlp-listen ${JSON.stringify(flags.otlpListen)}: expected PORT or HOST:PORT (port 0..65535)`);
      let durationMs: number | undefined;
      if (flags.duration !== undefined) {
        const s = Number(flags.duration);
        if (!(Number.isFinite(s) && s > 0)) return fail(`--duration ${flags.duration} is not a positive number of seconds`);
        durationMs = s * 1000;
      }
      printReport(await receive(listen, durationMs), flags);
    });
}
