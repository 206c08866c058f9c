/**
 * Typed errors of the voter. Every error carries a `VOTER_<REASON>` code; callers
 * branch on `instanceof` inside the service and on `code` at boundaries.
 */
import { CodedError } from '../base/index.ts';
export class VoterError extends CodedError {}

/** The voter configuration does not validate (each zod issue is listed with its path). */
export class VoterConfigError extends VoterError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], options?: ErrorOptions) {
    super('VOTER_CONFIG', `invalid voter config: ${issues.join('; ')}`, options);
    this.issues = issues;
  }
}

/** The cluster key file is missing, unreadable or not 32 bytes (hex or raw). */
export class ClusterKeyFileError extends VoterError {
  constructor(message: string, options?: ErrorOptions) {
    super('VOTER_CLUSTER_KEY_FILE', message, options);
  }
}

/** A WatchChain event from a proxy that cannot be used (bad hash, missing fields). */
export class ChainEventError extends VoterError {
  constructor(message: string, options?: ErrorOptions) {
    super('VOTER_CHAIN_EVENT', message, options);
  }
}

/** The ticket record needed to build a vote is not in the cache (not managed, removed, or corrupt). */
export class TicketNotManagedError extends VoterError {
  constructor(ticketHex: string, options?: ErrorOptions) {
    super('VOTER_TICKET_NOT_MANAGED', `ticket ${ticketHex} is not in the ticket cache`, options);
  }
}

/** The vote record could not be written or read because etcd is unreachable. */
export class RecordUnavailableError extends VoterError {
  constructor(message: string, options?: ErrorOptions) {
    super('VOTER_RECORD_UNAVAILABLE', message, { ...options, retryable: true });
  }
}

/** The voter was used in the wrong lifecycle state (start twice, start after stop). */
export class VoterStateError extends VoterError {
  constructor(message: string) {
    super('VOTER_STATE', message);
  }
}

/**
 * The agendas of the vote version this voter must write are unknown (no proxy answered
 * GetVoteInfo and etcd holds no copy): building the vote would drop the users' choices, so
 * the draw is left to a voter that knows them. Retryable: the next stream start refreshes them.
 */
export class VoterAgendasUnknownError extends VoterError {
  constructor(voteVersion: number | undefined, options?: ErrorOptions) {
    super(
      'VOTER_AGENDAS_UNKNOWN',
      voteVersion === undefined
        ? 'no proxy has reported the vote version its dcrd recognises yet: the agendas are unknown'
        : `the agendas of vote version ${voteVersion} are unknown (no proxy answered GetVoteInfo and etcd holds no copy)`,
      { ...options, retryable: true },
    );
  }
}

/**
 * The cluster's committed vote version (`config/vote-version`) is unreadable: no vote is built
 * from it (the version decides the vote's bytes, and a guess could differ from another region's).
 * Not retryable: the next vote-version proposal of a voter replaces the value (services/cluster config-store.ts proposeVoteVersion).
 */
export class VoterVoteVersionCorruptError extends VoterError {
  constructor(detail: string, options?: ErrorOptions) {
    super('VOTER_VOTE_VERSION_CORRUPT', `the committed vote version is unreadable, nothing is signed: ${detail}`, options);
  }
}
