/**
 * Consensus vote agendas and vote-choice validation (decred/dcrwallet: wallet/wallet.go SetAgendaChoices).
 *
 * A choice is applied the way dcrwallet's SetAgendaChoices does it: clear the
 * agenda's mask, OR in the choice bits; bit 0 (previous block valid) is always
 * set. The agenda list is always the chain's: `getvoteinfo <version>` through a
 * node proxy, at the vote version a wallet writes behind that proxy's dcrd, or
 * the set the voters last stored in etcd for that version. There is no built-in
 * table: agendas change with every dcrd release.
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
  /** `chain` when read through a proxy now, `stored` for the set last stored in etcd. */
  source: 'chain' | 'stored';
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
      `agenda "${agendaId}" is not an agenda of vote version ${set.voteVersion} (${set.source === 'chain' ? 'the chain\'s getvoteinfo' : 'the agendas stored in etcd'}); known agendas: ${known}`,
      agendaId,
      set.source === 'chain',
    );
  }
  const choice = agenda.choices.find((c) => c.id === choiceId);
  if (!choice) {
    const known = agenda.choices.map((c) => c.id).join(', ');
    throw new AdminUnknownChoiceError(`choice "${choiceId}" is not a choice of agenda "${agendaId}"; choices: ${known}`, agendaId, choiceId);
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
