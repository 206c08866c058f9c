/**
 * The ticket record: the value of `tickets/<ticketHash>` (zod schema and type).
 * Written by the ticket store (ticket-store.ts), read through the ticket cache
 * (ticket-cache.ts).
 */
import { z } from 'zod';
import { EnvelopeSchema } from './envelope.ts';
import { CorruptValueError, parseStoredJson, schemaIssues } from './errors.ts';

const HASH_RE = /^[0-9a-f]{64}$/;
/** A 32-byte hash, display hex. */
export const hash = z.string().regex(HASH_RE, 'expected 64 lowercase hex characters');
/** yes/no/abstain, as dcrwallet's treasury and tspend policies. */
export const PolicySchema = z.enum(['yes', 'no', 'abstain']);
export type Policy = z.infer<typeof PolicySchema>;
/** Agenda id -> choice id (validated against the chain's agendas by the caller). */
export const VoteChoicesSchema = z.record(z.string().min(1).max(64), z.string().min(1).max(64));
/** Treasury policy per Pi key (33-byte compressed pubkey hex). */
export const TreasuryPolicySchema = z.record(z.string().regex(/^[0-9a-f]{66}$/), PolicySchema);
/** Policy per tspend transaction hash. */
export const TSpendPolicySchema = z.record(hash, PolicySchema);
export const TicketStatusSchema = z.enum(['live', 'immature', 'voted', 'missed', 'expired', 'revoked', 'unknown']);
export type TicketStatus = z.infer<typeof TicketStatusSchema>;

/**
 * Most earlier states one record keeps (vote-inputs.ts): pruning by height alone keeps at most
 * one state per distinct `from` in (T - 16, T + 2], i.e. 18.
 */
export const MAX_EARLIER_INPUTS = 24;

/** An earlier state of a record's vote inputs and the height it applied from (vote-inputs.ts). */
export const EarlierInputSchema = z.object({
  from: z.number().int().min(0),
  voteChoices: VoteChoicesSchema,
  treasuryPolicy: TreasuryPolicySchema,
  tspendPolicy: TSpendPolicySchema,
});
export type EarlierInput = z.infer<typeof EarlierInputSchema>;

/** The earlier states of a record: strictly ascending by `from`, bounded. */
export const EarlierInputsSchema = z.array(EarlierInputSchema).max(MAX_EARLIER_INPUTS).refine(
  (a) => a.every((e, i) => i === 0 || (a[i - 1] as EarlierInput).from < e.from),
  { message: 'earlier inputs must be in ascending order of from' },
);

/** The value of `tickets/<ticketHash>`. */
export const TicketRecordSchema = z.object({
  ticketHash: hash,
  /** The raw ticket (SStx) transaction, hex. */
  ticketHex: z.string().regex(/^(?:[0-9a-f]{2})+$/).max(200_000),
  network: z.string(),
  /** Voting private key sealed with the cluster key, bound to this ticket. */
  votingKey: EnvelopeSchema,
  voteChoices: VoteChoicesSchema,
  treasuryPolicy: TreasuryPolicySchema,
  tspendPolicy: TSpendPolicySchema,
  status: TicketStatusSchema,
  importedAt: z.string().max(40),
  updatedAt: z.string().max(40),
  /** Application revision: 1 on import, +1 on every update. */
  revision: z.number().int().min(1),
  /** Block holding the ticket (display hex) and its height, when the importer knew them (services/admin). */
  blockHash: hash.optional(),
  blockHeight: z.number().int().min(0).optional(),
  /**
   * Height from which `voteChoices`, `treasuryPolicy` and `tspendPolicy` (the latest state) apply
   * to votes: the cluster tip when they were written + 2. Absent on records of older versions
   * (their draws take the record-first path until the admin's migration gives them one).
   */
  inputsFrom: z.number().int().min(0).optional(),
  /** The states before the latest, each with its `from`, for draws below `inputsFrom`. */
  earlierInputs: EarlierInputsSchema.optional(),
});
export type TicketRecord = z.infer<typeof TicketRecordSchema>;

/**
 * Parses a record whose vote-input history (`historyField`: `earlierInputs` of a ticket record,
 * `earlier` of `config/vote-defaults`) may be corrupt while the rest is sound: a history that
 * fails its schema, or does not end below the height the latest state applies from
 * (`fromField`), is dropped and reported through `onHistoryDropped`; the record keeps its
 * latest state (what applies from `fromField` on). Every reader drops the same history from
 * the same bytes, so every voter computes the same inputs: draws below `fromField` have no
 * provable state and take the single-signer path, nothing else changes. Anything else wrong
 * fails the whole value.
 * @throws CorruptValueError naming `key`
 */
export function parseWithHistory<T extends object>(
  key: string,
  raw: Buffer,
  schema: z.ZodType<T>,
  fields: { history: string; from: string },
  onHistoryDropped?: (err: CorruptValueError) => void,
): T {
  const json = parseStoredJson(key, raw);
  const first = schema.safeParse(json);
  const drop = (why: string): T => {
    const { [fields.history]: _dropped, ...rest } = json as Record<string, unknown>;
    const again = schema.safeParse(rest);
    if (!again.success) throw new CorruptValueError(key, `fails schema: ${schemaIssues(again.error)}`);
    onHistoryDropped?.(new CorruptValueError(key, `${fields.history} ${why}: dropped; draws below ${fields.from} take the single-signer path until the next change of these inputs rewrites the history`));
    return again.data;
  };
  if (!first.success) {
    const onlyHistory = first.error.issues.every((i) => i.path[0] === fields.history);
    if (!onlyHistory || typeof json !== 'object' || json === null) throw new CorruptValueError(key, `fails schema: ${schemaIssues(first.error)}`);
    return drop(`fails schema (${schemaIssues(first.error)})`);
  }
  const v = first.data as Record<string, unknown>;
  const history = v[fields.history] as Array<{ from: number }> | undefined;
  const from = v[fields.from] as number | undefined;
  const last = history?.[history.length - 1];
  if (last !== undefined && (from === undefined || last.from >= from)) {
    return drop(`ends at ${last.from}, not below ${fields.from} ${from ?? '(absent)'}`);
  }
  return first.data;
}

/**
 * A ticket record (`tickets/<hash>`) from etcd: {@link parseWithHistory} over `earlierInputs`.
 * @throws CorruptValueError naming `key`
 */
export function parseTicketRecord(key: string, raw: Buffer, onHistoryDropped?: (err: CorruptValueError) => void): TicketRecord {
  return parseWithHistory(key, raw, TicketRecordSchema, { history: 'earlierInputs', from: 'inputsFrom' }, onHistoryDropped);
}
