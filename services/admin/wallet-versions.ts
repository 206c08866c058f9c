/**
 * What the wallet endpoint answers to `version`: what a dcrwallet of the same
 * release as the connected dcrd would answer.
 *
 * dcrwallet's `version` (decred/dcrwallet: internal/rpc/jsonrpc/methods.go,
 * `(*Server).version`) passes its dcrd's own `version` result through (the
 * `dcrd` and `dcrdjsonrpcapi` entries) and adds `dcrwallet` (its binary
 * version) and `dcrwalletjsonrpcapi` (the `jsonrpcSemver*` constants of the
 * same file). vspd checks that map when it connects, and each vspd release
 * wants a different wallet generation (decred/vspd rpc/dcrwallet.go at
 * release-v1.3.2: wallet API major 9; release-v1.4.0: major 11; main,
 * rpc/version.go minimumVersions: also dcrd and dcrwallet >= 2.1.6), so no
 * fixed answer serves every vspd: the cluster answers as the dcrwallet that
 * pairs with the dcrd it is connected to, and an operator can override any
 * entry (`walletRpc.versionOverride`).
 */
import type { SemverResult } from './ports.ts';

/**
 * dcrwallet's JSON-RPC API semver per release line
 * (internal/rpc/jsonrpc/methods.go jsonrpcSemverString: 9.2.0 at release-v2.0.0
 * through release-v2.0.6, 11.0.0 at release-v2.1.0 through release-v2.1.5 and master).
 */
export const WALLET_API_BY_RELEASE: ReadonlyArray<{ major: number; minor: number; api: readonly [number, number, number] }> = [
  { major: 2, minor: 0, api: [9, 2, 0] },
  { major: 2, minor: 1, api: [11, 0, 0] },
];

/** A semver entry from its parts. */
export function semverResult(major: number, minor: number, patch: number, buildmetadata = ''): SemverResult {
  const core = `${major}.${minor}.${patch}`;
  return { versionstring: buildmetadata ? `${core}+${buildmetadata}` : core, major, minor, patch, prerelease: '', buildmetadata };
}

/** Parses `MAJOR.MINOR.PATCH` (an override from the config). */
export function parseSemver(s: string): SemverResult {
  const m = /^(\d{1,9})\.(\d{1,9})\.(\d{1,9})$/.exec(s);
  if (!m) throw new Error(`"${s}" is not MAJOR.MINOR.PATCH`);
  return semverResult(Number(m[1]), Number(m[2]), Number(m[3]));
}

/** The four `version` keys vspd reads. */
export type VersionKey = 'dcrd' | 'dcrdjsonrpcapi' | 'dcrwallet' | 'dcrwalletjsonrpcapi';

/** What the dcrwallet paired with a dcrd release reports about itself. */
export interface PairedWallet {
  dcrwallet: SemverResult;
  dcrwalletjsonrpcapi: SemverResult;
  /** False when the dcrd release is newer than every known line (the newest line's API is used). */
  known: boolean;
}

/**
 * The dcrwallet that pairs with a dcrd release: the same binary version (dcrd
 * and dcrwallet are released together with equal numbers), and the wallet API
 * of that release line. `buildmetadata` says the answer is the cluster's.
 */
export function pairedWallet(dcrd: Pick<SemverResult, 'major' | 'minor' | 'patch'>): PairedWallet {
  const line = WALLET_API_BY_RELEASE.find((l) => l.major === dcrd.major && l.minor === dcrd.minor);
  const newest = WALLET_API_BY_RELEASE[WALLET_API_BY_RELEASE.length - 1] as (typeof WALLET_API_BY_RELEASE)[number];
  const api = (line ?? newest).api;
  return {
    dcrwallet: semverResult(dcrd.major, dcrd.minor, dcrd.patch, 'votecluster'),
    dcrwalletjsonrpcapi: semverResult(api[0], api[1], api[2]),
    known: line !== undefined,
  };
}
