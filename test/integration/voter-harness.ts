/**
 * Integration harness of the voter tests: real etcd (startTestEtcd), a real
 * devnet (the judge), one real node proxy per devnet node over real gRPC with
 * mutual TLS (a cluster CA in a temp dir, a proxy certificate naming 127.0.0.1,
 * one voter client certificate), the devnet's tickets imported into the
 * cluster, and in-process voters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCluster, generateClusterKey, type Cluster } from '../../services/cluster/index.ts';
import { decodeWif, SIMNET } from '../../services/decred/index.ts';
import { startDevnet, type Devnet, type DevnetOptions } from '../../services/sim/devnet/index.ts';
import { createNodeProxy, createNodeProxyClient, type NodeProxy, type NodeProxyClient } from '../../services/nodeproxy/index.ts';
import { createCertsDir, grpcChannelCredentials, ROLE, TlsReloader, type TlsFiles } from '../../services/security/index.ts';
import { createLogger, SecretKey, type Logger } from '../../services/telemetry/index.ts';
import { createVoter, type Voter, type VoterConfigInput, type VoterDeps } from '../../services/voter/index.ts';
import { startTestEtcd, type TestEtcd } from '../harness/etcd.ts';
import { waitFor } from '../harness/wait-for.ts';

/** Logger for tests: silent unless VOTER_TEST_LOG names a level. */
export function testLogger(service = 'voter'): Logger {
  return createLogger({ service, level: (process.env['VOTER_TEST_LOG'] as 'info' | undefined) ?? 'silent' });
}

export interface VoterWorld {
  etcd: TestEtcd;
  devnet: Devnet;
  proxies: NodeProxy[];
  proxyAddresses: string[];
  /** The voters' TLS files (cluster CA, a client certificate with role voter): `--tls-ca/--tls-cert/--tls-key`. */
  voterTls: TlsFiles;
  /** An admin service's TLS files (role admin: reaches the proxies, serves the Admin API) and an operator's (calls it). */
  adminTls: TlsFiles;
  /** The proxies' server TLS files (for a test that starts another proxy voters can reach). */
  proxyTls: TlsFiles;
  operatorTls: TlsFiles;
  /** A NodeProxy client with the voters' certificate (close it). */
  proxyClient(address: string): NodeProxyClient;
  clusterKey: SecretKey;
  admin: Cluster;
  voters: Voter[];
  log: Logger;
  /** Imports every exported ticket not yet imported (idempotent); through `via` instead of the world's admin handle if given. */
  importTickets(via?: Cluster): Promise<number>;
  /** Creates (not starts) a voter with the world's etcd/proxies/key. */
  makeVoter(nodeId: string, region: string, over?: Partial<VoterConfigInput>, deps?: Partial<VoterDeps>): Voter;
  /** Mines one block and waits until dcrd holds a vote for every draw of it; returns the hash. */
  mineAndAwaitVotes(timeoutMs?: number): Promise<string>;
  /** Waits until every pending draw (the tip's) has a vote at dcrd. */
  awaitPendingVotes(timeoutMs?: number): Promise<void>;
  /**
   * The devnet's verdict on the tickets the cluster manages (imported): a ticket the
   * devnet bought while etcd was down cannot be imported in time and is not ours to vote.
   */
  managedReport(): { drawn: number; missed: number; conflicting: number; unmanagedDraws: number };
  /** Whether the cluster manages (imported) a ticket. */
  isManaged(ticketHash: string): boolean;
  /** All vote records in etcd. */
  voteRecords(): Promise<Array<{ ticketHash: string; blockHash: string; height: number; signer: string; voteTxid: string; voteVersion: number }>>;
  stop(): Promise<void>;
}

