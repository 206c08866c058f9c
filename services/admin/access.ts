/**
 * Who may call which Admin API method. The caller is the client certificate
 * (mutual TLS with the cluster CA); its role is the certificate's OU. Two
 * roles: `read-only` reads, `operator` reads and mutates. One table names
 * every method; a method not in it, a role not listed for it, or a caller
 * without a certificate is refused (default deny). Every mutating call is
 * audit-logged with the caller's name, role and certificate fingerprint.
 */
import { ROLE, type CertificateIdentity } from '../security/index.ts';
import type { Logger } from '../telemetry/index.ts';
import { AdminPermissionDeniedError, AdminUnauthenticatedError } from './errors.ts';

/** What a method does: `read` leaves state as it is, `mutate` changes tickets, choices or policies. */
export type AdminMethodKind = 'read' | 'mutate';

/** Every Admin method and what it does; the roles allowed follow from {@link ROLES_BY_KIND}. */
export const ADMIN_METHODS: Readonly<Record<string, AdminMethodKind>> = {
  ImportTicket: 'mutate',
  RemoveTicket: 'mutate',
  SetVoteChoices: 'mutate',
  SetTreasuryPolicy: 'mutate',
  SetTSpendPolicy: 'mutate',
  ListTickets: 'read',
  GetStakeInfo: 'read',
  GetStatus: 'read',
  WatchVotes: 'read',
};

/** Roles (certificate OU) allowed per kind of method. */
export const ROLES_BY_KIND: Readonly<Record<AdminMethodKind, readonly string[]>> = {
  read: [ROLE.operator, ROLE.readOnly],
  mutate: [ROLE.operator],
};

/**
 * The caller of an Admin method: `undefined` when the server runs without TLS
 * (loopback plaintext: no identity, everything allowed, as before certificates
 * were configured), `null` when TLS is on but the caller presented no certificate.
 */
export type AdminCaller = CertificateIdentity | null | undefined;

/**
 * Checks `caller` may call `method`; returns the kind of the method.
 * @throws {AdminUnauthenticatedError} TLS is on and the caller has no certificate.
 * @throws {AdminPermissionDeniedError} unknown method, or a role not allowed for it.
 */
export function authorize(method: string, caller: AdminCaller): AdminMethodKind {
  const kind = ADMIN_METHODS[method];
  if (kind === undefined) throw new AdminPermissionDeniedError(`method ${method} is not in the Admin access table`);
  if (caller === undefined) return kind;
  if (caller === null) throw new AdminUnauthenticatedError(`${method} needs a client certificate issued by the cluster CA`);
  const allowed = ROLES_BY_KIND[kind];
  if (caller.role === undefined || !allowed.includes(caller.role)) {
    throw new AdminPermissionDeniedError(
      `${method} ${kind === 'mutate' ? 'changes cluster state and ' : ''}needs a certificate with role ${allowed.join(' or ')}; ` +
        `${caller.commonName || 'the caller'}'s has ${caller.role === undefined ? 'no role' : `role ${caller.role}`}`,
    );
  }
  return kind;
}

/**
 * Writes one audit line for a mutating call: method, caller (CN, role,
 * fingerprint; `plaintext` when the listener has no TLS), what it named
 * (ticket, agenda, policy: never a key) and the outcome (`ok` or the error code).
 */
export function auditMutation(log: Logger, method: string, caller: AdminCaller, target: Record<string, unknown>, outcome: string): void {
  const who = caller ? { commonName: caller.commonName, role: caller.role, fingerprint: caller.fingerprint } : { plaintext: true };
  log.info({ audit: true, rpc: method, caller: who, target, outcome }, `admin audit: ${method} by ${caller ? caller.commonName : 'plaintext caller'}: ${outcome}`);
}
