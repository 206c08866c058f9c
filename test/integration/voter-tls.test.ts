/**
 * Voter → proxy over mutual TLS: a voter with the cluster's client certificate
 * streams and claims tickets; a voter dialling the TLS proxy without a
 * certificate (plaintext) gets no stream and claims nothing, however long it waits.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../services/telemetry/index.ts';
import { waitFor } from '../harness/wait-for.ts';
import { startVoterWorld, type VoterWorld } from './voter-harness.ts';

let w: VoterWorld;
beforeAll(async () => {
  w = await startVoterWorld({ devnet: { nodes: 1, tickets: 32 } });
});
afterAll(async () => {
  await w?.stop();
});

/** Owner records in etcd naming `nodeId` (read from etcd, not a cache). */
async function owned(nodeId: string): Promise<number> {
  const kvs = await w.admin.client.getAll().prefix(w.admin.keyspace.ownersPrefix()).strings();
  return Object.values(kvs).filter((v) => v.includes(JSON.stringify(nodeId))).length;
}

it('a voter without a client certificate gets no proxy stream and claims no ticket; one with it claims', async () => {
  const lines: string[] = [];
  const sink = new Writable({ write(c: Buffer, _e, cb) { lines.push(c.toString()); cb(); } });
  const log = createLogger({ service: 'voter', level: 'warn', destination: sink });
  const plain = w.makeVoter('plain', 'a', { tls: undefined }, { log });
  const starting = plain.start();
  // Past the first warning (every 5 s while no stream is up): still nothing claimed.
  await waitFor(() => lines.some((l) => l.includes('not claiming tickets')), { timeoutMs: 20_000, message: 'the no-stream warning' });
  expect(await owned('plain')).toBe(0);

  const good = w.makeVoter('good', 'a');
  await good.start();
  await waitFor(async () => (await owned('good')) > 0, { timeoutMs: 20_000, message: 'claims by the voter with a certificate' });
  expect(await owned('plain')).toBe(0);
  await plain.stop();
  await starting.catch(() => undefined);
}, 60_000);
