/**
 * Fan-out: one vote to every proxy at once, each call bounded by its own
 * deadline, so a slow or dead proxy never delays the others (docs/architecture.md,
 * invariant 6). The result of each call is classified once, here:
 * - ACCEPTED / DUPLICATE: delivered (DUPLICATE is success: dcrd's -40);
 * - CONFLICT: a different vote for the ticket is already in that mempool;
 *   reported, never retried;
 * - REJECTED: the proxy refused the vote (not a current draw, invalid); not retried;
 * - UNAVAILABLE, a thrown error or the deadline: retryable.
 */

/** Status of a SendVote call as the node proxy reports it. */
export type SendStatus = 'ACCEPTED' | 'DUPLICATE' | 'CONFLICT' | 'REJECTED' | 'UNAVAILABLE';

/** What the voter needs from a node proxy client to deliver a vote. */
export interface VoteSink {
  /** Proxy address, used as its id in logs, metrics and stats. */
  readonly address: string;
  sendVote(
    rawTx: Uint8Array,
    opts: { deadlineMs: number; traceparent?: string },
  ): Promise<{ status: SendStatus; message?: string; code?: string }>;
}

/** Classification of one proxy's answer. */
export type DeliveryState = 'delivered' | 'conflict' | 'rejected' | 'retry';

/** One proxy's answer to one send. */
export interface SendOutcome {
  proxy: string;
  /** The status the proxy returned, or `ERROR` when the call failed or timed out. */
  status: SendStatus | 'ERROR';
  state: DeliveryState;
  latencyMs: number;
  message?: string;
  error?: unknown;
}

/** Maps a proxy status to what the voter does next. */
export function classifyStatus(status: SendStatus | 'ERROR'): DeliveryState {
  switch (status) {
    case 'ACCEPTED':
    case 'DUPLICATE':
      return 'delivered';
    case 'CONFLICT':
      return 'conflict';
    case 'REJECTED':
      return 'rejected';
    default:
      return 'retry';
  }
}

/**
 * Sends through one proxy. Never throws: failures become an `ERROR` outcome.
 * A local timer backs up the gRPC deadline so a wedged client cannot hang a duty.
 */
export async function sendOne(
  sink: VoteSink,
  rawTx: Uint8Array,
  opts: { deadlineMs: number; traceparent?: string },
): Promise<SendOutcome> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<SendOutcome>((resolve) => {
    // The grace beyond the deadline lets the gRPC deadline fire first when it works.
    timer = setTimeout(() => resolve({
      proxy: sink.address,
      status: 'ERROR',
      state: 'retry',
      latencyMs: performance.now() - started,
      message: `no answer within ${opts.deadlineMs} ms`,
    }), opts.deadlineMs + 50);
  });
  const call = sink.sendVote(rawTx, opts).then(
    (r): SendOutcome => ({
      proxy: sink.address,
      status: r.status,
      state: classifyStatus(r.status),
      latencyMs: performance.now() - started,
      ...(r.message !== undefined ? { message: r.message } : {}),
    }),
    (err: unknown): SendOutcome => ({
      proxy: sink.address,
      status: 'ERROR',
      state: 'retry',
      latencyMs: performance.now() - started,
      message: (err as Error)?.message ?? String(err),
      error: err,
    }),
  );
  try {
    return await Promise.race([call, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends `rawTx` to every sink concurrently; resolves with one outcome per sink, in sink order. */
export function fanOut(
  sinks: readonly VoteSink[],
  rawTx: Uint8Array,
  opts: { deadlineMs: number; traceparent?: string },
): Promise<SendOutcome[]> {
  return Promise.all(sinks.map((s) => sendOne(s, rawTx, opts)));
}
