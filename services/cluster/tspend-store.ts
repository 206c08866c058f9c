/**
 * The recorded tspends: `tspends/<hash>` = `{ txHex, expiry, piKeyHex, from }`,
 * written by voters for each treasury spend a node proxy streams (after the
 * voter's own dcrd checks), create-if-absent and guarded by the cluster tip T
 * (chain-tip.ts): votes carry it from height `from = T + 2` on. The tspends a
 * vote at H carries candidates for are the recorded ones with `from <= H` that
 * are inside their voting window at H (vote-inputs.ts `tspendsAt`), so every
 * voter builds the same treasury votes, not whatever one proxy streamed a
 * moment ago.
 *
 * Every value is checked again when read (services/decred checkTSpendFull:
 * structure, window, a Pi key of the network, the Schnorr signature; the
 * stored hash, expiry and Pi key must be the transaction's): a corrupt value
 * is reported (CorruptValueError, logged), left out, and never voted on.
 */
import type { Etcd3, IKeyValue } from 'etcd3';
import { z } from 'zod';
import { checkTSpendFull, decodeTx, decodeTxHex, hashToHex, toHex, tspendVotable, type NetParams } from '../decred/index.ts';
import { guardTip, readGuardTip, tipCompare, tipFloor, tipKvsOf, tipReads, type TipKnowledge } from './chain-tip.ts';
import { timed, type ClusterMetricsHooks } from './etcd-client.ts';
import { ChainTipCorruptError, ClusterArgumentError, ConcurrentUpdateError, CorruptValueError } from './errors.ts';
import { DEFAULT_UPDATE_ATTEMPTS } from './guarded-update.ts';
import type { Keyspace } from './keyspace.ts';
import { SILENT_LOGGER, type ClusterLogger } from './log.ts';
import { effectiveFrom, tspendsAt, type RecordedTSpend } from './vote-inputs.ts';
import { PrefixCache, parseJsonValue } from './watch-cache.ts';

/** Largest tspend transaction stored (a tspend pays a handful of outputs; dcrd's standard tx limit is 100 kB). */
const MAX_TSPEND_HEX = 200_000;

/** The value of `tspends/<hash>`. */
export const TSpendRecordSchema = z.object({
  /** The raw tspend transaction, hex. */
  txHex: z.string().regex(/^(?:[0-9a-f]{2})+$/).max(MAX_TSPEND_HEX),
  expiry: z.number().int().min(0).max(0xffffffff),
  piKeyHex: z.string().regex(/^[0-9a-f]{66}$/),
  /** Votes carry it from this height on (the cluster tip when recorded + 2). */
  from: z.number().int().min(0),
});
export type TSpendRecord = z.infer<typeof TSpendRecordSchema>;

/**
 * Parses and checks a stored tspend: schema, then the transaction itself with dcrd's rules
 * against `params`; the key's hash, the expiry and the Pi key must be the transaction's.
 * @throws CorruptValueError naming `key`
 */
export function parseTSpendValue(key: string, raw: Buffer, keyspace: Keyspace, params: NetParams): RecordedTSpend {
  const rec = parseJsonValue(key, raw, TSpendRecordSchema);
  const hashHex = keyspace.tspendHashOf(key);
  if (hashHex === undefined) throw new CorruptValueError(key, 'not a tspend key');
  let info: ReturnType<typeof checkTSpendFull>;
  try {
    info = checkTSpendFull(decodeTxHex(rec.txHex), params);
  } catch (err) {
    throw new CorruptValueError(key, `tspend transaction fails dcrd's checks: ${(err as Error).message}`, { cause: err });
  }
  if (hashToHex(info.hash) !== hashHex) throw new CorruptValueError(key, `tspend transaction hashes to ${hashToHex(info.hash)}`);
  if (info.expiry !== rec.expiry) throw new CorruptValueError(key, `stored expiry ${rec.expiry}, transaction says ${info.expiry}`);
  if (toHex(info.piKey) !== rec.piKeyHex) throw new CorruptValueError(key, 'stored Pi key is not the one that signed the transaction');
  return Object.freeze({ hashHex, expiry: rec.expiry, piKeyHex: rec.piKeyHex, from: rec.from });
}

/** Options of {@link TSpendStore}. */
export interface TSpendStoreOptions {
  client: Etcd3;
  keyspace: Keyspace;
  params: NetParams;
  hooks?: ClusterMetricsHooks;
  log?: ClusterLogger;
  onCorrupt?: (err: CorruptValueError) => void;
  /**
   * Repairs an unreadable cluster tip (chain-tip.ts `ChainTip.repair`; a voter's etcd role may
   * write the tip keys). Without it a record on an unreadable tip fails with ChainTipCorruptError.
   */
  repairTip?: () => Promise<unknown>;
  /** What this process knows of the heights in use: a lower or missing tip refuses a record (or is repaired first). */
  tipKnowledge?: TipKnowledge;
}

/** The result of {@link TSpendStore.record}. */
export interface RecordTSpendResult {
  hashHex: string;
  /** True when this call wrote the record; false when it was recorded already. */
  created: boolean;
  /** The height votes carry it from (the stored one when it existed). */
  from: number;
}

/** See the module comment. */
export class TSpendStore {
  private readonly cache: PrefixCache<RecordedTSpend>;
  private readonly log: ClusterLogger;

