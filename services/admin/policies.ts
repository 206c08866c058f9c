/**
 * Treasury spend (tspend) vote policies (decred/dcrwallet
 * wallet/wallet.go TSpendPolicy / TreasuryKeyPolicy).
 *
 * A policy is yes, no or abstain, keyed by tspend hash or by treasury (Pi) key,
 * each either for one ticket or as the default. dcrwallet resolves a tspend in
 * this order, first non-abstain answer wins:
 *   1. the per-ticket tspend policy;
 *   2. the default tspend policy;
 *   3. the per-ticket Pi-key policy;
 *   4. the default Pi-key policy.
 * `invalid` and the empty string mean abstain (i.e. remove the policy).
 */
import { AdminBadRequestError } from './errors.ts';

/** A treasury vote policy. */
export type TreasuryPolicy = 'yes' | 'no' | 'abstain';

/** Parses a policy word the way dcrwallet's settspendpolicy/settreasurypolicy do. */
export function parsePolicy(word: string): TreasuryPolicy {
  switch (word) {
    case 'yes':
    case 'no':
    case 'abstain':
      return word;
    case 'invalid':
    case '':
      return 'abstain';
    default:
      throw new AdminBadRequestError(`policy "${word}" is not one of yes, no, abstain`);
  }
}

/** The four maps consulted for one ticket; keys are tspend hashes / Pi keys in lower-case hex. */
export interface PolicyTables {
  ticketTSpend: Readonly<Record<string, TreasuryPolicy>>;
  defaultTSpend: Readonly<Record<string, TreasuryPolicy>>;
  ticketTreasury: Readonly<Record<string, TreasuryPolicy>>;
  defaultTreasury: Readonly<Record<string, TreasuryPolicy>>;
}

/** Resolves the policy for one tspend (hash and Pi key) in dcrwallet's lookup order. */
export function resolveTSpendPolicy(t: PolicyTables, tspendHashHex: string, piKeyHex: string): TreasuryPolicy {
  const h = tspendHashHex.toLowerCase();
  const k = piKeyHex.toLowerCase();
  for (const p of [t.ticketTSpend[h], t.defaultTSpend[h], t.ticketTreasury[k], t.defaultTreasury[k]]) {
    if (p === 'yes' || p === 'no') return p;
  }
  return 'abstain';
}

const HASH_RE = /^[0-9a-fA-F]{64}$/;
const PIKEY_RE = /^(02|03)[0-9a-fA-F]{64}$/;

/** Validates a tspend hash (64 hex chars, display order) and returns it lower-cased. */
export function parseTSpendHash(hex: string): string {
  if (!HASH_RE.test(hex)) throw new AdminBadRequestError(`tspend hash "${hex}" is not 64 hex characters`);
  return hex.toLowerCase();
}

/** Validates a treasury Pi key (33-byte compressed secp256k1 public key in hex). */
export function parsePiKey(hex: string): string {
  if (!PIKEY_RE.test(hex)) {
    throw new AdminBadRequestError(`treasury key "${hex}" is not a 33-byte compressed public key in hex (66 chars, 02/03 prefix)`);
  }
  return hex.toLowerCase();
}

/** Validates a ticket hash (64 hex chars, display order) and returns it lower-cased. */
export function parseTicketHash(hex: string, what = 'ticket hash'): string {
  if (!HASH_RE.test(hex)) throw new AdminBadRequestError(`${what} "${hex}" is not 64 hex characters`);
  return hex.toLowerCase();
}
