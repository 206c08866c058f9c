/**
 * `votecluster --version`: the package version, the git commit the build was
 * made from, and the protocol/API versions this build speaks (the gRPC proto
 * package(s) of the NodeProxy and Admin APIs, and the dcrd/dcrwallet JSON-RPC
 * API versions the wallet endpoint answers `version` with, which vspd checks).
 *
 * A build (`npm run build`) writes dist/build-info.json beside the compiled
 * code; run from the sources there is none, and the commit reads `dev`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What `--version` reports. */
export interface VersionInfo {
  /** The package version (package.json). */
  version: string;
  /** The git commit of the build; `dev` when running from the sources, `unknown` when the build had no git. */
  commit: string;
  /** Whether this is a compiled build (dist/) or the TypeScript sources. */
  build: 'dist' | 'sources';
  /** The Node.js version running it. */
  node: string;
  /** gRPC proto packages with the files that declare them, e.g. `votecluster.v1`. */
  protoPackages: Record<string, string[]>;
  /** The dcrd/dcrwallet JSON-RPC API versions the wallet endpoint serves (`version` method). */
  walletRpc: Record<string, string>;
}

/** Thrown when the package's own files (package.json, build info) cannot be read. */
export class VersionInfoError extends Error {
  readonly code = 'CLI_VERSION_INFO';
}

function readJson(url: URL): Record<string, unknown> | undefined {
  let text: string;
  try {
    text = readFileSync(url, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new VersionInfoError(`${fileURLToPath(url)}: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * The version and commit: from dist/build-info.json in a build (this module is
 * dist/services/cli/version.js), else from the checkout's package.json.
 */
export function buildIdentity(): Pick<VersionInfo, 'version' | 'commit' | 'build'> {
  const info = readJson(new URL('../../build-info.json', import.meta.url));
  if (info && typeof info['version'] === 'string') {
    return { version: info['version'], commit: typeof info['commit'] === 'string' ? info['commit'] : 'unknown', build: 'dist' };
  }
  const pkg = readJson(new URL('../../package.json', import.meta.url));
  if (!pkg || typeof pkg['version'] !== 'string') throw new VersionInfoError('cannot find the votecluster package.json or build info');
  return { version: pkg['version'], commit: 'dev', build: 'sources' };
}

/** The `package x.y;` declarations of the .proto files under `root`, by package. */
export function protoPackagesIn(root: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(join(dir, e.name), r);
      else if (e.name.endsWith('.proto')) {
        const m = /^\s*package\s+([\w.]+)\s*;/m.exec(readFileSync(join(dir, e.name), 'utf8'));
        if (m?.[1]) (out[m[1]] ??= []).push(r);
      }
    }
  };
  try {
    walk(root, '');
  } catch (err) {
    throw new VersionInfoError(`cannot read the proto files at ${root} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  for (const files of Object.values(out)) files.sort();
  return out;
}

/** Everything `--version` reports (loads the proto root and the wallet endpoint's version table). */
export async function versionInfo(): Promise<VersionInfo> {
  const { PROTO_ROOT } = await import('../nodeproxy/index.ts');
  const { WALLET_API_BY_RELEASE } = await import('../admin/index.ts');
  // The endpoint answers as the dcrwallet paired with the connected dcrd's release line.
  const walletRpc: Record<string, string> = {};
  for (const l of WALLET_API_BY_RELEASE) walletRpc[`dcrd ${l.major}.${l.minor}.x`] = `dcrwallet ${l.major}.${l.minor}.x, dcrwalletjsonrpcapi ${l.api.join('.')}`;
  return { ...buildIdentity(), node: process.version, protoPackages: protoPackagesIn(PROTO_ROOT), walletRpc };
}

/** The human-readable `--version` text (first line `votecluster X.Y.Z`). */
export function formatVersion(v: VersionInfo): string {
  const lines = [
    `votecluster ${v.version}`,
    `commit: ${v.commit}${v.build === 'sources' ? ' (running from the TypeScript sources)' : ''}`,
    `node: ${v.node}`,
  ];
  for (const [pkg, files] of Object.entries(v.protoPackages)) lines.push(`grpc proto package: ${pkg} (${files.join(', ')})`);
  lines.push(`wallet JSON-RPC (served to vspd): ${Object.entries(v.walletRpc).map(([k, x]) => `${k} ${x}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}
