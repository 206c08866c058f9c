/**
 * Composition of a devnet: options (zod-validated), node 0 the miner (bootstraps the
 * chain), followers linked over loopback websockets, and the Devnet handle.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { encodeAddress, encodeWif, hashToHex, netParams, type SubsidySplit } from '../../decred/index.ts';
import { DevnetError } from './errors.ts';
import { DevnetNodeImpl, type ExportedTicket, type NodeConfig } from './node.ts';
import { linkLedgers, mergeReports, type DevnetReport } from './report.ts';
import { generateTlsIdentity, type TlsIdentity } from './rpc/tls.ts';
import type { BlockInterval } from './miner.ts';
import { DCRD_RELEASES, type DcrdRelease } from './deployments.ts';

const IntervalSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('manual') }),
  z.object({ mode: z.literal('fixed'), ms: z.number().positive() }),
  z.object({ mode: z.literal('exponential'), meanMs: z.number().positive() }),
]);

export const DevnetOptionsSchema = z.object({
  network: z.enum(['simnet', 'regnet']).default('simnet'),
  nodes: z.number().int().min(1).max(16).default(1),
  hosts: z.array(z.string().min(1)).optional(),
  ports: z.array(z.number().int().min(0).max(65535)).optional(),
  rpcUser: z.string().min(1).optional(),
  rpcPass: z.string().min(1).optional(),
  tls: z.boolean().default(false),
  seed: z.string().min(1).optional(),
  tickets: z.number().int().min(5).max(100_000).default(64),
  // 0.1 DCR: the 300,000 DCR simnet premine then funds ~600,000 blocks of ticket purchases.
  ticketPrice: z.bigint().positive().default(10_000_000n),
  houseShare: z.number().min(0).max(1).default(0),
  blockInterval: IntervalSchema.default({ mode: 'manual' }),
  voteWaitMs: z.number().int().min(0).default(2500),
  subsidySplit: z.enum(['original', 'dcp0010', 'dcp0012']).default('dcp0012'),
  relayDelayMs: z.number().int().min(0).default(0),
  retainBlocks: z.number().int().min(16).default(2048),
  /** The dcrd release the devnet answers as (`version`, `getvoteinfo`, the vote versions it recognises). */
  dcrdVersion: z.enum(DCRD_RELEASES as [DcrdRelease, ...DcrdRelease[]]).default('2.1.6'),
  /** Per node index, the release that node answers as instead of `dcrdVersion` (a rolling dcrd upgrade). */
  nodeReleases: z.array(z.enum(DCRD_RELEASES as [DcrdRelease, ...DcrdRelease[]])).max(16).optional(),
  // dcrd's --txindex: without it getrawtransaction finds only mempool transactions (-32603 otherwise).
  txIndex: z.boolean().default(true),
});

/** Options of {@link startDevnet}; every field is optional. */
export interface DevnetOptions {
  network?: 'simnet' | 'regnet';
  nodes?: number;
  hosts?: string[];
  ports?: number[];
  rpcUser?: string;
  rpcPass?: string;
  tls?: boolean;
  seed?: string;
  tickets?: number;
  ticketPrice?: bigint;
  houseShare?: number;
  blockInterval?: BlockInterval;
  voteWaitMs?: number;
  subsidySplit?: SubsidySplit;
  relayDelayMs?: number;
  retainBlocks?: number;
  /** `2.1.6` (default) or `2.0.6`: the dcrd release the devnet behaves as (deployments.ts). */
  dcrdVersion?: DcrdRelease;
  /**
   * Per node index, the release that node behaves as instead of `dcrdVersion` (nodes beyond the
   * list use `dcrdVersion`): a network in the middle of a rolling dcrd upgrade.
   */
  nodeReleases?: DcrdRelease[];
  /**
   * Answer as a dcrd started with `--txindex` (default true). false: `getinfo` says `txindex:
   * false` and `getrawtransaction` finds only mempool transactions, answering -32603 for any other
   * (decred/dcrd internal/rpcserver handleGetRawTransaction).
   */
  txIndex?: boolean;
}

export interface DevnetNode {
  readonly index: number;
  readonly rpcUrl: string;
  readonly wsUrl: string;
  readonly rpcUser: string;
  readonly rpcPass: string;
  readonly certPem?: string;
  stop(): Promise<void>;
  restart(): Promise<void>;
  /**
   * Test hook, not a dcrd behaviour: the next `count` websocket calls of `method` get no
   * answer; the caller's connection is closed instead (dcrd stopping, or the network cutting
   * the connection, between a request and its reply).
   */
  dropConnectionOn(method: string, count?: number): void;
}

