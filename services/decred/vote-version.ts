/**
 * Which vote version a wallet writes, given the dcrd it is connected to.
 *
 * dcrwallet votes with `voteVersion(params)` (decred/dcrwallet: wallet/wallet.go
 * voteVersion): on mainnet, testnet3 and simnet that is the newest vote version
 * the dcrd of the same release defines in chaincfg `Deployments` (dcrwallet
 * 2.0.x: mainnet 10, testnet3 11, simnet 11; 2.1.x: 11, 12, 12); on any other
 * network (regnet) it is 1, a version with no agendas. A voting cluster cannot
 * know which release is on the other end, but it can ask dcrd: `getvoteinfo v`
 * answers -8 for a version the node does not define
 * (decred/dcrd: internal/rpcserver/rpcserver.go handleGetVoteInfo), so the
 * newest version a node recognises is what the wallet of its release writes.
 */
import type { NetworkName } from './params.ts';

/**
 * The oldest vote version the cluster supports per network (dcrwallet 2.0's
 * `voteVersion`); probing for the newest recognised version starts here.
 * `undefined`: the network's wallet vote version does not depend on dcrd.
 */
export const VOTE_VERSION_FLOOR: Readonly<Record<NetworkName, number | undefined>> = {
  mainnet: 10,
  testnet3: 11,
  simnet: 11,
  regnet: undefined,
};

/** How far above the floor a probe looks (vote versions grow by one per dcrd release with new agendas). */
export const VOTE_VERSION_PROBE_SPAN = 32;

/** dcrwallet's vote version on regnet (and every network it has no case for): 1. */
export const DEFAULT_WALLET_VOTE_VERSION = 1;

/**
 * The vote version the wallet of the connected dcrd's release writes, given the
 * newest version that dcrd recognises (dcrwallet wallet/wallet.go voteVersion).
 */
export function walletVoteVersion(network: NetworkName, newestRecognised: number): number {
  return VOTE_VERSION_FLOOR[network] === undefined ? DEFAULT_WALLET_VOTE_VERSION : newestRecognised;
}

/**
 * Finds the newest vote version a dcrd recognises: asks `recognises(v)` for
 * v = floor, floor + 1, ... and returns the last v it accepted. Resolves
 * `undefined` when the floor itself is not recognised (a dcrd older than the
 * oldest supported release). `recognises` rejects for anything but a definite
 * answer (the probe is then retried by the caller).
 */
export async function probeNewestVoteVersion(
  network: NetworkName,
  recognises: (voteVersion: number) => Promise<boolean>,
): Promise<number | undefined> {
  const floor = VOTE_VERSION_FLOOR[network];
  if (floor === undefined) return DEFAULT_WALLET_VOTE_VERSION;
  if (!(await recognises(floor))) return undefined;
  let v = floor;
  while (v < floor + VOTE_VERSION_PROBE_SPAN && (await recognises(v + 1))) v++;
  return v;
}
