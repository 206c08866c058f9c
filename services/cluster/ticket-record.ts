/**
 * The ticket record: the value of `tickets/<ticketHash>` (zod schema and type).
 * Written by the ticket store (ticket-store.ts), read through the ticket cache
 * (ticket-cache.ts).
 */
import { z } from 'zod';
import { EnvelopeSchema } from './envelope.ts';

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
});
export type TicketRecord = z.infer<typeof TicketRecordSchema>;