/** A block mined with its notifications held (test hook): its winners are known, no voter heard of it yet. */
export interface HeldBlock {
  blockHash: string;
  height: number;
  /** The block's winning tickets (display hex), in lottery order. */
  winners: string[];
  /** Sends what was held (notifications, relay to peers): the draw reaches clients from now on. Idempotent. */
  release(): void;
}

export interface Devnet {
  readonly network: string;
  readonly nodes: DevnetNode[];
  generate(n: number): Promise<string[]>;
  /**
   * Test hook: mines one block on the best tip with the miner's notifications and relay held
   * (followers hear of it through the relay, so none of them notifies either) until the
   * returned `release()`. The report's draw time is the release. Rejects as `generate` does
   * (RpcError -1 when the tip lacks the votes dcrd needs), holding nothing then.
   */
  generateHeld(): Promise<HeldBlock>;
  exportTickets(): ExportedTicket[];
  report(): DevnetReport;
  /** The report of one node alone (its own draws and acceptances; e.g. the miner's view: index 0). */
  nodeReport(index: number): DevnetReport;
  forkNextBlock(): Promise<string>;
  mineOn(blockHash: string, n?: number): Promise<string[]>;
  stop(): Promise<void>;
}

/** What a node handle still answers after its devnet stopped (small: no chain). */
interface NodeSummary {
  index: number;
  rpcUrl: string;
  wsUrl: string;
  rpcUser: string;
  rpcPass: string;
  certPem: string | undefined;
}

const stoppedError = (): DevnetError => new DevnetError('DEVNET_STOPPED', 'the devnet was stopped');

