/**
 * Public surface of the Decred protocol library: pure code, no I/O, no clock,
 * no logger. Other services import ONLY from this file. See README.md.
 *
 * Part 1: bytes, hashes, params, errors, tx/block codecs, merkle, scripts,
 * addresses, WIF, sighash, signatures and input signing.
 */

// ---- errors.ts
/** Base class of every error this library throws; branch on `instanceof` or on `code` (`DECRED_*`). */
export { DecredError } from './errors.ts';
/** Bytes that do not decode: truncated, oversized, non-canonical or trailing garbage (code `DECRED_DECODE`); the message names the field. */
export { DecodeError } from './errors.ts';
/** A string that is not even-length hex of the expected size (code `DECRED_HEX`). */
export { HexError } from './errors.ts';
/** An address or WIF of another network; the message names the expected and the actual network (code `DECRED_WRONG_NETWORK`). */
export { WrongNetworkError } from './errors.ts';
/** A base58check string with a bad checksum, length, type or key (code `DECRED_ENCODING`). */
export { EncodingError } from './errors.ts';
/** A script that does not have the expected form, or a push that runs past its end (code `DECRED_SCRIPT`). */
export { ScriptError } from './errors.ts';
/** The signature hash cannot be computed, e.g. SigHashSingle with idx >= outputs (code `DECRED_SIGHASH`). */
export { SighashError } from './errors.ts';
/** A signature that breaks strict DER / low-S encoding (code `DECRED_SIGNATURE`). */
export { SignatureError } from './errors.ts';
/** A transaction that breaks a consensus rule for its type; `reason` is a stable short code (code `DECRED_RULE`). */
export { RuleError } from './errors.ts';
/** A private key that does not control the output being spent (code `DECRED_KEY_MISMATCH`). */
export { KeyMismatchError } from './errors.ts';
/** A caller passed an argument outside the accepted range (code `DECRED_INVALID_ARGUMENT`). */
export { InvalidArgumentError } from './errors.ts';

// ---- bytes.ts
/** Hex to bytes; throws {@link HexError} naming the field on odd length or bad digits. */
export { fromHex } from './bytes.ts';
/** Bytes to lower-case hex. */
export { toHex } from './bytes.ts';
/** A 32-byte hash from display (RPC, byte-reversed) hex, returned in internal order; throws {@link HexError}. */
export { hashFromHex } from './bytes.ts';
/** Display (RPC, byte-reversed) hex of a 32-byte internal-order hash. */
export { hashToHex } from './bytes.ts';
/** Concatenates byte arrays into a new array. */
export { concatBytes } from './bytes.ts';
/** Constant-shape byte equality (length and content). */
export { equalBytes } from './bytes.ts';
/** Lexicographic comparison like Go `bytes.Compare` (negative, zero, positive). */
export { compareBytes } from './bytes.ts';
/** Encoded size in bytes of a canonical varint. */
export { varIntSize } from './bytes.ts';
/** Bounds-checked little-endian reader; every read throws {@link DecodeError} naming the field. */
export { ByteReader } from './bytes.ts';
/** Growable little-endian writer with canonical varints. */
export { ByteWriter } from './bytes.ts';

// ---- hash.ts
/** Single BLAKE-256 (14 rounds): tx ids, block hashes, merkle nodes, sighash, lottery. */
export { blake256 } from './hash.ts';
/** BLAKE256(BLAKE256(x)): only the address base58check checksum uses it. */
export { doubleBlake256 } from './hash.ts';
/** RIPEMD160(BLAKE256(x)): the hash in P2PKH, P2SH and ticket commitments. */
export { hash160 } from './hash.ts';

// ---- params.ts
/** Mainnet chain parameters (chaincfg/mainnetparams.go). */
export { MAINNET } from './params.ts';
/** Testnet3 chain parameters (chaincfg/testnetparams.go). */
export { TESTNET3 } from './params.ts';
/** Simnet chain parameters (chaincfg/simnetparams.go). */
export { SIMNET } from './params.ts';
/** Regnet chain parameters (chaincfg/regnetparams.go). */
export { REGNET } from './params.ts';
/** The four supported network names. */
export { NETWORK_NAMES } from './params.ts';
/** Parameters by name (`testnet` aliases `testnet3`); throws {@link InvalidArgumentError} for unknown names. */
export { netParams } from './params.ts';
/** Parameters by CurrencyNet magic as `getcurrentnet` reports it, or undefined. */
export { netParamsByMagic } from './params.ts';
/** Chain parameters of one network: staking, subsidy, ports, magic, address and key prefixes. */
export type { NetParams } from './params.ts';
/** `mainnet` | `testnet3` | `simnet` | `regnet`. */
export type { NetworkName } from './params.ts';

