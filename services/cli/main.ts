/**
 * The `votecluster` command line: the only reader of argv, env and config files,
 * and the only place that handles signals or sets the process exit code. Each
 * production command lives in `commands/<name>.ts` and exports `register(program)`.
 * The executable (bin/votecluster.ts) adds the simulation's demo commands
 * (`start`, `devnet`) through `main(argv, extra)`; this module never imports them.
 */
import { Command, CommanderError } from 'commander';

/** A command module: adds its command (and subcommands) to the program. */
export type Register = (program: Command) => void;
/** Lazy command modules by top-level command name. */
export type CommandTable = Readonly<Record<string, () => Promise<{ register: Register }>>>;

/**
 * Command modules by top-level command name, in the order `--help` lists them.
 * Loading is lazy: `votecluster tx decode` imports only commands/tx.ts, so a
 * short command does not pay for gRPC, etcd and OTel start-up of the others.
 */
const COMMANDS: CommandTable = {
  proxy: () => import('./commands/proxy.ts'),
  voter: () => import('./commands/voter.ts'),
  admin: () => import('./commands/admin.ts'),
  ticket: () => import('./commands/ticket.ts'),
  stakeinfo: () => import('./commands/stakeinfo.ts'),
  key: () => import('./commands/key.ts'),
  status: () => import('./commands/status.ts'),
  etcd: () => import('./commands/etcd.ts'),
  certs: () => import('./commands/certs.ts'),
  trace: () => import('./commands/trace.ts'),
  tx: () => import('./commands/tx.ts'),
};

/**
 * Builds the program. With `only` naming a known command, just that command is
 * registered; otherwise (help, unknown command) every command is.
 */
export async function buildProgram(only?: string, extra: CommandTable = {}): Promise<Command> {
  const table: CommandTable = { ...extra, ...COMMANDS };
  const program = new Command('votecluster')
    .description('High-availability, multi-site voting cluster for Decred proof-of-stake')
    .option('-V, --version', 'print the version, the git commit and the protocol/API versions (--json: one JSON object)')
    .showHelpAfterError()
    .exitOverride();
  const names = only !== undefined && Object.hasOwn(table, only) ? [only] : Object.keys(table);
  for (const name of names) (await (table[name] as () => Promise<{ register: Register }>)()).register(program);
  return program;
}

/** `votecluster --version [--json]`: needs no command module (and loads no service start-up). */
async function printVersion(rest: readonly string[]): Promise<number> {
  const unknown = rest.filter((a) => a !== '--json');
  if (unknown.length > 0) {
    process.stderr.write(`votecluster: --version takes only --json (got ${unknown.join(' ')})\n`);
    return 2;
  }
  const { versionInfo, formatVersion } = await import('./version.ts');
  const info = await versionInfo();
  process.stdout.write(rest.includes('--json') ? `${JSON.stringify(info)}\n` : formatVersion(info));
  return 0;
}

/** Runs the CLI (with `extra` commands beside the production ones) and resolves to the process exit code. */
export async function main(argv: readonly string[], extra: CommandTable = {}): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V') return printVersion(argv.slice(1));
  const program = await buildProgram(argv[0], extra);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const e = err as { code?: string; message?: string };
    process.stderr.write(`votecluster: ${e.code ? `[${e.code}] ` : ''}${e.message ?? String(err)}\n`);
    return 1;
  }
}
