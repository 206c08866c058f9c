/**
 * Checks that the votes the chain mined carry the choices in force at their draw.
 *
 * Every vote record names the etcd revisions of the inputs the vote was built from
 * at the draw (the ticket record with its per-ticket choices, `choicesRevision`,
 * and `config/vote-defaults`, `defaultsRevision`). For each record this reads those
 * exact values back from etcd's history, takes the choices that apply at the draw's
 * height (a record's latest from its `from` height on, its earlier ones below), computes the vote bits dcrwallet would
 * (wallet/wallet.go SetAgendaChoices: start at 0x0001, per agenda clear the mask and
 * OR the choice bits; per-ticket choices over defaults) with the chain's agendas, and
 * compares them with the record and with the vote the devnet mined in the next
 * main-chain block (getblock, the vote's second output `6a06 <bits> <version>`).
 */
import { defaultsInputs, stateAtOrOldest, ticketInputs, type Cluster, type EarlierInput } from '../../cluster/index.ts';

/** An agenda as getvoteinfo lists it. */
export interface CheckedAgenda {
  id: string;
  mask: number;
  choices: ReadonlyArray<{ id: string; bits: number }>;
}

/** One devnet node's JSON-RPC (loopback). */
export interface RpcTarget {
  rpcUrl: string;
  rpcUser: string;
  rpcPass: string;
}

/** The outcome of {@link checkMinedVoteBits}. */
export interface VoteBitsCheck {
  /** Records compared with the mined vote. */
  checked: number;
  /** Records whose bits were compared with etcd history only (vote not mined on the main chain). */
  notMined: number;
  mismatches: string[];
}

/** One JSON-RPC call to a devnet node over HTTP. */
export async function rpc(t: RpcTarget, method: string, params: unknown[]): Promise<unknown> {
  const r = await fetch(t.rpcUrl, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${t.rpcUser}:${t.rpcPass}`).toString('base64')}`, 'content-type': 'application/json', connection: 'close' },
    body: JSON.stringify({ jsonrpc: '1.0', id: 1, method, params }),
  });
  const body = (await r.json()) as { result: unknown; error: { code: number; message: string } | null };
  if (body.error) throw new Error(`${method}: ${body.error.code} ${body.error.message}`);
  return body.result;
}

/** dcrwallet's vote bits for choices (per-ticket over defaults). */
export function bitsFor(agendas: readonly CheckedAgenda[], defaults: Readonly<Record<string, string>>, perTicket: Readonly<Record<string, string>>): number {
  const merged: Record<string, string> = { ...defaults, ...perTicket };
  let bits = 0x0001;
  for (const a of agendas) {
    const c = a.choices.find((x) => x.id === merged[a.id]);
    if (c) bits = (bits & ~a.mask) | c.bits;
  }
  return bits | 0x0001;
}

async function jsonAt(cluster: Cluster, key: string, revision: number): Promise<Record<string, unknown> | undefined> {
  if (revision <= 0) return undefined;
  const raw = await cluster.client.get(key).revision(revision).string();
  return raw === null ? undefined : (JSON.parse(raw) as Record<string, unknown>);
}

type Choices = Readonly<Record<string, string>>;
type Versioned = { voteChoices?: Choices; inputsFrom?: number; earlierInputs?: EarlierInput[]; from?: number; earlier?: EarlierInput[] };
const NONE = { tspendPolicy: {}, treasuryPolicy: {} };

function ticketChoicesAt(rec: Record<string, unknown> | undefined, height: number): Choices {
  if (!rec) return {};
  const r = rec as Versioned;
  return stateAtOrOldest(ticketInputs({ voteChoices: r.voteChoices ?? {}, ...NONE, inputsFrom: r.inputsFrom, earlierInputs: r.earlierInputs }), height).voteChoices;
}

function defaultChoicesAt(rec: Record<string, unknown> | undefined, height: number): Choices {
  if (!rec) return {};
  const r = rec as Versioned;
  return stateAtOrOldest(defaultsInputs({ voteChoices: r.voteChoices ?? {}, ...NONE, from: r.from, earlier: r.earlier }), height).voteChoices;
}

/** See the module comment. */
export async function checkMinedVoteBits(cluster: Cluster, node: RpcTarget, agendas: readonly CheckedAgenda[]): Promise<VoteBitsCheck> {
  const ks = cluster.keyspace;
  const raw = await cluster.client.getAll().prefix(ks.votesPrefix()).strings();
  const records = Object.values(raw).map((v) => JSON.parse(v) as {
    height: number; blockHash: string; ticketHash: string; voteBits: number; voteVersion: number; choicesRevision: number; defaultsRevision?: number;
  });
  const minedAt = new Map<number, Map<string, { bits: number; version: number }> | null>();
  const minedIn = async (height: number, parent: string): Promise<Map<string, { bits: number; version: number }> | null> => {
    if (!minedAt.has(height + 1)) {
      let votes: Map<string, { bits: number; version: number }> | null = null;
      try {
        const hash = (await rpc(node, 'getblockhash', [height + 1])) as string;
        const b = (await rpc(node, 'getblock', [hash, true, true])) as { previousblockhash?: string; stx: Array<{ vin: Array<{ txid: string }>; vout: Array<{ scriptPubKey: { hex: string } }> }> };
        votes = new Map();
        for (const t of b.stx) {
          const s = t.vout[1]?.scriptPubKey.hex ?? '';
          if (t.vin.length !== 2 || !s.startsWith('6a06') || s.length !== 16) continue;
          const buf = Buffer.from(s.slice(4), 'hex');
          votes.set(`${b.previousblockhash}:${t.vin[1]?.txid}`, { bits: buf.readUInt16LE(0), version: buf.readUInt32LE(2) });
        }
      } catch {
        votes = null; // not mined yet (the tip's draw)
      }
      minedAt.set(height + 1, votes);
    }
    const m = minedAt.get(height + 1);
    if (!m) return null;
    const out = new Map<string, { bits: number; version: number }>();
    for (const [k, v] of m) if (k.startsWith(`${parent}:`)) out.set(k.slice(parent.length + 1), v);
    return out;
  };
  const out: VoteBitsCheck = { checked: 0, notMined: 0, mismatches: [] };
  for (const r of records) {
    const ticket = await jsonAt(cluster, ks.ticket(r.ticketHash), r.choicesRevision);
    const defaults = await jsonAt(cluster, ks.config('vote-defaults'), r.defaultsRevision ?? 0);
    // The choices that apply at the draw's height (services/cluster vote-inputs.ts): a record's
    // latest choices from its `inputsFrom` on, its earlier ones below.
    const want = bitsFor(agendas, defaultChoicesAt(defaults, r.height), ticketChoicesAt(ticket, r.height));
    const where = `height ${r.height} ticket ${r.ticketHash.slice(0, 12)}`;
    if (r.voteBits !== want) out.mismatches.push(`${where}: record has bits 0x${r.voteBits.toString(16)}, its pinned choices give 0x${want.toString(16)}`);
    const mined = (await minedIn(r.height, r.blockHash))?.get(r.ticketHash);
    if (!mined) {
      out.notMined++;
      continue;
    }
    out.checked++;
    if (mined.bits !== want) out.mismatches.push(`${where}: mined with bits 0x${mined.bits.toString(16)}, the choices in force at the draw give 0x${want.toString(16)}`);
    if (mined.version !== r.voteVersion) out.mismatches.push(`${where}: mined with vote version ${mined.version}, recorded ${r.voteVersion}`);
  }
  return out;
}