// ---- wire/tx.ts
/** Serialization type 0: prefix and witness (wire/RPC form). */
export { TX_SER_FULL } from './wire/tx.ts';
/** Serialization type 1: prefix only (the txid preimage). */
export { TX_SER_NO_WITNESS } from './wire/tx.ts';
/** Serialization type 2: witness only. */
export { TX_SER_ONLY_WITNESS } from './wire/tx.ts';
/** Outpoint tree 0: regular transaction tree. */
export { TX_TREE_REGULAR } from './wire/tx.ts';
/** Outpoint tree 1: stake transaction tree. */
export { TX_TREE_STAKE } from './wire/tx.ts';
/** Transaction version 1. */
export { TX_VERSION } from './wire/tx.ts';
/** Transaction version 2 (sequence locks; automatic revocations). */
export { TX_VERSION_SEQ_LOCK } from './wire/tx.ts';
/** Transaction version 3 (treasury; votes carrying treasury votes). */
export { TX_VERSION_TREASURY } from './wire/tx.ts';
/** The default input sequence 0xffffffff. */
export { MAX_TX_IN_SEQUENCE } from './wire/tx.ts';
/** Default witness blockHeight (0). */
export { NULL_BLOCK_HEIGHT } from './wire/tx.ts';
/** Default witness blockIndex (0xffffffff). */
export { NULL_BLOCK_INDEX } from './wire/tx.ts';
/** Previous-output index of coinbase / stakebase inputs (0xffffffff). */
export { NULL_PREV_INDEX } from './wire/tx.ts';
/** Largest transaction the decoder accepts, in bytes. */
export { MAX_TX_SIZE } from './wire/tx.ts';
/** Largest script the decoder accepts, in bytes. */
export { MAX_SCRIPT_SIZE } from './wire/tx.ts';
/** A new input with wire.NewTxIn defaults (sequence max, null block height/index). */
export { newTxIn } from './wire/tx.ts';
/** Serialises a transaction (serType 0 full, 1 prefix, 2 witness). */
export { encodeTx } from './wire/tx.ts';
/** Reads one full-serialised transaction from a {@link ByteReader} (used by block decoding). */
export { readTx } from './wire/tx.ts';
/** Decodes a full-serialised transaction; throws {@link DecodeError} on truncation, bad counts or trailing bytes. */
export { decodeTx } from './wire/tx.ts';
/** Decodes a transaction from RPC hex; throws {@link HexError} or {@link DecodeError}. */
export { decodeTxHex } from './wire/tx.ts';
/** TxHash (txid) in internal order: BLAKE256 of the prefix serialisation. */
export { txHash } from './wire/tx.ts';
/** TxHashWitness: BLAKE256 of the witness-only serialisation. */
export { txHashWitness } from './wire/tx.ts';
/** TxHashFull = BLAKE256(TxHash ‖ TxHashWitness): the merkle leaf. */
export { txHashFull } from './wire/tx.ts';
/** A deep copy of a transaction. */
export { cloneTx } from './wire/tx.ts';
/** A decoded transaction (version, inputs, outputs, lockTime, expiry). */
export type { Tx } from './wire/tx.ts';
/** A transaction input: outpoint, sequence and witness fields. */
export type { TxIn } from './wire/tx.ts';
/** A transaction output: value, script version, pkScript. */
export type { TxOut } from './wire/tx.ts';
/** A previous output reference (hash in internal order, index, tree). */
export type { OutPoint } from './wire/tx.ts';

// ---- wire/block-header.ts
/** A serialised block header is exactly 180 bytes. */
export { BLOCK_HEADER_SIZE } from './wire/block-header.ts';
/** Serialises a header to its 180 bytes; throws {@link InvalidArgumentError} for wrong-length byte fields. */
export { encodeBlockHeader } from './wire/block-header.ts';
/** Decodes exactly 180 bytes into a header; any other length is a {@link DecodeError}. */
export { decodeBlockHeader } from './wire/block-header.ts';
/** Reads a 180-byte header from a {@link ByteReader}. */
export { readBlockHeader } from './wire/block-header.ts';
/** Block hash (id) in internal order: BLAKE256 of the 180 header bytes. Accepts a header or its bytes.
 *
 * @example hashToHex(blockHash(decodeBlockHeader(fromHex(headerHex)))) */
