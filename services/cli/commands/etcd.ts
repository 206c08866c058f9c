/**
 * `votecluster etcd init`: turns on etcd authentication for votecluster,
 * idempotently: etcd's `root` user, one role and user per kind of service
 * (voter, admin, reader) with the key prefixes each may write, and the keyspace
 * schema version of each network. Passwords come from files (`--generate`
 * creates missing ones with mode 0600). Config precedence: defaults,
 * `--config FILE`, env `VOTECLUSTER_ETCD_<KEY>`, flags. Prints one JSON line
 * saying what changed (never a password).
 */
import type { Command } from 'commander';
import { z } from 'zod';
import {
  createEtcdClient,
  ETCD_ROOT_USER,
  ETCD_SERVICE_ROLES,
  ETCD_USER_NAMES,
  initEtcdAuth,
  loadEtcdAccess,
  NETWORKS,
  readOrCreateEtcdPasswordFile,
  type EtcdServiceRole,
} from '../../cluster/index.ts';
import { ConfigInvalidError, loadConfig, optionSources, type ConfigFieldSpec } from '../config.ts';

/** Settings of `etcd init`. */
export const EtcdInitSchema = z.object({
  etcd: z.array(z.string().url('each --etcd entry must be a URL like https://127.0.0.1:2379')).min(1, '--etcd is required'),
  networks: z.array(z.enum(NETWORKS)).min(1, '--network is required'),
  rootPasswordFile: z.string().min(1),
  voterPasswordFile: z.string().min(1),
  adminPasswordFile: z.string().min(1),
  readerPasswordFile: z.string().min(1),
  /** Create missing password files (mode 0600) with random passwords. */
  generate: z.boolean().default(false),
  /** PEM CA of etcd's server certificate; with certFile/keyFile, the client certificate. */
  etcdCa: z.string().min(1).optional(),
  etcdCert: z.string().min(1).optional(),
  etcdKey: z.string().min(1).optional(),
});
export type EtcdInitOptions = z.infer<typeof EtcdInitSchema>;

/** Config-loader fields of `etcd init` (env `VOTECLUSTER_ETCD_<KEY>`). */
export const ETCD_INIT_FIELDS: readonly ConfigFieldSpec[] = [
  { path: 'etcd', flag: 'etcd', env: 'ENDPOINTS', kind: 'list' },
  { path: 'networks', flag: 'network', env: 'NETWORKS', kind: 'list' },
  { path: 'rootPasswordFile', flag: 'rootPasswordFile', env: 'ROOT_PASSWORD_FILE', secret: true },
  { path: 'voterPasswordFile', flag: 'voterPasswordFile', env: 'VOTER_PASSWORD_FILE', secret: true },
  { path: 'adminPasswordFile', flag: 'adminPasswordFile', env: 'ADMIN_PASSWORD_FILE', secret: true },
  { path: 'readerPasswordFile', flag: 'readerPasswordFile', env: 'READER_PASSWORD_FILE', secret: true },
  { path: 'generate', flag: 'generate', env: 'GENERATE', kind: 'boolean' },
  { path: 'etcdCa', flag: 'etcdCa', env: 'CA' },
  { path: 'etcdCert', flag: 'etcdCert', env: 'CERT' },
  { path: 'etcdKey', flag: 'etcdKey', env: 'KEY', secret: true },
];

/** What `etcd init` reports (one JSON line). */
export interface EtcdInitReport {
  enabledAuth: boolean;
  users: Record<EtcdServiceRole | 'root', string>;
  passwordFilesCreated: string[];
  rolesCreated: string[];
  usersCreated: string[];
  permissionsGranted: string[];
  permissionsRevoked: string[];
}

/**
 * Runs the set-up against etcd with validated options (the command's action, and the
 * simulation's launcher after it starts etcd).
 */
