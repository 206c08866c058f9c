import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';

// Syntax only: this test needs no terraform binary or provider schemas.
const TF = resolve(import.meta.dirname, '..', '..', '..', 'terraform');

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
    expect(Object.keys(root['variable'] ?? {})).toEqual(expect.arrayContaining(['regions', 'voters_per_region', 'proxies_per_region', 'etcd_members']));
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
});
