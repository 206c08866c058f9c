import { describe, expect, it } from 'vitest';
import { AdminBadRequestError } from '../../../services/admin/errors.ts';
import { parsePiKey, parsePolicy, parseTSpendHash, resolveTSpendPolicy, type PolicyTables } from '../../../services/admin/policies.ts';

const T = 'aa'.repeat(32);
const K = '02' + 'bb'.repeat(32);
const empty: PolicyTables = { ticketTSpend: {}, defaultTSpend: {}, ticketTreasury: {}, defaultTreasury: {} };

// dcrwallet lookup order (decred/dcrwallet: wallet/wallet.go TSpendPolicy, TreasuryKeyPolicy): per-ticket tspend, default tspend,
// per-ticket Pi key, default Pi key; abstain falls through.
describe('tspend policy lookup order', () => {
  it('abstains when nothing is set', () => {
    expect(resolveTSpendPolicy(empty, T, K)).toBe('abstain');
  });
  it('per-ticket tspend beats everything', () => {
    const t = { ticketTSpend: { [T]: 'no' as const }, defaultTSpend: { [T]: 'yes' as const }, ticketTreasury: { [K]: 'yes' as const }, defaultTreasury: { [K]: 'yes' as const } };
    expect(resolveTSpendPolicy(t, T, K)).toBe('no');
  });
  it('default tspend beats Pi-key policies', () => {
    expect(resolveTSpendPolicy({ ...empty, defaultTSpend: { [T]: 'no' }, ticketTreasury: { [K]: 'yes' } }, T, K)).toBe('no');
  });
  it('per-ticket Pi key beats default Pi key', () => {
    expect(resolveTSpendPolicy({ ...empty, ticketTreasury: { [K]: 'no' }, defaultTreasury: { [K]: 'yes' } }, T, K)).toBe('no');
    expect(resolveTSpendPolicy({ ...empty, defaultTreasury: { [K]: 'yes' } }, T, K)).toBe('yes');
  });
  it('matches hashes and keys case-insensitively', () => {
    expect(resolveTSpendPolicy({ ...empty, defaultTSpend: { [T]: 'yes' } }, T.toUpperCase(), K)).toBe('yes');
  });
});

describe('policy and key parsing', () => {
  it('accepts yes/no/abstain; invalid and empty mean abstain', () => {
    expect(parsePolicy('yes')).toBe('yes');
    expect(parsePolicy('invalid')).toBe('abstain');
    expect(parsePolicy('')).toBe('abstain');
    expect(() => parsePolicy('maybe')).toThrow(AdminBadRequestError);
  });
  it('validates tspend hashes and Pi keys', () => {
    expect(parseTSpendHash(T.toUpperCase())).toBe(T);
    expect(() => parseTSpendHash('abc')).toThrow(AdminBadRequestError);
    expect(parsePiKey(K)).toBe(K);
    expect(() => parsePiKey('04' + 'bb'.repeat(32))).toThrow(AdminBadRequestError);
  });
});
