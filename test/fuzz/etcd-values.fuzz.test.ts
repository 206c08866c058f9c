/**
 * Untrusted input from etcd: whoever can write the keyspace (a bug, an operator with
 * etcdctl, a restored backup of another version) can leave any bytes under tickets/,
 * owners/, nodes/ and votes/. A voter's cluster handle (real etcd, real watches) reads
 * them: each corrupt value is reported (observeCorruptValue), never served as data, never
 * fatal; the handle keeps its watches and keeps seeing the well-formed writes that follow.
 */
import { randomBytes } from 'node:crypto';
import { Etcd3 } from 'etcd3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateClusterKey, openCluster, type Cluster } from '../../services/cluster/index.ts';
import { createLogger } from '../../services/telemetry/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';
import { fuzzRuns, fuzzSeed } from './fuzz-runs.ts';

let etcd: TestEtcd;
let voter: Cluster;
let admin: Cluster;
let raw: Etcd3;
const corrupt: string[] = [];
const log = createLogger({ service: 'fuzz', level: 'silent' });

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
  const clusterKey = new Uint8Array(generateClusterKey().expose());
  admin = await openCluster({ endpoints: etcd.endpoints, etcdAccess: etcd.access('admin'), network: 'simnet', nodeId: 'fuzz-admin', region: 'admin', clusterKey, join: false }, { log });
  voter = await openCluster(
    { endpoints: etcd.endpoints, etcdAccess: etcd.access('voter'), network: 'simnet', nodeId: 'fuzz-voter', region: 'a', clusterKey },
    { log, onCorrupt: (err) => corrupt.push(err.message) },
  );
  await voter.owners.start();
  // Hostile values anywhere in the keyspace: written as etcd's root.
  raw = new Etcd3(etcd.clientOptions('root'));
});

afterAll(async () => {
  raw?.close();
  await voter?.close();
  await admin?.close();
  await etcd?.stop();
});

const hash = () => randomBytes(32).toString('hex');
const valueArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v))),
  fc.string({ maxLength: 100 }).map((s) => Buffer.from(s)),
  // Near misses: the right shape with wrong types or sizes.
  fc.record({ v: fc.oneof(fc.constant(1), fc.constant(99), fc.string({ maxLength: 3 })), node: fc.string({ maxLength: 80 }), lease: fc.oneof(fc.string({ maxLength: 20 }), fc.integer()) }).map((o) => Buffer.from(JSON.stringify(o))),
  fc.record({ ticket: fc.string({ maxLength: 70 }), envelope: fc.record({ v: fc.integer({ min: 0, max: 3 }), kid: fc.string({ maxLength: 20 }), nonce: fc.string({ maxLength: 30 }), ct: fc.string({ maxLength: 60 }) }) }).map((o) => Buffer.from(JSON.stringify(o))),
);
const prefixArb = fc.constantFrom('tickets', 'owners', 'nodes', 'votes');

function keyUnder(prefix: string): string {
  const ks = voter.keyspace;
  switch (prefix) {
    case 'tickets':
      return ks.ticket(hash());
    case 'owners':
      return ks.owner(hash());
    case 'nodes':
      return ks.node(`fuzz-${randomBytes(4).toString('hex')}`);
    default:
      return ks.vote(1000 + Math.floor(Math.random() * 1000), hash(), hash());
  }
}

describe('corrupt values in the etcd keyspace', () => {
  it('are reported and never served; the watches stay up and later good writes are seen', async () => {
    let round = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(prefixArb, valueArb), { minLength: 1, maxLength: 6 }), async (writes) => {
        round += 1;
        const keys: string[] = [];
        for (const [prefix, value] of writes) {
          const key = keyUnder(prefix);
          keys.push(key);
          await raw.put(key).value(value);
        }
        // A well-formed change after the garbage must still arrive through the same watches.
        const hedgeMs = 200 + round;
        await admin.config.setHedgeMs(hedgeMs);
        await waitFor(() => voter.config.hedgeMs() === hedgeMs, { message: `voter sees hedge ${hedgeMs} after the corrupt values` });
        expect(voter.isWatchHealthy()).toBe(true);
        // Nothing corrupt is served from the ticket cache or as an owner.
        for (const key of keys) {
          const h = key.slice(key.lastIndexOf('/') + 1);
          if (key.startsWith(voter.keyspace.ticketsPrefix())) expect(voter.tickets.get(h)).toBeUndefined();
        }
        for (const key of keys) await raw.delete().key(key);
      }),
      { numRuns: fuzzRuns(40), seed: fuzzSeed() },
    );
    expect(voter.isWatchHealthy()).toBe(true);
    expect(corrupt.length).toBeGreaterThan(0);
    // No fake ticket entered the cache, and the voter's own node record is intact.
    expect(voter.tickets.size).toBe(0);
    expect(voter.membership.liveNodes().some((n) => n.nodeId === 'fuzz-voter')).toBe(true);
  });
});
