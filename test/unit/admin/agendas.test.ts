import { describe, expect, it } from 'vitest';
import { builtinAgendas, effectiveChoices, resolveChoice, voteBitsFor } from '../../../services/admin/agendas.ts';
import { AdminUnknownAgendaError, AdminUnknownChoiceError } from '../../../services/admin/errors.ts';

// Masks and bits from decred/dcrd chaincfg (DCP0011 blake3pow 0x0006 = bits 1-2,
// DCP0012 changesubsidysplitr2 0x0060 = bits 5-6; no = low bit, yes = high bit).
describe('agendas', () => {
  const set = builtinAgendas(11);

  it('resolves a known agenda/choice to its mask and bits', () => {
    expect(resolveChoice(set, 'blake3pow', 'yes')).toEqual({ agendaId: 'blake3pow', choiceId: 'yes', mask: 0x0006, bits: 0x0004 });
    expect(resolveChoice(set, 'changesubsidysplitr2', 'no')).toMatchObject({ mask: 0x0060, bits: 0x0020 });
  });

  it('refuses unknown agendas and choices with codes naming what is known', () => {
    expect(() => resolveChoice(set, 'nosuch', 'yes')).toThrow(AdminUnknownAgendaError);
    try {
      resolveChoice(set, 'nosuch', 'yes');
    } catch (err) {
      expect((err as AdminUnknownAgendaError).code).toBe('ADMIN_UNKNOWN_AGENDA');
      expect((err as Error).message).toContain('blake3pow');
    }
    expect(() => resolveChoice(set, 'blake3pow', 'maybe')).toThrow(AdminUnknownChoiceError);
  });

  it('computes vote bits like dcrwallet: bit 0 always set, mask cleared then choice ORed', () => {
    expect(voteBitsFor([])).toBe(0x0001);
    const yes = resolveChoice(set, 'blake3pow', 'yes');
    const no = resolveChoice(set, 'changesubsidysplitr2', 'no');
    expect(voteBitsFor([yes, no])).toBe(0x0001 | 0x0004 | 0x0020);
    // a later choice for the same agenda replaces the earlier one
    expect(voteBitsFor([yes, resolveChoice(set, 'blake3pow', 'no')])).toBe(0x0003);
    expect(voteBitsFor([yes, resolveChoice(set, 'blake3pow', 'abstain')])).toBe(0x0001);
  });

  it('per-ticket choices override defaults; unknown agendas are ignored', () => {
    const eff = effectiveChoices(set, { blake3pow: 'no', gone: 'yes' }, { blake3pow: 'yes' });
    expect(eff.map((c) => [c.agendaId, c.choiceId])).toEqual([['blake3pow', 'yes']]);
  });
});
