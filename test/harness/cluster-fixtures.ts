/**
 * Fixtures of the cluster and voter tests: ticket hashes from readable labels and stand-in
 * voting keys (not real tickets or keys; the cluster stores them as given), and real simnet
 * tickets with their voting keys (for tests that build and sign votes).
 */
import { blake256, buildTicket, hash160, hashToHex, privKeyToPubKey, txHash, type Tx } from '../../services/decred/index.ts';
import { SecretKey } from '../../services/telemetry/index.ts';

/** A 32-byte "ticket hash" (display hex) spelling `label`, padded with '#'. */
export const hashOf = (label: string): string => Buffer.from(label.padEnd(32, '#').slice(0, 32)).toString('hex');

/** A stand-in 32-byte voting key, every byte `n`. */
export const filledKey = (n: number): SecretKey => new SecretKey(new Uint8Array(32).fill(n));

/**
 * A real simnet ticket purchase and its voting key, derived from `label` (the key) and two seed
 * bytes (the funding outpoint and the reward address): deterministic, so a test's vote bytes are.
 */
export function simnetTicket(label: string, prevSeed: number, rewardSeed: number): { votingKey: Uint8Array; ticket: Tx; ticketHex: string } {
  const votingKey = blake256(new TextEncoder().encode(label));
  const ticket = buildTicket({
    input: { prevOut: { hash: blake256(Uint8Array.of(prevSeed)), index: 0, tree: 0 }, valueIn: 1_000_000_000n },
    price: 20_000n, fee: 3_001n,
    votingHash160: hash160(privKeyToPubKey(votingKey)), rewardHash160: hash160(privKeyToPubKey(blake256(Uint8Array.of(rewardSeed)))),
  });
  return { votingKey, ticket, ticketHex: hashToHex(txHash(ticket)) };
}
