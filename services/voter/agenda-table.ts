/**
 * The chain's agendas (mask and choice bits per agenda id) of one vote version,
 * that turn stored vote choices (agenda id → choice id) into vote bits. Read
 * through a node proxy (`GetVoteInfo`) or from the copy stored in etcd (see
 * agenda-book.ts), before any draw, so building a vote needs no I/O. The table is consensus data, identical on every voter,
 * so it does not affect vote determinism. A choice whose agenda or choice id is
 * unknown is skipped (logged once): voting abstain on it is what dcrwallet
 * does for an agenda it does not know.
 */
import { z } from 'zod';
import type { ChoiceBits } from './vote-factory.ts';

const AgendaSchema = z.object({
  id: z.string(),
  mask: z.number().int().min(0).max(0xffff),
  choices: z.array(z.object({ id: z.string(), bits: z.number().int().min(0).max(0xffff) })),
});
const VoteInfoSchema = z.object({ vote_version: z.number().int().optional(), agendas: z.array(AgendaSchema) });

/** agenda id → { mask, choice id → bits } */
export class AgendaTable {
  readonly #agendas = new Map<string, { mask: number; choices: Map<string, number> }>();
  readonly #warned = new Set<string>();

  /** @param voteVersion the vote version these agendas belong to (votes built with them carry it); undefined: not known. */
  constructor(readonly voteVersion?: number) {}

  /**
   * Builds a table from a GetVoteInfo response or a stored agenda set (`agendas` with id, mask,
   * choices of id and bits); throws a zod error naming the bad field.
   */
  static fromVoteInfo(info: unknown, voteVersion?: number): AgendaTable {
    const parsed = VoteInfoSchema.parse(info);
    const t = new AgendaTable(voteVersion ?? parsed.vote_version);
    for (const a of parsed.agendas) {
      t.#agendas.set(a.id, { mask: a.mask, choices: new Map(a.choices.map((c) => [c.id, c.bits])) });
    }
    return t;
  }

  get size(): number {
    return this.#agendas.size;
  }

  /**
   * Resolves choices in agenda-id order (deterministic), per-ticket choices over
   * the defaults agenda by agenda. `onUnknown` is called once per unknown pair.
   */
  resolve(
    defaults: Readonly<Record<string, string>>,
    perTicket: Readonly<Record<string, string>>,
    onUnknown?: (agendaId: string, choiceId: string) => void,
  ): ChoiceBits[] {
    const merged: Record<string, string> = { ...defaults, ...perTicket };
    const out: ChoiceBits[] = [];
    for (const agendaId of Object.keys(merged).sort()) {
      const choiceId = merged[agendaId] as string;
      const a = this.#agendas.get(agendaId);
      const bits = a?.choices.get(choiceId);
      if (!a || bits === undefined) {
        const k = `${agendaId}/${choiceId}`;
        if (!this.#warned.has(k)) {
          this.#warned.add(k);
          onUnknown?.(agendaId, choiceId);
        }
        continue;
      }
      out.push({ mask: a.mask, bits });
    }
    return out;
  }
}
