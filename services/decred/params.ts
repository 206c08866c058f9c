/**
 * Chain parameters relevant to staking and voting, per network
 * (decred/dcrd: chaincfg/{mainnet,testnet,simnet,regnet}params.go, wire/protocol.go).
 */
import { InvalidArgumentError } from './errors.ts';

const hexKey = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
export type NetworkName = 'mainnet' | 'testnet3' | 'simnet' | 'regnet';

export const NETWORK_NAMES: readonly NetworkName[] = ['mainnet', 'testnet3', 'simnet', 'regnet'];

export interface NetParams {
  name: NetworkName;
  /** CurrencyNet wire magic, as `getcurrentnet` returns it. */
  net: number;
  defaultPort: number;
  rpcPort: number;
  walletRpcPort: number;
  targetTimePerBlockMs: number;
  ticketsPerBlock: number;
  ticketPoolSize: number;
  ticketMaturity: number;
  ticketExpiry: number;
  coinbaseMaturity: number;
  sstxChangeMaturity: number;
  stakeEnabledHeight: number;
  stakeValidationHeight: number;
  maxFreshStakePerBlock: number;
  minimumStakeDiff: bigint;
  stakeDiffWindowSize: number;
  stakeDiffWindows: number;
  stakeVersionInterval: number;
  ruleChangeActivationInterval: number;
  baseSubsidy: bigint;
  mulSubsidy: bigint;
  divSubsidy: bigint;
  subsidyReductionInterval: number;
  workRewardProportion: bigint;
  stakeRewardProportion: bigint;
  blockTaxProportion: bigint;
  /** Sum of the network's BlockOneLedger. */
  blockOneSubsidy: bigint;
  stakeBaseSigScript: Uint8Array;
  treasuryVoteInterval: number;
  treasuryVoteIntervalMultiplier: number;
  /** Sanctioned Politeia (Pi) keys, 33-byte compressed: the keys that may sign a tspend (chaincfg PiKeys). */
  piKeys: readonly Uint8Array[];
  /** The vote version dcrwallet writes (decred/dcrwallet: wallet/wallet.go voteVersion). */
  voteVersion: number;
  /** base58 two-byte network ids. */
  pubKeyHashAddrId: [number, number];
  pubKeyHashEd25519AddrId: [number, number];
  pubKeyHashSchnorrAddrId: [number, number];
  scriptHashAddrId: [number, number];
  pubKeyAddrId: [number, number];
  privateKeyId: [number, number];
  hdPrivateKeyId: number;
  hdPublicKeyId: number;
  legacyCoinType: number;
  slip44CoinType: number;
}

export const MAINNET: NetParams = {
  name: 'mainnet',
  net: 0xd9b400f9,
  defaultPort: 9108,
  rpcPort: 9109,
  walletRpcPort: 9110,
  targetTimePerBlockMs: 300_000,
  ticketsPerBlock: 5,
  ticketPoolSize: 8192,
  ticketMaturity: 256,
  ticketExpiry: 40960,
  coinbaseMaturity: 256,
  sstxChangeMaturity: 1,
  stakeEnabledHeight: 512,
  stakeValidationHeight: 4096,
  maxFreshStakePerBlock: 20,
  minimumStakeDiff: 200_000_000n,
  stakeDiffWindowSize: 144,
  stakeDiffWindows: 20,
  stakeVersionInterval: 2016,
  ruleChangeActivationInterval: 8064,
  baseSubsidy: 3_119_582_664n,
  mulSubsidy: 100n,
  divSubsidy: 101n,
  subsidyReductionInterval: 6144,
  workRewardProportion: 6n,
  stakeRewardProportion: 3n,
  blockTaxProportion: 1n,
  blockOneSubsidy: 168_000_000_000_000n,
  stakeBaseSigScript: Uint8Array.of(0x00, 0x00),
  treasuryVoteInterval: 288,
  treasuryVoteIntervalMultiplier: 12,
  piKeys: [hexKey('03f6e7041f1cf51ee10e0a01cd2b0385ce3cd9debaabb2296f7e9dee9329da946c'), hexKey('0319a37405cb4d1691971847d7719cfce70857c0f6e97d7c9174a3998cf0ab86dd')],
  voteVersion: 11,
  pubKeyHashAddrId: [0x07, 0x3f],
  pubKeyHashEd25519AddrId: [0x07, 0x1f],
  pubKeyHashSchnorrAddrId: [0x07, 0x01],
  scriptHashAddrId: [0x07, 0x1a],
  pubKeyAddrId: [0x13, 0x86],
  privateKeyId: [0x22, 0xde],
  hdPrivateKeyId: 0x02fda4e8,
  hdPublicKeyId: 0x02fda926,
  legacyCoinType: 20,
  slip44CoinType: 42,
};

