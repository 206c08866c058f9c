/**
 * The demo's live view: one line per settled block (its draws are settled
 * once the next block connects): height, drawn tickets, who signed each vote
 * (node ids from the etcd vote records), draw → accepted latency per vote and
 * the misses so far. Polls the devnet report; its loop is owned by stop().
 */
import type { TicketReportEntry } from '../devnet/index.ts';
import type { Layout } from './layout.ts';

export const LIVE_VIEW_POLL_MS = 100;

export interface LiveView {
  /** Prints every block settled so far that was not printed yet, then stops polling. */
  stop(): Promise<void>;
}

function line(height: number, draws: TicketReportEntry[], signers: Map<string, string>, missedSoFar: number): string {
  const cells = draws.map((d) => {
    const who = signers.get(`${d.blockHash}:${d.ticketHash}`) ?? '?';
    const lat = d.latencyMs !== undefined ? `${d.latencyMs}ms` : '-';
    const mark = d.outcome === 'missed' ? '!MISSED' : d.distinctVotes > 1 ? '!CONFLICT' : '';
    return `${d.ticketHash.slice(0, 8)}:${who}:${lat}${mark}`;
  });
  return `block ${String(height).padStart(5)}  drawn ${draws.length}  ${cells.join('  ')}  missed ${missedSoFar}`;
}

/** Starts printing settled blocks of `layout` to `write` (with `throughHeight`, none above it). */
export function startLiveView(layout: Layout, write: (line: string) => void, o: { throughHeight?: number } = {}): LiveView {
  let lastPrinted = -1;
  let missedSoFar = 0;
  let stopped = false;
  const tick = (): void => {
    const tickets = layout.devnet.report().tickets.filter((t) => t.drawnAt >= layout.readyAt && !t.sideChain);
    const byHeight = new Map<number, TicketReportEntry[]>();
    for (const t of tickets) {
      if (t.height <= lastPrinted || (o.throughHeight !== undefined && t.height > o.throughHeight)) continue;
      const l = byHeight.get(t.height);
      if (l) l.push(t);
      else byHeight.set(t.height, [t]);
    }
    const heights = [...byHeight.keys()].sort((a, b) => a - b);
    if (heights.length === 0) return;
    const signers = new Map(layout.voteRecords().map((r) => [`${r.blockHash}:${r.ticketHash}`, r.signer]));
    for (const h of heights) {
      const draws = byHeight.get(h) as TicketReportEntry[];
      if (draws.some((d) => d.outcome === 'pending')) break; // settles when the next block connects
      missedSoFar += draws.filter((d) => d.outcome === 'missed').length;
      write(line(h, draws, signers, missedSoFar));
      lastPrinted = h;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      tick();
      await new Promise((r) => setTimeout(r, LIVE_VIEW_POLL_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      tick();
    },
  };
}
