/**
 * A watch cache's snapshot load survives a page that misses its deadline
 * (services/cluster/watch-cache.ts): the page is asked again at the same
 * revision and start key instead of failing the whole load (a voter's
 * 100k-ticket start-up on a loaded etcd). Real etcd, frozen with SIGSTOP for
 * longer than one page's deadline (with the etcd client's own retries) right
 * after the second page; with one attempt per page the same load fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEtcdAccess } from '../../services/cluster/etcd-access.ts';
import { createEtcdClient } from '../../services/cluster/etcd-client.ts';
import { EtcdUnavailableError } from '../../services/cluster/errors.ts';
import { PrefixCache } from '../../services/cluster/watch-cache.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';

const KEYS = 400;
const PAGE = 40;
/** Longer than one page attempt (the etcd client's own tries of a 250 ms deadline + back-off), well within five. */
const FREEZE_MS = 1_600;

let etcd: TestEtcd;

beforeAll(async () => {
  etcd = await startTestEtcd({ preferLocal: true });
  // The cluster module's whole API through one handle: etcd's root user (the service roles are etcd-auth.test.ts's).
  const c = createEtcdClient({ endpoints: etcd.endpoints, access: await loadEtcdAccess(etcd.access('root')) });
  for (let i = 0; i < KEYS; i += 100) {
    await Promise.all(Array.from({ length: 100 }, (_, j) => c.put(`lr/${String(i + j).padStart(4, '0')}`).value(`v${i + j}`).exec()));
  }
  c.close();
}, 60_000);
afterAll(async () => {
  await etcd?.stop();
});

/** Loads `lr/` with etcd frozen for FREEZE_MS right after the second page; resolves with the cache size or the error. */
async function loadThroughFreeze(pageAttempts: number | undefined): Promise<{ size: number } | { err: unknown }> {
  const pid = etcd.members[0]?.pid;
  if (pid === undefined) throw new Error('needs the local etcd (a pid to SIGSTOP)');
  const client = createEtcdClient({ endpoints: etcd.endpoints, access: await loadEtcdAccess(etcd.access('root')), callTimeoutMs: 250 });
  let pages = 0;
  let thawed: Promise<void> | undefined;
  const cache = new PrefixCache<string>({
    client, prefix: 'lr/', name: 'load-retry', pageSize: PAGE, ...(pageAttempts !== undefined ? { pageAttempts } : {}),
    parse: (_k, raw) => raw.toString(),
    hooks: {
      observeEtcdRequest: (op, _ms, code) => {
        if (op !== 'load_load-retry' || code !== undefined || ++pages !== 2) return;
        process.kill(pid, 'SIGSTOP');
        thawed = new Promise((r) => setTimeout(() => { process.kill(pid, 'SIGCONT'); r(); }, FREEZE_MS));
      },
    },
  });
  try {
    await cache.start();
    return { size: cache.size };
  } catch (err) {
    return { err };
  } finally {
    await thawed;
    await cache.stop().catch(() => undefined);
    client.close();
  }
}

describe('watch-cache snapshot load', () => {
  it('retries a page that missed its deadline at the same revision; one attempt per page fails', async () => {
    const once = await loadThroughFreeze(1);
    expect('err' in once ? once.err : once).toBeInstanceOf(EtcdUnavailableError);
    const retried = await loadThroughFreeze(undefined);
    expect(retried).toEqual({ size: KEYS });
  }, 60_000);
});