export { blockHash } from './wire/block-header.ts';
/** The 18 fields of a Decred block header (wire/blockheader.go). */
export type { BlockHeader } from './wire/block-header.ts';

// ---- wire/block.ts
/** Largest block the decoder accepts (wire.MaxBlockPayload). */
export { MAX_BLOCK_PAYLOAD } from './wire/block.ts';
/** Serialises a block: header, regular txs, stake txs. */
export { encodeBlock } from './wire/block.ts';
/** Decodes a block; throws {@link DecodeError} naming the failing tx and field. */
export { decodeBlock } from './wire/block.ts';
/** A block: header, regular transactions and stake transactions. */
export type { Block } from './wire/block.ts';

// ---- merkle.ts
/** Merkle root of raw 32-byte leaves (odd levels duplicate the last node; empty = 32 zero bytes). */
export { calcMerkleRoot } from './merkle.ts';
/** Merkle root of a tx tree using TxHashFull leaves. */
export { calcTxTreeMerkleRoot } from './merkle.ts';
/** DCP0005 header MerkleRoot: BLAKE256(regular root ‖ stake root). */
export { calcCombinedTxTreeMerkleRoot } from './merkle.ts';

// ---- script.ts
/** Opcode OP_0 / OP_FALSE (0x00). */
export { OP_0 } from './script.ts';
/** Opcode OP_FALSE (0x00). */
export { OP_FALSE } from './script.ts';
/** Opcode pushing 1 byte (0x01). */
export { OP_DATA_1 } from './script.ts';
/** Opcode pushing 20 bytes (0x14). */
export { OP_DATA_20 } from './script.ts';
/** Opcode pushing 32 bytes (0x20). */
export { OP_DATA_32 } from './script.ts';
/** Opcode pushing 33 bytes (0x21). */
export { OP_DATA_33 } from './script.ts';
/** Opcode pushing 65 bytes (0x41). */
export { OP_DATA_65 } from './script.ts';
/** Opcode pushing 75 bytes (0x4b). */
export { OP_DATA_75 } from './script.ts';
/** Opcode OP_PUSHDATA1 (0x4c). */
export { OP_PUSHDATA1 } from './script.ts';
/** Opcode OP_PUSHDATA2 (0x4d). */
export { OP_PUSHDATA2 } from './script.ts';
/** Opcode OP_PUSHDATA4 (0x4e). */
export { OP_PUSHDATA4 } from './script.ts';
/** Opcode OP_1NEGATE (0x4f). */
export { OP_1NEGATE } from './script.ts';
/** Opcode OP_1 (0x51). */
export { OP_1 } from './script.ts';
/** Opcode OP_2 (0x52). */
export { OP_2 } from './script.ts';
/** Opcode OP_3 (0x53). */
export { OP_3 } from './script.ts';
/** Opcode OP_4 (0x54). */
export { OP_4 } from './script.ts';
/** Opcode OP_5 (0x55). */
export { OP_5 } from './script.ts';
/** Opcode OP_6 (0x56). */
export { OP_6 } from './script.ts';
/** Opcode OP_7 (0x57). */
export { OP_7 } from './script.ts';
/** Opcode OP_8 (0x58). */
export { OP_8 } from './script.ts';
/** Opcode OP_9 (0x59). */
export { OP_9 } from './script.ts';
/** Opcode OP_10 (0x5a). */
export { OP_10 } from './script.ts';
/** Opcode OP_11 (0x5b). */
export { OP_11 } from './script.ts';
/** Opcode OP_12 (0x5c). */
export { OP_12 } from './script.ts';
/** Opcode OP_13 (0x5d). */
export { OP_13 } from './script.ts';
/** Opcode OP_14 (0x5e). */
export { OP_14 } from './script.ts';
/** Opcode OP_15 (0x5f). */
export { OP_15 } from './script.ts';
/** Opcode OP_16 (0x60). */
export { OP_16 } from './script.ts';
/** Opcode OP_TRUE (0x51). */
export { OP_TRUE } from './script.ts';
/** Opcode OP_RETURN (0x6a). */
export { OP_RETURN } from './script.ts';
/** Opcode OP_DUP (0x76). */
export { OP_DUP } from './script.ts';
/** Opcode OP_EQUAL (0x87). */
export { OP_EQUAL } from './script.ts';
/** Opcode OP_EQUALVERIFY (0x88). */
export { OP_EQUALVERIFY } from './script.ts';
/** Opcode OP_HASH160 (0xa9). */
export { OP_HASH160 } from './script.ts';
/** Opcode OP_CHECKSIG (0xac). */
export { OP_CHECKSIG } from './script.ts';
/** Opcode OP_CHECKSIGVERIFY (0xad). */
export { OP_CHECKSIGVERIFY } from './script.ts';
/** Opcode OP_CHECKMULTISIG (0xae). */
export { OP_CHECKMULTISIG } from './script.ts';
/** Opcode OP_CHECKMULTISIGVERIFY (0xaf). */
export { OP_CHECKMULTISIGVERIFY } from './script.ts';
/** Stake opcode OP_SSTX (0xba): ticket voting output tag. */
export { OP_SSTX } from './script.ts';
/** Stake opcode OP_SSGEN (0xbb): vote payout tag. */
export { OP_SSGEN } from './script.ts';
/** Stake opcode OP_SSRTX (0xbc): revocation payout tag. */
export { OP_SSRTX } from './script.ts';
/** Stake opcode OP_SSTXCHANGE (0xbd): ticket change tag. */
export { OP_SSTXCHANGE } from './script.ts';
/** Opcode OP_CHECKSIGALT (0xbe): ed25519 / schnorr signature check. */
export { OP_CHECKSIGALT } from './script.ts';
/** Opcode OP_CHECKSIGALTVERIFY (0xbf). */
export { OP_CHECKSIGALTVERIFY } from './script.ts';
/** Treasury opcode OP_TADD (0xc1). */
export { OP_TADD } from './script.ts';
/** Treasury opcode OP_TSPEND (0xc2). */
export { OP_TSPEND } from './script.ts';
/** Treasury opcode OP_TGEN (0xc3): treasury spend payout tag. */
export { OP_TGEN } from './script.ts';
/** Largest data push in a standard null-data script (256). */
export { MAX_DATA_CARRIER_SIZE } from './script.ts';
/** The canonical (smallest) push of data, as ScriptBuilder.AddData writes it.
 *
 * @example pushData(new Uint8Array(33)) // 0x21 followed by the 33 bytes */
