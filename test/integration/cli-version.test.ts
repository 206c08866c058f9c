import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildIdentity, formatVersion, protoPackagesIn, versionInfo, VersionInfoError } from '../../services/cli/index.ts';
import { PROTO_ROOT } from '../../services/nodeproxy/index.ts';
import { WALLET_API_BY_RELEASE } from '../../services/admin/index.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const scratch = mkdtempSync(join(tmpdir(), 'votecluster-version-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('votecluster --version', () => {
  it('from the sources: the package.json version, commit "dev"', () => {
    expect(buildIdentity()).toEqual({ version: pkg.version, commit: 'dev', build: 'sources' });
  });

  it('names the proto package of every .proto file and the wallet API versions the endpoint serves', async () => {
    const v = await versionInfo();
    expect(v.protoPackages['votecluster.v1']).toEqual(expect.arrayContaining(['votecluster/v1/admin.proto', 'votecluster/v1/nodeproxy.proto']));
    // dcrwallet internal/rpc/jsonrpc/methods.go jsonrpcSemverString: 9.2.0 at release-v2.0.6, 11.0.0 at release-v2.1.x
    expect(v.walletRpc['dcrd 2.0.x']).toBe('dcrwallet 2.0.x, dcrwalletjsonrpcapi 9.2.0');
    expect(v.walletRpc['dcrd 2.1.x']).toBe('dcrwallet 2.1.x, dcrwalletjsonrpcapi 11.0.0');
    expect(Object.keys(v.walletRpc)).toHaveLength(WALLET_API_BY_RELEASE.length);
    const text = formatVersion(v);
    expect(text.split('\n')[0]).toBe(`votecluster ${pkg.version}`);
    expect(text).toMatch(/^commit: dev /m);
    expect(text).toMatch(/^grpc proto package: votecluster\.v1 /m);
  });

  it('reads package declarations from a proto tree, and fails typed when the tree is missing', () => {
    mkdirSync(join(scratch, 'a', 'b'), { recursive: true });
    writeFileSync(join(scratch, 'a', 'b', 'x.proto'), 'syntax = "proto3";\n\npackage a.b.v2;\nmessage X {}\n');
    writeFileSync(join(scratch, 'a', 'notes.txt'), 'package nope;\n');
    expect(protoPackagesIn(join(scratch, 'a'))).toEqual({ 'a.b.v2': ['b/x.proto'] });
    expect(() => protoPackagesIn(join(scratch, 'missing'))).toThrow(VersionInfoError);
    expect(Object.keys(protoPackagesIn(PROTO_ROOT))).toEqual(['votecluster.v1']);
  });

  it('the executable prints it (text and --json) and rejects other arguments', async () => {
    const run = promisify(execFile);
    // Run from a directory outside the checkout: the tsx loader by its absolute URL.
    const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const cli = ['--import', tsx, join(ROOT, 'bin', 'votecluster.ts')];
    const json = JSON.parse((await run(process.execPath, [...cli, '--version', '--json'], { cwd: scratch })).stdout) as { version: string; commit: string };
    expect(json).toMatchObject({ version: pkg.version, commit: 'dev', build: 'sources' });
    await expect(run(process.execPath, [...cli, '-V', '--bogus'], { cwd: scratch })).rejects.toMatchObject({ code: 2 });
  });
});
