/**
 * Keyspace schema version and upgrade table (vspd's database/upgrades.go
 * pattern). `config/schema-version` holds `{ version }`. On open:
 * absent -> written as the latest version (a fresh keyspace); older -> each
 * upgrade runs in order and bumps the version in a txn guarded by the version
 * key's mod revision (so two nodes never run one step twice); newer -> refuse
 * to run ({@link SchemaTooNewError}): old code must not write a newer layout.
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import { z } from 'zod';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ClusterError, SchemaTooNewError } from './errors.ts';
import type { Keyspace } from './keyspace.ts';
import { parseJsonValue } from './watch-cache.ts';

/** One upgrade step: from `to - 1` to `to`. Steps must be idempotent (a crash may repeat one). */
export interface SchemaUpgrade {
  to: number;
  description: string;
  run(client: Etcd3, keyspace: Keyspace): Promise<void>;
}

/** The upgrade table. Version 1 is the initial layout (docs/architecture.md, "etcd keyspace"); add steps here, in order. */
export const UPGRADES: readonly SchemaUpgrade[] = [];

/** The schema version this code writes. */
export const LATEST_SCHEMA_VERSION = 1 + UPGRADES.length;

const VersionSchema = z.object({ version: z.number().int().min(1) });

/**
 * Makes sure the keyspace is at `latest`, running `upgrades` as needed; returns the version found.
 * Throws {@link SchemaTooNewError} if etcd holds a newer version.
 */
export async function ensureSchema(
  client: Etcd3,
  keyspace: Keyspace,
  opts: { latest?: number; upgrades?: readonly SchemaUpgrade[]; hooks?: ClusterMetricsHooks } = {},
): Promise<number> {
  const upgrades = opts.upgrades ?? UPGRADES;
  const latest = opts.latest ?? 1 + upgrades.length;
  const key = keyspace.schemaVersion();
  const initial = JSON.stringify({ version: latest });
  // Current already (the common case): a read alone, so a process whose etcd role may not
  // write config/ (voters, read-only tools) opens an initialised keyspace.
  const current = (await timed(opts.hooks, 'schema', () => client.get(key).exec())).kvs[0];
  if (current && parseJsonValue(key, current.value, VersionSchema).version === latest) return latest;
  // A fresh keyspace: write the latest version if absent (create-if-absent, racing nodes agree).
  const res = await timed(opts.hooks, 'schema', () =>
    client.if(key, 'Create', '==', 0).then(client.put(key).value(initial)).else(client.get(key)).commit(),
  );
  if (res.succeeded) return latest;
  const first = res.responses[0]?.response_range?.kvs[0];
  if (!first) throw new ClusterError('CLUSTER_INVARIANT', `${key}: txn compare failed but the key is absent`);
  let kv: IKeyValue = first;
  const found = parseJsonValue(key, kv.value, VersionSchema).version;
  if (found > latest) {
    throw new SchemaTooNewError(
      `etcd keyspace ${keyspace.prefix} has schema version ${found}; this build understands up to ${latest}: upgrade votecluster`,
    );
  }
  let version = found;
  while (version < latest) {
    const step = upgrades.find((u) => u.to === version + 1);
    if (!step) throw new ClusterError('CLUSTER_SCHEMA_UPGRADE', `no upgrade step to schema version ${version + 1}`);
    await step.run(client, keyspace);
    const next = JSON.stringify({ version: step.to });
    const modRev: number = Number(kv.mod_revision);
    const bump = await timed(opts.hooks, 'schema', () =>
      client.if(key, 'Mod', '==', modRev).then(client.put(key).value(next)).else(client.get(key)).commit(),
    );
    if (bump.succeeded) {
      version = step.to;
      const after = await client.get(key).exec();
      kv = after.kvs[0] ?? kv;
    } else {
      // Another node bumped it concurrently: continue from what it wrote.
      kv = bump.responses[0]?.response_range?.kvs[0] ?? kv;
      version = parseJsonValue(key, kv.value, VersionSchema).version;
    }
  }
  return found;
}