export { pushData } from './script.ts';
/** Splits a script into `{opcode, data?}` ops; throws {@link ScriptError} when a push runs past the end. */
export { parseScript } from './script.ts';
/** The bytes a push op leaves on the stack (small ints as their minimal encoding), or undefined for non-push ops. */
export { pushedData } from './script.ts';
/** True if the op only pushes data. */
export { isPushOp } from './script.ts';
/** True if the op is the smallest encoding of the data it pushes. */
export { isCanonicalPush } from './script.ts';
/** Opcode of a small integer 0..16; throws {@link InvalidArgumentError} otherwise. */
export { smallIntOpcode } from './script.ts';
/** Value 0..16 of OP_0 / OP_1..OP_16, or undefined. */
export { smallIntValue } from './script.ts';
/** The stake tag of a tag opcode (0xba..0xbd, 0xc3), or undefined. */
export { stakeTagOf } from './script.ts';
/** The opcode of a stake tag. */
export { stakeTagOpcode } from './script.ts';
/** `OP_DUP OP_HASH160 <h160> OP_EQUALVERIFY OP_CHECKSIG`; throws {@link InvalidArgumentError} unless h160 is 20 bytes. */
export { p2pkhScript } from './script.ts';
/** `OP_HASH160 <h160> OP_EQUAL`; throws {@link InvalidArgumentError} unless h160 is 20 bytes. */
export { p2shScript } from './script.ts';
/** Prefixes a plain P2PKH/P2SH script with a stake tag opcode (e.g. the ticket voting output `ba76a914…88ac`). */
export { stakeTaggedScript } from './script.ts';
/** `OP_RETURN <canonical push>` of at most 256 bytes. */
export { nullDataScript } from './script.ts';
/** `OP_m <pubkeys> OP_n OP_CHECKMULTISIG`; throws {@link InvalidArgumentError} unless 1 <= m <= n <= 16 and keys are 33/65 bytes. */
export { multisigScript } from './script.ts';
/** Parses a standard m-of-n multisig script; throws {@link ScriptError} if it is not one. */
export { parseMultisig } from './script.ts';
/** Classifies a pkScript as p2pkh / p2sh / multisig / nulldata / nonstandard, with its stake tag and hash160.
 *
 * @example classifyScript(ticket.outputs[0].pkScript) // { kind: "p2pkh", stakeTag: "sstx", hash160 } */
