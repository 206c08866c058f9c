/**
 * Fixtures of the cluster integration tests: ticket hashes from readable labels and stand-in
 * voting keys. Neither is a real ticket or a real key; the cluster stores them as given.
 */
import { SecretKey } from '../../services/telemetry/index.ts';

/** A 32-byte "ticket hash" (display hex) spelling `label`, padded with '#'. */
export const hashOf = (label: string): string => Buffer.from(label.padEnd(32, '#').slice(0, 32)).toString('hex');

/** A stand-in 32-byte voting key, every byte `n`. */
export const filledKey = (n: number): SecretKey => new SecretKey(new Uint8Array(32).fill(n));
