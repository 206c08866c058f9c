/**
 * `votecluster key generate|fingerprint`: the cluster key's life on the operator's side.
 * `generate` writes a new random key (64 hex characters and a newline) to a new file with
 * mode 0600 and prints its fingerprint; `fingerprint` prints the fingerprint of a key file
 * (a hash of the key under a domain-separation tag, never the key); `rotate` re-seals every
 * ticket under a new key while the voters keep voting (services/cluster key-rotation.ts).
 * Key files that their group or others can access are refused, as by every service. Bad
 * flags exit 2, refusals 1.
 */
import type { Command } from 'commander';
import { clusterKeyFingerprint, generateClusterKey, loadClusterKeyFile, rotateClusterKey } from '../../cluster/index.ts';
import { writeSecretFile } from '../../security/index.ts';
import { addCommonOptions, ConfigInvalid, openAdminContext, parseCommon } from '../admin-context.ts';

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

  addCommonOptions(
    key
      .command('rotate')
      .description(
        'Re-seal every ticket under a new cluster key while voters keep voting: marks the rotation in etcd, waits until every ' +
          'live voter holds the new key (from its --next-cluster-key-file), re-seals, then switches the fingerprint (the old key is refused afterwards). ' +
          'Re-run to resume an interrupted rotation.',
      )
      .option('--old-key-file <file>', "the cluster's current key file")
      .option('--new-key-file <file>', 'the new key file (`key generate`), already copied to every voter and admin host')
      .option('--wait-voters-sec <s>', 'how long to wait for every live voter to hold the new key', '120')
      .option('--json', 'print the result as JSON'),
  ).action(async (flags: Record<string, unknown>) => {
    const issues: string[] = [];
    if (!flags['oldKeyFile']) issues.push('--old-key-file is required');
    if (!flags['newKeyFile']) issues.push('--new-key-file is required');
    const wait = Number(flags['waitVotersSec']);
    if (!Number.isFinite(wait) || wait < 0) issues.push('--wait-voters-sec must be a non-negative number');
    let opts;
    try {
      opts = parseCommon(flags, process.env, issues, undefined, true);
    } catch (err) {
      if (err instanceof ConfigInvalid) {
        process.exitCode = 2;
        return;
      }
      throw err;
    }
    const oldKey = await loadClusterKeyFile(flags['oldKeyFile'] as string);
    const newKey = await loadClusterKeyFile(flags['newKeyFile'] as string);
    const ctx = await openAdminContext({ ...opts, logLevel: opts.logLevel === 'warn' ? 'info' : opts.logLevel }, 'key-rotate', { readOnly: true });
    try {
      const r = await rotateClusterKey({
        client: ctx.cluster.client,
        keyspace: ctx.cluster.keyspace,
        oldKey,
        newKey,
        log: ctx.log,
        waitForNodesMs: wait * 1000,
        onProgress: (p) => process.stderr.write(`re-seal pass ${p.pass}: ${p.resealed} re-sealed, ${p.remaining} left\n`),
      });
      if (flags['json']) process.stdout.write(`${JSON.stringify(r)}\n`);
      else {
        process.stdout.write(
          `${r.alreadyDone ? 'the cluster already used the new key' : 'rotated'}: fingerprint ${r.oldFingerprint} -> ${r.newFingerprint}; ` +
            `${r.resealed} tickets re-sealed in ${r.passes} passes (${r.retries} retried after concurrent changes)\n` +
            'now replace the cluster key file with the new one on every host (services keep running with it)\n',
        );
      }
    } finally {
      oldKey.wipe();
      newKey.wipe();
      await ctx.close();
    }
  });
}