export { classifyScript } from './script.ts';
/** One parsed opcode; `data` is present for OP_DATA_n / OP_PUSHDATAn. */
export type { ScriptOp } from './script.ts';
/** Result of {@link classifyScript}. */
export type { ScriptClass } from './script.ts';
/** `sstx` | `ssgen` | `ssrtx` | `sstxchange` | `tgen`. */
export type { StakeTag } from './script.ts';

// ---- address.ts
/** Encodes an address of a kind for a network (payload: 20-byte hash, secp256k1 pubkey, or 32-byte ed25519 key). */
export { encodeAddress } from './address.ts';
/** Decodes an address for a network; throws {@link WrongNetworkError} (naming both networks) or {@link EncodingError}. */
export { decodeAddress } from './address.ts';
/** The pkScript that pays to a decoded address. */
export { addressPkScript } from './address.ts';
/** P2PKH (ecdsa) address of a compressed public key. */
export { p2pkhAddress } from './address.ts';
/** P2SH address of a redeem script. */
export { p2shAddress } from './address.ts';
/** The address a pkScript pays to (stake tags stripped), or undefined for null data, bare multisig and nonstandard scripts. */
export { addressFromPkScript } from './address.ts';
/** A decoded address: kind, network and payload. */
export type { Address } from './address.ts';
/** Address kinds: p2pkh, p2pkh-ed25519, p2pkh-schnorr, p2sh, p2pk, p2pk-ed25519, p2pk-schnorr. */
export type { AddressKind } from './address.ts';

// ---- wif.ts
/** WIF signature type 0: secp256k1 ECDSA (what votes use). */
export { SIG_TYPE_ECDSA_SECP256K1 } from './wif.ts';
/** WIF signature type 1: ed25519. */
export { SIG_TYPE_ED25519 } from './wif.ts';
/** WIF signature type 2: schnorr over secp256k1. */
export { SIG_TYPE_SCHNORR_SECP256K1 } from './wif.ts';
/** Encodes a private key as WIF (single-BLAKE256 checksum); throws {@link InvalidArgumentError} for an invalid key. */
export { encodeWif } from './wif.ts';
/** Decodes a WIF; throws {@link WrongNetworkError} naming both networks, or {@link EncodingError} for length, checksum, type or key.
 *
 * @example const { privKey, sigType } = decodeWif(wif, MAINNET) */
export { decodeWif } from './wif.ts';

// ---- sighash.ts
/** Hash type All (0x01). */
export { SIGHASH_ALL } from './sighash.ts';
/** Hash type None (0x02). */
export { SIGHASH_NONE } from './sighash.ts';
/** Hash type Single (0x03). */
export { SIGHASH_SINGLE } from './sighash.ts';
/** Hash type flag AnyOneCanPay (0x80). */
export { SIGHASH_ANYONECANPAY } from './sighash.ts';
/** Mask selecting the base hash type (0x1f). */
export { SIGHASH_MASK } from './sighash.ts';
/** True if the hash type is All/None/Single, optionally with AnyOneCanPay (CheckHashTypeEncoding). */
export { isStrictHashType } from './sighash.ts';
/** The 32-byte signature hash of an input (all hash types); throws {@link SighashError} for a bad index or Single without a matching output. Pass the txid as `cachedPrefixHash` to skip rehashing the prefix. */
export { calcSignatureHash } from './sighash.ts';

// ---- signature.ts
/** The secp256k1 group order. */
export { SECP256K1_N } from './signature.ts';
/** True for a 32-byte secp256k1 scalar in [1, N-1]. */
export { isValidPrivKey } from './signature.ts';
/** True for a 33-byte compressed or 65-byte uncompressed secp256k1 key on the curve (hybrid rejected). */
export { isValidPubKey } from './signature.ts';
/** The 33-byte compressed public key; throws {@link InvalidArgumentError} for an invalid key. */
export { privKeyToPubKey } from './signature.ts';
/** Signs a 32-byte hash as dcrd does: RFC 6979 HMAC-SHA256 nonce, low-S, strict DER. */
export { signHash } from './signature.ts';
/** Verifies a strict-DER low-S signature over a 32-byte hash; returns false (never throws) on malformed input. */
export { verifyHash } from './signature.ts';
/** Strict DER of (r, s). */
export { encodeDer } from './signature.ts';
/** Parses strict DER with low-S; throws {@link SignatureError} naming the violated rule. */
export { decodeDer } from './signature.ts';
/** An ECDSA signature as integers r and s. */
export type { EcdsaSignature } from './signature.ts';

