/**
 * {@link TicketStore} over an open services/cluster handle. The cluster owns
 * every etcd key, the envelope encryption of voting keys and the
 * create-if-absent import; this adapter maps its records to the admin's view
 * (voting address and price are derived from the stored ticket bytes).
 *
 * Every change of choices, policies and defaults is applied by the cluster to
 * the value stored in etcd in one revision-guarded txn (never to the watch
 * cache's copy), so concurrent changes (vspd's one `setvotechoice` per agenda,
 * operators at the same time) all land. Defaults are the single
 * `config/vote-defaults` value.
 */
import { decodeTx, encodeAddress, netParams, classifyScript, type NetParams } from '../decred/index.ts';
import { TicketConflictError, type Cluster, type ImportTicketInput, type TicketRecord, type VoteDefaults, type VoteRecord } from '../cluster/index.ts';
import { AdminTicketConflictError, AdminStoreError, AdminUnknownTicketError } from './errors.ts';
import type { EtcdMembersView, NodeView, StoredTicket, TicketImport, TicketStore, VoteRecordView, VotingDefaults } from './ports.ts';

function toStored(rec: TicketRecord, params: NetParams): StoredTicket {
  const raw = Uint8Array.from(Buffer.from(rec.ticketHex, 'hex'));
  let price = 0n;
  let votingAddress = '';
  try {
    const out0 = decodeTx(raw).outputs[0];
    if (out0) {
      price = out0.value;
      const c = classifyScript(out0.pkScript);
      if (c.hash160) votingAddress = encodeAddress(c.kind === 'p2sh' ? 'p2sh' : 'p2pkh', c.hash160, params);
    }
  } catch (err) {
    // Records are validated at import; a record that no longer decodes is shown without
    // price/address rather than hiding the ticket from operators.
    void err;
  }
  const t: StoredTicket = {
    ticketHash: rec.ticketHash,
    rawTicket: raw,
    votingAddress,
    price,
    importedAtMs: Date.parse(rec.importedAt),
    choices: { ...rec.voteChoices },
    tspendPolicies: { ...rec.tspendPolicy },
    treasuryPolicies: { ...rec.treasuryPolicy },
  };
  if (rec.blockHash !== undefined) t.blockHash = rec.blockHash;
  if (rec.blockHeight !== undefined) t.blockHeight = rec.blockHeight;
  return t;
}

function toVoteView(v: VoteRecord): VoteRecordView {
  const signedAtMs = Date.parse(v.signedAt ?? v.createdAt);
  const view: VoteRecordView = {
    ticketHash: v.ticketHash,
    blockHash: v.blockHash,
    height: v.height,
    voteTxid: v.voteTxid,
    signer: v.signer,
    signedAtMs,
  };
  if (v.path !== undefined) view.path = v.path;
  const drawnAtMs = v.drawnAt === undefined ? NaN : Date.parse(v.drawnAt);
  if (Number.isFinite(drawnAtMs)) {
    view.drawnAtMs = drawnAtMs;
    view.signedAfterMs = signedAtMs - drawnAtMs;
    const acceptedAtMs = v.acceptedAt === undefined ? NaN : Date.parse(v.acceptedAt);
    if (Number.isFinite(acceptedAtMs)) view.latencyMs = acceptedAtMs - drawnAtMs;
  }
  return view;
}

function toDefaultsView(d: VoteDefaults): VotingDefaults {
  return { choices: { ...d.voteChoices }, tspendPolicies: { ...d.tspendPolicy }, treasuryPolicies: { ...d.treasuryPolicy } };
}

async function wrap<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const code = (err as { code?: unknown })?.code;
    if (typeof code === 'string' && code.startsWith('ADMIN_')) throw err;
    if (err instanceof TicketConflictError) throw new AdminTicketConflictError(err.message, { cause: err });
    if (typeof code === 'string' && code === 'CLUSTER_TICKET_NOT_FOUND') throw new AdminUnknownTicketError((err as Error).message, { cause: err });
    throw new AdminStoreError(`${what}: ${(err as Error)?.message ?? String(err)}${typeof code === 'string' ? ` [${code}]` : ''}`, { cause: err });
  }
}

function toImportInput(t: TicketImport): ImportTicketInput {
  return {
    ticketHash: t.ticketHash,
    ticketHex: Buffer.from(t.rawTicket).toString('hex'),
    votingKey: t.privKey,
    ...(t.blockHash !== undefined ? { blockHash: t.blockHash } : {}),
    ...(t.blockHeight !== undefined ? { blockHeight: t.blockHeight } : {}),
  };
}

