/**
 * Runs a deployment artefact's command line (a systemd ExecStart, a compose or
 * Kubernetes container command, an example config) through the real CLI: the
 * real commander program (unknown flags and bad arguments fail as they would in
 * production) and, for the long-running services, the real config loader (the
 * `--config` file, env and flags merged and validated by the service's schema).
 * Nothing is started: the command's action is replaced by the loader.
 */
import { Command, CommanderError } from 'commander';
import { AdminCommandSchema } from '../../../services/cli/admin-context.ts';
import { ADMIN_CONFIG_FIELDS } from '../../../services/cli/commands/admin.ts';
import { ETCD_INIT_FIELDS, EtcdInitSchema } from '../../../services/cli/commands/etcd.ts';
import { loadProxyConfig } from '../../../services/cli/commands/proxy.ts';
import { loadVoterConfig } from '../../../services/cli/commands/voter.ts';
import { loadConfig, optionSources } from '../../../services/cli/config.ts';
import { buildProgram } from '../../../services/cli/index.ts';
import { SIM_COMMANDS } from '../../../services/sim/index.ts';

type Loader = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv, cmd: Command) => unknown;

/** The config loader each long-running command runs first. */
const LOADERS: Record<string, Loader> = {
  proxy: (flags, env, cmd) => loadProxyConfig(flags, env, optionSources(cmd)).cfg,
  voter: (flags, env, cmd) => loadVoterConfig(flags, env, optionSources(cmd)).cfg,
  admin: (flags, env, cmd) =>
    loadConfig({ service: 'admin', schema: AdminCommandSchema, fields: ADMIN_CONFIG_FIELDS, flags, env, flagSource: optionSources(cmd) }).config,
  'etcd init': (flags, env, cmd) =>
    loadConfig({ service: 'etcd', schema: EtcdInitSchema, fields: ETCD_INIT_FIELDS, flags, env, flagSource: optionSources(cmd) }).config,
};

/** What a checked command line resolved to. */
export interface CheckedCommand {
  /** The command path, e.g. `voter` or `etcd init`. */
  command: string;
  /** The validated config (long-running commands), else the parsed flags. */
  config: unknown;
}

/** The command line was refused (unknown flag, bad value, invalid config). */
export class CommandLineError extends Error {
  readonly code = 'TEST_COMMAND_LINE';
}

function allCommands(c: Command): Command[] {
  return [c, ...c.commands.flatMap((s) => allCommands(s))];
}

/**
 * Parses `argv` (without the executable) as `votecluster` would, with `env` as the
 * environment; `rewrite` maps paths in argv (e.g. /etc/votecluster/voter.yaml →
 * the repository's example) before parsing.
 */
export async function checkCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = {}, rewrite: (arg: string) => string = (a) => a): Promise<CheckedCommand> {
  const args = argv.map(rewrite);
  const program = await buildProgram(args[0], SIM_COMMANDS);
  const errors: string[] = [];
  let result: CheckedCommand | undefined;
  for (const c of allCommands(program)) {
    c.configureOutput({ writeErr: (s) => errors.push(s), writeOut: () => undefined });
    c.exitOverride();
    if (c.commands.length > 0 || c === program) continue;
    const path: string[] = [];
    for (let p: Command | null = c; p && p !== program; p = p.parent) path.unshift(p.name());
    const name = path.join(' ');
    c.action((...actionArgs: unknown[]) => {
      const cmd = actionArgs.at(-1) as Command;
      const flags = cmd.opts();
      const loader = LOADERS[name];
      result = { command: name, config: loader ? loader(flags, env, cmd) : flags };
    });
  }
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) throw new CommandLineError(`votecluster ${args.join(' ')}: ${errors.join(' ').trim() || err.message}`);
    const issues = (err as { issues?: string[] }).issues;
    throw new CommandLineError(`votecluster ${args.join(' ')}: ${issues ? issues.join('; ') : (err as Error).message}`);
  }
  if (!result) throw new CommandLineError(`votecluster ${args.join(' ')}: names no runnable command`);
  return result;
}

/**
 * The flags `votecluster <command…> --flag …` names that the command does not have
 * (empty when every one exists; an unknown command is reported as such).
 */
