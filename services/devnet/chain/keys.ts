/**
 * Deterministic keys of a devnet, derived from its seed: the same seed gives the
 * same funding key, miner key and ticket voting keys, so a chain can be rebuilt and a
 * harness can re-derive what it imported. Never use a devnet seed for real funds.
 */
import { blake256, hash160, isValidPrivKey, privKeyToPubKey } from '../../decred/index.ts';

export interface DevnetKey {
  privKey: Uint8Array;
  pubKey: Uint8Array;
  /** hash160 of the compressed public key (the P2PKH payload). */
  pkh: Uint8Array;
}

/** A valid secp256k1 scalar from BLAKE256(seed | label | index | counter). */
export function deriveKey(seed: string, label: string, index: number): DevnetKey {
  for (let counter = 0; ; counter++) {
    const priv = blake256(new TextEncoder().encode(`votecluster-devnet|${seed}|${label}|${index}|${counter}`));
    if (!isValidPrivKey(priv)) continue;
    const pubKey = privKeyToPubKey(priv);
    return { privKey: priv, pubKey, pkh: hash160(pubKey) };
  }
}

/** Key ring of one devnet chain: memoises ticket keys by purchase index. */
export class KeyRing {
  readonly funding: DevnetKey;
  readonly miner: DevnetKey;
  readonly reward: DevnetKey;
  private readonly tickets = new Map<number, DevnetKey>();

  constructor(readonly seed: string) {
    this.funding = deriveKey(seed, 'funding', 0);
    this.miner = deriveKey(seed, 'miner', 0);
    this.reward = deriveKey(seed, 'reward', 0);
  }

  /** The voting key of the ticket bought with purchase index `i` (0-based along the chain). */
  ticketKey(i: number): DevnetKey {
    let k = this.tickets.get(i);
    if (!k) {
      k = deriveKey(this.seed, 'ticket', i);
      this.tickets.set(i, k);
    }
    return k;
  }

  /** Forget a ticket key once its ticket is spent or missed (bounded memory over long runs). */
  forgetTicketKey(i: number): void {
    this.tickets.delete(i);
  }
}
