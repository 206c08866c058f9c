/**
 * The one typed-error base of the project. Every service's errors extend
 * {@link CodedError} (through its own small base, e.g. `ClusterError`): a stable
 * `code` of the form `SERVICE_REASON`, a `name` equal to the class name, an
 * optional `cause`, and a `retryable` hint (etcd3's `RecoverableError` idea).
 * Callers branch on `instanceof` inside a service and on `code` at boundaries.
 */
export class CodedError extends Error {
  /** Stable code `SERVICE_REASON`, unique across the repository; travels across the wire. */
  readonly code: string;
  /** True when repeating the same call later (or through another path) may succeed. */
  readonly retryable: boolean;
  constructor(code: string, message: string, options?: ErrorOptions & { retryable?: boolean }) {
    super(message, options);
    this.code = code;
    this.retryable = options?.retryable ?? false;
    this.name = new.target.name;
  }
}

/** True when `err` is a {@link CodedError} marked retryable (etcd unreachable, lease lost, proxy down). */
export function isRetryable(err: unknown): boolean {
  return err instanceof CodedError && err.retryable;
}
