/**
 * Listing and removing managed tickets (`ticket list`, `ticket remove`,
 * gRPC ListTickets/RemoveTicket, wallet `ticketinfo`).
 */
import type { Logger } from '../telemetry/index.ts';
import type { NetParams } from '../decred/index.ts';
import { parseTicketHash } from './policies.ts';
import type { ChainLookup, TicketStore } from './ports.ts';
import { classifyTickets, type TicketStatus } from './stakeinfo.ts';

/** One managed ticket as operators see it. */
export interface TicketListing {
  ticketHash: string;
  votingAddress: string;
  /** Atoms. */
  price: bigint;
  blockHash?: string;
  blockHeight?: number;
  status: TicketStatus;
  /** Per-ticket choices merged over the defaults. */
  choices: Record<string, string>;
  tspendPolicies: Record<string, string>;
  treasuryPolicies: Record<string, string>;
  /** Node id holding the owner claim, if any. */
  owner?: string;
  importedAtMs: number;
}

/** What listing needs. */
export interface TicketsDeps {
  store: TicketStore;
  chain?: ChainLookup;
  params: NetParams;
  log: Logger;
}

/** Lists managed tickets sorted by mining height then hash, with chain status when a proxy is configured. */
export async function listManagedTickets(deps: TicketsDeps): Promise<TicketListing[]> {
  const [{ tickets }, owners, defaults] = await Promise.all([
    classifyTickets(deps),
    deps.store.listOwners(),
    deps.store.getDefaults(),
  ]);
  return tickets
    .map((c) => {
      const owner = owners.get(c.ticket.ticketHash);
      const l: TicketListing = {
        ticketHash: c.ticket.ticketHash,
        votingAddress: c.ticket.votingAddress,
        price: c.ticket.price,
        status: c.status,
        choices: { ...defaults.choices, ...c.ticket.choices },
        tspendPolicies: { ...c.ticket.tspendPolicies },
        treasuryPolicies: { ...c.ticket.treasuryPolicies },
        importedAtMs: c.ticket.importedAtMs,
      };
      if (c.blockHash !== undefined) l.blockHash = c.blockHash;
      if (c.blockHeight !== undefined) l.blockHeight = c.blockHeight;
      if (owner !== undefined) l.owner = owner;
      return l;
    })
    .sort((a, b) => (a.blockHeight ?? Infinity) - (b.blockHeight ?? Infinity) || a.ticketHash.localeCompare(b.ticketHash));
}

/** Stops managing a ticket; false when it was not managed. */
export async function removeManagedTicket(deps: TicketsDeps, ticketHash: string): Promise<boolean> {
  const hash = parseTicketHash(ticketHash);
  const removed = await deps.store.removeTicket(hash);
  deps.log.info({ ticket: hash, removed }, removed ? 'ticket removed' : 'ticket was not managed');
  return removed;
}
