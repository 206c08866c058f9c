/**
 * `npm run build` (and `npm pack` through `prepack`): compiles bin/ and services/ to
 * plain JavaScript in dist/ (tsconfig.build.json rewrites the `.ts` import
 * specifiers to `.js`), copies the gRPC proto files beside the compiled code
 * (dist/proto, found at run time from services/nodeproxy/proto.ts) and writes
 * dist/build-info.json with the package version and the git commit that
 * `votecluster --version` prints.
 *
 * The commit comes from `VOTECLUSTER_COMMIT` when set (a container build has no
 * .git), else from `git rev-parse HEAD` with `-dirty` when tracked files differ
 * from it, else `unknown`.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');

/** The commit the build is made from; `unknown` outside a git checkout. */
function buildCommit(): string {
  const fromEnv = process.env['VOTECLUSTER_COMMIT']?.trim();
  if (fromEnv) return fromEnv;
  const git = (args: string[]): string =>
    execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    const head = git(['rev-parse', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    return dirty ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

rmSync(DIST, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
cpSync(join(ROOT, 'proto'), join(DIST, 'proto'), { recursive: true });
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const info = { version: pkg.version, commit: buildCommit() };
writeFileSync(join(DIST, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`);
process.stdout.write(`built dist/ (votecluster ${info.version}, commit ${info.commit})\n`);