// ---- sign.ts
/** Signs a P2PKH (plain or stake-tagged) input; returns the sigScript `<sig‖hashType> <pubkey>`. Throws {@link KeyMismatchError} if the key does not match.
 *
 * @example tx.inputs[1].sigScript = signP2PKHInput(tx, 1, ticketVotingPkScript, privKey) */
export { signP2PKHInput } from './sign.ts';
/** Signs a P2SH m-of-n input; returns `<sig>... <redeemScript>` (no dummy OP_0). */
export { signMultisigInput } from './sign.ts';
/** Verifies an input against the output it spends (P2PKH / P2SH multisig, plain or stake-tagged); returns `{valid, error}` and never throws for bad input. */
export { verifyInputScript } from './sign.ts';
/** Result of {@link verifyInputScript}; `error` starts with a stable reason code such as `SIG_INVALID`. */
export type { InputVerification } from './sign.ts';

// ======== Part 2: stake txs, tickets, subsidy, votes, lottery ========

// ---- subsidy.ts
/** `'original'` (6/3/1) | `'dcp0010'` (10/80/10) | `'dcp0012'` (1/89/10): the PoW/PoS split in force. */
export type { SubsidySplit } from './subsidy.ts';
/** Full block subsidy at a height (CalcBlockSubsidy): 0 for <= 0, the block-one ledger at 1, then reduced by Mul/Div per interval. */
export { blockSubsidy } from './subsidy.ts';
/** PoW subsidy of a block with `voters` votes; 0 after SVH with fewer than 3 votes, scaled by voters/5. */
export { workSubsidy } from './subsidy.ts';
/** Per-vote subsidy = a vote's stakebase valueIn, keyed by the height VOTED ON (0 before SVH-1).
 *
 * @example buildVote({ ..., voteSubsidy: voteSubsidy(blockHeight, params, 'dcp0012') }) */
export { voteSubsidy } from './subsidy.ts';
/** Treasury subsidy of a block (not scaled by voters once the treasury agenda is active). */
export { treasurySubsidy } from './subsidy.ts';

// ---- lottery.ts
/** Hash256PRNG of the ticket lottery: `next()`, `uniformRandom(n)`, `stateHash()`; seeded from bytes (or `fromIv`). */
export { Hash256Prng } from './lottery.ts';
/** `n` distinct indexes in [0, size) in draw order; throws {@link InvalidArgumentError} if size < n. */
export { findTicketIdxs } from './lottery.ts';
/** Sorts ticket hashes in place by raw bytes (the ticket treap's order). */
export { sortTicketHashes } from './lottery.ts';
/** Draws the winners of block N from its live set (any order, or `{ sorted: true }`) and 180-byte header; returns winners, indexes and the 6-byte FinalState for header N+1.
 *
 * @example const { winners, finalState } = selectWinners(live, encodeBlockHeader(header)) */
export { selectWinners } from './lottery.ts';
/** The lottery seed constant 243f6a8885a308d3. */
export { LOTTERY_SEED_CONST } from './lottery.ts';
/** Options of {@link selectWinners}. */
export type { SelectWinnersOptions } from './lottery.ts';
/** Result of {@link selectWinners}: `winners`, `idxs`, `finalState`. */
export type { LotteryResult } from './lottery.ts';

// ---- stake-pool.ts
/** The live ticket pool state machine (dcrd connectNode): `connectBlock(block)` removes voted/missed winners, expires, revokes, matures and draws; `winners`, `nextHeaderCommitment()`, `snapshot()`/`fromSnapshot()`. Throws {@link RuleError} `NOT_A_WINNER` / `NOT_MISSED` without changing state. */
export { LiveTicketPool } from './stake-pool.ts';
/** The {@link StakeBlock} of a block from its header bytes and stake txs (tickets by txid; votes and revocations by the ticket they spend).
 *
 * @example pool.connectBlock(stakeBlockFromTxs(height, encodeBlockHeader(header), block.stakeTransactions)) */
export { stakeBlockFromTxs } from './stake-pool.ts';
/** Parameters the pool needs (a NetParams satisfies it). */
export type { StakePoolParams } from './stake-pool.ts';
/** One block's stake input to {@link LiveTicketPool.connectBlock}: height, header bytes, mined tickets, voted and revoked ticket hashes. */
export type { StakeBlock } from './stake-pool.ts';
/** What connecting a block changed (voted, missed, expired, added, winners, finalState, poolSize). */
export type { ConnectResult } from './stake-pool.ts';
/** JSON snapshot of a {@link LiveTicketPool}. */
export type { LiveTicketPoolSnapshot } from './stake-pool.ts';

