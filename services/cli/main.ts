/**
 * The `votecluster` command line: the only composition root, the only reader of
 * argv, env and config files, and the only place that handles signals or sets
 * the process exit code. Each command lives in `commands/<name>.ts` and exports
 * `register(program)`.
 */
import { Command, CommanderError } from 'commander';
import { pathToFileURL } from 'node:url';

type Register = (program: Command) => void;

/** Command modules, in the order `--help` lists them. */
const COMMANDS: ReadonlyArray<() => Promise<{ register: Register }>> = [
  () => import('./commands/admin.ts'),
  () => import('./commands/ticket.ts'),
  () => import('./commands/stakeinfo.ts'),
  () => import('./commands/status.ts'),
  () => import('./commands/proxy.ts'),
  () => import('./commands/voter.ts'),
  () => import('./commands/trace.ts'),
  () => import('./commands/tx.ts'),
  () => import('./commands/devnet.ts'),
  () => import('./commands/start.ts'),
];

/** Builds the program with every command registered. */
export async function buildProgram(): Promise<Command> {
  const program = new Command('votecluster')
    .description('High-availability, multi-site voting cluster for Decred proof-of-stake')
    .showHelpAfterError()
    .exitOverride();
  for (const load of COMMANDS) (await load()).register(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram();
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
