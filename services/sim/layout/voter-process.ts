/**
 * Child-process entry of a layout voter (voterMode 'process'). Start-up is
 * split in two so the parent can spawn children before it knows their
 * config (the layout spawns them while the devnet and etcd come up): once its
 * modules are loaded (most of a child's start-up CPU) it reports `warm`; the
 * parent then sends `run` with the voter's JSON config (the cluster key comes
 * from its `clusterKeyFile`), and the child starts the voter, reports `ready`,
 * answers `stats` requests and forwards duty events over the IPC channel. It
 * stops cleanly on SIGTERM, SIGINT or when the parent goes away (no orphans),
 * also while still warm.
 */
import { createVoter, type Voter } from '../../voter/index.ts';
import { createLogger, initTelemetry, type Telemetry } from '../../telemetry/index.ts';
import type { ChildMessage, ParentMessage } from './voter-handle.ts';

const send = (m: ChildMessage): void => {
  if (process.connected) process.send?.(m);
};

let voter: Voter | undefined;
let telemetry: Telemetry | undefined;
let stopping: Promise<void> | undefined;
const stop = (): Promise<void> =>
  (stopping ??= (async () => {
    await voter?.stop();
    await telemetry?.shutdown();
    process.exit(0);
  })());
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
process.once('disconnect', () => void stop());

async function run(m: Extract<ParentMessage, { t: 'run' }>): Promise<void> {
  const cfg = m.config;
  const log = createLogger({ service: 'voter', region: cfg.region, nodeId: cfg.nodeId, level: m.logLevel as 'warn', destination: 2 });
  if (m.traceFile) telemetry = await initTelemetry({ serviceName: 'voter', region: cfg.region, nodeId: cfg.nodeId, traceFile: m.traceFile });
  const v = createVoter(cfg, {
    log,
    // Everything but the error object (not cloneable across processes in general).
    onDuty: ({ error: _error, ...e }) => send({ t: 'duty', e }),
  });
  voter = v;
  if (stopping) return;
  await v.start();
  send({ t: 'ready' });
}

let started = false;
process.on('message', (raw) => {
  const m = raw as ParentMessage;
  if (m.t === 'run' && !started && !stopping) {
    started = true;
    run(m).catch((err: unknown) => {
      const e = err as { code?: string; message?: string; retryable?: unknown };
      send({ t: 'failed', message: `${e.code ? `[${e.code}] ` : ''}${e.message ?? String(err)}`, retryable: e.retryable === true });
      process.exitCode = 1;
      setImmediate(() => process.exit(1));
    });
  } else if (m.t === 'stats' && voter) send({ t: 'stats', id: m.id, stats: voter.stats() });
});
send({ t: 'warm' });