/** Wraps an open cluster (opened with or without `join`) as the admin's ticket store. */
export function clusterTicketStore(cluster: Cluster): TicketStore {
  const params = netParams(cluster.keyspace.network);
  return {
    importTicket: (t: TicketImport) =>
      wrap('import ticket', async () => {
        const r = await cluster.tickets.importTicket(toImportInput(t));
        return { created: r.imported };
      }),
    importTickets: (ts) =>
      wrap('import tickets', async () => {
        const res = await cluster.tickets.importTickets(ts.map(toImportInput));
        return res.map((r) => {
          if (r.error === undefined) return { created: r.imported };
          // Per ticket, the same mapping as a single import (wrap): conflicts by name, the rest as store errors.
          if (r.error instanceof TicketConflictError) return { error: new AdminTicketConflictError(r.error.message, { cause: r.error }) };
          return { error: new AdminStoreError(`import ticket: ${r.error.message} [${r.error.code}]`, { cause: r.error }) };
        });
      }),
    removeTicket: (h) => wrap('remove ticket', () => cluster.tickets.removeTicket(h)),
    getTicket: async (h) => {
      const c = cluster.tickets.get(h);
      return c ? toStored(c.record, params) : undefined;
    },
    listTickets: async () => cluster.tickets.list().map((c) => toStored(c.record, params)),
    setTicketChoices: (h, patch) =>
      wrap('set vote choices', async () => ({ ...(await cluster.tickets.mergeVoteChoices(h, patch)).voteChoices })),
    setTicketTSpendPolicy: (h, tspend, policy) =>
      wrap('set tspend policy', async () => {
        await cluster.tickets.setTSpendPolicy(h, tspend, policy);
      }),
    setTicketTreasuryPolicy: (h, key, policy) =>
      wrap('set treasury policy', async () => {
        await cluster.tickets.setTreasuryPolicy(h, key, policy);
      }),
    getStoredAgendas: async (voteVersion?: number) => {
      const v = voteVersion ?? cluster.config.agendaVersions().at(-1);
      const set = v === undefined ? undefined : cluster.config.agendaSet(v);
      return set ? { voteVersion: set.voteVersion, agendas: set.agendas, source: 'stored' as const } : undefined;
    },
    committedVoteVersion: async () => {
      const e = cluster.config.voteVersionEntry();
      return 'corrupt' in e ? undefined : e.value?.voteVersion;
    },
    getDefaults: async (): Promise<VotingDefaults> => toDefaultsView(cluster.config.voteDefaults()),
    updateDefaults: (fn) =>
      wrap('set defaults', async () =>
        toDefaultsView(
          await cluster.config.updateVoteDefaults((d) => {
            const next = fn(toDefaultsView(d));
            return { voteChoices: next.choices, tspendPolicy: next.tspendPolicies, treasuryPolicy: next.treasuryPolicies };
          }),
        ),
      ),
    listVotes: async () => cluster.votes.list().map(toVoteView),
    watchVotes: async (onVote) => {
      const off = cluster.votes.onChange((c) => {
        if (c.type === 'put') onVote(toVoteView(c.entry.value));
      });
      return { stop: async () => off() };
    },
    listNodes: () =>
      wrap('list nodes', async () =>
        Promise.all((await cluster.membership.listNodes()).map(async (n): Promise<NodeView> => {
          const view: NodeView = {
            nodeId: n.nodeId, region: n.region, proxies: [...n.proxies], version: n.version, startedMs: Date.parse(n.startedAt),
            ...(n.acceptsClaims !== undefined ? { acceptsClaims: n.acceptsClaims } : {}),
          };
          // The lease's last renewal as etcd sees it: a voter that stopped confirming (killed, hung,
          // cut from etcd) shows its age growing long before etcd expires the lease.
          const r = await cluster.membership.leaseRenewal(n.leaseId);
          if (r) view.lease = { ttlSec: r.grantedTtlSec, sinceRenewalMs: r.sinceRenewalSec * 1000 };
          return view;
        })),
      ),
    listOwners: async () => {
      const out = new Map<string, string>();
      for (const c of cluster.tickets.list()) {
        const owner = cluster.owners.ownerOf(c.record.ticketHash);
        if (owner !== undefined) out.set(c.record.ticketHash, owner);
      }
      return out;
    },
    etcdMembers: () =>
      wrap('etcd members', async (): Promise<EtcdMembersView> => {
        const [list, st] = await Promise.all([cluster.client.cluster.memberList({}), cluster.client.maintenance.status()]);
        const leaderId = st.leader && st.leader !== '0' ? String(st.leader) : undefined;
        return {
          members: list.members.map((m) => ({ id: String(m.ID), name: m.name, clientUrls: [...m.clientURLs], leader: String(m.ID) === leaderId })),
          ...(leaderId ? { leaderId } : {}),
          ...(st.raftTerm ? { raftTerm: String(st.raftTerm) } : {}),
        };
      }),
    unvotableTicketBlock: (h) =>
      wrap('read unvotable ticket', async () => {
        const raw = await cluster.client.get(cluster.keyspace.ticket(h)).string();
        if (raw === null) return undefined;
        let rec: unknown;
        try {
          rec = JSON.parse(raw);
        } catch {
          return undefined; // not JSON: nothing to read
        }
        const r = rec as { blockHash?: unknown; blockHeight?: unknown };
        const out: { blockHash?: string; blockHeight?: number } = {};
        if (typeof r.blockHash === 'string' && /^[0-9a-f]{64}$/.test(r.blockHash)) out.blockHash = r.blockHash;
        if (typeof r.blockHeight === 'number' && Number.isSafeInteger(r.blockHeight) && r.blockHeight >= 0) out.blockHeight = r.blockHeight;
        return out;
      }),
    unvotableTickets: () => {
      const out = new Set<string>();
      for (const key of cluster.tickets.corruptKeys().keys()) out.add(key.slice(key.lastIndexOf('/') + 1));
      return out;
    },
  };
}