export async function unknownFlags(words: readonly string[]): Promise<string[]> {
  const program = await buildProgram(words[0], SIM_COMMANDS);
  let cmd: Command = program;
  let i = 0;
  for (; i < words.length && !(words[i] as string).startsWith('-'); i++) {
    const next = cmd.commands.find((c) => c.name() === words[i]);
    if (!next) break;
    cmd = next;
  }
  if (cmd === program && !['--version', '-V', '--help', '-h'].includes(words[0] as string)) return [`unknown command ${words[0]}`];
  const known = new Set(['--help', '-h', ...cmd.options.flatMap((o) => [o.long, o.short].filter((x): x is string => !!x))]);
  if (cmd === program) known.add('--version').add('--json');
  return words.slice(i).filter((w) => w.startsWith('-') && !known.has(w.split('=')[0] as string));
}

/** The services that speak gRPC with the cluster CA: their loaded config must carry a CA, a certificate and a key. */
export function mutualTlsOf(checked: CheckedCommand): { caFile?: unknown; certFile?: unknown; keyFile?: unknown } | undefined {
  if (!['proxy', 'voter', 'admin'].includes(checked.command)) return undefined;
  return ((checked.config as { tls?: Record<string, unknown> }).tls ?? {}) as { caFile?: unknown; certFile?: unknown; keyFile?: unknown };
}

/** How a checked command reaches etcd (endpoints, user, password file, CA, client certificate and key), or undefined when it does not. */
export function etcdAccessOfChecked(checked: CheckedCommand): { endpoints: string[]; username?: unknown; passwordFile?: unknown; caFile?: unknown; certFile?: unknown; keyFile?: unknown } | undefined {
  const c = checked.config as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (checked.command === 'voter') return { ...c['etcd'], endpoints: c['etcd']['endpoints'] };
  if (checked.command === 'etcd init') return { endpoints: c['etcd'], username: 'root', passwordFile: c['rootPasswordFile'], caFile: c['etcdCa'], certFile: c['etcdCert'], keyFile: c['etcdKey'] };
  if (!('etcd' in c)) return undefined;
  return { endpoints: c['etcd'], username: c['etcdUser'], passwordFile: c['etcdPasswordFile'], caFile: c['etcdCa'], certFile: c['etcdCert'], keyFile: c['etcdKey'] };
}

/**
 * What keeps a service's etcd access from being the production one (empty when none):
 * every endpoint https, the cluster CA, a client certificate and key (etcd runs with
 * `--client-cert-auth`), an etcd user with a password file (authentication on).
 */
export function etcdAccessProblems(checked: CheckedCommand): string[] {
  const a = etcdAccessOfChecked(checked);
  if (!a) return [];
  const out: string[] = [];
  if (a.endpoints.length === 0) out.push('no etcd endpoints');
  for (const e of a.endpoints) if (new URL(e).protocol !== 'https:') out.push(`etcd endpoint ${e} is not https`);
  for (const k of ['caFile', 'certFile', 'keyFile', 'passwordFile'] as const) if (typeof a[k] !== 'string' || !a[k].startsWith('/')) out.push(`etcd ${k} not set to an absolute path`);
  if (typeof a.username !== 'string' || a.username === '') out.push('no etcd user');
  return out;
}

/** etcd's flag values in an argv (`--flag value` and `--flag=value`); a bare flag maps to 'true'. */
export function etcdFlags(argv: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) continue;
    const eq = a.indexOf('=');
    if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) m.set(a.slice(2), argv[++i] as string);
    else m.set(a.slice(2), 'true');
  }
  return m;
}

/**
 * What keeps an etcd member's command line (or its environment as `--flag` words) from the
 * launcher's TLS configuration (`etcdTlsFlags`: client and peer TLS from the cluster CA,
 * client certificates required on both ports, only CN etcd-peer on the peer port); empty when none.
 */
export function etcdMemberProblems(argv: readonly string[], want: readonly string[]): string[] {
  const f = etcdFlags(argv);
  const out: string[] = [];
  for (const k of ['listen-client-urls', 'advertise-client-urls', 'listen-peer-urls', 'initial-advertise-peer-urls', 'initial-cluster']) {
    const v = f.get(k);
    if (v === undefined) { out.push(`--${k} missing`); continue; }
    for (const u of v.split(',')) if (!/^(?:[\w-]+=)?https:\/\//.test(u)) out.push(`--${k} ${u} is not https`);
  }
  const w = etcdFlags(want);
  for (const [k, v] of w) {
    if (!f.has(k)) out.push(`--${k} missing`);
    else if (v === 'true' && f.get(k) !== 'true') out.push(`--${k} is ${f.get(k)}`);
    else if (k === 'peer-cert-allowed-cn' && f.get(k) !== v) out.push(`--${k} is ${f.get(k)}, not ${v}`);
  }
  if (f.get('cert-file') !== f.get('peer-cert-file') || f.get('key-file') !== f.get('peer-key-file')) out.push('the client and peer ports use different certificates');
  return out;
}
