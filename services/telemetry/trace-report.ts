/**
 * Analysis behind `votecluster trace`: groups span-file records into one trace
 * per vote (block, ticket), lays out each vote's waterfall, attributes time to
 * the span that spent it (self time: duration minus time covered by its
 * children), and aggregates percentiles per span name.
 *
 * A vote is a (block hash, ticket hash) pair. A span belongs to the vote named
 * by its own `votecluster.block_hash` / `votecluster.ticket_hash` attributes or
 * else its nearest ancestor's; spans that name a block but no ticket (a
 * per-block proxy.notify) are shared by every vote below them. So the report is
 * per vote even when a proxy starts one trace per block, and a vote whose draw
 * arrived through several proxies (one trace each) collects all of them.
 *
 * A vote's `totalMs` runs from the start of its earliest span (proxy.notify,
 * the draw arriving from dcrd) to the end of its first successful dcrd.accept
 * (outcome accepted or duplicate; when no dcrd.accept span exists, the first
 * proxy.send with such an outcome): draw → accepted, the latency that decides
 * a missed vote. Without one it runs to the end of the last span and the vote is
 * marked `accepted: false`.
 */
import { ATTR, SPAN } from './attributes.ts';
import type { SpanRecord } from './span-file.ts';
import { nearestRank } from '../base/index.ts';

/** One span of a vote, as `votecluster trace --json` prints it. */
export interface VoteSpan {
  name: string;
  service: string;
  /** Epoch ms. */
  startMs: number;
  durationMs: number;
  /** Name of the parent span (null for the root, or a parent not in the file). */
  parent: string | null;
  spanId: string;
  parentSpanId: string | null;
  /** Start relative to the vote's first span, ms. */
  offsetMs: number;
  /** Duration not covered by child spans, ms. */
  selfMs: number;
  /** Nesting depth in the waterfall (root = 0). */
  depth: number;
  status: 'unset' | 'ok' | 'error';
  outcome?: string;
}

/** One vote's trace. */
export interface VoteTrace {
  traceId: string;
  height: number | null;
  blockHash: string | null;
  ticketHash: string | null;
  spans: VoteSpan[];
  totalMs: number;
  /** Whether a dcrd.accept span reports accepted/duplicate. */
  accepted: boolean;
  /** Name of the span with the most self time within the draw → accepted window. */
  dominant: string | null;
  /** Its span id (names repeat: several proxy.send spans, several voters). */
  dominantSpanId: string | null;
}

/** Percentiles of a set of durations, ms. */
export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** The whole report. */
export interface TraceReport {
  votes: VoteTrace[];
  /** Traces without a ticket hash (not votes), counted but not listed. */
  otherTraces: number;
  total: Percentiles;
  /** Per span name: duration and self-time percentiles. */
  bySpan: Array<{ name: string; duration: Percentiles; self: Percentiles }>;
}

/** Percentiles (nearest rank) of `values`. */
export function percentiles(values: readonly number[]): Percentiles {
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, p50: nearestRank(s, 0.5) ?? 0, p90: nearestRank(s, 0.9) ?? 0, p99: nearestRank(s, 0.99) ?? 0, max: s.length ? s[s.length - 1]! : 0 };
}

