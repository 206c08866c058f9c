/**
 * Child-process entry of a layout voter (voterMode 'process'): runs one voter
 * from the JSON config in VOTECLUSTER_LAYOUT_VOTER (the cluster key comes from
 * its `clusterKeyFile`), reports `ready`, answers `stats` requests and
 * forwards duty events over the IPC channel, and stops cleanly on SIGTERM,
 * SIGINT or when the parent goes away (no orphans).
 */
import { createVoter, type VoterConfigInput } from '../../voter/index.ts';
import { createLogger, initTelemetry, type Telemetry } from '../../telemetry/index.ts';
import type { ChildMessage } from './voter-handle.ts';

const send = (m: ChildMessage): void => {
  if (process.connected) process.send?.(m);
};

async function run(): Promise<void> {
  const cfg = JSON.parse(process.env['VOTECLUSTER_LAYOUT_VOTER'] ?? '{}') as VoterConfigInput;
  const level = (process.env['VOTECLUSTER_LAYOUT_LOG_LEVEL'] ?? 'warn') as 'warn';
  const log = createLogger({ service: 'voter', region: cfg.region, nodeId: cfg.nodeId, level, destination: 2 });
  const traceFile = process.env['VOTECLUSTER_LAYOUT_TRACE_FILE'];
  let telemetry: Telemetry | undefined;
  if (traceFile) telemetry = await initTelemetry({ serviceName: 'voter', region: cfg.region, nodeId: cfg.nodeId, traceFile });
  const voter = createVoter(cfg, {
    log,
    onDuty: (e) => send({ t: 'duty', e: { ticketHex: e.ticketHex, blockHashHex: e.blockHashHex, height: e.height, outcome: e.outcome, rank: e.rank, ...(e.txidHex ? { txidHex: e.txidHex } : {}) } }),
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await voter.stop();
      await telemetry?.shutdown();
      process.exit(0);
    })());
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  process.once('disconnect', () => void stop());
  process.on('message', (raw) => {
    const m = raw as { t?: string; id?: number };
    if (m.t === 'stats' && typeof m.id === 'number') send({ t: 'stats', id: m.id, stats: voter.stats() });
  });
  await voter.start();
  send({ t: 'ready' });
}

run().catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  send({ t: 'failed', message: `${e.code ? `[${e.code}] ` : ''}${e.message ?? String(err)}` });
  process.exitCode = 1;
  setImmediate(() => process.exit(1));
});