// ---- stake.ts
/** `vote` | `ticket` | `revocation` | `regular` | `coinbase` | `treasury-add` | `treasury-spend` | `treasurybase`. */
export type { TxType } from './stake.ts';
/** A treasury vote of a version-3 vote: tspend hash (internal order) and 1 (yes) / 2 (no). */
export type { TreasuryVote } from './stake.ts';
/** The tx type as dcrd's DetermineTxType decides it (treasury agenda active by default), plus `coinbase`. */
export { txType } from './stake.ts';
/** True if the tx passes CheckSSGenVotes. */
export { isVote } from './stake.ts';
/** True if the tx passes CheckSStx. */
export { isTicket } from './stake.ts';
/** True if the tx passes CheckSSRtx. */
export { isRevocation } from './stake.ts';
/** True for a one-input tx spending the null outpoint. */
export { isCoinbase } from './stake.ts';
/** True if input 0 is a stakebase (IsStakeBase). */
export { isStakeBase } from './stake.ts';
/** CheckSStx; throws {@link RuleError} `NOT_A_TICKET` whose message starts with dcrd's error kind. */
export { checkSStx } from './stake.ts';
/** CheckSSGenVotes; returns the treasury votes, throws {@link RuleError} `NOT_A_VOTE`. */
export { checkSSGen } from './stake.ts';
/** CheckSSRtx; throws {@link RuleError} `NOT_A_REVOCATION`. */
export { checkSSRtx } from './stake.ts';
/** CheckTAdd; throws {@link RuleError} `NOT_A_TREASURY_ADD`. */
export { checkTAdd } from './stake.ts';
/** CheckTSpend (structure only); throws {@link RuleError} `NOT_A_TREASURY_SPEND`. */
export { checkTSpend } from './stake.ts';
/** checkTreasuryBase; throws {@link RuleError} `NOT_A_TREASURYBASE`. */
export { checkTreasuryBase } from './stake.ts';
/** Parses a 'T','V' treasury-vote null-data script; throws {@link RuleError} `NOT_A_VOTE`. */
export { parseTreasuryVotes } from './stake.ts';

// ---- ticket.ts
/** A parsed ticket: price, voting script/hash160, commitments, change outputs. */
export type { TicketInfo } from './ticket.ts';
/** One reward commitment: hash160, isP2SH, amount, vote/revocation fee-limit exponents (null = no fee allowed). */
export type { TicketCommitment } from './ticket.ts';
/** Options of {@link ticketCommitmentScript}. */
export type { CommitmentOptions } from './ticket.ts';
/** Parameters of {@link buildTicket}. */
export type { BuildTicketParams } from './ticket.ts';
/** Parses a ticket; throws {@link RuleError} `NOT_A_TICKET` on any CheckSStx deviation. */
export { parseTicket } from './ticket.ts';
/** The 32-byte commitment script `6a1e <hash160> <amount|P2SH bit> <limits>` (fee limits as exponents; revocation default 24). */
export { ticketCommitmentScript } from './ticket.ts';
/** Fee-limit exponent for a limit in atoms: ceil(log2(atoms)). */
export { feeLimitExponent } from './ticket.ts';
/** Builds a one-input dcrwallet-shaped ticket (OP_SSTX P2PKH voting output, one P2PKH commitment, change); signs the funding input if `signWith` is given.
 *
 * @example const ticket = buildTicket({ input: { prevOut, valueIn }, price, votingHash160, rewardHash160 }) */
export { buildTicket } from './ticket.ts';
/** The OP_SSGEN payout script for a commitment. */
export { votePayoutScript } from './ticket.ts';

// ---- vote.ts
/** Parameters of {@link buildVote}. */
export type { BuildVoteParams } from './vote.ts';
/** A parsed vote: ticketHash, blockHash (internal order), blockHeight, voteBits, voteVersion, stakebase, treasuryVotes, payouts. */
export type { VoteInfo } from './vote.ts';
/** A private key with its pubkey and hash160 precomputed (from {@link prepareVoteKey}). */
export type { VoteKey } from './vote.ts';
/** Context of {@link checkVote}: ticket, params, split, optional winners and expected block. */
export type { CheckVoteContext } from './vote.ts';
/** The exact unsigned vote dcrwallet builds (version 3 only with treasury votes); throws {@link RuleError} `NOT_A_TICKET` for a bad ticket.
 *
 * @example const unsigned = buildVote({ ticket, blockHash, blockHeight, voteBits: 1, voteVersion: params.voteVersion, voteSubsidy: voteSubsidy(blockHeight, params, 'dcp0012'), params }) */