  constructor(private readonly opts: TSpendStoreOptions) {
    this.log = opts.log ?? SILENT_LOGGER;
    const ks = opts.keyspace;
    this.cache = new PrefixCache<RecordedTSpend>({
      client: opts.client,
      prefix: ks.tspendsPrefix(),
      name: 'tspends',
      hooks: opts.hooks,
      marker: ks.tspendsTipMarker(),
      parse: (key, raw) => parseTSpendValue(key, raw, ks, opts.params),
      onCorrupt: (err) => {
        this.log.error({ err, key: err.key }, 'corrupt tspend record refused: never voted on');
        opts.onCorrupt?.(err);
      },
      onError: (err) => this.log.warn({ err }, 'tspends watch error'),
    });
  }

  start(): Promise<void> {
    return this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }

  /** The tspends watch cache (its marker is `tspends/chain-tip`). */
  get markerCache(): PrefixCache<unknown> {
    return this.cache as PrefixCache<unknown>;
  }

  /** True while the tspends watch is connected. */
  get isWatchConnected(): boolean {
    return this.cache.isWatchConnected;
  }

  /** Every recorded (and checked) tspend. No I/O. */
  all(): RecordedTSpend[] {
    return [...this.cache.values()].map((e) => e.value);
  }

  /** The recorded tspend of `hashHex`, or undefined. No I/O. */
  get(hashHex: string): RecordedTSpend | undefined {
    return this.cache.getValue(this.opts.keyspace.tspend(hashHex));
  }

  /** Keys whose value was refused (reported as corrupt). */
  corruptKeys(): ReadonlyMap<string, CorruptValueError> {
    return this.cache.corruptKeys();
  }

  /** The recorded tspends a vote at `height` may carry (from <= height, votable at height), hash order. No I/O. */
  at(height: number): RecordedTSpend[] {
    return tspendsAt(this.all(), height, (h, expiry) => tspendVotable(h, expiry, this.opts.params));
  }

  /**
   * Records a raw tspend the voter checked (checked again here: dcrd's rules for this network),
   * create-if-absent, guarded by the cluster tip T: votes carry it from T + 2 on. An existing
   * record is kept (its `from` is returned); an existing record that is corrupt (refused by
   * every voter, so in no vote) is replaced by this checked one, guarded by its revision, and
   * votes carry it from T + 2 on. An unreadable tip is repaired first when this process may
   * (`repairTip`). Retries a moved tip a few times.
   * @throws DecredError (the tx fails dcrd's checks), ConcurrentUpdateError, ChainTipCorruptError
   *   (the tip is unreadable and was not repaired), EtcdUnavailableError
   */
  async record(raw: Uint8Array): Promise<RecordTSpendResult> {
    const { client, keyspace, params } = this.opts;
    const info = checkTSpendFull(decodeTx(raw), params);
    const hashHex = hashToHex(info.hash);
    const known = this.get(hashHex);
    if (known) return { hashHex, created: false, from: known.from };
    const key = Buffer.from(keyspace.tspend(hashHex));
    if (raw.length * 2 > MAX_TSPEND_HEX) throw new ClusterArgumentError(`tspend ${hashHex}: ${raw.length} bytes is too large to record`);
    let tip = await this.#guardTip();
    /** A corrupt stored value this call replaces (its mod revision guards the replacement). */
    let corrupt: { modRevision: string; err: CorruptValueError } | undefined;
    for (let attempt = 1; ; attempt++) {
      const from = effectiveFrom(tip);
      const value: TSpendRecord = { txHex: toHex(raw), expiry: info.expiry, piKeyHex: toHex(info.piKey), from };
      const floor = tipFloor(this.opts.tipKnowledge);
      const res = await timed(this.opts.hooks, 'record_tspend', () =>
        client.kv.txn({
          compare: [
            corrupt
              ? { key, target: 'Mod', result: 'Equal', mod_revision: corrupt.modRevision }
              : { key, target: 'Create', result: 'Equal', create_revision: 0 },
            tipCompare(keyspace, tip),
          ],
          success: [{ request_put: { key, value: Buffer.from(JSON.stringify(value)) } }],
          failure: [{ request_range: { key } }, ...tipReads(keyspace)],
        }),
      );
      if (res.succeeded) {
        if (corrupt) this.log.warn({ key: corrupt.err.key, tspend: hashHex, from, replaced: corrupt.err.message }, 'corrupt tspend record replaced by the checked transaction a proxy streamed: votes carry it from this height');
        return { hashHex, created: true, from };
      }
      const kv: IKeyValue | undefined = res.responses[0]?.response_range?.kvs[0];
      if (kv) {
        try {
          return { hashHex, created: false, from: parseTSpendValue(kv.key.toString(), kv.value, keyspace, params).from };
        } catch (err) {
          if (!(err instanceof CorruptValueError)) throw err;
          corrupt = { modRevision: String(kv.mod_revision), err };
        }
      } else {
        corrupt = undefined;
      }
      if (attempt >= DEFAULT_UPDATE_ATTEMPTS) throw new ConcurrentUpdateError(`tspend ${hashHex}: the cluster tip or the record moved ${attempt} times; not recorded, retry`);
      tip = guardTip(keyspace, tipKvsOf(res.responses, 1), floor);
    }
  }

  /** The tip a record is guarded by; an unreadable tip is repaired first when this process may. */
  async #guardTip(): Promise<number | undefined> {
    const { client, keyspace, hooks } = this.opts;
    try {
      return await readGuardTip(client, keyspace, hooks, this.opts.tipKnowledge);
    } catch (err) {
      if (!(err instanceof ChainTipCorruptError) || !this.opts.repairTip) throw err;
      await this.opts.repairTip();
      return readGuardTip(client, keyspace, hooks, this.opts.tipKnowledge);
    }
  }
}
