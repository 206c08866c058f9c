/**
 * dcrd's JSON-RPC methods as the devnet serves them (decred/dcrd:
 * internal/rpcserver/rpcserverhandlers.go, rpc/jsonrpc/types). The
 * table below is the whole API; params are positional and checked with zod here
 * (wrong type/count -> -32602, bad value -> -8, bad hex -> -22, unknown -> -5).
 */
import { z } from 'zod';
import {

  encodeTx,
  hashFromHex,
  hashToHex,
  toHex,
  treasurySubsidy,
  txHash,
  voteSubsidy,
  workSubsidy,
  type Tx,
} from '../../../decred/index.ts';
import type { BlockNode } from '../chain/chain.ts';
import { forcedChoiceId, type ReleaseProfile } from '../deployments.ts';
import { RPC_ERR, RpcError } from '../errors.ts';
import type { DevnetNodeImpl } from '../node.ts';
import { mergeReports } from '../report.ts';
import type { Dispatch, RpcContext } from './server.ts';

type Handler = (params: unknown[], ctx: RpcContext) => unknown;

// dcrd's JSON-RPC API semver: 8.3.0 at both release-v2.0.6 and release-v2.1.6 (internal/rpcserver/rpcserver.go jsonrpcSemver*).
const JSONRPC_API = { versionstring: '8.3.0', major: 8, minor: 3, patch: 0, prerelease: '', buildmetadata: '' };

/** The `dcrd` entry of `version` (rpcserver.go handleVersion: version.String(), the semver parts, build metadata). */
function dcrdVersionEntry(r: ReleaseProfile): Record<string, unknown> {
  return { versionstring: `${r.major}.${r.minor}.${r.patch}+devnet`, major: r.major, minor: r.minor, patch: r.patch, prerelease: '', buildmetadata: 'devnet' };
}

/**
 * dcrd's calcWantHeight (internal/blockchain/stakeversion.go): the height of the final block
 * of the previous rule change interval.
 */
export function calcWantHeight(stakeValidationHeight: number, interval: number, height: number): number {
  const intervalOffset = stakeValidationHeight % interval;
  const adjustedHeight = height - intervalOffset - 1;
  return adjustedHeight - ((adjustedHeight + 1) % interval) + intervalOffset;
}

/** A vote's (version, bits) from its second output (`6a06 <u16 bits> <u32 version>`). */
function voteVersionBits(v: Tx): { version: number; bits: number } {
  const s = (v.outputs[1] as { pkScript: Uint8Array }).pkScript;
  const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
  return { version: s.length >= 8 ? dv.getUint32(4, true) : 0, bits: s.length >= 4 ? dv.getUint16(2, true) : 0 };
}

const isVoteTx = (t: Tx): boolean => t.inputs.length === 2 && t.inputs[0]?.prevOut.index === 0xffffffff;

/** Parses positional params with a zod tuple; -32602 on mismatch (dcrd's ErrRPCInvalidParams / type errors). */
function parse<T extends z.ZodTypeAny>(schema: T, params: unknown[], method: string): z.infer<T> {
  const r = schema.safeParse(params);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new RpcError(RPC_ERR.INVALID_PARAMS, `${method}: invalid params${issue ? ` (${issue.path.join('.') || 'params'}: ${issue.message})` : ''}`);
  }
  return r.data;
}

function hash(hex: string, what = 'hash'): Uint8Array {
  try {
    return hashFromHex(hex, what);
  } catch {
    throw new RpcError(RPC_ERR.DECODE, `${what}: argument must be a 64-character hexadecimal string`);
  }
}

const atomsToCoin = (v: bigint): number => Number(v) / 1e8;

/** A bitset as hex (jrick/bitset): bit i in byte i>>3, mask 1<<(i&7). */
function bitsetHex(bits: boolean[]): string {
  const b = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((on, i) => {
    if (on) b[i >> 3] = (b[i >> 3] as number) | (1 << (i & 7));
  });
  return toHex(b);
}

