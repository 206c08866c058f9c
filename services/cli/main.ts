/**
 * The `votecluster` command line: the only composition root, the only reader of
 * argv, env and config files, and the only place that handles signals or sets
 * the process exit code. Each command lives in `commands/<name>.ts` and exports
 * `register(program)`.
 */
import { Command, CommanderError } from 'commander';
import { pathToFileURL } from 'node:url';

type Register = (program: Command) => void;

/**
 * Command modules by top-level command name, in the order `--help` lists them.
 * Loading is lazy: `votecluster tx decode` imports only commands/tx.ts, so a
 * short command does not pay for gRPC, etcd and OTel start-up of the others.
 */
const COMMANDS: Readonly<Record<string, () => Promise<{ register: Register }>>> = {
  start: () => import('./commands/start.ts'),
  devnet: () => import('./commands/devnet.ts'),
  proxy: () => import('./commands/proxy.ts'),
  voter: () => import('./commands/voter.ts'),
  admin: () => import('./commands/admin.ts'),
  ticket: () => import('./commands/ticket.ts'),
  stakeinfo: () => import('./commands/stakeinfo.ts'),
  status: () => import('./commands/status.ts'),
  trace: () => import('./commands/trace.ts'),
  tx: () => import('./commands/tx.ts'),
};

/**
 * Builds the program. With `only` naming a known command, just that command is
 * registered; otherwise (help, unknown command) every command is.
 */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('votecluster')
    .description('High-availability, multi-site voting cluster for Decred proof-of-stake')
    .showHelpAfterError()
    .exitOverride();
  const names = only !== undefined && Object.hasOwn(COMMANDS, only) ? [only] : Object.keys(COMMANDS);
  for (const name of names) (await (COMMANDS[name] as () => Promise<{ register: Register }>)()).register(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv[0]);
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

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
