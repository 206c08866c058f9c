import { describe, expect, it } from 'vitest';
import { effectiveChoices, resolveChoice, voteBitsFor, type AgendaSet } from '../../../services/admin/agendas.ts';
import { AdminUnknownAgendaError, AdminUnknownChoiceError } from '../../../services/admin/errors.ts';

// The agendas as a chain answers them: decred/dcrd chaincfg/simnetparams.go Deployments[11]
// (DCP0011 blake3pow 0x0006 = bits 1-2, DCP0012 changesubsidysplitr2 0x0060 = bits 5-6;
// no = low bit, yes = high bit).
const threeWay = (id: string, mask: number, no: number, yes: number) => ({
  id,
  mask,
  choices: [
    { id: 'abstain', bits: 0, isAbstain: true, isNo: false },
    { id: 'no', bits: no, isAbstain: false, isNo: true },
    { id: 'yes', bits: yes, isAbstain: false, isNo: false },
  ],
});

describe('agendas', () => {
  const set: AgendaSet = {
    voteVersion: 11,
    source: 'chain',
    agendas: [threeWay('blake3pow', 0x0006, 0x0002, 0x0004), threeWay('changesubsidysplitr2', 0x0060, 0x0020, 0x0040)],
  };

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
      expect((err as AdminUnknownAgendaError).agendaId).toBe('nosuch');
      expect((err as AdminUnknownAgendaError).fromChain).toBe(true);
    }
    // A stored copy cannot prove that an agenda does not exist.
    try {
      resolveChoice({ ...set, source: 'stored' }, 'nosuch', 'yes');
    } catch (err) {
      expect((err as AdminUnknownAgendaError).fromChain).toBe(false);
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
