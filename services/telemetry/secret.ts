/**
 * `SecretKey`: bytes that must never be printed. JSON, string conversion,
 * `util.inspect` (console.log) and pino all see `[redacted]`; the bytes come
 * out only through the explicitly named {@link SecretKey.expose}.
 */
import { inspect } from 'node:util';

/** What every printable form of a secret shows. */
export const REDACTED = '[redacted]';

/** A secret byte string (private key, cluster key, passphrase bytes). */
export class SecretKey {
  #bytes: Uint8Array;
  #wiped = false;

  /** Copies `bytes` (the caller may wipe its own copy afterwards). */
  constructor(bytes: Uint8Array) {
    this.#bytes = Uint8Array.from(bytes);
  }

  /** Length of the secret in bytes. */
  get length(): number {
    return this.#bytes.length;
  }

  /** True once {@link wipe} has run. */
  get isWiped(): boolean {
    return this.#wiped;
  }

  /**
   * Returns the secret bytes (a live view, not a copy: do not keep it).
   * Throws `TypeError` after {@link wipe}.
   */
  expose(): Uint8Array {
    if (this.#wiped) throw new TypeError('SecretKey: expose() after wipe()');
    return this.#bytes;
  }

  /** Overwrites the bytes with zeros; later `expose()` calls throw. */
  wipe(): void {
    this.#bytes.fill(0);
    this.#wiped = true;
  }

  toJSON(): string {
    return REDACTED;
  }

  toString(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `SecretKey(${REDACTED})`;
  }
}
