/**
 * etcd authentication and role-based access for votecluster: one etcd role and
 * user per kind of service, with the key prefixes each may write, and
 * {@link initEtcdAuth}, the idempotent set-up step behind `votecluster etcd init`.
 *
 * etcd's RBAC grants read, write or read-write on a key or a key range; a
 * prefix is the range [prefix, prefixRangeEnd(prefix)). The roles:
 *
 * | role                 | reads           | writes                        |
 * |----------------------|-----------------|-------------------------------|
 * | `votecluster-voter`  | the keyspace    | `nodes/`, `owners/`, `votes/`, `tspends/`, `config/agendas-v*`; the keys `config/chain-tip` and `tickets/chain-tip` (the cluster tip and its marker, chain-tip.ts) and `config/vote-version` (vote-version.ts) |
 * | `votecluster-admin`  | the keyspace    | `tickets/`, `config/`         |
 * | `votecluster-reader` | the keyspace    | nothing                       |
 * | `root` (etcd's own)  | everything      | everything (set-up only)      |
 *
 * RBAC cannot say *which* value a voter may write under `owners/` (any voter
 * may write any owner record); the cluster checks that itself (ownership.ts).
 */
import { Range, type Etcd3, type IPermission } from 'etcd3';
import { ClusterError } from './errors.ts';
import { Keyspace, prefixRangeEnd, type Network } from './keyspace.ts';
import { ensureSchema } from './schema.ts';

/** The kinds of service that get their own etcd user and role. */
export const ETCD_SERVICE_ROLES = ['voter', 'admin', 'reader'] as const;
export type EtcdServiceRole = (typeof ETCD_SERVICE_ROLES)[number];

/** etcd user (and role) name of each kind of service. */
export const ETCD_USER_NAMES: Readonly<Record<EtcdServiceRole, string>> = {
  voter: 'votecluster-voter',
  admin: 'votecluster-admin',
  reader: 'votecluster-reader',
};

/** etcd's superuser: it alone may change users and roles; used by the set-up step only. */
export const ETCD_ROOT_USER = 'root';

/** One permission of a role: `perm` on every key under `prefix` (with `exact`, on that one key only). */
export interface EtcdPrefixPermission {
  prefix: string;
  perm: 'Read' | 'Readwrite';
  exact?: boolean;
}

/** The prefixes of one network's keyspace each role may read and write. */
export function rolePermissions(keyspace: Keyspace): Record<EtcdServiceRole, EtcdPrefixPermission[]> {
  const readAll: EtcdPrefixPermission = { prefix: keyspace.prefix, perm: 'Read' };
  const rw = (prefix: string): EtcdPrefixPermission => ({ prefix, perm: 'Readwrite' });
  const rwKey = (key: string): EtcdPrefixPermission => ({ prefix: key, perm: 'Readwrite', exact: true });
  return {
    // Voters also keep the chain's agendas per vote version (config/agendas-v<N>, read from
    // their proxies) so that no voter starts without them; the rest of config/ is the admin's.
    // They advance the cluster tip (config/chain-tip and its markers tickets/chain-tip,
    // tspends/chain-tip: exactly those keys) and record the tspends their proxies stream
    // (tspends/); they commit the vote version (exactly config/vote-version, only raised, guarded by
    // the tip); tickets/<hash> and config/vote-defaults stay the admin's.
    voter: [
      readAll, rw(keyspace.nodesPrefix()), rw(keyspace.ownersPrefix()), rw(keyspace.votesPrefix()), rw(`${keyspace.configPrefix()}agendas-v`),
      rw(keyspace.tspendsPrefix()), rwKey(keyspace.chainTip()), rwKey(keyspace.ticketsTipMarker()), rwKey(keyspace.voteVersion()),
    ],
    admin: [readAll, rw(keyspace.ticketsPrefix()), rw(keyspace.configPrefix())],
    reader: [readAll],
  };
}

/** etcd refused a set-up step (code `CLUSTER_ETCD_INIT`); the message names the step. */
export class EtcdInitError extends ClusterError {
  constructor(message: string, options?: ErrorOptions) {
    super('CLUSTER_ETCD_INIT', message, options);
  }
}

/** Options of {@link initEtcdAuth}. */
export interface InitEtcdAuthOptions {
  /**
   * Opens an etcd client, authenticated as `root` when `asRoot` is true and without
   * credentials otherwise (TLS settings are the caller's). The step closes what it opens.
   */
  connect(asRoot: boolean): Etcd3;
  /** Networks whose keyspace the roles cover (re-run with more networks to add them). */
  networks: readonly Network[];
  /** Password of etcd's `root` user. Secret. */
  rootPassword: string;
  /** Password of each service user. Secret. */
  passwords: Readonly<Record<EtcdServiceRole, string>>;
}

/** What {@link initEtcdAuth} changed (empty lists: nothing to do, already set up). */
export interface InitEtcdAuthResult {
  /** True if authentication was off and this call turned it on. */
  enabledAuth: boolean;
  rolesCreated: string[];
  usersCreated: string[];
  /** `role: perm prefix` of every permission granted. */
  permissionsGranted: string[];
  /** `role: prefix` of every permission revoked (stale ones within the given networks). */
  permissionsRevoked: string[];
}

const keyOf = (p: { key: Buffer; rangeEnd: Buffer }): string => `${p.key.toString('hex')}:${p.rangeEnd.toString('hex')}`;