/** Length of the union of intervals, clipped to [lo, hi]. */
function coveredMs(intervals: Array<[number, number]>, lo: number, hi: number): number {
  const xs = intervals
    .map(([a, b]) => [Math.max(a, lo), Math.min(b, hi)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  let total = 0;
  let curA = -Infinity;
  let curB = -Infinity;
  for (const [a, b] of xs) {
    if (a > curB) {
      if (curB > curA) total += curB - curA;
      curA = a;
      curB = b;
    } else curB = Math.max(curB, b);
  }
  if (curB > curA) total += curB - curA;
  return total;
}

const SUCCESS = new Set(['accepted', 'duplicate']);

function attrString(spans: readonly SpanRecord[], key: string, prefer: string): string | null {
  const pick = (s: SpanRecord): string | null => (typeof s.attributes[key] === 'string' ? (s.attributes[key] as string) : null);
  const preferred = spans.find((s) => s.name === prefer && pick(s) !== null);
  if (preferred) return pick(preferred);
  for (const s of spans) if (pick(s) !== null) return pick(s);
  return null;
}

function attrNumber(spans: readonly SpanRecord[], key: string): number | null {
  for (const s of spans) if (typeof s.attributes[key] === 'number') return s.attributes[key] as number;
  return null;
}

/** Builds one vote's trace from its spans (all with the same traceId). */
export function buildVoteTrace(spans: readonly SpanRecord[]): VoteTrace {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const children = new Map<string, SpanRecord[]>();
  for (const s of spans) {
    if (s.parentSpanId && byId.has(s.parentSpanId)) children.set(s.parentSpanId, [...(children.get(s.parentSpanId) ?? []), s]);
  }
  const t0 = Math.min(...spans.map((s) => s.startMs));
  const succeeded = (name: string): SpanRecord[] =>
    spans
      .filter((s) => s.name === name && SUCCESS.has(String(s.attributes[ATTR.OUTCOME] ?? (s.status.code === 'error' ? '' : 'accepted'))))
      .sort((a, b) => a.startMs + a.durationMs - (b.startMs + b.durationMs));
  const hasAcceptSpans = spans.some((s) => s.name === SPAN.DCRD_ACCEPT);
  const accepts = succeeded(hasAcceptSpans ? SPAN.DCRD_ACCEPT : SPAN.PROXY_SEND);
  const firstAccept = accepts[0];
  const end = firstAccept ? firstAccept.startMs + firstAccept.durationMs : Math.max(...spans.map((s) => s.startMs + s.durationMs));

  const depthOf = (s: SpanRecord): number => {
    let d = 0;
    let cur = s;
    const seen = new Set<string>();
    while (cur.parentSpanId && byId.has(cur.parentSpanId) && !seen.has(cur.spanId)) {
      seen.add(cur.spanId);
      cur = byId.get(cur.parentSpanId)!;
      d++;
    }
    return d;
  };
  // Waterfall order: depth-first from the roots, children by start time.
  const ordered: SpanRecord[] = [];
  const visit = (s: SpanRecord, seen: Set<string>): void => {
    if (seen.has(s.spanId)) return;
    seen.add(s.spanId);
    ordered.push(s);
    for (const c of [...(children.get(s.spanId) ?? [])].sort((a, b) => a.startMs - b.startMs)) visit(c, seen);
  };
  const seen = new Set<string>();
  for (const r of spans.filter((s) => !s.parentSpanId || !byId.has(s.parentSpanId)).sort((a, b) => a.startMs - b.startMs)) visit(r, seen);
  for (const s of spans) visit(s, seen); // parent cycles (corrupt input) still get listed

  const out: VoteSpan[] = ordered.map((s) => {
    const kids = (children.get(s.spanId) ?? []).map((c) => [c.startMs, c.startMs + c.durationMs] as [number, number]);
    const selfMs = Math.max(0, s.durationMs - coveredMs(kids, s.startMs, s.startMs + s.durationMs));
    const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    const v: VoteSpan = {
      name: s.name,
      service: s.service,
      startMs: s.startMs,
      durationMs: s.durationMs,
      parent: parent?.name ?? null,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId ?? null,
      offsetMs: s.startMs - t0,
      selfMs,
      depth: depthOf(s),
      status: s.status.code,
    };
    const outcome = s.attributes[ATTR.OUTCOME];
    if (typeof outcome === 'string') v.outcome = outcome;
    return v;
  });
  // Dominant: most self time inside the draw → accepted window.
  let dominant: VoteSpan | null = null;
  let best = -1;
  for (const s of out) {
    const kids = (children.get(s.spanId) ?? []).map((c) => [c.startMs, c.startMs + c.durationMs] as [number, number]);
    const lo = s.startMs;
    const hi = Math.min(s.startMs + s.durationMs, end);
    if (hi <= lo) continue;
    const self = hi - lo - coveredMs(kids, lo, hi);
    if (self > best) {
      best = self;
      dominant = s;
    }
  }
  const first = spans.reduce((a, b) => (b.startMs < a.startMs ? b : a));
  return {
    traceId: first.traceId,
    height: attrNumber(spans, ATTR.HEIGHT),
    blockHash: attrString(spans, ATTR.BLOCK_HASH, SPAN.PROXY_NOTIFY),
    ticketHash: attrString(spans, ATTR.TICKET_HASH, SPAN.PROXY_NOTIFY),
    spans: out,
    totalMs: end - t0,
    accepted: firstAccept !== undefined,
    dominant: dominant?.name ?? null,
    dominantSpanId: dominant?.spanId ?? null,
  };
}

/** Value of `key` on the span or its nearest ancestor (within one trace). */
function inherited(s: SpanRecord, key: string, byId: ReadonlyMap<string, SpanRecord>): string | undefined {
  const seen = new Set<string>();
  for (let cur: SpanRecord | undefined = s; cur && !seen.has(cur.spanId); cur = cur.parentSpanId ? byId.get(cur.parentSpanId) : undefined) {
    seen.add(cur.spanId);
    const v = cur.attributes[key];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/**
 * Splits span records into votes: `Map<"block|ticket", spans>` plus the
 * number of traces that name no ticket at all.
 */
export function groupVotes(records: readonly SpanRecord[]): { votes: Map<string, SpanRecord[]>; otherTraces: number } {
  const traces = new Map<string, SpanRecord[]>();
  for (const r of records) {
    const list = traces.get(r.traceId);
    if (list) list.push(r);
    else traces.set(r.traceId, [r]);
  }
  const votes = new Map<string, SpanRecord[]>();
  let otherTraces = 0;
  for (const spans of traces.values()) {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const shared: SpanRecord[] = [];
    const keys = new Set<string>();
    for (const s of spans) {
      const ticket = inherited(s, ATTR.TICKET_HASH, byId);
      if (ticket === undefined) {
        shared.push(s);
        continue;
      }
      const key = `${inherited(s, ATTR.BLOCK_HASH, byId) ?? '?'}|${ticket}`;
      keys.add(key);
      const list = votes.get(key);
      if (list) list.push(s);
      else votes.set(key, [s]);
    }
    if (keys.size === 0) otherTraces++;
    else for (const k of keys) votes.get(k)!.push(...shared);
  }
  return { votes, otherTraces };
}

/** Builds the report over every span record (any order, several files concatenated). */
export function buildTraceReport(records: readonly SpanRecord[]): TraceReport {
  const grouped = groupVotes(records);
  const votes = [...grouped.votes.values()].map((spans) => buildVoteTrace(spans));
  const otherTraces = grouped.otherTraces;
  votes.sort((a, b) => (a.spans[0]?.startMs ?? 0) - (b.spans[0]?.startMs ?? 0));
  const dur = new Map<string, number[]>();
  const self = new Map<string, number[]>();
  for (const v of votes) {
    for (const s of v.spans) {
      (dur.get(s.name) ?? dur.set(s.name, []).get(s.name)!).push(s.durationMs);
      (self.get(s.name) ?? self.set(s.name, []).get(s.name)!).push(s.selfMs);
    }
  }
  const order = (n: string): number => {
    const i = (Object.values(SPAN) as string[]).indexOf(n);
    return i < 0 ? 1000 : i;
  };
  const bySpan = [...dur.keys()]
    .sort((a, b) => order(a) - order(b) || a.localeCompare(b))
    .map((name) => ({ name, duration: percentiles(dur.get(name)!), self: percentiles(self.get(name)!) }));
  return {
    votes,
    otherTraces,
    total: percentiles(votes.filter((v) => v.accepted).map((v) => v.totalMs)),
    bySpan,
  };
}

/** The `--json` form of one vote (the stable contract plus extra span fields). */
export function voteToJson(v: VoteTrace): Record<string, unknown> {
  return {
    traceId: v.traceId,
    height: v.height,
    blockHash: v.blockHash,
    ticketHash: v.ticketHash,
    spans: v.spans.map((s) => ({
      name: s.name,
      service: s.service,
      startMs: s.startMs,
      durationMs: s.durationMs,
      parent: s.parent,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId,
      offsetMs: s.offsetMs,
      selfMs: s.selfMs,
      ...(s.outcome !== undefined ? { outcome: s.outcome } : {}),
    })),
    totalMs: v.totalMs,
    accepted: v.accepted,
    dominant: v.dominant,
    dominantSpanId: v.dominantSpanId,
  };
}

const short = (h: string | null): string => (h ? `${h.slice(0, 12)}…` : '?');
const ms = (x: number): string => x.toFixed(2).padStart(8);

/** Renders the human waterfall of one vote. `width` is the bar width in characters. */
export function formatVoteWaterfall(v: VoteTrace, width = 32): string {
  const lines = [
    `vote height ${v.height ?? '?'} block ${short(v.blockHash)} ticket ${short(v.ticketHash)}  ` +
      `${v.accepted ? 'accepted' : 'NOT accepted'} in ${v.totalMs.toFixed(2)} ms  (trace ${v.traceId})`,
  ];
  const span = Math.max(v.totalMs, ...v.spans.map((s) => s.offsetMs + s.durationMs), 1e-9);
  const nameW = Math.max(...v.spans.map((s) => s.name.length + 2 * s.depth), 4);
  for (const s of v.spans) {
    const a = Math.floor((s.offsetMs / span) * width);
    const b = Math.max(a + 1, Math.round(((s.offsetMs + s.durationMs) / span) * width));
    const bar = ' '.repeat(Math.min(a, width)) + '█'.repeat(Math.max(0, Math.min(b, width) - a));
    const label = `${'  '.repeat(s.depth)}${s.name}`.padEnd(nameW);
    const mark = s.spanId === v.dominantSpanId ? '  ◀ most time' : '';
    lines.push(
      `  ${`+${s.offsetMs.toFixed(2)}`.padStart(9)} ${ms(s.durationMs)} ms (self ${s.selfMs.toFixed(2)})  ${label}  ${s.service.padEnd(10)} |${bar.padEnd(width)}|${s.outcome ? ` ${s.outcome}` : ''}${mark}`,
    );
  }
  return lines.join('\n');
}

/** Renders the aggregate table (percentiles per span name). */
export function formatAggregate(r: TraceReport): string {
  const t = r.total;
  const lines = [
    `${r.votes.length} vote trace(s)${r.otherTraces ? `, ${r.otherTraces} other trace(s)` : ''}; ` +
      `draw → accepted (${t.count} accepted): p50 ${t.p50.toFixed(2)} ms, p90 ${t.p90.toFixed(2)} ms, p99 ${t.p99.toFixed(2)} ms, max ${t.max.toFixed(2)} ms`,
    '',
    `${'span'.padEnd(18)} ${'count'.padStart(6)} ${'p50 ms'.padStart(9)} ${'p90 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'max ms'.padStart(9)} ${'self p50'.padStart(9)} ${'self p99'.padStart(9)}`,
  ];
  for (const s of r.bySpan) {
    const d = s.duration;
    lines.push(
      `${s.name.padEnd(18)} ${String(d.count).padStart(6)} ${ms(d.p50).padStart(9)} ${ms(d.p90).padStart(9)} ${ms(d.p99).padStart(9)} ${ms(d.max).padStart(9)} ${ms(s.self.p50).padStart(9)} ${ms(s.self.p99).padStart(9)}`,
    );
  }
  return lines.join('\n');
}