class NodeHandle implements DevnetNode {
  #impl: DevnetNodeImpl | undefined;
  #summary: NodeSummary | undefined;
  constructor(impl: DevnetNodeImpl) {
    this.#impl = impl;
  }
  /** The running node; throws DEVNET_STOPPED once its devnet was stopped and released it. */
  get impl(): DevnetNodeImpl {
    if (!this.#impl) throw stoppedError();
    return this.#impl;
  }
  /**
   * Drops the node (chain, ticket keys, pools: ~300 MB at 100,000 tickets) so a handle kept
   * by a caller after Devnet.stop() (a test file's `let dn`, a suspended async frame) does
   * not keep it reachable; the identity getters keep answering.
   */
  release(): void {
    const i = this.#impl;
    if (!i) return;
    this.#summary = { index: i.cfg.index, rpcUrl: i.rpcUrl, wsUrl: i.wsUrl, rpcUser: i.cfg.user, rpcPass: i.cfg.pass, certPem: i.cfg.tls?.certPem };
    this.#impl = undefined;
  }
  get index(): number {
    return this.#summary?.index ?? this.impl.cfg.index;
  }
  get rpcUrl(): string {
    return this.#summary?.rpcUrl ?? this.impl.rpcUrl;
  }
  get wsUrl(): string {
    return this.#summary?.wsUrl ?? this.impl.wsUrl;
  }
  get rpcUser(): string {
    return this.#summary?.rpcUser ?? this.impl.cfg.user;
  }
  get rpcPass(): string {
    return this.#summary?.rpcPass ?? this.impl.cfg.pass;
  }
  get certPem(): string | undefined {
    return this.#summary ? this.#summary.certPem : this.impl.cfg.tls?.certPem;
  }
  stop(): Promise<void> {
    return this.#impl ? this.#impl.stop() : Promise.resolve();
  }
  async restart(): Promise<void> {
    const impl = this.impl;
    await impl.stop();
    await impl.start();
  }
  dropConnectionOn(method: string, count = 1): void {
    this.impl.dropConnectionOn(method, count);
  }
}

function exportFrom(impl: DevnetNodeImpl): ExportedTicket[] {
  return impl.exportTickets(
    (priv) => encodeWif(priv, impl.params),
    (pkh) => encodeAddress('p2pkh', pkh, impl.params),
  );
}

/** Options of {@link startDevnetNode}: one node that links to `peers` over websockets. */
export interface DevnetNodeOptions extends Omit<DevnetOptions, 'nodes' | 'hosts' | 'ports'> {
  host?: string;
  port?: number;
  miner: boolean;
  /** ws(s) URLs of other devnet nodes (userinfo may carry their credentials). */
  peers?: string[];
  /** Node index used in reports (default 0). */
  index?: number;
  /** PEM of a TLS identity to reuse (so peers can pin one cert). */
  tlsIdentity?: TlsIdentity;
}

/** A started single node, for running nodes as separate processes. */
export interface StandaloneDevnetNode extends DevnetNode {
  generate(n: number): Promise<string[]>;
  /** Miner only: see {@link Devnet.generateHeld} (this node's notifications and relay are held). */
  generateHeld(): Promise<HeldBlock>;
  exportTickets(): ExportedTicket[];
  report(): DevnetReport;
  readonly height: number;
}

function nodeConfig(o: z.infer<typeof DevnetOptionsSchema>, extra: { index: number; host: string; port: number; user: string; pass: string; seed: string; miner: boolean; peers: string[]; tls: TlsIdentity | undefined; onError: (e: unknown) => void }): NodeConfig {
  return {
    ...extra,
    network: o.network,
    split: o.subsidySplit,
    tickets: o.tickets,
    ticketPrice: o.ticketPrice,
    houseShare: o.houseShare,
    blockInterval: o.blockInterval,
    voteWaitMs: o.voteWaitMs,
    relayDelayMs: o.relayDelayMs,
    retainBlocks: o.retainBlocks,
    dcrdVersion: o.nodeReleases?.[extra.index] ?? o.dcrdVersion,
    txIndex: o.txIndex,
  };
}

function validate(opts: unknown): z.infer<typeof DevnetOptionsSchema> {
  const r = DevnetOptionsSchema.safeParse(opts ?? {});
  if (!r.success) throw new DevnetError('DEVNET_BAD_OPTIONS', `devnet options: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

const logError = (e: unknown): void => {
  process.stderr.write(`devnet: ${e instanceof Error ? e.message : String(e)}\n`);
};

/** Starts one node (miner or follower) that relays to `peers`. */
export async function startDevnetNode(opts: DevnetNodeOptions): Promise<StandaloneDevnetNode> {
  const { host, port, miner, peers, index, tlsIdentity, ...rest } = opts;
  const o = validate(rest);
  const h = host ?? '127.0.0.1';
  const tls = o.tls ? (tlsIdentity ?? (await generateTlsIdentity([h]))) : undefined;
  const impl = new DevnetNodeImpl(
    nodeConfig(o, { index: index ?? 0, host: h, port: port ?? 0, user: o.rpcUser ?? 'devnet', pass: o.rpcPass ?? randomBytes(12).toString('hex'), seed: o.seed ?? 'votecluster', miner, peers: peers ?? [], tls, onError: logError }),
  );
  if (miner) impl.bootstrap();
  await impl.start();
  // A follower reports draws only from the tip it found its peers at (the chain it syncs is history).
  if (!miner) impl.finishBootstrapWhenSynced();
  return new StandaloneNodeHandle(impl);
}

/**
 * A standalone node's handle. A class with real getters: `height` must read the chain
 * on every access (an `Object.assign` of a getter would copy its value once).
 */
class StandaloneNodeHandle extends NodeHandle implements StandaloneDevnetNode {
  generate(n: number): Promise<string[]> {
    return Promise.resolve(Array.from({ length: n }, () => this.impl.mineOne(this.impl.chain.best).hashHex));
  }
  generateHeld(): Promise<HeldBlock> {
    return Promise.resolve(mineHeld(this.impl));
  }
  exportTickets(): ExportedTicket[] {
    return exportFrom(this.impl);
  }
  report(): DevnetReport {
    return mergeReports([this.impl.ledger]);
  }
  get height(): number {
    return this.impl.chain.bestHeight;
  }
}

/** Mines one block on `miner`'s best tip with its notifications and relay held (Devnet.generateHeld). */
function mineHeld(miner: DevnetNodeImpl): HeldBlock {
  miner.holdNotifications();
  try {
    const node = miner.mineOne(miner.chain.best);
    let released = false;
    return {
      blockHash: node.hashHex, height: node.height, winners: node.winners.map((w) => hashToHex(w)),
      release: () => {
        if (released) return;
        released = true;
        miner.releaseNotifications();
      },
    };
  } catch (err) {
    miner.releaseNotifications();
    throw err;
  }
}

/**
 * Followers sync from the miner; waits until they have its tip (bounded). A function of its
 * own: a closure inside startDevnet would put `impls` in the context its returned methods
 * share, and a stopped devnet could not drop them.
 */
async function awaitFollowersSynced(impls: readonly DevnetNodeImpl[], miner: DevnetNodeImpl): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (impls.some((n) => n.chain.best.hashHex !== miner.chain.best.hashHex)) {
    if (Date.now() > deadline) throw new DevnetError('DEVNET_SYNC', 'followers did not sync with the miner within 30 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Starts a devnet: node 0 mines (and bootstraps the chain to SVH-1 with the target
 * live pool), the others follow it over loopback websockets. Resolves once every
 * node has the miner's tip.
 */
export async function startDevnet(opts: DevnetOptions = {}): Promise<Devnet> {
  const o = validate(opts);
  const user = o.rpcUser ?? 'devnet';
  const pass = o.rpcPass ?? randomBytes(12).toString('hex');
  const seed = o.seed ?? randomBytes(8).toString('hex');
  const hosts = Array.from({ length: o.nodes }, (_, i) => o.hosts?.[i] ?? '127.0.0.1');
  const tls = o.tls ? await generateTlsIdentity(hosts) : undefined;
  const impls: DevnetNodeImpl[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const peers = i === 0 ? [] : [(impls[0] as DevnetNodeImpl).wsUrl];
    const impl = new DevnetNodeImpl(nodeConfig(o, { index: i, host: hosts[i] as string, port: o.ports?.[i] ?? 0, user, pass, seed, miner: i === 0, peers, tls, onError: logError }));
    if (i === 0) impl.bootstrap();
    await impl.start();
    impls.push(impl);
  }
  const miner = impls[0] as DevnetNodeImpl;
  await awaitFollowersSynced(impls, miner);
  for (const n of impls) n.finishBootstrap();
  linkLedgers(impls.map((i) => i.ledger));
  const nodes = impls.map((i) => new NodeHandle(i));
  const params = netParams(o.network);
  // Everything heavy is reached through `live`; stop() drops it (see NodeHandle.release).
  let live: { impls: DevnetNodeImpl[]; miner: DevnetNodeImpl } | undefined = { impls, miner };
  let final: { merged: DevnetReport; perNode: DevnetReport[] } | undefined;
  let stopping: Promise<void> | undefined;
  const running = (): { impls: DevnetNodeImpl[]; miner: DevnetNodeImpl } => {
    if (!live) throw stoppedError();
    return live;
  };
  return {
    network: params.name,
    nodes,
    generate: async (n: number) => {
      const { miner: m } = running();
      return Array.from({ length: n }, () => m.mineOne(m.chain.best).hashHex);
    },
    generateHeld: async () => mineHeld(running().miner),
    exportTickets: () => exportFrom(running().miner),
    // After stop(): the reports as they were when it stopped.
    report: () => final?.merged ?? mergeReports(running().impls.map((i) => i.ledger)),
    nodeReport: (index: number) => {
      const count = final ? final.perNode.length : running().impls.length;
      if (!Number.isInteger(index) || index < 0 || index >= count) throw new DevnetError('DEVNET_BAD_OPTIONS', `no node ${index} (have ${count})`);
      return final?.perNode[index] ?? mergeReports([running().impls[index] as DevnetNodeImpl].map((i) => i.ledger));
    },
    forkNextBlock: async () => {
      const best = running().miner.chain.best;
      if (!best.parent || !best.block) throw new DevnetError('DEVNET_FORK', 'the best block has no parent to fork from');
      const votes = best.block.stakeTransactions.filter((t) => t.inputs.length === 2 && t.inputs[0]?.prevOut.index === 0xffffffff);
      return running().miner.mineOne(best.parent, undefined, votes).hashHex;
    },
    mineOn: async (blockHash: string, n = 1) => {
      const { miner: m } = running();
      let parent = m.chain.get(blockHash);
      if (!parent) throw new DevnetError('DEVNET_UNKNOWN_BLOCK', `unknown block ${blockHash}`);
      const out: string[] = [];
      for (let i = 0; i < n; i++) {
        parent = m.mineOne(parent);
        out.push(parent.hashHex);
      }
      return out;
    },
    stop: () =>
      (stopping ??= (async () => {
        const l = live;
        if (!l) return;
        for (const i of [...l.impls].reverse()) await i.stop();
        // The reports stay answerable (bounded: the ledgers' last 512 blocks); the chains go.
        final = { merged: mergeReports(l.impls.map((i) => i.ledger)), perNode: l.impls.map((i) => mergeReports([i.ledger])) };
        live = undefined;
        l.impls.length = 0;
        for (const h of nodes) h.release();
        // The listeners' and sockets' native handles finish closing in libuv's close phase, after
        // the servers reported closed; until then they still reach the node (TCP handle → server →
        // request listener → dispatch → node). One timer turn later they are gone, so a caller's
        // gc() right after stop() gets the memory back (the bench mines synchronously afterwards,
        // with no event-loop turn that would close them).
        await new Promise((r) => setTimeout(r, 0));
      })()),
  };
}
