/**
 * One span as the trace report reads it: the line format of the span file,
 * and what OTLP/JSON spans are converted to.
 */
import { z } from 'zod';

/** Schema of one line of the span file (validated when reading). */
export const SpanRecordSchema = z.object({
  traceId: z.string().regex(/^[0-9a-f]{32}$/),
  spanId: z.string().regex(/^[0-9a-f]{16}$/),
  parentSpanId: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  name: z.string().min(1),
  service: z.string(),
  region: z.string().optional(),
  nodeId: z.string().optional(),
  startMs: z.number().finite(),
  durationMs: z.number().finite().nonnegative(),
  attributes: z.record(z.string(), z.unknown()).default({}),
  status: z.object({ code: z.enum(['unset', 'ok', 'error']), message: z.string().optional() }),
});

/** One span as stored in the span file. */
export type SpanRecord = z.infer<typeof SpanRecordSchema>;