export { buildVote } from './vote.ts';
/** Vote payouts floor(commit_i × (price + subsidy) / Σ commit), BigInt. */
export { calcVotePayouts } from './vote.ts';
/** Signs input 1 (SigHashAll over ticket.out[0]); returns a new tx. Throws {@link KeyMismatchError} naming both hash160s (and addresses with `opts.params`).
 *
 * @example const signed = signVote(unsigned, ticket, prepareVoteKey(privKey)) */
export { signVote } from './vote.ts';
/** Derives a key's pubkey and hash160 once, for fast repeated {@link signVote}. */
export { prepareVoteKey } from './vote.ts';
/** Parses a vote; throws {@link RuleError} `NOT_A_VOTE` if it fails CheckSSGenVotes. */
export { parseVote } from './vote.ts';
/** Checks every consensus rule of one vote; throws {@link RuleError} with `reason` NOT_A_VOTE, BAD_TICKET, WRONG_TICKET, BAD_STAKEBASE_SCRIPT, BAD_VALUE_IN, EARLY_VOTE, WRONG_BLOCK, BAD_SUBSIDY, BAD_PAYOUT_COUNT, BAD_PAYEE, BAD_PAYOUT, NOT_A_WINNER or BAD_SIGNATURE; returns the parsed vote. */
export { checkVote } from './vote.ts';
/** `6a24 <block hash> <u32 height>`: a vote's block reference output script. */
export { voteBlockRefScript } from './vote.ts';
/** `6a06 <u16 voteBits> <u32 voteVersion>`: a vote's vote-bits output script. */
export { voteBitsScript } from './vote.ts';
/** `OP_RETURN <'T' 'V' {hash vote}*>`: a vote's treasury-vote output script. */
export { treasuryVoteScript } from './vote.ts';

// ---- treasury.ts
/** A parsed treasury spend: hash, Pi key, Schnorr signature, expiry, valueIn. */
export type { TSpendInfo, BuildTSpendParams } from './treasury.ts';
/** IsTreasuryVoteInterval: a non-zero multiple of the TVI. */
export { isTreasuryVoteInterval } from './treasury.ts';
/** CalcTSpendExpiry: the expiry of a tspend created for the block at the given next height. */
export { calcTSpendExpiry } from './treasury.ts';
/** CalcTSpendWindow: `{start, end}` of a tspend's voting window; throws {@link RuleError} `BAD_TSPEND_EXPIRY`. */
export { calcTSpendWindow } from './treasury.ts';
/** InsideTSpendWindow: height in [start, end] of the tspend's window (false when the expiry has none). */
export { insideTSpendWindow } from './treasury.ts';
/** {@link insideTSpendWindow} with a network's TVI and multiplier. */
export { tspendVotable } from './treasury.ts';
/** Parses a tspend after CheckTSpend; throws {@link RuleError} `NOT_A_TREASURY_SPEND`. */
export { parseTSpend } from './treasury.ts';
/** Structure, expiry, sanctioned Pi key and Schnorr signature of a tspend; throws {@link RuleError}. */
export { checkTSpendFull } from './treasury.ts';
/** SigHashAll of tspend input 0 with an empty subscript: what the Pi key signs. */
export { tspendSigHash } from './treasury.ts';
/** Builds and signs a tspend with a Pi private key (tests, devnet). */
export { buildTSpend } from './treasury.ts';
/** EC-Schnorr-DCRv0: sign with an explicit nonce, sign deterministically, verify. */
export { schnorrSignWithNonce, schnorrSign, schnorrVerify } from './treasury.ts';

// ---- vote-version.ts
/**
 * The vote version a wallet writes behind a given dcrd (dcrwallet wallet/wallet.go voteVersion):
 * the newest version the dcrd recognises (`getvoteinfo` answers -8 above it) on mainnet,
 * testnet3 and simnet; 1 on regnet. `probeNewestVoteVersion(network, recognises)` finds it.
 */
export { VOTE_VERSION_FLOOR, VOTE_VERSION_PROBE_SPAN, DEFAULT_WALLET_VOTE_VERSION, walletVoteVersion, probeNewestVoteVersion } from './vote-version.ts';
