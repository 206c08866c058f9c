/**
 * The JSON-lines span file: the embedded default trace sink, read by
 * `votecluster trace`.
 *
 * One span per line:
 * `{traceId, spanId, parentSpanId?, name, service, region?, nodeId?, startMs, durationMs, attributes, status}`
 * with `startMs` as epoch milliseconds (float) and `durationMs` in ms (float).
 *
 * Several processes append to the same file safely: the file is opened with
 * O_APPEND, and each chunk of a batch is one `write(2)` of whole lines. On Linux a
 * write to an O_APPEND regular file is positioned and performed atomically with
 * respect to other appenders, so lines from different processes never
 * interleave; a short write (disk full) is completed by a loop, and the
 * exporter reports failure if the remainder cannot be written.
 *
 * Writes are asynchronous (libuv's thread pool) and serialised per exporter:
 * a synchronous write on a busy disk stalls the event loop for milliseconds
 * (measured up to 13 ms for 30 kB on the loaded CI box), and that stall would
 * land on whatever vote is in flight. Serialising keeps a batch's remainder
 * after a short write from interleaving with the next batch. JSON
 * serialisation is cut the same way: one chunk of spans per event-loop turn,
 * never inside the `export()` call (which can run in a vote's `span.end()`).
 */
import { closeSync, mkdirSync, openSync, readFileSync, write, constants as fsc } from 'node:fs';
import { dirname } from 'node:path';
import { SpanStatusCode } from '@opentelemetry/api';
import * as core from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { SpanFileError, SpanRecordError } from './errors.ts';
import { isOtlpTraceRequest, otlpToSpanRecords } from './otlp-json.ts';
import { SpanRecordSchema, type SpanRecord } from './span-record.ts';

export { SpanRecordSchema, type SpanRecord } from './span-record.ts';

const STATUS: Record<number, SpanRecord['status']['code']> = {
  [SpanStatusCode.UNSET]: 'unset',
  [SpanStatusCode.OK]: 'ok',
  [SpanStatusCode.ERROR]: 'error',
};

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Converts an SDK span to its span-file record. */
export function toSpanRecord(span: ReadableSpan): SpanRecord {
  const ctx = span.spanContext();
  const res = span.resource.attributes;
  const rec: SpanRecord = {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    name: span.name,
    service: str(res['service.name']) ?? 'unknown',
    startMs: core.hrTimeToMilliseconds(span.startTime),
    durationMs: core.hrTimeToMilliseconds(span.duration),
    attributes: { ...span.attributes },
    status: { code: STATUS[span.status.code] ?? 'unset' },
  };
  const parent = span.parentSpanContext?.spanId;
  if (parent) rec.parentSpanId = parent;
  const region = str(res['votecluster.region']);
  if (region !== undefined) rec.region = region;
  const nodeId = str(res['votecluster.node_id']);
  if (nodeId !== undefined) rec.nodeId = nodeId;
  if (span.status.message) rec.status.message = span.status.message;
  return rec;
}

/** Spans serialised per event-loop turn by {@link FileSpanExporter} (default). */
export const SPAN_FILE_CHUNK = 64;

/** Options of {@link FileSpanExporter}. */
export interface FileSpanExporterOptions {
  /**
   * Spans serialised and written per event-loop turn (default {@link SPAN_FILE_CHUNK}).
   * A batch is cut into chunks with a `setImmediate` between them, so a large
   * batch (a burst, a catch-up: up to 2,048 spans, ~10 ms of JSON) never holds the
   * event loop for more than one chunk (~0.3 ms) while a vote is in flight.
   */
  chunkSpans?: number;
}

/** An OTel span exporter appending span records to a JSON-lines file. */
export class FileSpanExporter implements SpanExporter {
  readonly path: string;
  readonly #chunk: number;
  #fd: number | undefined;
  /** The last queued write; batches are written one after another. */
  #tail: Promise<void> = Promise.resolve();

