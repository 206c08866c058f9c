/**
 * The draws still open: a draw for block B at height h can be voted until a
 * block at height h + 1 connects (that block carries B's votes) or B is
 * disconnected. Competing tips at one height are separate open draws.
 *
 * The voter asks it for a ticket that entered the cluster after its draw
 * arrived (imported late, or a re-delivered draw naming a ticket that was not
 * managed at the first arrival): that ticket is voted at once on each open
 * draw that names it. Bounded: only the draws at the highest heights are kept.
 */
import type { WinningTicketsEvent } from './chain-event.ts';

/** Open draws kept at most (competing tips at the tip's height; a handful in practice). */
export const MAX_OPEN_DRAWS = 16;

/** See the module comment. */
export class OpenDraws {
  readonly #draws = new Map<string, WinningTicketsEvent>();
  /** Highest block height connected so far (any stream). */
  #best = -1;

  /** A draw arrived (first arrival). A draw below the best connected height is not open and is ignored. */
  add(ev: WinningTicketsEvent): void {
    if (ev.height < this.#best) return;
    this.#draws.set(ev.blockHashHex, ev);
    if (this.#draws.size > MAX_OPEN_DRAWS) {
      const lowest = [...this.#draws.values()].sort((a, b) => a.height - b.height)[0] as WinningTicketsEvent;
      this.#draws.delete(lowest.blockHashHex);
    }
  }

  /** A block at `height` connected: every draw below it is closed (its votes are mined or missed). */
  blockConnected(height: number): void {
    if (height > this.#best) this.#best = height;
    for (const [hash, ev] of this.#draws) if (ev.height < height) this.#draws.delete(hash);
  }

  /** A block was disconnected: its draw is superseded. */
  blockDisconnected(blockHashHex: string): void {
    this.#draws.delete(blockHashHex);
  }

  /** The open draws that name `ticketHex` as a winner. */
  drawsOf(ticketHex: string): WinningTicketsEvent[] {
    const out: WinningTicketsEvent[] = [];
    for (const ev of this.#draws.values()) if (ev.ticketsHex.includes(ticketHex)) out.push(ev);
    return out;
  }

  /** The open draw of `blockHashHex` as it first arrived, if open. */
  draw(blockHashHex: string): WinningTicketsEvent | undefined {
    return this.#draws.get(blockHashHex);
  }

  /** Whether the draw of `blockHashHex` is open. */
  isOpen(blockHashHex: string): boolean {
    return this.#draws.has(blockHashHex);
  }

  get size(): number {
    return this.#draws.size;
  }
}
