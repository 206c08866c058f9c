/**
 * Ticket intake: the one path by which a voting key enters the cluster, used
 * by the CLI (`ticket import`), the gRPC `ImportTicket` and the wallet
 * JSON-RPC (`importprivkey` + `addtransaction`).
 *
 * Invariant: a ticket is stored only when
 *   1. the WIF is a secp256k1 ECDSA key of the cluster's network,
 *   2. the transaction decodes, is a ticket purchase, and hashes to the given hash,
 *   3. hash160(compressed pubkey of the key) equals the ticket's voting hash160
 *      (so the key can sign its vote; a P2SH voting output cannot be voted by one key),
 *   4. with a chain lookup available: the chain knows the ticket and it is live
 *      or still immature (not voted, revoked, expired or missed).
 * The store write is create-if-absent, so importing twice changes nothing.
 * The WIF and key never reach a log line or an error message.
 */
import { z } from 'zod';
import {
  DecredError,
  WrongNetworkError,
  NETWORK_NAMES,
  decodeTx,
  decodeWif,
  encodeAddress,
  hash160,
  hashToHex,
  netParams,
  classifyScript,
  privKeyToPubKey,
  toHex,
  txHash,
  equalBytes,
  type NetParams,
  type Tx,
} from '../decred/index.ts';
import { SecretKey, type Logger } from '../telemetry/index.ts';
import {
  AdminBadKeyError,
  AdminBadRequestError,
  AdminError,
  AdminKeyMismatchError,
  AdminNoChainError,
  AdminNotATicketError,
  AdminStoreError,
  AdminTicketBytesMismatchError,
  AdminTicketHashMismatchError,
  AdminTicketNotFoundError,
  AdminTicketNotLiveError,
  AdminWrongNetworkError,
} from './errors.ts';
import { parseTicketHash } from './policies.ts';
import type { ChainLookup, TicketImport, TicketStore, TxLocation } from './ports.ts';

/** What intake needs. */
export interface IntakeDeps {
  store: TicketStore;
  /** Chain lookups through a proxy; without it only offline checks run. */
  chain?: ChainLookup;
  params: NetParams;
  log: Logger;
  /** Refuse imports when no chain lookup is possible. */
  requireChainChecks?: boolean;
}

/** One ticket to import. */
export interface ImportRequest {
  /** Display hex; optional when `rawTicket` is given (derived from it). */
  ticketHash?: string;
  /** The voting key as WIF (secret). */
  wif: string;
  /** The serialized ticket; fetched through the proxy when absent. */
  rawTicket?: Uint8Array;
  /** Block holding the ticket (display hex), when the caller knows it. */
  blockHash?: string;
  blockHeight?: number;
}

/** Outcome of one import. */
export interface ImportResult {
  ticketHash: string;
  /** False when the ticket was already managed: nothing changed. */
  created: boolean;
  votingAddress: string;
  price: bigint;
  /**
   * `live`, `immature`, `unverified` (known to the chain, not live, mining
   * height unknown) or `unchecked` (no chain lookup configured).
   */
  chainStatus: 'live' | 'immature' | 'unverified' | 'unchecked';
}

/** Decodes a WIF for `params`, naming both networks when it belongs to another one. */
export function decodeVotingWif(wif: string, params: NetParams): SecretKey {
  const trimmed = wif.trim();
  try {
    const decoded = decodeWif(trimmed, params);
    const key = new SecretKey(decoded.privKey);
    decoded.privKey.fill(0);
    if (decoded.sigType !== 0) {
      key.wipe();
      // Votes are signed with secp256k1 ECDSA (decred/dcrwallet: wallet/createtx.go); dcrd would
      // accept other WIF types, a voting signer must not.
      throw new AdminBadKeyError(`the WIF has signature type ${decoded.sigType}; a voting key must be secp256k1 ECDSA (type 0)`);
    }
    return key;
  } catch (err) {
    if (err instanceof WrongNetworkError) {
      const other = NETWORK_NAMES.find((n) => n !== params.name && wifDecodesFor(trimmed, n));
      throw new AdminWrongNetworkError(
        `the WIF is a ${other ?? 'foreign-network'} key but the cluster votes on ${params.name}`,
      );
    }
    if (err instanceof DecredError) {
      // err.message comes from the decoder and describes the shape, never the key bytes.
      throw new AdminBadKeyError(`the WIF does not decode as a ${params.name} secp256k1 key: ${err.message} [${err.code}]`);
    }
    throw err;
  }
}

