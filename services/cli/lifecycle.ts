/**
 * Process lifecycle for long-running commands: wait for SIGTERM or SIGINT, run
 * the service's stop(), and exit hard if stopping takes longer than the cap
 * (a stuck drain must not keep a supervisor waiting forever).
 */

/** Default cap on a clean shutdown (issue 4: "stop within 5 s"). */
export const DEFAULT_SHUTDOWN_CAP_MS = 5_000;

interface LifecycleLogger {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * Resolves after the first SIGTERM/SIGINT once `stop()` has finished. A failing
 * stop sets exit code 1; a stop that exceeds `capMs` exits the process with 1.
 */
export function runUntilSignal(stop: () => Promise<void>, log: LifecycleLogger, capMs = DEFAULT_SHUTDOWN_CAP_MS): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (sig: string): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      log.info({ signal: sig }, 'shutting down');
      const cap = setTimeout(() => {
        log.error({ capMs }, 'shutdown exceeded its cap; exiting');
        process.exit(1);
      }, capMs);
      cap.unref();
      stop().then(
        () => resolve(),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exitCode = 1;
          resolve();
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