export async function startVoterWorld(o: {
  devnet?: Partial<DevnetOptions>;
  etcdMembers?: 1 | 3;
  /** Tickets importTickets() leaves alone (e.g. those a test hands over another way). */
  skipImport?: (ticketHash: string) => boolean;
} = {}): Promise<VoterWorld> {
  const log = testLogger();
  const etcd = await startTestEtcd({ preferLocal: true, members: o.etcdMembers ?? 1 });
  const devnet = await startDevnet({ nodes: 1, tickets: 64, ...o.devnet } as DevnetOptions);
  const certsDir = mkdtempSync(join(tmpdir(), 'vc-voter-world-'));
  const certs = await createCertsDir(certsDir, [
    { name: 'proxy', commonName: 'proxy', role: ROLE.proxy, usage: 'server', sans: ['127.0.0.1'] },
    { name: 'voter', commonName: 'voter', role: ROLE.voter, usage: 'client' },
    { name: 'admin', commonName: 'admin', role: ROLE.admin, usage: 'peer', sans: ['127.0.0.1'] },
    { name: 'operator', commonName: 'operator', role: ROLE.operator, usage: 'client' },
  ]);
  const voterTls = certs.files['voter'] as TlsFiles;
  const proxies: NodeProxy[] = [];
  const proxyAddresses: string[] = [];
  for (const n of devnet.nodes) {
    const p = createNodeProxy(
      { network: 'simnet', dcrd: { url: n.wsUrl, user: n.rpcUser, pass: n.rpcPass }, listen: '127.0.0.1:0', tls: certs.files['proxy'] as TlsFiles },
      { logger: testLogger('nodeproxy') },
    );
    proxies.push(p);
    proxyAddresses.push((await p.start()).address);
  }
  const clusterKey = generateClusterKey();
  const admin = await openCluster({
    endpoints: etcd.endpoints, etcdAccess: etcd.access('admin'), network: 'simnet', nodeId: 'admin', region: 'x', join: false,
    clusterKey: new Uint8Array(clusterKey.expose()), storeKeyFingerprint: true,
  });
  const imported = new Set<string>();
  const voters: Voter[] = [];
  const world: VoterWorld = {
    etcd, devnet, proxies, proxyAddresses, voterTls, proxyTls: certs.files['proxy'] as TlsFiles, adminTls: certs.files['admin'] as TlsFiles, operatorTls: certs.files['operator'] as TlsFiles, clusterKey, admin, voters, log,
    proxyClient(address) {
      const tls = new TlsReloader(voterTls);
      const c = createNodeProxyClient(address, { clientId: 'test', credentials: grpcChannelCredentials(tls) });
      const close = c.close.bind(c);
      return Object.assign(c, { close: () => { close(); tls.close(); } });
    },
    async importTickets(via = admin) {
      let n = 0;
      for (const t of devnet.exportTickets()) {
        if (imported.has(t.ticketHash) || o.skipImport?.(t.ticketHash)) continue;
        const key = new SecretKey(decodeWif(t.wif, SIMNET).privKey);
        await via.tickets.importTicket({ ticketHash: t.ticketHash, ticketHex: t.ticketHex, votingKey: key });
        key.wipe();
        imported.add(t.ticketHash);
        n++;
      }
      return n;
    },
    makeVoter(nodeId, region, over = {}, deps = {}) {
      const v = createVoter({
        nodeId, region, network: 'simnet', etcd: { endpoints: etcd.endpoints, ...etcd.access('voter') },
        proxies: proxyAddresses.map((address) => ({ address, region })),
        clusterKeyFile: '/nonexistent/cluster.key', // the key comes from deps.clusterKey
        tls: voterTls,
        resendIntervalMs: 200,
        ...over,
      }, { log, clusterKey, ...deps });
      voters.push(v);
      return v;
    },
    async awaitPendingVotes(timeoutMs = 15_000) {
      // The miner (node 0) must hold the votes: `generate` mines there, and with several nodes a
      // vote accepted by another node is only relayed to it a moment later.
      const unvoted = () => devnet.nodeReport(0).tickets.filter((t) => imported.has(t.ticketHash) && t.outcome === 'pending' && !t.sideChain && t.firstVoteAt === undefined);
      try {
        await waitFor(() => unvoted().length === 0, { timeoutMs, message: 'a vote at dcrd for every pending draw' });
      } catch (err) {
        const detail = unvoted().map((t) => `${t.height}/${t.ticketHash.slice(0, 12)} imported=${imported.has(t.ticketHash)} owner=${admin.owners.ownerOf(t.ticketHash)}`);
        throw new Error(`unvoted draws: ${detail.join(', ')}`, { cause: err });
      }
    },
    async mineAndAwaitVotes(timeoutMs = 15_000) {
      await world.awaitPendingVotes(timeoutMs);
      const [hash] = await devnet.generate(1);
      await waitFor(() => {
        const draws = devnet.report().tickets.filter((t) => t.blockHash === hash);
        return draws.length > 0 && draws.every((t) => t.firstVoteAt !== undefined || !imported.has(t.ticketHash));
      }, { timeoutMs, message: `votes for every draw of block ${hash}` });
      await world.importTickets();
      return hash as string;
    },
    isManaged: (t) => imported.has(t),
    managedReport() {
      const all = devnet.report().tickets;
      const ours = all.filter((t) => imported.has(t.ticketHash));
      return {
        drawn: ours.length,
        missed: ours.filter((t) => t.outcome === 'missed').length,
        conflicting: ours.filter((t) => t.distinctVotes > 1).length,
        unmanagedDraws: all.length - ours.length,
      };
    },
    async voteRecords() {
      const kvs = await admin.client.getAll().prefix(admin.keyspace.votesPrefix()).strings();
      return Object.values(kvs).map((v) => JSON.parse(v) as { ticketHash: string; blockHash: string; height: number; signer: string; voteTxid: string; voteVersion: number });
    },
    async stop() {
      await Promise.allSettled(voters.map((v) => v.stop()));
      await admin.close();
      await Promise.allSettled(proxies.map((p) => p.stop()));
      await devnet.stop();
      await etcd.stop();
      rmSync(certsDir, { recursive: true, force: true });
    },
  };
  await world.importTickets();
  return world;
}

/** Waits until every managed ticket's claim is held by its rank-0 live node. */
export async function awaitStableOwnership(world: VoterWorld, voters: readonly Voter[], timeoutMs = 20_000): Promise<void> {
  await waitFor(() => {
    const c = voters[0]?.cluster;
    if (!c) return false;
    const live = c.membership.liveNodes().length;
    if (live < voters.length) return false;
    for (const t of c.tickets.list()) {
      const h = t.record.ticketHash;
      if (c.owners.ownerOf(h) !== c.owners.rank(h)[0]?.nodeId) return false;
    }
    return true;
  }, { timeoutMs, message: 'every ticket claimed by its rank-0 node' });
}