function wifDecodesFor(wif: string, network: string): boolean {
  try {
    decodeWif(wif, netParams(network)).privKey.fill(0);
    return true;
  } catch (err) {
    if (err instanceof DecredError) return false;
    throw err;
  }
}

/** A decoded, checked ticket (no key involved). */
export interface CheckedTicket {
  ticketHash: string;
  raw: Uint8Array;
  price: bigint;
  votingHash160: Uint8Array;
  votingIsP2SH: boolean;
  votingAddress: string;
}

/**
 * Decodes `raw` as a ticket purchase and checks it hashes to `expectedHash` (when given).
 * @throws AdminNotATicketError, AdminTicketHashMismatchError
 */
export function checkTicketBytes(raw: Uint8Array, params: NetParams, expectedHash?: string): CheckedTicket {
  let tx;
  try {
    tx = decodeTx(raw);
  } catch (err) {
    if (err instanceof DecredError) {
      throw new AdminNotATicketError(`the ticket transaction does not decode: ${err.message} [${err.code}]`, { cause: err });
    }
    throw err;
  }
  const ticketHash = hashToHex(txHash(tx));
  if (expectedHash !== undefined && ticketHash !== expectedHash) {
    throw new AdminTicketHashMismatchError(
      `the ticket transaction hashes to ${ticketHash}, not to the given ticket hash ${expectedHash}`,
    );
  }
  const info = ticketVotingOutput(tx);
  if (typeof info === 'string') {
    throw new AdminNotATicketError(`transaction ${ticketHash} is not a ticket purchase: ${info}`);
  }
  const votingAddress = encodeAddress(info.isP2SH ? 'p2sh' : 'p2pkh', info.hash160, params);
  return { ticketHash, raw, price: info.price, votingHash160: info.hash160, votingIsP2SH: info.isP2SH, votingAddress };
}

/**
 * The voting output of a ticket purchase (decred/dcrd:
 * blockchain/stake/staketx.go CheckSStx): 1..64 inputs, 2n+1 outputs, out[0] an
 * OP_SSTX-tagged P2PKH/P2SH whose value is the price, odd outputs null-data
 * commitments, even outputs OP_SSTXCHANGE-tagged. Returns the reason on failure.
 */
function ticketVotingOutput(tx: Tx): { price: bigint; hash160: Uint8Array; isP2SH: boolean } | string {
  const nIn = tx.inputs.length;
  if (nIn < 1 || nIn > 64) return `${nIn} inputs (a ticket has 1 to 64)`;
  if (tx.outputs.length !== 2 * nIn + 1) return `${tx.outputs.length} outputs for ${nIn} inputs (a ticket has 2n+1)`;
  const out0 = tx.outputs[0] as Tx['outputs'][number];
  const c = classifyScript(out0.pkScript);
  if (c.stakeTag !== 'sstx' || c.hash160 === undefined || out0.version !== 0) {
    return 'output 0 is not an OP_SSTX-tagged P2PKH or P2SH voting output';
  }
  for (let i = 1; i < tx.outputs.length; i++) {
    const o = tx.outputs[i] as Tx['outputs'][number];
    const k = classifyScript(o.pkScript);
    if (i % 2 === 1 && k.kind !== 'nulldata') return `output ${i} is not a commitment (null data)`;
    if (i % 2 === 0 && k.stakeTag !== 'sstxchange') return `output ${i} is not an OP_SSTXCHANGE change output`;
  }
  return { price: out0.value, hash160: c.hash160, isP2SH: c.kind === 'p2sh' };
}

/**
 * Checks that `key` controls the ticket's voting output.
 * @throws AdminKeyMismatchError naming the ticket's voting address and the key's address.
 */
export function checkKeyControlsTicket(ticket: CheckedTicket, key: SecretKey, params: NetParams): void {
  const keyHash = hash160(privKeyToPubKey(key.expose()));
  const keyAddress = encodeAddress('p2pkh', keyHash, params);
  if (ticket.votingIsP2SH) {
    throw new AdminKeyMismatchError(
      `ticket ${ticket.ticketHash} votes with script address ${ticket.votingAddress}, which one key (address ${keyAddress}) cannot sign for`,
    );
  }
  if (!equalBytes(keyHash, ticket.votingHash160)) {
    throw new AdminKeyMismatchError(
      `the key does not control ticket ${ticket.ticketHash}: the ticket votes with ${ticket.votingAddress}, the key is ${keyAddress}`,
    );
  }
}

