/**
 * Process lifecycle for long-running commands: wait for SIGTERM or SIGINT, run
 * the service's stop(), and exit hard if stopping takes longer than the cap
 * (a stuck drain must not keep a supervisor waiting forever).
 *
 * Exit codes: 0 when stop() completed within the cap, 1 when it threw or the
 * cap expired. A repeated signal during shutdown is logged and ignored (a
 * supervisor or a shell sending SIGTERM and SIGINT to a process group must
 * not kill a voter in the middle of flushing its vote records). Once stop()
 * completed, the process exits with its code at the latest
 * {@link EXIT_GRACE_MS} later even if a straggling handle (a socket in
 * close, a library timer) would keep the event loop alive: a clean stop is
 * never turned into the cap's exit 1 by something that has nothing left to do.
 */
import { SHUTDOWN_DEADLINE_MS } from '../base/index.ts';

/** Default cap on a clean shutdown: the process stop deadline every stop path budgets against. */
export const DEFAULT_SHUTDOWN_CAP_MS = SHUTDOWN_DEADLINE_MS;
/** After a completed stop(), how long the event loop may keep running before the process exits anyway. */
export const EXIT_GRACE_MS = 500;

interface LifecycleLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Handles that keep the event loop alive (names only: no addresses, no secrets). */
function activeResources(): string[] {
  const info = (process as { getActiveResourcesInfo?: () => string[] }).getActiveResourcesInfo?.() ?? [];
  const counts = new Map<string, number>();
  for (const r of info) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => (n > 1 ? `${r} x${n}` : r));
}

/**
 * Resolves after the first SIGTERM/SIGINT once `stop()` has finished. A failing
 * stop sets exit code 1; a stop that exceeds `capMs` exits the process with 1.
 * Logs `stopped` with `stopMs` (signal to stop() done).
 */
export function runUntilSignal(stop: () => Promise<void>, log: LifecycleLogger, capMs = DEFAULT_SHUTDOWN_CAP_MS): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = (sig: string): void => {
      if (stopping) {
        log.warn({ signal: sig }, 'already shutting down; signal ignored');
        return;
      }
      stopping = true;
      const t0 = performance.now();
      log.info({ signal: sig }, 'shutting down');
      const cap = setTimeout(() => {
        log.error({ capMs, active: activeResources() }, 'shutdown exceeded its cap; exiting');
        process.exit(1);
      }, capMs);
      cap.unref();
      const done = (): void => {
        clearTimeout(cap);
        const stopMs = Math.round(performance.now() - t0);
        log.info({ stopMs }, 'stopped');
        // Owned by the process: fires only if something keeps the loop alive after a completed stop.
        const linger = setTimeout(() => {
          log.warn({ active: activeResources(), stopMs }, 'event loop still busy after a completed stop; exiting');
          process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
        }, EXIT_GRACE_MS);
        linger.unref();
        resolve();
      };
      stop().then(done, (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        done();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