function isAuthRequired(err: unknown): boolean {
  const msg = (err as Error)?.message ?? '';
  // "user name not found": etcd runs with --client-cert-auth and took the client certificate's CN,
  // which names no etcd user, as the user of a request without credentials.
  return /user name is empty|user name not found|permission denied|invalid auth token|Unauthenticated/i.test(msg);
}

/**
 * Sets up etcd authentication for votecluster, idempotently: the `root` user (with the
 * root role), one role per kind of service with the permissions of {@link rolePermissions}
 * for every network, one user per role with its password, the keyspace schema version of
 * each network, then turns authentication on. Run again, it corrects permissions and
 * passwords to the ones given and changes nothing else.
 * @throws {EtcdInitError} naming the step etcd refused (e.g. a wrong root password).
 */
export async function initEtcdAuth(opts: InitEtcdAuthOptions): Promise<InitEtcdAuthResult> {
  const result: InitEtcdAuthResult = { enabledAuth: false, rolesCreated: [], usersCreated: [], permissionsGranted: [], permissionsRevoked: [] };
  // Authentication off: anyone may manage users. On: only root. Try without credentials first.
  let client = opts.connect(false);
  let authOn = false;
  try {
    await client.auth.roleList();
  } catch (err) {
    client.close();
    if (!isAuthRequired(err)) throw new EtcdInitError(`etcd init: cannot reach etcd: ${(err as Error).message}`, { cause: err });
    authOn = true;
    client = opts.connect(true);
  }
  const step = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new EtcdInitError(`etcd init: ${what}: ${(err as Error).message}`, { cause: err });
    }
  };
  try {
    const users = new Set((await step('list users', () => client.auth.userList())).users);
    const roles = new Set((await step('list roles', () => client.auth.roleList())).roles);
    const ensureUser = async (name: string, password: string, role: string): Promise<void> => {
      if (!users.has(name)) {
        await step(`create user ${name}`, () => client.auth.userAdd({ name, password }));
        result.usersCreated.push(name);
      } else if (!(authOn && (await passwordWorks(name, password)))) {
        // Changing a password ends that user's sessions: only when it differs (or cannot be checked yet).
        await step(`set the password of ${name}`, () => client.auth.userChangePassword({ name, password }));
      }
      const has = (await step(`read user ${name}`, () => client.auth.userGet({ name }))).roles;
      if (!has.includes(role)) await step(`grant role ${role} to ${name}`, () => client.auth.userGrantRole({ user: name, role }));
    };
    const passwordWorks = (name: string, password: string): Promise<boolean> =>
      client.auth.authenticate({ name, password }).then(() => true, () => false);
    const ensureRole = async (role: string): Promise<void> => {
      if (roles.has(role)) return;
      await step(`create role ${role}`, () => client.auth.roleAdd({ name: role }));
      result.rolesCreated.push(role);
    };

    await ensureRole('root');
    await ensureUser(ETCD_ROOT_USER, opts.rootPassword, 'root');

    const keyspaces = opts.networks.map((n) => new Keyspace(n));
    for (const kind of ETCD_SERVICE_ROLES) {
      const role = ETCD_USER_NAMES[kind];
      await ensureRole(role);
      const want = keyspaces.flatMap((ks) =>
        rolePermissions(ks)[kind].map((p) => ({ key: Buffer.from(p.prefix), rangeEnd: p.exact ? Buffer.alloc(0) : prefixRangeEnd(p.prefix), perm: p.perm, prefix: p.prefix })),
      );
      const have: IPermission[] = (await step(`read role ${role}`, () => client.auth.roleGet({ role }))).perm;
      const haveByKey = new Map(have.map((p) => [keyOf({ key: Buffer.from(p.key), rangeEnd: Buffer.from(p.range_end) }), p]));
      const wantKeys = new Set(want.map(keyOf));
      // Stale permissions inside the networks being set up are revoked; other networks' are left alone.
      for (const p of have) {
        const key = Buffer.from(p.key);
        const k = keyOf({ key, rangeEnd: Buffer.from(p.range_end) });
        if (wantKeys.has(k) || !keyspaces.some((ks) => key.toString().startsWith(ks.prefix))) continue;
        await step(`revoke ${key.toString()} from ${role}`, () => client.auth.roleRevokePermission({ role, key, range_end: Buffer.from(p.range_end) }));
        result.permissionsRevoked.push(`${role}: ${key.toString()}`);
      }
      for (const w of want) {
        if (haveByKey.get(keyOf(w))?.permType === w.perm) continue;
        const range = new Range(w.key, w.rangeEnd);
        await step(`grant ${w.perm} ${w.prefix} to ${role}`, () => client.role(role).grant({ permission: w.perm, range }));
        result.permissionsGranted.push(`${role}: ${w.perm} ${w.prefix}`);
      }
      await ensureUser(ETCD_USER_NAMES[kind], opts.passwords[kind], role);
    }
    // The schema version is written here, as root: voters may not write config/.
    for (const ks of keyspaces) await step(`schema version of ${ks.network}`, () => ensureSchema(client, ks));
    if (!authOn) {
      await step('enable authentication', () => client.auth.authEnable());
      result.enabledAuth = true;
    }
  } finally {
    client.close();
  }
  return result;
}
