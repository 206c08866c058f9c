/**
 * The dcrd releases the devnet behaves as, and the consensus agendas they define
 * (decred/dcrd: chaincfg/simnetparams.go and chaincfg/regnetparams.go,
 * `Deployments`, at tags release-v2.0.6 and release-v2.1.6; the agenda ids are
 * chaincfg's VoteID* constants). Simnet and regnet define the same agendas at
 * these vote versions.
 *
 * - dcrd 2.0.6 knows vote versions 4..11 (11: blake3pow, changesubsidysplitr2).
 * - dcrd 2.1.6 adds vote version 12 (maxtreasuryspend).
 *
 * The devnet models the agendas of the vote versions dcrwallet 2.0 and 2.1 vote
 * with (11 and 12); older versions, which no supported wallet writes, answer as
 * unrecognised.
 */

/** One choice of an agenda (chaincfg.Choice). */
export interface DeploymentChoice {
  id: string;
  description: string;
  bits: number;
  isAbstain: boolean;
  isNo: boolean;
}

/** One agenda (chaincfg.ConsensusDeployment: Vote, StartTime, ExpireTime). */
export interface Deployment {
  id: string;
  description: string;
  mask: number;
  choices: readonly DeploymentChoice[];
  startTime: number;
  /** math.MaxInt64 in chaincfg; as a JSON number it is 2^63. */
  expireTime: number;
}

/**
 * The choice dcrd treats as the outcome of every agenda's vote on a network, without a vote
 * (chaincfg.ConsensusDeployment.ForcedChoiceID). At release-v2.0.6 and release-v2.1.6 every
 * deployment in chaincfg/simnetparams.go has `ForcedChoiceID: "yes"` and none in
 * chaincfg/regnetparams.go has one. dcrd then reports a forced-"yes" agenda as active from the
 * first block (internal/blockchain/chain.go determineForcedThresholdState: ThresholdActive, or
 * ThresholdFailed for a "no" choice), and its getvoteinfo tallies no choices for it
 * (internal/rpcserver/rpcserver.go handleGetVoteInfo counts only agendas in ThresholdStarted;
 * totalvotes, CountVoteVersion, counts every vote of the version regardless).
 */
export function forcedChoiceId(network: string): string | undefined {
  return network === 'simnet' ? 'yes' : undefined;
}

/** A dcrd release the devnet can behave as. */
export type DcrdRelease = '2.0.6' | '2.1.6';

/** The releases, newest first; the default is the newest. */
export const DCRD_RELEASES: readonly DcrdRelease[] = ['2.1.6', '2.0.6'];

/** chaincfg's ExpireTime math.MaxInt64 as JSON renders it. */
const NEVER_EXPIRES = 9223372036854775807;

function threeWay(id: string, description: string, mask: number, no: number, yes: number): Deployment {
  return {
    id,
    description,
    mask,
    startTime: 0,
    expireTime: NEVER_EXPIRES,
    choices: [
      { id: 'abstain', description: 'abstain voting for change', bits: 0x0000, isAbstain: true, isNo: false },
      { id: 'no', description: 'keep the existing consensus rules', bits: no, isAbstain: false, isNo: true },
      { id: 'yes', description: 'change to the new consensus rules', bits: yes, isAbstain: false, isNo: false },
    ],
  };
}

// chaincfg simnetparams.go Deployments[11] (identical at release-v2.0.6 and release-v2.1.6).
const V11: readonly Deployment[] = [
  threeWay('blake3pow', 'Change proof of work hashing algorithm to BLAKE3 as defined in DCP0011', 0x0006, 0x0002, 0x0004),
  threeWay('changesubsidysplitr2', 'Change block reward subsidy split to 1/89/10 as defined in DCP0012', 0x0060, 0x0020, 0x0040),
];
// chaincfg simnetparams.go Deployments[12] (release-v2.1.6 only).
const V12: readonly Deployment[] = [
  threeWay('maxtreasuryspend', 'Change maximum treasury expenditure policy as defined in DCP0013', 0x0006, 0x0002, 0x0004),
];

/** What a release answers: its `version` semver and the vote versions it recognises. */
export interface ReleaseProfile {
  release: DcrdRelease;
  major: number;
  minor: number;
  patch: number;
  /** Vote version → agendas (only the modelled versions). */
  deployments: ReadonlyMap<number, readonly Deployment[]>;
  /** The highest vote version this release recognises (what its dcrwallet votes with on simnet). */
  maxVoteVersion: number;
}

const PROFILES: Record<DcrdRelease, ReleaseProfile> = {
  '2.0.6': { release: '2.0.6', major: 2, minor: 0, patch: 6, deployments: new Map([[11, V11]]), maxVoteVersion: 11 },
  '2.1.6': { release: '2.1.6', major: 2, minor: 1, patch: 6, deployments: new Map([[11, V11], [12, V12]]), maxVoteVersion: 12 },
};

/** The profile of a release. */
export function releaseProfile(release: DcrdRelease): ReleaseProfile {
  return PROFILES[release];
}