async function fetchTicket(deps: IntakeDeps, ticketHash: string, blockHash: string | undefined): Promise<TxLocation> {
  if (!deps.chain) {
    throw new AdminNoChainError(`ticket ${ticketHash}: no raw ticket given and no node proxy configured to fetch it (pass --ticket-hex or --proxy)`);
  }
  const loc = await deps.chain.getRawTransaction(ticketHash, blockHash !== undefined ? { blockHash } : undefined);
  if (!loc) throw new AdminTicketNotFoundError(`ticket ${ticketHash} is unknown to the chain`);
  return loc;
}

/**
 * Asks the chain whether the ticket can still vote: live, or mined and still
 * immature. The proxy's lookups do not say where a transaction was mined, so
 * the mining height comes from the caller (export file) or the stored record;
 * when it is unknown and the ticket is not live (vspd hands over immature
 * tickets with only their block hash), the import is accepted as `unverified`
 * and logged: a ticket that is in fact spent is simply never drawn, while
 * refusing an immature ticket would lose its votes.
 * @throws AdminTicketNotFoundError, AdminTicketNotLiveError
 */
async function checkOnChain(
  deps: IntakeDeps,
  chain: ChainLookup,
  ticketHash: string,
  known: { blockHeight?: number; blockHash?: string; loc?: TxLocation },
): Promise<ImportResult['chainStatus']> {
  const [live] = await chain.existsLiveTickets([ticketHash]);
  if (live === true) return 'live';
  const loc = known.loc ?? (await chain.getRawTransaction(ticketHash, known.blockHash !== undefined ? { blockHash: known.blockHash } : undefined));
  if (!loc) throw new AdminTicketNotFoundError(`ticket ${ticketHash} is unknown to the chain`);
  const height = loc.blockHeight ?? known.blockHeight;
  if (height === undefined) {
    deps.log.warn({ ticket: ticketHash }, 'ticket is not live and its mining height is unknown; accepted as possibly immature');
    return 'unverified';
  }
  const tip = await chain.getBestBlock();
  // A ticket mined at T joins the live pool when block T + TicketMaturity connects
  // (decred/dcrd: blockchain/stake/tickets.go connectNode), so it is immature while tip < T + maturity.
  if (tip.height < height + deps.params.ticketMaturity) return 'immature';
  throw new AdminTicketNotLiveError(
    `ticket ${ticketHash} (mined at height ${height}) is not live at height ${tip.height}: it was already voted, revoked, expired or missed`,
  );
}

/**
 * Imports one ticket with its voting key (WIF) after every check in the module
 * comment. Idempotent: a second import of the same ticket returns `created: false`.
 * @throws AdminError subclasses with codes ADMIN_*; nothing is stored on error.
 */
export async function importTicket(deps: IntakeDeps, req: ImportRequest): Promise<ImportResult> {
  const givenHash = req.ticketHash !== undefined && req.ticketHash !== '' ? parseTicketHash(req.ticketHash) : undefined;
  if (givenHash === undefined && req.rawTicket === undefined) {
    throw new AdminBadRequestError('a ticket hash or the raw ticket is required');
  }
  const key = decodeVotingWif(req.wif, deps.params);
  try {
    const { wif: _wif, ...rest } = req;
    return await importTicketWithKey(deps, key, rest);
  } finally {
    key.wipe();
  }
}

/**
 * {@link importTicket} with an already decoded key (the wallet JSON-RPC parks
 * keys from `importprivkey`). The caller keeps ownership of `key`.
 */
export async function importTicketWithKey(deps: IntakeDeps, key: SecretKey, req: Omit<ImportRequest, 'wif'>): Promise<ImportResult> {
  const p = await prepareImport(deps, key, req);
  const { created } = await deps.store.importTicket(p.write);
  deps.log.info({ ticket: p.ticketHash, created, chainStatus: p.chainStatus }, created ? 'ticket imported' : 'ticket already managed');
  return { ticketHash: p.ticketHash, created, votingAddress: p.write.votingAddress, price: p.write.price, chainStatus: p.chainStatus };
}

/** A ticket that passed every check and is ready to be written (the key is the caller's). */
interface PreparedImport {
  ticketHash: string;
  write: TicketImport;
  chainStatus: ImportResult['chainStatus'];
}

