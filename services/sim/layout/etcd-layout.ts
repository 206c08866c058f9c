/**
 * etcd for the layout: one member (in region a) or three (one per region).
 * With WAN, each member advertises a peer URL that is the topology's ingress
 * link in front of its peer port, so raft traffic between regions is delayed
 * and `wan.partition(region)` cuts what reaches that member; etcd derives
 * member ids from advertised peer URLs, so there is exactly one link per member
 * (not one per pair of regions). The partition is therefore asymmetric (the cut
 * member can still dial the others): members run with `--pre-vote` so its
 * elections cannot depose the majority's leader.
 *
 * etcd runs with client and peer TLS from the layout's cluster CA (client
 * certificates required). The WAN links carry the TLS bytes unchanged, so a
 * member's certificate names every address it is dialled at: its own, its
 * peer ingress link, and each other region's WAN gateway to its region.
 */
import { etcdHttp, isEtcdMemberHealthy, startEtcd, type EtcdHttpTls, type EtcdServer } from '../devnet/index.ts';
import type { CertsDir } from '../../security/index.ts';
import type { WanLink, WanTopology } from './wan.ts';

export interface LayoutEtcd {
  readonly server: EtcdServer;
  /** Region name of each member, in member order. */
  readonly memberRegions: string[];
  /** Host and client port of each member (its listen address). */
  readonly clientTargets: Array<{ host: string; port: number }>;
  /** WAN links in front of each member's peer port (WAN only; owned by the topology). */
  readonly peerLinks: WanLink[];
  /** Name of the current leader, asked of the running members (undefined if none answers). */
  leaderIndex(): Promise<number | undefined>;
  /**
   * Whether etcd can commit now: every running member answers `/health` true (etcd 3.4 runs a
   * quorum read through raft for it, so false while it elects or lacks quorum). Direct, not
   * through the WAN links.
   */
  ready(): Promise<boolean>;
  stop(): Promise<void>;
}

export interface EtcdLayoutOptions {
  members: 1 | 3;
  /** Host of each member (region i's block), and region names. */
  hosts: string[];
  regions: string[];
  /** With WAN: the topology (its ingress links front the peer ports) and its delay (raft timing). */
  wan?: { topology: WanTopology; delayMs: number };
  /** The layout's cluster CA: etcd's certificates are issued from it. */
  certs: CertsDir;
}

/** `/v3/maintenance/status` of etcd's gRPC gateway: member id and leader id. */
async function memberStatus(clientUrl: string, tls: EtcdHttpTls | undefined): Promise<{ memberId: string; leader: string } | undefined> {
  try {
    const res = await etcdHttp(`${clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', tls, timeoutMs: 1_000 });
    if (res.status !== 200) return undefined;
    const j = JSON.parse(res.body) as { header?: { member_id?: string }; leader?: string };
    if (!j.header?.member_id || !j.leader) return undefined;
    return { memberId: j.header.member_id, leader: j.leader };
  } catch {
    // an unreachable (killed, stopped) member simply does not answer
    return undefined;
  }
}

export async function startLayoutEtcd(o: EtcdLayoutOptions): Promise<LayoutEtcd> {
  const peerLinks: WanLink[] = [];
  const wan = o.wan;
  const server = await startEtcd({
    members: o.members,
    hosts: o.hosts.slice(0, o.members),
    namePrefix: 'etcd-',
    tls: {
      certs: o.certs,
      // Clients in other regions dial a member through their region's WAN gateway to its region.
      sans: (m) => (wan ? o.regions.filter((r) => r !== o.regions[m.index]).map((r) => wan.topology.gateway(r, o.regions[m.index] as string)) : []),
    },
    // Raft timing scaled to the WAN round trip (heartbeat ~ RTT, election 10×).
    ...(wan ? { heartbeatMs: Math.max(50, Math.round(2 * wan.delayMs + 20)), electionMs: Math.max(500, Math.round(10 * (2 * wan.delayMs + 20))), preVote: true } : {}),
    ...(wan && o.members === 3
      ? {
          advertise: async (m) => {
            const via = await wan.topology.ingress(o.regions[m.index] as string, m.host, m.peerPort);
            const link = wan.topology.links().find((l) => l.link.address === via.host && l.link.port === via.port)?.link;
            if (link) peerLinks[m.index] = link;
            return { peerUrl: `https://${via.host}:${via.port}` };
          },
        }
      : {}),
  });
  const clientTargets = server.members.map((m) => {
    const u = new URL(m.listenClientUrl);
    return { host: u.hostname, port: Number(u.port) };
  });
  return {
    server,
    memberRegions: o.regions.slice(0, o.members),
    clientTargets,
    peerLinks,
    async leaderIndex() {
      const statuses = await Promise.all(server.members.map((m) => (m.isRunning ? memberStatus(m.listenClientUrl, server.httpTls) : Promise.resolve(undefined))));
      const leader = statuses.find((s) => s)?.leader;
      if (!leader) return undefined;
      const i = statuses.findIndex((s) => s?.memberId === leader);
      return i >= 0 ? i : undefined;
    },
    async ready() {
      const running = server.members.filter((m) => m.isRunning);
      if (running.length === 0) return false;
      return (await Promise.all(running.map((m) => isEtcdMemberHealthy(m.listenClientUrl, server.httpTls)))).every(Boolean);
    },
    async stop() {
      await server.stop(); // the peer links belong to the topology (closed with it)
    },
  };
}