export async function runEtcdInit(o: EtcdInitOptions): Promise<EtcdInitReport> {
  const files: Record<EtcdServiceRole | 'root', string> = {
    root: o.rootPasswordFile,
    voter: o.voterPasswordFile,
    admin: o.adminPasswordFile,
    reader: o.readerPasswordFile,
  };
  const created: string[] = [];
  const pw = {} as Record<EtcdServiceRole | 'root', string>;
  for (const [who, file] of Object.entries(files) as Array<[EtcdServiceRole | 'root', string]>) {
    const r = await readOrCreateEtcdPasswordFile(file, o.generate);
    pw[who] = r.password;
    if (r.created) created.push(file);
  }
  const tls = await loadEtcdAccess({
    ...(o.etcdCa ? { caFile: o.etcdCa } : {}),
    ...(o.etcdCert ? { certFile: o.etcdCert } : {}),
    ...(o.etcdKey ? { keyFile: o.etcdKey } : {}),
  });
  const res = await initEtcdAuth({
    connect: (asRoot) =>
      createEtcdClient({ endpoints: o.etcd, access: { ...tls, ...(asRoot ? { auth: { username: ETCD_ROOT_USER, password: pw.root } } : {}) } }),
    networks: o.networks,
    rootPassword: pw.root,
    passwords: { voter: pw.voter, admin: pw.admin, reader: pw.reader },
  });
  const users = { root: ETCD_ROOT_USER, ...Object.fromEntries(ETCD_SERVICE_ROLES.map((r) => [r, ETCD_USER_NAMES[r]])) } as EtcdInitReport['users'];
  return { ...res, users, passwordFilesCreated: created };
}

/** Registers `etcd init`. */
export function register(program: Command): void {
  const etcd = program.command('etcd').description('Set up the etcd cluster votecluster keeps its state in');
  etcd
    .command('init')
    .description('Enable etcd authentication: root user, one role and user per kind of service (voter, admin, reader); idempotent')
    .option('--config <file>', 'config file, JSON or YAML (the keys below, camelCase)')
    .option('--etcd <urls>', 'etcd client URLs, comma-separated (env VOTECLUSTER_ETCD_ENDPOINTS)')
    .option('--network <names>', 'networks whose keyspace the roles cover, comma-separated (env VOTECLUSTER_ETCD_NETWORKS)')
    .option('--root-password-file <file>', "etcd root user's password (env VOTECLUSTER_ETCD_ROOT_PASSWORD_FILE)")
    .option('--voter-password-file <file>', `password of ${ETCD_USER_NAMES.voter} (env VOTECLUSTER_ETCD_VOTER_PASSWORD_FILE)`)
    .option('--admin-password-file <file>', `password of ${ETCD_USER_NAMES.admin} (env VOTECLUSTER_ETCD_ADMIN_PASSWORD_FILE)`)
    .option('--reader-password-file <file>', `password of ${ETCD_USER_NAMES.reader} (env VOTECLUSTER_ETCD_READER_PASSWORD_FILE)`)
    .option('--generate', 'create missing password files (mode 0600) with random passwords')
    .option('--etcd-ca <file>', "PEM CA of etcd's server certificate (env VOTECLUSTER_ETCD_CA)")
    .option('--etcd-cert <file>', 'PEM client certificate for etcd (env VOTECLUSTER_ETCD_CERT)')
    .option('--etcd-key <file>', 'PEM key of --etcd-cert (env VOTECLUSTER_ETCD_KEY)')
    .action(async (flags: Record<string, unknown>, cmd: Command) => {
      let opts: EtcdInitOptions;
      try {
        opts = loadConfig({ service: 'etcd', schema: EtcdInitSchema, fields: ETCD_INIT_FIELDS, flags, env: process.env, flagSource: optionSources(cmd) }).config;
      } catch (err) {
        if (!(err instanceof ConfigInvalidError)) throw err;
        process.stderr.write(`votecluster: ${err.message}\n`);
        process.exitCode = 2;
        return;
      }
      const report = await runEtcdInit(opts);
      process.stdout.write(`${JSON.stringify(report)}\n`);
    });
}