/** Every check of {@link importTicketWithKey}, without the store write. */
async function prepareImport(deps: IntakeDeps, key: SecretKey, req: Omit<ImportRequest, 'wif'>): Promise<PreparedImport> {
  const givenHash = req.ticketHash !== undefined && req.ticketHash !== '' ? parseTicketHash(req.ticketHash) : undefined;
  if (givenHash === undefined && req.rawTicket === undefined) {
    throw new AdminBadRequestError('a ticket hash or the raw ticket is required');
  }
  let loc: TxLocation | undefined;
  let raw = req.rawTicket;
  if (raw === undefined) {
    loc = await fetchTicket(deps, givenHash as string, req.blockHash);
    raw = loc.raw;
  }
  const ticket = checkTicketBytes(raw, deps.params, givenHash);
  checkKeyControlsTicket(ticket, key, deps.params);
  if (deps.chain && loc === undefined) {
    // The tx hash covers only the prefix: compare the full bytes with the chain's copy so
    // altered witness data (or a different ticket with a colliding prefix) is never stored.
    loc = await deps.chain.getRawTransaction(ticket.ticketHash, req.blockHash !== undefined ? { blockHash: req.blockHash } : undefined);
    if (!loc) throw new AdminTicketNotFoundError(`ticket ${ticket.ticketHash} is unknown to the chain`);
    if (!equalBytes(loc.raw, raw)) {
      throw new AdminTicketBytesMismatchError(
        `the given bytes of ticket ${ticket.ticketHash} differ from the chain's copy (same hash, different witness data)`,
      );
    }
  }

  let chainStatus: ImportResult['chainStatus'] = 'unchecked';
  if (deps.chain) {
    chainStatus = await checkOnChain(deps, deps.chain, ticket.ticketHash, {
      ...(req.blockHeight !== undefined ? { blockHeight: req.blockHeight } : {}),
      ...(req.blockHash !== undefined ? { blockHash: req.blockHash } : {}),
      ...(loc ? { loc } : {}),
    });
  } else if (deps.requireChainChecks) {
    throw new AdminNoChainError(`ticket ${ticket.ticketHash}: chain checks are required but no node proxy is configured`);
  }
  const blockHash = loc?.blockHash ?? req.blockHash;
  const blockHeight = loc?.blockHeight ?? req.blockHeight;
  return {
    ticketHash: ticket.ticketHash,
    chainStatus,
    write: {
      ticketHash: ticket.ticketHash,
      rawTicket: ticket.raw,
      votingAddress: ticket.votingAddress,
      price: ticket.price,
      ...(blockHash !== undefined ? { blockHash } : {}),
      ...(blockHeight !== undefined ? { blockHeight } : {}),
      privKey: key,
    },
  };
}

/** One entry of a devnet export file (the devnet's exportTickets()). */
export const ExportEntrySchema = z.object({
  ticketHash: z.string(),
  ticketHex: z.string(),
  blockHash: z.string().optional(),
  blockHeight: z.number().int().nonnegative().optional(),
  wif: z.string(),
  network: z.string().optional(),
  votingAddress: z.string().optional(),
});
/** A devnet export file: a JSON list of tickets with their voting WIFs. */
export const ExportFileSchema = z.array(ExportEntrySchema);
export type ExportEntry = z.infer<typeof ExportEntrySchema>;

/** Outcome of one entry of a batch import. */
export type BatchImportOutcome =
  | ({ ok: true } & ImportResult)
  | { ok: false; ticketHash: string; code: string; message: string };

/**
 * Parses an export file's text.
 * @throws AdminBadRequestError listing every schema issue (paths, never values).
 */
export function parseExportFile(text: string): ExportEntry[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new AdminBadRequestError(`the export file is not JSON: ${(err as Error).message}`);
  }
  const r = ExportFileSchema.safeParse(json);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AdminBadRequestError(`the export file is not a list of tickets: ${issues}`);
  }
  return r.data;
}

/** Entries checked, then written in one batched store call (the store splits it into etcd txns). */
const EXPORT_BATCH = 1_000;
/** Entries checked at once when a chain lookup is configured (each check is a few proxy round trips). */
const CHECK_CONCURRENCY = 16;

/** Every check of one export entry (network, hex, WIF, ticket bytes, key, chain); the key is returned for the write. */
async function prepareEntry(deps: IntakeDeps, e: ExportEntry): Promise<PreparedImport> {
  if (e.network !== undefined && e.network !== deps.params.name) {
    throw new AdminWrongNetworkError(`ticket ${e.ticketHash} is exported from ${e.network} but the cluster votes on ${deps.params.name}`);
  }
  let raw: Uint8Array;
  try {
    raw = fromHexStrict(e.ticketHex);
  } catch {
    throw new AdminNotATicketError(`ticket ${e.ticketHash}: ticketHex is not hex`);
  }
  const givenHash = e.ticketHash !== '' ? parseTicketHash(e.ticketHash) : undefined;
  const key = decodeVotingWif(e.wif, deps.params);
  try {
    return await prepareImport(deps, key, {
      ...(givenHash !== undefined ? { ticketHash: givenHash } : {}),
      rawTicket: raw,
      ...(e.blockHash !== undefined ? { blockHash: e.blockHash } : {}),
      ...(e.blockHeight !== undefined ? { blockHeight: e.blockHeight } : {}),
    });
  } catch (err) {
    key.wipe();
    throw err;
  }
}