export const TESTNET3: NetParams = {
  ...MAINNET,
  name: 'testnet3',
  net: 0xb194aa75,
  defaultPort: 19108,
  rpcPort: 19109,
  walletRpcPort: 19110,
  targetTimePerBlockMs: 120_000,
  ticketPoolSize: 1024,
  ticketMaturity: 16,
  ticketExpiry: 6144,
  coinbaseMaturity: 16,
  stakeEnabledHeight: 32,
  stakeValidationHeight: 768,
  minimumStakeDiff: 20_000_000n,
  stakeVersionInterval: 2016,
  ruleChangeActivationInterval: 5040,
  baseSubsidy: 2_500_000_000n,
  subsidyReductionInterval: 2048,
  blockOneSubsidy: 100_000_000_000_000n,
  treasuryVoteInterval: 60,
  treasuryVoteIntervalMultiplier: 4,
  piKeys: [hexKey('03beca9bbd227ca6bb5a58e03a36ba2b52fff09093bd7a50aee1193bccd257fb8a'), hexKey('03e647c014f55265da506781f0b2d67674c35cb59b873d9926d483c4ced9a7bbd3')],
  voteVersion: 12,
  pubKeyHashAddrId: [0x0f, 0x21],
  pubKeyHashEd25519AddrId: [0x0f, 0x01],
  pubKeyHashSchnorrAddrId: [0x0e, 0xe3],
  scriptHashAddrId: [0x0e, 0xfc],
  pubKeyAddrId: [0x28, 0xf7],
  privateKeyId: [0x23, 0x0e],
  hdPrivateKeyId: 0x04358397,
  hdPublicKeyId: 0x043587d1,
  legacyCoinType: 11,
  slip44CoinType: 1,
};

export const SIMNET: NetParams = {
  ...MAINNET,
  name: 'simnet',
  net: 0x12141c16,
  defaultPort: 18555,
  rpcPort: 19556,
  walletRpcPort: 19557,
  targetTimePerBlockMs: 1_000,
  ticketPoolSize: 64,
  ticketMaturity: 16,
  ticketExpiry: 384,
  coinbaseMaturity: 16,
  stakeEnabledHeight: 32,
  stakeValidationHeight: 144,
  minimumStakeDiff: 20_000n,
  stakeDiffWindowSize: 8,
  stakeDiffWindows: 8,
  stakeVersionInterval: 112,
  ruleChangeActivationInterval: 320,
  baseSubsidy: 50_000_000_000n,
  subsidyReductionInterval: 128,
  blockOneSubsidy: 30_000_000_000_000n,
  treasuryVoteInterval: 48,
  treasuryVoteIntervalMultiplier: 3,
  piKeys: [hexKey('02a36b785d584555696b69d1b2bbeff4010332b301e3edd316d79438554cacb3e7'), hexKey('02b2c110e7b560aa9e1545dd18dd9f7e74a3ba036297a696050c0256f1f69479d7')],
  voteVersion: 12,
  pubKeyHashAddrId: [0x0e, 0x91],
  pubKeyHashEd25519AddrId: [0x0e, 0x71],
  pubKeyHashSchnorrAddrId: [0x0e, 0x53],
  scriptHashAddrId: [0x0e, 0x6c],
  pubKeyAddrId: [0x27, 0x6f],
  privateKeyId: [0x23, 0x07],
  hdPrivateKeyId: 0x0420b903,
  hdPublicKeyId: 0x0420bd3d,
  legacyCoinType: 115,
  slip44CoinType: 1,
};

export const REGNET: NetParams = {
  ...SIMNET,
  name: 'regnet',
  net: 0xdab500fa,
  defaultPort: 18655,
  rpcPort: 18656,
  walletRpcPort: 18657,
  blockOneSubsidy: 30_000_000_000_000n,
  stakeBaseSigScript: Uint8Array.of(0x73, 0x57),
  treasuryVoteInterval: 4,
  treasuryVoteIntervalMultiplier: 3,
  piKeys: [],
  voteVersion: 1,
  pubKeyHashAddrId: [0x0e, 0x00],
  pubKeyHashEd25519AddrId: [0x0d, 0xe0],
  pubKeyHashSchnorrAddrId: [0x0d, 0xc2],
  scriptHashAddrId: [0x0d, 0xdb],
  pubKeyAddrId: [0x25, 0xe5],
  privateKeyId: [0x22, 0xfe],
  hdPrivateKeyId: 0xeab40448,
  hdPublicKeyId: 0xeab4f987,
  legacyCoinType: 1,
  slip44CoinType: 1,
};

const BY_NAME: Record<NetworkName, NetParams> = {
  mainnet: MAINNET,
  testnet3: TESTNET3,
  simnet: SIMNET,
  regnet: REGNET,
};

/** Parameters by name; `testnet` is accepted as an alias of `testnet3`. */
export function netParams(name: string): NetParams {
  const key = (name === 'testnet' ? 'testnet3' : name) as NetworkName;
  const p = BY_NAME[key];
  if (!p) throw new InvalidArgumentError(`unknown network "${name}" (expected one of ${NETWORK_NAMES.join(', ')})`);
  return p;
}

/** Parameters by CurrencyNet magic (as `getcurrentnet` reports), or undefined. */
export function netParamsByMagic(net: number): NetParams | undefined {
  return NETWORK_NAMES.map((n) => BY_NAME[n]).find((p) => p.net === net);
}
