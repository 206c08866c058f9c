/**
 * Test etcd: a real etcd for integration tests. Uses testcontainers
 * (`quay.io/coreos/etcd`) when a Docker engine is reachable, otherwise the local
 * Debian binary through `startEtcd` (services/sim/etcd). Both give the same
 * {@link TestEtcd} shape; per-member fault injection (stop/kill/restart) needs the
 * local launcher (`members` is empty for a container).
 */
import { getContainerRuntimeClient, GenericContainer, type StartedTestContainer } from 'testcontainers';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createEtcdTls,
  etcdAccessHelpers,
  etcdHttp,
  etcdTlsFlags,
  issueEtcdClientTls,
  setUpEtcdAuth,
  startEtcd,
  type EtcdMember,
  type EtcdServer,
  type StartEtcdOptions,
} from '../../services/sim/devnet/index.ts';

/** Image used when Docker is reachable (same minor as Debian's etcd-server). */
export const ETCD_IMAGE = 'quay.io/coreos/etcd:v3.4.23';

/**
 * A running test etcd, with client and peer TLS from a cluster CA (client certificates
 * required) and authentication on (one user per kind of service, as `votecluster etcd init`
 * makes them): `access('voter')` for `openCluster`, `clientOptions('root')` for a raw client,
 * `cliFlags('admin')` for a command.
 */
export interface TestEtcd extends Pick<EtcdServer, 'credentials' | 'clientTls' | 'httpTls' | 'access' | 'clientOptions' | 'cliFlags'> {
  readonly endpoints: string[];
  /** Per-member control; empty when etcd runs in a container. */
  readonly members: EtcdMember[];
  readonly kind: 'container' | 'local';
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Options of {@link startTestEtcd}; `preferLocal` skips the Docker probe (needed for member faults). */
export type StartTestEtcdOptions = StartEtcdOptions & { preferLocal?: boolean };

/** True when testcontainers finds a working container runtime (rejects at once without Docker). */
export async function isDockerReachable(): Promise<boolean> {
  return getContainerRuntimeClient().then(
    () => true,
    () => false, // "Could not find a working container runtime strategy": fall back to the local binary
  );
}

/**
 * Starts etcd for a test and resolves once it is healthy. Call `stop()` in `afterAll`.
 * @example
 * let etcd: TestEtcd;
 * beforeAll(async () => { etcd = await startTestEtcd(); });
 * afterAll(() => etcd.stop());
 */
export async function startTestEtcd(opts: StartTestEtcdOptions = {}): Promise<TestEtcd> {
  const wantsMembers = (opts.members ?? 1) > 1 || opts.preferLocal === true || opts.advertise !== undefined;
  if (!wantsMembers && (await isDockerReachable())) return startContainer();
  const { preferLocal: _ignored, ...launcherOpts } = opts;
  const server = await startEtcd(launcherOpts);
  return {
    endpoints: server.endpoints,
    credentials: server.credentials,
    clientTls: server.clientTls,
    httpTls: server.httpTls,
    access: (who) => server.access(who),
    clientOptions: (who) => server.clientOptions(who),
    cliFlags: (who) => server.cliFlags(who),
    members: server.members,
    kind: 'local',
    waitHealthy: (ms) => server.waitHealthy(ms),
    stop: () => server.stop(),
  };
}

async function startContainer(): Promise<TestEtcd> {
  const credDir = await mkdtemp(join(tmpdir(), 'votecluster-etcd-cred-'));
  // The same TLS as the local launcher: the member certificate names the addresses the test dials.
  const tls = await createEtcdTls(join(credDir, 'certs'));
  const member = await tls.member('etcd0', ['localhost']);
  const clientTls = await issueEtcdClientTls(tls);
  const inContainer = (f: string): string => `/etc/etcd-tls/${f.slice(f.lastIndexOf('/') + 1)}`;
  const container: StartedTestContainer = await new GenericContainer(ETCD_IMAGE)
    .withCopyFilesToContainer([member.caFile, member.certFile, member.keyFile].map((f) => ({ source: f, target: inContainer(f), mode: 0o644 })))
    .withCommand([
      '/usr/local/bin/etcd',
      '--listen-client-urls', 'https://0.0.0.0:2379',
      '--advertise-client-urls', 'https://127.0.0.1:2379',
      ...etcdTlsFlags({ caFile: inContainer(member.caFile), certFile: inContainer(member.certFile), keyFile: inContainer(member.keyFile) }),
    ])
    .withExposedPorts(2379)
    .start();
  const endpoint = `https://${container.getHost()}:${container.getMappedPort(2379)}`;
  const waitHealthy = async (timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let lastErr: unknown;
    for (;;) {
      try {
        const res = await etcdHttp(`${endpoint}/health`, { tls: tls.httpTls, timeoutMs: 1_000 });
        if (res.status === 200) return;
      } catch (err) {
        lastErr = err; // not up yet: poll again until the deadline
      }
      if (Date.now() > deadline) throw new Error(`etcd container at ${endpoint} not healthy`, { cause: lastErr });
      await new Promise((r) => setTimeout(r, 50)); // polling interval, not synchronisation
    }
  };
  await waitHealthy();
  const auth = await setUpEtcdAuth([endpoint], credDir, tls.httpTls);
  return {
    endpoints: [endpoint],
    ...etcdAccessHelpers([endpoint], auth, clientTls),
    httpTls: tls.httpTls,
    members: [],
    kind: 'container',
    waitHealthy,
    stop: async () => {
      await container.stop();
      await rm(credDir, { recursive: true, force: true });
    },
  };
}