function refused(deps: IntakeDeps, ticketHash: string, err: unknown): BatchImportOutcome {
  if (!(err instanceof AdminError)) throw err;
  deps.log.warn({ ticket: ticketHash, err }, 'ticket import refused');
  return { ok: false, ticketHash, code: err.code, message: err.message };
}

/**
 * Imports every entry of an export file. Each entry gets every check of
 * {@link importTicket}; the entries that pass are written in batches
 * (`TicketStore.importTickets`: create-if-absent, many tickets per etcd txn),
 * or one at a time with a store that has no batch write. A refused entry is
 * reported and does not stop or affect the others; one outcome per entry, in
 * order. Idempotent like {@link importTicket}.
 */
export async function importExportEntries(deps: IntakeDeps, entries: readonly ExportEntry[]): Promise<BatchImportOutcome[]> {
  const out: BatchImportOutcome[] = new Array<BatchImportOutcome>(entries.length);
  for (let from = 0; from < entries.length; from += EXPORT_BATCH) {
    const idx = Array.from({ length: Math.min(EXPORT_BATCH, entries.length - from) }, (_, j) => from + j);
    const prepared: Array<{ i: number; p: PreparedImport }> = [];
    let next = 0;
    const checker = async (): Promise<void> => {
      while (next < idx.length) {
        const i = idx[next++] as number;
        const e = entries[i] as ExportEntry;
        try {
          prepared.push({ i, p: await prepareEntry(deps, e) });
        } catch (err) {
          out[i] = refused(deps, e.ticketHash, err);
        }
      }
    };
    try {
      // allSettled: an unexpected error in one checker still lets the others finish, so every
      // prepared key is wiped below.
      const settled = await Promise.allSettled(Array.from({ length: deps.chain ? CHECK_CONCURRENCY : 1 }, checker));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      prepared.sort((a, b) => a.i - b.i);
      await writePrepared(deps, prepared, out);
    } finally {
      for (const { p } of prepared) p.write.privKey.wipe();
    }
  }
  return out;
}

/** Writes checked entries (batched when the store can) and fills their outcomes. */
async function writePrepared(deps: IntakeDeps, prepared: ReadonlyArray<{ i: number; p: PreparedImport }>, out: BatchImportOutcome[]): Promise<void> {
  const ok = (i: number, p: PreparedImport, created: boolean): void => {
    deps.log.debug({ ticket: p.ticketHash, created, chainStatus: p.chainStatus }, created ? 'ticket imported' : 'ticket already managed');
    out[i] = { ok: true, ticketHash: p.ticketHash, created, votingAddress: p.write.votingAddress, price: p.write.price, chainStatus: p.chainStatus };
  };
  if (prepared.length === 0) return;
  if (!deps.store.importTickets) {
    for (const { i, p } of prepared) {
      try {
        ok(i, p, (await deps.store.importTicket(p.write)).created);
      } catch (err) {
        out[i] = refused(deps, p.ticketHash, err);
      }
    }
  } else {
    let results: Awaited<ReturnType<NonNullable<TicketStore['importTickets']>>>;
    try {
      results = await deps.store.importTickets(prepared.map(({ p }) => p.write));
    } catch (err) {
      // The whole batch failed (etcd unreachable): every entry of it is refused with that error.
      for (const { i, p } of prepared) out[i] = refused(deps, p.ticketHash, err);
      return;
    }
    prepared.forEach(({ i, p }, j) => {
      const r = results[j];
      if (r && 'created' in r) ok(i, p, r.created);
      else out[i] = refused(deps, p.ticketHash, r?.error ?? new AdminStoreError(`ticket ${p.ticketHash}: no result from the store`));
    });
  }
  const created = prepared.filter(({ i }) => { const o = out[i]; return o?.ok === true && o.created; }).length;
  deps.log.info({ checked: prepared.length, created }, 'export entries imported');
}

function fromHexStrict(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new AdminBadRequestError('not hex');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** Hex of a ticket's raw bytes (for listings). */
export function rawTicketHex(raw: Uint8Array): string {
  return toHex(raw);
}
