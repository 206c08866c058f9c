/**
 * {@link ChainLookup} over a node proxy client (services/nodeproxy). Lookups
 * are bounded by a deadline; "unknown transaction" is a value (undefined),
 * every other proxy failure becomes AdminChainUnavailableError (retryable).
 *
 * The proxy's GetRawTransaction returns only the bytes and GetBestBlock only
 * hash and height; the stake fields of the tip header (pool size, ticket
 * price) come from the proxy's WatchChain replay of the tip block
 * (`fromHeight` = tip height), read once and closed.
 */
import { z } from 'zod';
import { decodeBlockHeader, type NetParams } from '../decred/index.ts';
import { NotFoundError, TxIndexRequiredError, type NodeProxyClient } from '../nodeproxy/index.ts';
import type { AgendaSet } from './agendas.ts';
import { AdminChainUnavailableError, AdminTxIndexRequiredError } from './errors.ts';
import type { ChainLookup, ChainTip, DcrdInfo, SemverResult, TxLocation } from './ports.ts';

const VoteInfoSchema = z.object({
  vote_version: z.number().int().nonnegative(),
  agendas: z.array(
    z.object({
      id: z.string(),
      description: z.string().default(''),
      mask: z.number().int().nonnegative(),
      choices: z.array(
        z.object({
          id: z.string(),
          description: z.string().default(''),
          bits: z.number().int().nonnegative(),
          is_abstain: z.boolean().default(false),
          is_no: z.boolean().default(false),
        }),
      ),
    }),
  ),
});

/** Options of {@link createProxyChainLookup}. */
export interface ProxyChainOptions {
  params: NetParams;
  /** Deadline of one lookup (default 5 s). */
  timeoutMs?: number;
}

function unavailable(what: string, err: unknown): AdminChainUnavailableError {
  const code = (err as { code?: unknown })?.code;
  return new AdminChainUnavailableError(`${what} through the node proxy failed: ${(err as Error)?.message ?? String(err)}${typeof code === 'string' ? ` [${code}]` : ''}`, { cause: err });
}

/** Wraps a node proxy client as the admin's chain lookup. */
export function createProxyChainLookup(client: NodeProxyClient, opts: ProxyChainOptions): ChainLookup {
  const deadlineMs = opts.timeoutMs ?? 5_000;

  const tipHeader = (height: number): Promise<Uint8Array | undefined> =>
    new Promise((resolve) => {
      let done = false;
      const finish = (h: Uint8Array | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        handle.close();
        resolve(h);
      };
      const timer = setTimeout(() => finish(undefined), Math.min(deadlineMs, 2_000));
      const handle = client.watchChain({ fromHeight: height, autoResume: false, onError: () => finish(undefined) }, (ev) => {
        if (ev.kind === 'block_connected' && ev.block.height === height) finish(ev.block.header);
      });
    });

  return {
    async getRawTransaction(txid: string, o?: { blockHash?: string }): Promise<TxLocation | undefined> {
      try {
        if (o?.blockHash === undefined) return { raw: await client.getRawTransaction(txid, { deadlineMs }) };
        // With the block named, the proxy also finds it behind a dcrd without --txindex, and says where it is.
        const t = await client.getTransactionBlock(txid, { deadlineMs, blockHash: o.blockHash });
        return { raw: t.raw, ...(t.blockHash !== undefined ? { blockHash: t.blockHash, blockHeight: t.blockHeight ?? 0 } : {}) };
      } catch (err) {
        if (err instanceof NotFoundError) return undefined;
        if (err instanceof TxIndexRequiredError) {
          throw new AdminTxIndexRequiredError(
            `transaction ${txid}: the proxy's dcrd runs without --txindex and finds only mempool transactions; give the ticket's block hash (the export file has it) or start dcrd with --txindex [${err.code}]`,
            { cause: err },
          );
        }
        throw unavailable(`getrawtransaction ${txid}`, err);
      }
    },
    async getBlockVotes(blockHash: string, height: number) {
      try {
        return await client.getBlockVotes(blockHash, height, { deadlineMs });
      } catch (err) {
        throw unavailable(`getblockvotes ${blockHash}`, err);
      }
    },
    async existsLiveTickets(hashes: readonly string[]): Promise<boolean[]> {
      try {
        return await client.existsLiveTickets(hashes, { deadlineMs });
      } catch (err) {
        throw unavailable('existslivetickets', err);
      }
    },
    async getBestBlock(o?: { header?: boolean }): Promise<ChainTip> {
      let best: { hash: string; height: number };
      try {
        best = await client.getBestBlock({ deadlineMs });
      } catch (err) {
        throw unavailable('getbestblock', err);
      }
      const tip: ChainTip = { hash: best.hash, height: best.height };
      if (!o?.header) return tip;
      const raw = await tipHeader(best.height);
      if (raw) {
        const h = decodeBlockHeader(raw);
        tip.poolSize = h.poolSize;
        tip.ticketPrice = h.sBits;
      }
      return tip;
    },
    async getDcrdInfo(): Promise<DcrdInfo> {
      let st;
      try {
        st = await client.getStatus({ deadlineMs });
      } catch (err) {
        throw unavailable('getstatus', err);
      }
      const versions: Record<string, SemverResult> = {};
      for (const v of st.dcrd_version_result ?? []) {
        versions[v.component] = {
          versionstring: v.version_string, major: v.major, minor: v.minor, patch: v.patch, prerelease: v.prerelease, buildmetadata: v.build_metadata,
        };
      }
      return { versions, voteVersion: st.vote_version ?? 0 };
    },
    async getVoteInfo(voteVersion: number): Promise<AgendaSet> {
      let wire: unknown;
      try {
        wire = await client.getVoteInfo(voteVersion, { deadlineMs });
      } catch (err) {
        throw unavailable(`getvoteinfo ${voteVersion}`, err);
      }
      const r = VoteInfoSchema.safeParse(wire);
      if (!r.success) throw unavailable(`getvoteinfo ${voteVersion}`, new Error(`unexpected answer: ${r.error.issues[0]?.message ?? ''}`));
      return {
        voteVersion: r.data.vote_version || voteVersion || opts.params.voteVersion,
        source: 'chain',
        agendas: r.data.agendas.map((a) => ({
          id: a.id,
          description: a.description,
          mask: a.mask,
          choices: a.choices.map((c) => ({ id: c.id, description: c.description, bits: c.bits, isAbstain: c.is_abstain, isNo: c.is_no })),
        })),
      };
    },
  };
}
