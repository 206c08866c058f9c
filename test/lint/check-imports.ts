/**
 * The project's linter: the module rules of docs/contributing.md that tsc cannot check.
 * - a service reaches another service only through its `index.ts`;
 * - dependencies point one way (the ALLOWED table below);
 * - no `export *`, no default exports, no `vi.mock` of real components.
 * Exits 1 and prints every violation with file and line.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Which services each service may import (besides itself). */
const ALLOWED: Record<string, readonly string[]> = {
  decred: [],
  telemetry: [],
  security: ['telemetry'],
  cluster: ['decred', 'telemetry', 'security'],
  nodeproxy: ['decred', 'telemetry', 'security'],
  voter: ['decred', 'telemetry', 'security', 'cluster', 'nodeproxy'],
  admin: ['decred', 'telemetry', 'security', 'cluster', 'nodeproxy'],
  cli: ['decred', 'telemetry', 'security', 'cluster', 'nodeproxy', 'voter', 'admin'],
  // The simulation (devnet, etcd launcher, WAN link, layout, chaos): may use everything;
  // nothing above may use it, so no production service depends on simulation code.
  sim: ['decred', 'telemetry', 'security', 'cluster', 'nodeproxy', 'voter', 'admin', 'cli'],
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const problems: string[] = [];
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

for (const file of walk(join(ROOT, 'services')).concat(walk(join(ROOT, 'test')))) {
  const rel = relative(ROOT, file);
  const text = readFileSync(file, 'utf8');
  const lineOf = (idx: number) => text.slice(0, idx).split('\n').length;
  for (const m of text.matchAll(/^\s*export\s+\*/gm)) problems.push(`${rel}:${lineOf(m.index)}: no 'export *' (name each export)`);
  for (const m of text.matchAll(/^\s*export\s+default\b/gm)) {
    if (!rel.startsWith('vitest')) problems.push(`${rel}:${lineOf(m.index)}: no default exports`);
  }
  for (const m of text.matchAll(/\bvi\.mock\(/g)) problems.push(`${rel}:${lineOf(m.index)}: no vi.mock of real components`);

  const parts = rel.split(sep);
  if (parts[0] !== 'services') continue;
  const self = parts[1] as string;
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2];
    if (!spec || !spec.startsWith('.')) continue;
    const target = relative(ROOT, resolve(dirname(file), spec)).split(sep);
    if (target[0] !== 'services') continue;
    const other = target[1] as string;
    if (other === self) continue;
    const line = lineOf(m.index);
    if (!(ALLOWED[self] ?? []).includes(other)) {
      problems.push(`${rel}:${line}: services/${self} may not depend on services/${other}`);
    }
    if (target.length !== 3 || target[2] !== 'index.ts') {
      problems.push(`${rel}:${line}: import services/${other} through its index.ts, not ${target.slice(2).join('/')}`);
    }
  }
}

if (problems.length > 0) {
  console.error(`lint: ${problems.length} problem(s)`);
  for (const p of problems) console.error(`  ${p}`);
  process.exit(1);
}
console.log('lint: ok');
