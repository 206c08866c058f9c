import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { afterAll, describe, expect, it } from 'vitest';

// HCL syntax and structure with @cdktf/hcl2json everywhere; `terraform validate` against the
// provider's schema where the terraform binary and a local provider mirror exist.
const TF = resolve(import.meta.dirname, '..', '..', 'terraform');
const PLUGIN_DIR = process.env['VOTECLUSTER_TF_PLUGIN_DIR'] ?? '/opt/tf-plugins';
const hasTerraform = spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0 && existsSync(PLUGIN_DIR);

function tfFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) tfFiles(p, out);
    else if (p.endsWith('.tf')) out.push(p);
  }
  return out;
}

type Hcl = Record<string, Record<string, unknown>>;
const parsed = async (p: string): Promise<Hcl> => (await parse(relative(TF, p), readFileSync(p, 'utf8'))) as Hcl;

describe('terraform/ example', () => {
  const files = tfFiles(TF);

  it.each(files.map((f) => [relative(TF, f)]))('%s is valid HCL', async (rel) => {
    await expect(parsed(join(TF, rel))).resolves.toBeTypeOf('object');
  });

  it('declares the documented variables and wires every module variable', async () => {
    const root = await parsed(join(TF, 'variables.tf'));
    expect(Object.keys(root['variable'] ?? {})).toEqual(expect.arrayContaining(['regions', 'voters_per_region', 'proxies_per_region', 'admins_per_region', 'etcd_members', 'domain', 'private_zone_id']));
    const modVars = Object.keys((await parsed(join(TF, 'modules/region/variables.tf')))['variable'] ?? {});
    const main = await parsed(join(TF, 'main.tf'));
    const modules = main['module'] as Record<string, Array<Record<string, unknown>>>;
    expect(Object.keys(modules)).toEqual(['region_a', 'region_b', 'region_c']);
    for (const [name, [block]] of Object.entries(modules)) {
      const required = modVars.filter((v) => v !== 'tags');
      for (const v of required) expect(block, `${name}.${v}`).toHaveProperty(v);
    }
  });

  it('rejects broken HCL (the check can fail)', async () => {
    await expect(parse('bad.tf', 'variable "x" {\n  type = \n}\n')).rejects.toThrow(/Invalid expression/);
  });

  it('declares required_providers in every module', async () => {
    const dirs = [TF, ...readdirSync(join(TF, 'modules')).map((m) => join(TF, 'modules', m))];
    for (const dir of dirs) {
      const blocks = await Promise.all(readdirSync(dir).filter((f) => f.endsWith('.tf')).map((f) => parsed(join(dir, f))));
      const rp = blocks.flatMap((b) => (b['terraform'] as unknown as Array<{ required_providers?: Array<Record<string, { source: string }>> }> | undefined) ?? [])
        .flatMap((t) => t.required_providers ?? []);
      expect(rp.some((p) => p['aws']?.source === 'hashicorp/aws'), relative(TF, dir) || '.').toBe(true);
    }
  });

  it('opens to the other regions only the TLS-protected ports (proxy gRPC 9110, etcd 2379-2380)', async () => {
    const mod = await parsed(join(TF, 'modules', 'region', 'main.tf'));
    const groups = mod['resource']?.['aws_security_group'] as Record<string, Array<{ ingress: Array<{ from_port: number; to_port: number; cidr_blocks: string }> }>>;
    const fromRegions = Object.values(groups).flatMap(([g]) => g?.ingress ?? []).filter((i) => i.cidr_blocks === '${var.allowed_cidrs}');
    expect(fromRegions.map((i) => `${i.from_port}-${i.to_port}`).sort()).toEqual(['2379-2380', '9110-9110']);
    // Every role the guide describes exists: etcd members (with their bootstrap), dcrd + proxy, voters, admin.
    expect(Object.keys(mod['resource']?.['aws_instance'] ?? {}).sort()).toEqual(['admin', 'etcd', 'proxy', 'voter']);
    expect(readFileSync(join(TF, 'modules', 'region', 'main.tf'), 'utf8')).toContain('ETCD_INITIAL_CLUSTER=${var.etcd_initial_cluster}');
  });
});

describe.skipIf(!hasTerraform)('terraform validate (terraform binary and local provider mirror)', () => {
  const work = mkdtempSync(join(tmpdir(), 'votecluster-tf-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const env = { ...process.env, TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: join(work, 'terraformrc'), CHECKPOINT_DISABLE: '1' };
  const tf = (dir: string, args: string[]) => spawnSync('terraform', args, { cwd: dir, env, encoding: 'utf8' });

  it('init (offline, from the mirror) and validate: valid, no warnings; a broken copy is refused', () => {
    writeFileSync(join(work, 'terraformrc'), '');
    const dir = join(work, 'terraform');
    cpSync(TF, dir, { recursive: true, filter: (src) => !src.includes('.terraform') });
    const init = tf(dir, ['init', '-backend=false', `-plugin-dir=${PLUGIN_DIR}`, '-input=false', '-no-color']);
    expect(init.status, init.stderr).toBe(0);
    const v = tf(dir, ['validate', '-json', '-no-color']);
    const out = JSON.parse(v.stdout) as { valid: boolean; warning_count: number; diagnostics: Array<{ summary: string; detail: string }> };
    expect(out.diagnostics).toEqual([]);
    expect(out.valid).toBe(true);
    // The check can fail: an argument the provider does not have.
    writeFileSync(join(dir, 'modules', 'region', 'broken.tf'), 'resource "aws_security_group" "broken" {\n  name_prefixx = "x"\n}\n');
    const bad = JSON.parse(tf(dir, ['validate', '-json', '-no-color']).stdout) as { valid: boolean };
    expect(bad.valid).toBe(false);
  }, 240_000);
});