function txJson(tx: Tx, node: BlockNode | undefined, best: number): Record<string, unknown> {
  return {
    hex: toHex(encodeTx(tx)),
    txid: hashToHex(txHash(tx)),
    version: tx.version,
    locktime: tx.lockTime,
    expiry: tx.expiry,
    vin: tx.inputs.map((i) => ({ txid: hashToHex(i.prevOut.hash), vout: i.prevOut.index, tree: i.prevOut.tree, sequence: i.sequence, amountin: atomsToCoin(i.valueIn), blockheight: i.blockHeight, blockindex: i.blockIndex, scriptSig: { hex: toHex(i.sigScript) } })),
    vout: tx.outputs.map((o, n) => ({ value: atomsToCoin(o.value), n, version: o.version, scriptPubKey: { hex: toHex(o.pkScript) } })),
    ...(node ? { blockhash: node.hashHex, blockheight: node.height, confirmations: node.onMainChain ? best - node.height + 1 : 0, time: node.header.timestamp, blocktime: node.header.timestamp } : {}),
  };
}

export function createDispatch(node: DevnetNodeImpl): Dispatch {
  const chain = node.chain;
  const params = node.params;

  const blockByHash = (hex: string): BlockNode => {
    hash(hex, 'block hash');
    const n = chain.get(hex.toLowerCase());
    if (!n) {
      const pruned = chain.prunedHeight(hex.toLowerCase());
      if (pruned >= 0) throw new RpcError(RPC_ERR.NOT_FOUND, `Block not found: ${hex} (height ${pruned} is pruned: this devnet keeps headers of the last ${chain.indexDepth} blocks)`);
      throw new RpcError(RPC_ERR.NOT_FOUND, `Block not found: ${hex}`);
    }
    return n;
  };

  const headerJson = (n: BlockNode): Record<string, unknown> => {
    const h = n.header;
    const next = n.onMainChain ? chain.hashAtHeight(n.height + 1) : undefined;
    return {
      hash: n.hashHex,
      confirmations: n.onMainChain ? chain.bestHeight - n.height + 1 : -1,
      version: h.version,
      merkleroot: hashToHex(h.merkleRoot),
      stakeroot: hashToHex(h.stakeRoot),
      votebits: h.voteBits,
      finalstate: toHex(h.finalState),
      voters: h.voters,
      freshstake: h.freshStake,
      revocations: h.revocations,
      poolsize: h.poolSize,
      bits: h.bits.toString(16),
      sbits: atomsToCoin(h.sBits),
      height: h.height,
      size: h.size,
      time: h.timestamp,
      nonce: h.nonce,
      extradata: toHex(h.extraData),
      stakeversion: h.stakeVersion,
      difficulty: 1,
      chainwork: (n.height + 1).toString(16).padStart(64, '0'),
      ...(n.parent ? { previousblockhash: n.parent.hashHex } : {}),
      ...(next ? { nextblockhash: next } : {}),
    };
  };

  const wsOnly = (ctx: RpcContext, method: string): NonNullable<RpcContext['client']> => {
    if (!ctx.client) throw new RpcError(RPC_ERR.METHOD_NOT_FOUND, `Command ${method} is only available on websocket connections`);
    return ctx.client;
  };
  const subscribe = (kind: string) => (p: unknown[], ctx: RpcContext) => {
    parse(z.tuple([]).rest(z.unknown()), p, kind);
    wsOnly(ctx, kind).subscriptions.add(kind);
    return null;
  };
  const unsubscribe = (kind: string, method: string) => (_p: unknown[], ctx: RpcContext) => {
    wsOnly(ctx, method).subscriptions.delete(kind);
    return null;
  };

  const handlers: Record<string, Handler> = {
    version: () => ({ dcrd: dcrdVersionEntry(node.release), dcrdjsonrpcapi: JSONRPC_API }),
    getcurrentnet: () => params.net,
    getbestblock: () => ({ hash: chain.best.hashHex, height: chain.bestHeight }),
    getbestblockhash: () => chain.best.hashHex,
    getblockcount: () => chain.bestHeight,
    getblockhash: (p) => {
      const [h] = parse(z.tuple([z.number().int()]), p, 'getblockhash');
      const hex = h < 0 ? undefined : chain.hashAtHeight(h);
      if (!hex) throw new RpcError(RPC_ERR.MISC, 'Block number out of range');
      return hex;
    },
    getblockheader: (p) => {
      const [h, verbose] = parse(z.tuple([z.string(), z.boolean().optional()]), p, 'getblockheader');
      const n = blockByHash(h);
      return verbose === false ? toHex(n.headerBytes) : headerJson(n);
    },
    getblock: (p) => {
      const [h, verbose, verboseTx] = parse(z.tuple([z.string(), z.boolean().optional(), z.boolean().optional()]), p, 'getblock');
      const n = blockByHash(h);
      const bytes = chain.blockBytes(n);
      if (!bytes || !n.block) throw new RpcError(RPC_ERR.NOT_FOUND, `Block not found: ${h} (pruned)`);
      if (verbose === false) return toHex(bytes);
      const b = n.block;
      return {
        ...headerJson(n),
        size: bytes.length,
        tx: verboseTx ? b.transactions.map((t) => txJson(t, n, chain.bestHeight)) : b.transactions.map((t) => hashToHex(txHash(t))),
        stx: verboseTx ? b.stakeTransactions.map((t) => txJson(t, n, chain.bestHeight)) : b.stakeTransactions.map((t) => hashToHex(txHash(t))),
      };
    },
    getrawtransaction: (p) => {
      const [id, verbose] = parse(z.tuple([z.string(), z.union([z.number().int(), z.boolean()]).optional()]), p, 'getrawtransaction');
      const txid = hashToHex(hash(id, 'txid'));
      let tx: Tx | undefined;
      let where: BlockNode | undefined;
      const inPool = node.pool.get(txid) ?? node.tspends.get(txid);
      if (inPool) tx = inPool.tx;
      else if (!node.cfg.txIndex) {
        // decred/dcrd internal/rpcserver handleGetRawTransaction: not in the mempool and no
        // transaction index → rpcInternalErr (ErrRPCInternal, -32603), known transaction or not.
        throw new RpcError(RPC_ERR.INTERNAL, 'the transaction index must be enabled to query the blockchain (specify --txindex)');
      } else {
        where = chain.blockOfTx(txid);
        const b = where?.block;
        if (b) tx = [...b.transactions, ...b.stakeTransactions].find((t) => hashToHex(txHash(t)) === txid);
        if (!tx) {
          const rec = node.tickets.get(txid);
          if (rec) {
            tx = rec.tx;
            where = chain.get(rec.blockHex);
          }
        }
      }
      if (!tx) throw new RpcError(RPC_ERR.NOT_FOUND, 'No information available about transaction');
      return verbose ? txJson(tx, where, chain.bestHeight) : toHex(encodeTx(tx));
    },
    sendrawtransaction: (p) => {
      const [hex] = parse(z.tuple([z.string(), z.boolean().optional()]), p, 'sendrawtransaction');
      return node.sendRawTransaction(hex);
    },
    existsliveticket: (p) => {
      const [h] = parse(z.tuple([z.string()]), p, 'existsliveticket');
      return chain.isLive(hash(h, 'ticket hash'));
    },
    existslivetickets: (p) => {
      const [hs] = parse(z.tuple([z.array(z.string()).max(1_000_000)]), p, 'existslivetickets');
      return bitsetHex(hs.map((h) => chain.isLive(hash(h, 'ticket hash'))));
    },
    existsmempooltxs: (p) => {
      const [hs] = parse(z.tuple([z.array(z.string()).max(1_000_000)]), p, 'existsmempooltxs');
      return bitsetHex(hs.map((h) => {
        const id = hashToHex(hash(h, 'tx hash'));
        return node.pool.get(id) !== undefined || node.tspends.get(id) !== undefined;
      }));
    },
    getstakedifficulty: () => ({ currentstakedifficulty: atomsToCoin(node.cfg.ticketPrice), nextstakedifficulty: atomsToCoin(node.cfg.ticketPrice) }),
    getstakeversions: (p) => {
      const [h, count] = parse(z.tuple([z.string(), z.number().int()]), p, 'getstakeversions');
      if (count <= 0) throw new RpcError(RPC_ERR.INVALID_PARAMETER, 'getstakeversions: count must be positive');
      let n: BlockNode | undefined = blockByHash(h);
      const out = [];
      for (let i = 0; i < count && n; i++, n = n.parent) {
        const votes = n.block ? n.block.stakeTransactions.filter(isVoteTx) : [];
        out.push({
          hash: n.hashHex,
          height: n.height,
          blockversion: n.header.version,
          stakeversion: n.header.stakeVersion,
          votes: votes.map(voteVersionBits),
        });
      }
      return { stakeversions: out };
    },
    // rpcserver.go handleGetVoteInfo: an unknown version is rpcInvalidError("%d: unrecognized vote version")
    // (-8); totalvotes counts the votes of that version mined in the current rule change interval
    // (CountVoteVersion). An agenda whose outcome the network forces (simnet: every one, see
    // forcedChoiceId) is "active" (or "failed" for a forced "no") with no choice counted, as dcrd
    // counts choices (GetVoteCounts) only for an agenda in the started state. The devnet has no
    // threshold state machine for the others (regnet): they are reported "started", with counts.
    getvoteinfo: (p) => {
      const [v] = parse(z.tuple([z.number().int().nonnegative()]), p, 'getvoteinfo');
      const deployments = node.release.deployments.get(v);
      if (!deployments) throw new RpcError(RPC_ERR.INVALID_PARAMETER, `${v}: unrecognized vote version`);
      const forcedId = forcedChoiceId(params.name);
      const interval = params.ruleChangeActivationInterval;
      const quorum = Math.floor((interval * params.ticketsPerBlock) / 10);
      const want = calcWantHeight(params.stakeValidationHeight, interval, chain.bestHeight);
      const votes: Array<{ version: number; bits: number }> = [];
      if (chain.bestHeight >= params.stakeValidationHeight) {
        for (let n: BlockNode | undefined = chain.best; n && n.height > want; n = n.parent) {
          for (const t of n.block?.stakeTransactions ?? []) {
            if (!isVoteTx(t)) continue;
            const vb = voteVersionBits(t);
            if (vb.version === v) votes.push(vb);
          }
        }
      }
      return {
        currentheight: chain.bestHeight,
        startheight: want + 1,
        endheight: want + interval,
        hash: chain.best.hashHex,
        voteversion: v,
        quorum,
        totalvotes: votes.length,
        agendas: deployments.map((d) => {
          const forced = d.choices.find((c) => c.id === forcedId);
          const counts = d.choices.map((c) => (forced ? 0 : votes.filter((x) => (x.bits & d.mask) === c.bits).length));
          const abstain = d.choices.reduce((sum, c, i) => sum + (c.isAbstain ? (counts[i] as number) : 0), 0);
          const nonAbstain = votes.length - abstain;
          return {
            id: d.id,
            description: d.description,
            mask: d.mask,
            starttime: d.startTime,
            expiretime: d.expireTime,
            status: forced ? (forced.isNo ? 'failed' : 'active') : 'started',
            quorumprogress: forced ? 0 : Math.min(nonAbstain, quorum) / quorum,
            choices: d.choices.map((c, i) => ({
              id: c.id,
              description: c.description,
              bits: c.bits,
              isabstain: c.isAbstain,
              isno: c.isNo,
              count: counts[i] as number,
              progress: votes.length === 0 ? 0 : (counts[i] as number) / votes.length,
            })),
          };
        }),
      };
    },
    getblocksubsidy: (p) => {
      const [h, voters] = parse(z.tuple([z.number().int().nonnegative(), z.number().int().min(0).max(5)]), p, 'getblocksubsidy');
      const pow = workSubsidy(h, voters, params, node.cfg.split);
      const pos = h >= params.stakeValidationHeight ? voteSubsidy(h - 1, params, node.cfg.split) * BigInt(voters) : 0n;
      const dev = treasurySubsidy(h, voters, params, true);
      return { developer: Number(dev), pos: Number(pos), pow: Number(pow), total: Number(dev + pos + pow) };
    },
    getrawmempool: (p) => {
      const [verbose, txtype] = parse(z.tuple([z.boolean().optional(), z.string().optional()]), p, 'getrawmempool');
      if (txtype !== undefined && !['all', 'regular', 'tickets', 'votes', 'revocations', 'tspend', 'tadd'].includes(txtype)) {
        throw new RpcError(RPC_ERR.INVALID_PARAMETER, `getrawmempool: invalid transaction type ${txtype}`);
      }
      const all = txtype === undefined || txtype === 'all';
      const votes = all || txtype === 'votes' ? [...node.pool.byTxid.values()] : [];
      const tspends = all || txtype === 'tspend' ? node.tspends.list() : [];
      const txs = [...votes, ...tspends];
      if (!verbose) return txs.map((v) => v.txidHex);
      return Object.fromEntries(txs.map((v) => [v.txidHex, { size: v.bytes.length, fee: 0, time: Math.floor(v.acceptedAt / 1000), height: chain.bestHeight, startingpriority: 0, currentpriority: 0, depends: [] }]));
    },
    livetickets: () => ({ tickets: chain.liveAfter(chain.best).map(hashToHex) }),
    getinfo: () => ({ version: 1_000_000 * node.release.major + 10_000 * node.release.minor + 100 * node.release.patch, protocolversion: 11, blocks: chain.bestHeight, timeoffset: 0, connections: node.hub.peerCount, proxy: '', difficulty: 1, testnet: false, relayfee: 0.0001, errors: '', txindex: node.cfg.txIndex }),
    getblockchaininfo: () => ({ chain: params.name, blocks: chain.bestHeight, headers: chain.bestHeight, syncheight: chain.bestHeight, bestblockhash: chain.best.hashHex, difficulty: 1, difficultyratio: 1, verificationprogress: 1, chainwork: (chain.bestHeight + 1).toString(16).padStart(64, '0'), initialblockdownload: false, maxblocksize: 1310720, deployments: {} }),
    getconnectioncount: () => node.hub.peerCount,
    session: (_p, ctx) => {
      wsOnly(ctx, 'session');
      return { sessionid: 1 };
    },
    notifyblocks: subscribe('notifyblocks'),
    notifywinningtickets: subscribe('notifywinningtickets'),
    notifynewtickets: subscribe('notifynewtickets'),
    notifytspend: subscribe('notifytspend'),
    stopnotifyblocks: unsubscribe('notifyblocks', 'stopnotifyblocks'),
    stopnotifywinningtickets: unsubscribe('notifywinningtickets', 'stopnotifywinningtickets'),
    stopnotifynewtickets: unsubscribe('notifynewtickets', 'stopnotifynewtickets'),
    stopnotifytspend: unsubscribe('notifytspend', 'stopnotifytspend'),
    loadtxfilter: (_p, ctx) => {
      wsOnly(ctx, 'loadtxfilter');
      return null;
    },
    rebroadcastwinners: (_p, ctx) => {
      wsOnly(ctx, 'rebroadcastwinners');
      node.rebroadcastWinners();
      return null;
    },
    generate: (p) => {
      const [n] = parse(z.tuple([z.number().int()]), p, 'generate');
      if (n < 1 || n > 10_000) throw new RpcError(RPC_ERR.INVALID_PARAMETER, 'generate: number of blocks must be between 1 and 10000');
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(node.mineOne(chain.best).hashHex);
      return out;
    },
    getdevnetreport: () => mergeReports([node.ledger]),
  };

  return async (method, params, ctx) => {
    const h = handlers[method];
    if (!h) throw new RpcError(RPC_ERR.METHOD_NOT_FOUND, `Method not found: ${method}`);
    return h(params, ctx);
  };
}

