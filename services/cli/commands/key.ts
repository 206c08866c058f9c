/**
 * `votecluster key generate|fingerprint`: the cluster key's life on the operator's side.
 * `generate` writes a new random key (64 hex characters and a newline) to a new file with
 * mode 0600 and prints its fingerprint; `fingerprint` prints the fingerprint of a key file
 * (a hash of the key under a domain-separation tag, never the key). Key files that their
 * group or others can access are refused, as by every service. Bad flags exit 2, refusals 1.
 */
import type { Command } from 'commander';
import { clusterKeyFingerprint, generateClusterKey, loadClusterKeyFile } from '../../cluster/index.ts';
import { writeSecretFile } from '../../security/index.ts';

function usage(message: string): void {
  process.stderr.write(`votecluster key: ${message}\n`);
  process.exitCode = 2;
}

/** Registers `key` and its subcommands. */
export function register(program: Command): void {
  const key = program.command('key').description('Generate, fingerprint and rotate the cluster key (the key that seals every voting key in etcd)');

  key
    .command('generate')
    .description('Write a new random cluster key to a new file with mode 0600 and print its fingerprint')
    .option('--out <file>', 'where to write the key (refused if it exists, unless --force)')
    .option('--force', 'replace an existing file (its key is lost: tickets sealed with it can no longer be opened)')
    .option('--json', 'print {file, fingerprint} as JSON')
    .action(async (flags: { out?: string; force?: boolean; json?: boolean }) => {
      if (!flags.out) return usage('--out <file> is required');
      const k = generateClusterKey();
      const text = Buffer.from(`${Buffer.from(k.expose()).toString('hex')}\n`);
      try {
        await writeSecretFile(flags.out, text, { force: flags.force === true, what: 'cluster key file' });
      } finally {
        text.fill(0);
      }
      const fingerprint = clusterKeyFingerprint(k);
      k.wipe();
      process.stdout.write(flags.json ? `${JSON.stringify({ file: flags.out, fingerprint })}\n` : `wrote ${flags.out} (mode 0600)\nfingerprint ${fingerprint}\n`);
    });

  key
    .command('fingerprint')
    .description("Print a cluster key file's fingerprint (compare it with `status`, or between hosts); never prints the key")
    .option('--key-file <file>', 'the cluster key file')
    .option('--json', 'print {file, fingerprint} as JSON')
    .action(async (flags: { keyFile?: string; json?: boolean }) => {
      if (!flags.keyFile) return usage('--key-file <file> is required');
      const k = await loadClusterKeyFile(flags.keyFile);
      const fingerprint = clusterKeyFingerprint(k);
      k.wipe();
      process.stdout.write(flags.json ? `${JSON.stringify({ file: flags.keyFile, fingerprint })}\n` : `${fingerprint}\n`);
    });
}
