/**
 * Consensus vote agendas and vote-choice validation (decred/dcrwallet: wallet/wallet.go SetAgendaChoices).
 *
 * A choice is applied the way dcrwallet's SetAgendaChoices does it: clear the
 * agenda's mask, OR in the choice bits; bit 0 (previous block valid) is always
 * set. The authoritative agenda list is the chain's (`getvoteinfo <version>`
 * through a node proxy); without a proxy we fall back to the agendas dcrd
 * ships for the network's vote version (decred/dcrd: chaincfg/*params.go,
 * Deployments[voteVersion]: blake3pow mask 0x0006 and changesubsidysplitr2
 * mask 0x0060, each with abstain 0 / no / yes).
 */
import { AdminUnknownAgendaError, AdminUnknownChoiceError } from './errors.ts';

/** One choice of an agenda. */
export interface AgendaChoice {
  id: string;
  description?: string;
  bits: number;
  isAbstain: boolean;
  isNo: boolean;
}

/** One consensus agenda at a vote version. */
export interface Agenda {
  id: string;
  description?: string;
  mask: number;
  choices: AgendaChoice[];
}

/** The agenda set of a vote version, and where it came from. */
export interface AgendaSet {
  voteVersion: number;
  agendas: Agenda[];
  /** `chain` when read through a proxy, `builtin` for the fallback table. */
  source: 'chain' | 'builtin';
}

function threeWay(id: string, description: string, mask: number, no: number, yes: number): Agenda {
  return {
    id,
    description,
    mask,
    choices: [
      { id: 'abstain', description: 'abstain voting for change', bits: 0, isAbstain: true, isNo: false },
      { id: 'no', description: 'keep the existing consensus rules', bits: no, isAbstain: false, isNo: true },
      { id: 'yes', description: 'change to the new consensus rules', bits: yes, isAbstain: false, isNo: false },
    ],
  };
}

/**
 * The agendas dcrd defines at the vote version dcrwallet uses on each network
 * (mainnet 11, testnet3/simnet 12): DCP0011 and DCP0012 (decred/dcrd chaincfg,
 * release 1.8). Regnet's wallet vote version is 1 there, which has no agendas
 * we track; we reuse the same pair so the tooling has something to validate.
 */
export function builtinAgendas(voteVersion: number): AgendaSet {
  return {
    voteVersion,
    source: 'builtin',
    agendas: [
      threeWay('blake3pow', 'Change proof of work hashing algorithm to BLAKE3 as defined in DCP0011', 0x0006, 0x0002, 0x0004),
      threeWay('changesubsidysplitr2', 'Change block reward subsidy split to 1/89/10 as defined in DCP0012', 0x0060, 0x0020, 0x0040),
    ],
  };
}

/** A validated (agenda, choice) pair, ready to store. */
export interface ResolvedChoice {
  agendaId: string;
  choiceId: string;
  mask: number;
  bits: number;
}

/**
 * Checks an agenda id and choice id against an agenda set.
 * @throws AdminUnknownAgendaError naming the known agendas.
 * @throws AdminUnknownChoiceError naming the agenda's choices.
 */
export function resolveChoice(set: AgendaSet, agendaId: string, choiceId: string): ResolvedChoice {
  const agenda = set.agendas.find((a) => a.id === agendaId);
  if (!agenda) {
    const known = set.agendas.map((a) => a.id).join(', ') || '(none)';
    throw new AdminUnknownAgendaError(
      `agenda "${agendaId}" is not an agenda of vote version ${set.voteVersion} (${set.source}); known agendas: ${known}`,
    );
  }
  const choice = agenda.choices.find((c) => c.id === choiceId);
  if (!choice) {
    const known = agenda.choices.map((c) => c.id).join(', ');
    throw new AdminUnknownChoiceError(`choice "${choiceId}" is not a choice of agenda "${agendaId}"; choices: ${known}`);
  }
  return { agendaId, choiceId, mask: agenda.mask, bits: choice.bits };
}

/**
 * Vote bits for a set of choices (dcrwallet SetAgendaChoices): start at 0x0001
 * (previous block valid), for each choice clear the mask and OR in the bits.
 */
export function voteBitsFor(choices: readonly ResolvedChoice[]): number {
  let bits = 0x0001;
  for (const c of choices) bits = ((bits & ~c.mask) | c.bits) & 0xffff;
  return bits | 0x0001;
}

/**
 * Merges per-ticket choices over defaults (per-ticket wins, as in decred/dcrwallet wallet/wallet.go)
 * and resolves them against the agenda set, skipping agendas that no longer exist.
 */
export function effectiveChoices(
  set: AgendaSet,
  defaults: Readonly<Record<string, string>>,
  perTicket: Readonly<Record<string, string>>,
): ResolvedChoice[] {
  const merged: Record<string, string> = { ...defaults, ...perTicket };
  const out: ResolvedChoice[] = [];
  for (const agenda of set.agendas) {
    const choiceId = merged[agenda.id];
    if (choiceId === undefined) continue;
    const choice = agenda.choices.find((c) => c.id === choiceId);
    if (choice) out.push({ agendaId: agenda.id, choiceId, mask: agenda.mask, bits: choice.bits });
  }
  return out;
}
