import { describe, expect, it } from 'vitest';
import { selectChoices, voteBitsFromChoices } from '../../../services/voter/vote-factory.ts';

// Agenda masks/bits of dcrd's vote version 11/12 deployments (decred/dcrd chaincfg
// mainnetparams.go: blake3pow mask 0x0006 no 0x0002 yes 0x0004; changesubsidysplitr2
// mask 0x0060 no 0x0020 yes 0x0040).
const BLAKE3_YES = { mask: 0x0006, bits: 0x0004 };
const BLAKE3_NO = { mask: 0x0006, bits: 0x0002 };
const SPLIT_YES = { mask: 0x0060, bits: 0x0040 };

describe('voteBitsFromChoices', () => {
  it('no choices -> 0x0001 (previous block valid)', () => {
    expect(voteBitsFromChoices([])).toBe(0x0001);
  });
  it('ORs in each choice under its mask and keeps bit 0', () => {
    expect(voteBitsFromChoices([BLAKE3_YES, SPLIT_YES])).toBe(0x0045);
    expect(voteBitsFromChoices([BLAKE3_NO])).toBe(0x0003);
  });
  it('a later choice for the same agenda replaces the earlier one', () => {
    expect(voteBitsFromChoices([BLAKE3_YES, BLAKE3_NO])).toBe(0x0003);
  });
  it('bits outside the mask are ignored', () => {
    expect(voteBitsFromChoices([{ mask: 0x0006, bits: 0x0104 }])).toBe(0x0005);
  });
});

describe('selectChoices', () => {
  it('per-ticket choices win, else the cluster default', () => {
    expect(selectChoices([BLAKE3_NO], [BLAKE3_YES])).toEqual([BLAKE3_NO]);
    expect(selectChoices([], [BLAKE3_YES])).toEqual([BLAKE3_YES]);
    expect(selectChoices(undefined, undefined)).toEqual([]);
  });
});