  /** Opens (creates) `path` for appending; throws {@link SpanFileError}. */
  constructor(path: string, opts: FileSpanExporterOptions = {}) {
    this.path = path;
    const chunk = opts.chunkSpans ?? SPAN_FILE_CHUNK;
    if (!(chunk >= 1)) throw new SpanFileError(`FileSpanExporter: chunkSpans must be >= 1, got ${chunk}`);
    this.#chunk = chunk;
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.#fd = openSync(path, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT, 0o644);
    } catch (err) {
      throw new SpanFileError(`cannot open span file ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Queues `spans` for writing and returns at once: nothing is serialised in
   * this call (the batch processor calls it from its timer, or from the
   * `span.end()` that filled a batch, i.e. on a vote's path). Each chunk of
   * {@link FileSpanExporterOptions.chunkSpans} spans is serialised in its own
   * event-loop turn and written with one asynchronous `write(2)` of whole
   * lines; `done` is called once the whole batch is written (or failed).
   */
  export(spans: ReadableSpan[], done: (result: core.ExportResult) => void): void {
    if (this.#fd === undefined) {
      done({ code: core.ExportResultCode.FAILED, error: new SpanFileError(`span file ${this.path} is closed`) });
      return;
    }
    const fd = this.#fd;
    const batch = spans.slice();
    this.#tail = this.#tail.then(async () => {
      try {
        for (let i = 0; i < batch.length; i += this.#chunk) {
          await nextTurn();
          let text = '';
          for (const s of batch.slice(i, i + this.#chunk)) text += JSON.stringify(toSpanRecord(s)) + '\n';
          await writeAll(fd, Buffer.from(text, 'utf8'));
        }
        done({ code: core.ExportResultCode.SUCCESS });
      } catch (err) {
        done({ code: core.ExportResultCode.FAILED, error: new SpanFileError(`cannot write span file ${this.path}`, { cause: err }) });
      }
    });
  }

  /** Resolves when every batch handed to `export` so far is written. */
  async forceFlush(): Promise<void> {
    await this.#tail;
  }

  async shutdown(): Promise<void> {
    await this.#tail;
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** Resolves in the next event-loop turn (after pending I/O callbacks). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Writes all of `buf` at the O_APPEND end; a short write (disk full) is continued. */
function writeAll(fd: number, buf: Buffer): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const writeFrom = (off: number): void => {
      // position null: write(2) at the O_APPEND end, atomically per call.
      write(fd, buf, off, buf.length - off, null, (err, n) => {
        if (err) reject(err);
        else if (off + n < buf.length) writeFrom(off + n);
        else resolve();
      });
    };
    writeFrom(0);
  });
}

/**
 * Parses span-file text: span records, and OTLP/JSON trace requests (one per
 * line, as the OpenTelemetry Collector's `file` exporter writes them; each
 * contributes its spans). Blank lines are skipped; a malformed line raises
 * {@link SpanRecordError} naming its line number, unless `lenient` is set, in
 * which case it is counted in `skipped` (a crashed writer can leave a torn
 * last line).
 */
export function parseSpanLines(text: string, opts: { lenient?: boolean } = {}): { spans: SpanRecord[]; skipped: number } {
  const spans: SpanRecord[] = [];
  let skipped = 0;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      if (opts.lenient) { skipped++; continue; }
      throw new SpanRecordError(`span file line ${i + 1}: not JSON`, { cause: err });
    }
    if (isOtlpTraceRequest(value)) {
      const got = otlpToSpanRecords(value);
      if (got.rejected > 0 && !opts.lenient) {
        throw new SpanRecordError(`span file line ${i + 1}: ${got.rejected} OTLP span(s) that are not valid span records`);
      }
      skipped += got.rejected;
      for (const s of got.spans) spans.push(s);
      continue;
    }
    const parsed = SpanRecordSchema.safeParse(value);
    if (!parsed.success) {
      if (opts.lenient) { skipped++; continue; }
      const issue = parsed.error.issues[0];
      throw new SpanRecordError(`span file line ${i + 1}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`);
    }
    spans.push(parsed.data);
  }
  return { spans, skipped };
}

/**
 * Reads and parses a span file (see {@link parseSpanLines}); a missing or
 * unreadable file raises {@link SpanFileError}.
 */
export function readSpanFile(path: string, opts: { lenient?: boolean } = {}): { spans: SpanRecord[]; skipped: number } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new SpanFileError(`cannot read span file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  return parseSpanLines(text, opts);
}
